"""Fitting the extractor's head: training targets, the epoch loop, validation F1 and threshold.

The validation F1 is the benchmark's: whole triples compared after the WebNLG 2020
normalisation (:func:`~nesy.text.webnlg.normalise_triple`), a new entity by its text.
After every epoch the head is scored on the validation texts at the threshold that gives
the best F1 there; the best epoch's weights are kept (:class:`~nesy.ml.metrics.TrainingLog`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rdflib import URIRef

from nesy.text.extract_model import N_PRIOR, StorePrior, TextFeatures, one_per_pair, pair_inputs
from nesy.text.webnlg import n3_name, normalise_triple

if TYPE_CHECKING:
    import torch

    from nesy.kbview import KBView

Key = tuple[str, str, str]


def _dense(feats: list[TextFeatures], sparse: list[Any], n_pred: int, depth: int | None) -> torch.Tensor:
    """Stack per-text sparse index rows ``(nnz, 2 or 3)`` into one dense ``(M, P[, depth])``
    tensor; rows whose column is ``n_pred`` or more are left out."""
    import torch

    shape = (sum(len(f.pairs) for f in feats), n_pred) + ((depth,) if depth else ())
    out, base = torch.zeros(shape), 0
    for f, idx in zip(feats, sparse, strict=True):
        idx = idx[idx[:, 1] < n_pred] if len(idx) else idx
        if len(idx):
            idx = idx.long().clone()
            idx[:, 0] += base
            out[tuple(idx.T)] = 1.0
        base += len(f.pairs)
    return out


@dataclass
class TrainingSet:
    """Encoded texts with their gold pairs and prior features, as sparse index rows.

    ``preds`` are the trained predicates (the first ``n_known``) then the store's other
    properties, which only validation scores (zero-shot, by their labels).
    """

    feats: list[TextFeatures]
    ys: list[Any]
    fs: list[Any]
    preds: list[str]
    labels: Any
    n_known: int
    keys: list[set[Key]] = field(default_factory=list)
    covered: int = 0
    total: int = 0

    def forward(self, head: Any, idx: list[int], cols: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and targets ``(M, cols)`` of the pairs of texts ``idx`` (all predicates by default)."""
        import torch

        cols = len(self.preds) if cols is None else cols
        keep = [i for i in idx if len(self.feats[i].pairs)]
        fb = [self.feats[i] for i in keep]
        if not fb:
            return torch.zeros(0, cols), torch.zeros(0, cols)
        x = torch.cat([pair_inputs(f) for f in fb])
        pf = _dense(fb, [self.fs[i] for i in keep], cols, N_PRIOR)
        yy = _dense(fb, [self.ys[i] for i in keep], cols, None)
        return head(x, self.labels[:cols], pf), yy


def training_set(kb: KBView, feats: list[TextFeatures], gold: list[list[Key]], preds: list[str], labels: Any,
                 n_known: int, use_prior: bool) -> TrainingSet:
    """Targets, prior features and normalised gold triples of every text's candidate pairs."""
    import torch

    columns_iri = {p: c for c, p in enumerate(preds)}
    prior = StorePrior(kb) if use_prior else StorePrior(None)
    columns = {kb.vocab.get(URIRef(p)): c for p, c in columns_iri.items() if kb.vocab.get(URIRef(p)) is not None}
    data = TrainingSet(feats, [], [], preds, labels, n_known)
    ns = kb.default_namespace
    for f, triples in zip(feats, gold, strict=True):
        want = {(s, o): [columns_iri[p] for s2, p, o2 in triples if (s2, o2) == (s, o) and p in columns_iri]
                for s, _, o in triples}
        rows, hit = [], set()
        for k, (a, b) in enumerate(f.pairs.tolist()):
            for c in want.get((f.terms[a], f.terms[b]), ()):
                rows.append((k, c))
                hit.add((f.terms[a], c, f.terms[b]))
        data.covered, data.total = data.covered + len(hit), data.total + len(set(triples))
        data.ys.append(torch.tensor(rows, dtype=torch.int32).reshape(-1, 2))
        data.fs.append(prior.features(f, columns, len(preds)).nonzero().to(torch.int32))
        data.keys.append({normalise_triple((n3_name(s, ns), n3_name(p, ns), n3_name(o, ns))) for s, p, o in triples})
    return data


def _batches(n: int, size: int, rng: random.Random) -> list[list[int]]:
    order = list(range(n))
    rng.shuffle(order)
    return [order[i:i + size] for i in range(0, n, size)]


