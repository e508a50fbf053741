"""Training the extractor's relation head, and its files (safetensors weights + JSON)."""

from __future__ import annotations

import datetime as _dt
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import URIRef

from nesy.errors import TextError
from nesy.ml.checkpoint import read_pair, write_pair
from nesy.text.encoder import get_encoder, term_texts
from nesy.text.extract_model import (
    N_PRIOR,
    StorePrior,
    TextFeatures,
    featurize,
    kb_gazetteer,
    make_head,
    pair_inputs,
)
from nesy.text.mentions import Gazetteer, align, name_variants, tokens
from nesy.text.webnlg import Example, name_to_term

if TYPE_CHECKING:
    import torch

    from nesy.kbview import KBView

FORMAT, VERSION = "nesy-extractor", 1
DEFAULTS: dict[str, Any] = {
    "epochs": 6, "lr": 2e-3, "batch": 32, "hidden": 256, "out": 128, "dropout": 0.1, "use_prior": True,
    "holdout": 0.05, "seed": 0, "encoder": None, "max_examples": None,
}


@dataclass
class ExtractorModel:
    """A trained extractor: head, predicates (IRIs, column order), their label vectors ``(P, d)``,
    the learned surface forms, the logit threshold (confidence 0.5) and the training config."""

    head: Any
    predicates: list[str]
    labels: Any
    gazetteer: Gazetteer
    threshold: float
    config: dict[str, Any]
    encoder: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def _batches(n: int, size: int, shuffle: bool, rng: random.Random) -> list[list[int]]:
    order = list(range(n))
    if shuffle:
        rng.shuffle(order)
    return [order[i:i + size] for i in range(0, n, size)]


def _dense(feats: list[TextFeatures], sparse: list[Any], n_pred: int, depth: int | None) -> torch.Tensor:
    """Stack per-text sparse index rows ``(nnz, 2 or 3)`` into one dense ``(M, P[, depth])`` tensor."""
    import torch

    shape = (sum(len(f.pairs) for f in feats), n_pred) + ((depth,) if depth else ())
    out, base = torch.zeros(shape), 0
    for f, idx in zip(feats, sparse, strict=True):
        if len(idx):
            idx = idx.long().clone()
            idx[:, 0] += base
            out[tuple(idx.T)] = 1.0
        base += len(f.pairs)
    return out


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """:data:`DEFAULTS` overridden by ``config``.

    Raises:
        TextError: an option :data:`DEFAULTS` does not have.
    """
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise TextError(f"unknown extractor training option(s) {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(sorted(DEFAULTS))}")
    return {**DEFAULTS, **config}


def gold_triples(examples: list[Example], namespace: str) -> list[list[tuple[str, str, str]]]:
    """Each example's triples as ``(subject n3, predicate IRI, object n3)``."""
    return [[(name_to_term(s, namespace).n3(), str(name_to_term(p, namespace, predicate=True)),
              name_to_term(o, namespace).n3()) for s, p, o in e.triples] for e in examples]


def learn_surface_forms(examples: list[Example], gold: list[list[tuple[str, str, str]]]) -> tuple[Gazetteer, int, int]:
    """Surface forms of the examples' names (where a name aligns with its text, and the
    name's own variants); also how many names aligned, of how many."""
    gaz, aligned, names = Gazetteer(), 0, 0
    for e, triples in zip(examples, gold, strict=True):
        toks = tokens(e.text)
        for (sn, _, on), (s, _, o) in zip(triples, e.triples, strict=True):
            for name, term in ((s, sn), (o, on)):
                names += 1
                span = align(e.text, name, toks)
                if span:
                    aligned += 1
                    gaz.add(e.text[span[0]:span[1]], term)
                for v in name_variants(name):
                    gaz.add(v, term)
    return gaz, aligned, names


@dataclass
class _TrainingSet:
    """Encoded texts with their gold pairs and prior features, as sparse index rows."""

    feats: list[TextFeatures]
    ys: list[Any]
    fs: list[Any]
    preds: list[str]
    labels: Any
    covered: int = 0
    total: int = 0

    def forward(self, head: Any, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and targets ``(M, P)`` of the pairs of texts ``idx``."""
        import torch

        keep = [i for i in idx if len(self.feats[i].pairs)]
        fb = [self.feats[i] for i in keep]
        if not fb:
            return torch.zeros(0, len(self.preds)), torch.zeros(0, len(self.preds))
        x = torch.cat([pair_inputs(f) for f in fb])
        pf = _dense(fb, [self.fs[i] for i in keep], len(self.preds), N_PRIOR)
        yy = _dense(fb, [self.ys[i] for i in keep], len(self.preds), None)
        return head(x, self.labels, pf), yy


def _training_set(kb: KBView, feats: list[TextFeatures], gold: list[list[tuple[str, str, str]]],
                  preds: list[str], labels: Any, use_prior: bool) -> _TrainingSet:
    """Targets and prior features of every text's candidate pairs."""
    import torch

    columns_iri = {p: c for c, p in enumerate(preds)}
    prior = StorePrior(kb) if use_prior else StorePrior(None)
    columns = {kb.vocab.get(URIRef(p)): c for p, c in columns_iri.items() if kb.vocab.get(URIRef(p)) is not None}
    data = _TrainingSet(feats, [], [], preds, labels)
    for f, triples in zip(feats, gold, strict=True):
        want = {(s, o): [columns_iri[p] for s2, p, o2 in triples if (s2, o2) == (s, o)] for s, _, o in triples}
        rows, hit = [], set()
        for k, (a, b) in enumerate(f.pairs.tolist()):
            for c in want.get((f.terms[a], f.terms[b]), ()):
                rows.append((k, c))
                hit.add((f.terms[a], c, f.terms[b]))
        data.covered, data.total = data.covered + len(hit), data.total + len(set(triples))
        data.ys.append(torch.tensor(rows, dtype=torch.int32).reshape(-1, 2))
        data.fs.append(prior.features(f, columns, len(preds)).nonzero().to(torch.int32))
    return data


def _fit(head: Any, data: _TrainingSet, train: list[int], cfg: dict[str, Any], rng: random.Random,
         progress: bool | None) -> list[float]:
    """AdamW with a one-cycle schedule, binary cross-entropy per (pair, predicate); epoch losses."""
    import torch
    from tqdm.auto import tqdm

    opt = torch.optim.AdamW(head.parameters(), lr=cfg["lr"], weight_decay=1e-4)
    steps = max(1, cfg["epochs"] * ((len(train) + cfg["batch"] - 1) // cfg["batch"]))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps, pct_start=0.1)
    losses = []
    head.train()
    for _ in tqdm(range(cfg["epochs"]), desc="epochs", disable=not progress, leave=False):
        total_loss = 0.0
        for idx in _batches(len(train), cfg["batch"], True, rng):
            logits, y = data.forward(head, [train[i] for i in idx])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum") / len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss.detach()) * len(idx)
        losses.append(round(total_loss / max(1, len(train)), 4))
    head.eval()
    return losses


def train_model(kb: KBView, examples: list[Example], config: dict[str, Any], *,
                progress: bool | None = None) -> tuple[ExtractorModel, dict[str, Any]]:
    """Align mentions, encode the texts once, train the head, pick the threshold on a held-out part."""
    import torch
    from tqdm.auto import tqdm

    cfg = check_config(config)
    rng = random.Random(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    examples = [e for e in examples if e.triples and e.text.strip()]
    if not examples:
        raise TextError("no training examples (each needs a text and at least one triple)")
    t0, encoder = time.time(), get_encoder(cfg["encoder"])
    gold = gold_triples(examples, kb.default_namespace)
    gaz, aligned, names = learn_surface_forms(examples, gold)
    if cfg["max_examples"] and len(examples) > cfg["max_examples"]:  # the head sees a sample; the surface forms all
        keep = sorted(rng.sample(range(len(examples)), cfg["max_examples"]))
        examples, gold = [examples[i] for i in keep], [gold[i] for i in keep]
    preds = sorted({p for triples in gold for _, p, _ in triples})
    labels = encoder.encode(term_texts(kb, [URIRef(p) for p in preds]))
    full = gaz.merge(kb_gazetteer(kb))
    texts = [e.text for e in examples]
    found = [full.find(t) for t in tqdm(texts, desc="mentions", disable=not progress, leave=False)]
    feats: list[TextFeatures] = []
    for lo in tqdm(range(0, len(texts), 256), desc="encoding", disable=not progress, leave=False):
        feats += featurize(encoder, texts[lo:lo + 256], found[lo:lo + 256], pairs_nil=False)
    data = _training_set(kb, feats, gold, preds, labels, cfg["use_prior"])
    n_hold = int(len(feats) * cfg["holdout"]) if len(feats) >= 40 else 0
    order = list(range(len(feats)))
    rng.shuffle(order)
    hold, train = order[:n_hold], order[n_hold:]
    head = make_head({"dim": encoder.dim, "hidden": cfg["hidden"], "out": cfg["out"], "dropout": cfg["dropout"],
                      "n_known": len(preds), "use_prior": cfg["use_prior"]})
    losses = _fit(head, data, train, cfg, rng, progress)
    threshold, held = 0.0, {}
    if hold:
        threshold, held = _pick_threshold(lambda idx: data.forward(head, idx), feats, gold, hold, preds)
    metrics = {"examples": len(examples), "train": len(train), "held_out": len(hold), "predicates": len(preds),
               "surface_forms": len(gaz.table), "names_aligned": round(aligned / max(1, names), 4),
               "triples_reachable": round(data.covered / max(1, data.total), 4), "loss": losses,
               "threshold": round(threshold, 3), **held, "seconds": round(time.time() - t0, 1)}
    model = ExtractorModel(head, preds, labels, gaz, threshold, cfg, cfg["encoder"], metrics)
    return model, metrics


def _pick_threshold(forward: Any, feats: list[TextFeatures], gold: list[list[tuple[str, str, str]]],
                    hold: list[int], preds: list[str]) -> tuple[float, dict[str, float]]:
    """The logit threshold with the best triple F1 on the held-out texts, and that P/R/F1."""
    import torch

    scored, n_gold = [], 0
    with torch.inference_mode():
        for lo in range(0, len(hold), 64):
            idx = hold[lo:lo + 64]
            logits, _ = forward(idx)
            base = 0
            for i in idx:
                f, best = feats[i], {}
                for k, (a, b) in enumerate(f.pairs.tolist()):
                    for c, v in enumerate(logits[base + k].tolist()):
                        if v > -6:
                            key = (f.terms[a], preds[c], f.terms[b])
                            best[key] = max(best.get(key, -99.0), v)
                base += len(f.pairs)
                want = set(gold[i])
                n_gold += len(want)
                scored += [(v, key in want) for key, v in best.items()]
    scored.sort(key=lambda t: -t[0])
    tp, best = 0, (0.0, 0.0, 0.0, 0.0)
    for n, (v, ok) in enumerate(scored, 1):
        tp += ok
        p, r = tp / n, tp / max(1, n_gold)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best[0]:
            best = (f1, p, r, v)
    f1, p, r, v = best
    return v - 1e-4, {"held_precision": round(p, 4), "held_recall": round(r, 4), "held_f1": round(f1, 4)}


def save_model(model: ExtractorModel, directory: str | Path) -> Path:
    """Write ``model.safetensors`` (head + label vectors) and ``model.json`` (the rest)
    atomically (:func:`~nesy.ml.checkpoint.write_pair`)."""
    state = {f"head.{k}": v for k, v in model.head.state_dict().items()}
    state["labels"] = model.labels
    doc = {"format": FORMAT, "version": VERSION, "predicates": model.predicates, "threshold": model.threshold,
           "config": model.config, "encoder": model.encoder, "metrics": model.metrics,
           "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
           "head": {"dim": int(model.labels.shape[1]), "hidden": model.config["hidden"], "out": model.config["out"],
                    "dropout": model.config["dropout"], "n_known": len(model.predicates),
                    "use_prior": model.config["use_prior"]},
           "gazetteer": model.gazetteer.to_json()}
    return write_pair(directory, state, doc, what="extractor model", error=TextError)


def load_model(directory: str | Path) -> ExtractorModel:
    """Read a model written by :func:`save_model` (never unpickles).

    Raises:
        TextError: Missing files, a foreign or corrupt description, weights that do not fit.
    """
    directory = Path(directory)
    weights = directory / "model.safetensors"
    state, doc = read_pair(directory, FORMAT, what="extractor model", error=TextError)
    if doc.get("version") != VERSION:
        raise TextError(f"extractor model version {doc.get('version')!r} is not supported (this nesy reads "
                        f"version {VERSION})", file=str(directory / "model.json"))
    head = make_head(doc["head"])
    try:
        head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")}, strict=True)
    except RuntimeError as exc:
        raise TextError(f"weights do not fit the model description: {exc}", file=str(weights)) from None
    return ExtractorModel(head.eval(), doc["predicates"], state["labels"], Gazetteer.from_json(doc["gazetteer"]),
                          float(doc["threshold"]), doc["config"], doc.get("encoder"), doc.get("metrics", {}))