def validate(head: Any, data: TrainingSet, hold: list[int], ns: str, one: bool = False) -> tuple[float, dict[str, float]]:
    """The logit threshold with the best F1 on the texts ``hold`` (whole triples, WebNLG
    2020 normalisation; every property the store knows scored; with ``one``, only each
    pair's best predicate, as extraction does), and that P/R/F1."""
    import torch

    scored, n_gold = [], 0
    with torch.inference_mode():
        for lo in range(0, len(hold), 64):
            idx = hold[lo:lo + 64]
            logits, _ = data.forward(head, idx)
            logits = one_per_pair(logits) if one else logits
            base = 0
            for i in idx:
                f, best = data.feats[i], {}
                block = logits[base:base + len(f.pairs)]
                for k, c in torch.nonzero(block > -6).tolist():
                    a, b = f.pairs[k].tolist()
                    key = normalise_triple((n3_name(f.terms[a], ns), n3_name(data.preds[c], ns),
                                            n3_name(f.terms[b], ns)))
                    best[key] = max(best.get(key, -99.0), float(block[k, c]))
                base += len(f.pairs)
                n_gold += len(data.keys[i])
                scored += [(v, key in data.keys[i]) for key, v in best.items()]
    return sweep(scored, n_gold)


def sweep(scored: list[tuple[float, bool]], n_gold: int) -> tuple[float, dict[str, float]]:
    """The score threshold with the best F1 over ``scored`` (score, correct) triples against
    ``n_gold`` references, and that precision, recall and F1."""
    scored = sorted(scored, key=lambda t: -t[0])
    tp, top = 0, (0.0, 0.0, 0.0, 0.0)
    for n, (v, ok) in enumerate(scored, 1):
        tp += ok
        p, r = tp / n, tp / max(1, n_gold)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > top[0]:
            top = (f1, p, r, v)
    f1, p, r, v = top
    return v - 1e-4, {"valid_precision": round(p, 4), "valid_recall": round(r, 4), "valid_f1": round(f1, 4)}


def close_epoch(log: Any, model: Any, epoch: int, epochs: int, loss: float, held: dict[str, float],
                started: float, on_epoch: Callable[[dict[str, Any]], None] | None) -> bool:
    """Record an epoch (loss, validation figures, seconds, ETA) in the training log, which keeps
    ``model``'s best state by validation F1, and report it; True when training should stop."""
    spent = time.time() - started
    entry = {"epoch": epoch, "epochs": epochs, "loss": loss, **held, "seconds": round(spent, 1),
             "eta_seconds": round(spent / epoch * (epochs - epoch), 1)}
    stop = log.record(entry, held.get("valid_f1"), model)
    if on_epoch is not None:
        on_epoch(entry)
    return bool(stop)


def run_epochs(model: Any, opt: Any, sched: Any, log: Any, cfg: dict[str, Any], train: list[int],
               rng: random.Random, step_loss: Callable[[list[int]], Any],
               held: Callable[[], dict[str, float]], on_epoch: Callable[[dict[str, Any]], None] | None,
               clip: float | None = None) -> tuple[list[float], list[dict]]:
    """The epoch loop both extractor models train with: shuffled batches of ``train`` (``cfg``'s
    ``batch``), one optimiser and scheduler step per batch on ``step_loss(batch)`` (a mean
    loss; gradients clipped to norm ``clip`` when given), then :func:`close_epoch` with the
    validation figures ``held()``; the log's best state is restored into ``model`` at the end.

    Returns:
        The epoch losses and the per-epoch history.
    """
    import torch

    losses, t0 = [], time.time()
    for epoch in range(1, cfg["epochs"] + 1):
        model.train()
        total = 0.0
        for positions in _batches(len(train), cfg["batch"], rng):
            idx = [train[i] for i in positions]
            loss = step_loss(idx)
            opt.zero_grad()
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        losses.append(round(total / max(1, len(train)), 4))
        model.eval()
        log.epoch_done(losses[-1])
        if close_epoch(log, model, epoch, cfg["epochs"], losses[-1], held(), t0, on_epoch):
            break
    log.restore_best(model)
    log.close()
    model.eval()
    return losses, log.history


def fit(head: Any, data: TrainingSet, train: list[int], hold: list[int], cfg: dict[str, Any], ns: str, *,
        show: bool, on_epoch: Callable[[dict[str, Any]], None] | None = None) -> tuple[list[float], list[dict]]:
    """AdamW with a one-cycle schedule, binary cross-entropy per (pair, trained predicate);
    after each epoch the validation F1 on ``hold``. The best epoch's weights stay in ``head``.

    Returns:
        The epoch losses and the per-epoch history (epoch, loss, validation P/R/F1, seconds, ETA).
    """
    import torch

    from nesy.ml.metrics import TrainingLog

    rng = random.Random(cfg["seed"])
    opt = torch.optim.AdamW(head.parameters(), lr=cfg["lr"], weight_decay=1e-4)
    steps = max(1, cfg["epochs"] * ((len(train) + cfg["batch"] - 1) // cfg["batch"]))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps, pct_start=0.1)
    log = TrainingLog(cfg["epochs"], "extract-train", patience=cfg["patience"], show=show, metric="valid_f1")
    def step_loss(idx: list[int]) -> Any:
        logits, y = data.forward(head, idx, data.n_known)
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum") / len(idx)

    return run_epochs(head, opt, sched, log, cfg, train, rng, step_loss,
                      lambda: validate(head, data, hold, ns, cfg["one_per_pair"])[1] if hold else {}, on_epoch)
