"""Fusion of an entity's link-predictor vector with its text vector, and the contrastive
alignment that maps text into the link predictor's space.

:class:`GatedFusion` projects a text vector into the KGE space and mixes it with the KGE
vector through a gate, ``fused = g·kge + (1−g)·proj(text)``, ``g = σ(W[kge; proj(text)])``;
an entity the link predictor never saw gets ``proj(text)`` alone. :func:`align` trains the
projection with InfoNCE (in-batch negatives, temperature τ) so that an entity's projected
text finds its own KGE vector among the others; it is measured on entities held out of
training, against the chance level of a random ranking. The gate starts at g ≈ 0.88 (trust
the link predictor) and is trained by whatever model consumes the fused vectors end to end;
alignment alone gives it no signal (any objective that compares fused vectors with the
KGE ones is won by g = 1).
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from nesy.errors import NesyError

if TYPE_CHECKING:
    from rdflib import URIRef

    from nesy.kbview import KBView
    from nesy.linkpred.predictor import LinkPredictor
    from nesy.text.encoder import TextEncoder

NAME = "fusion"
FORMAT = "nesy-fusion"
WEIGHTS, DESCRIPTION = "model.safetensors", "model.json"


class GatedFusion(torch.nn.Module):
    """Text → KGE projection and a gate between the two vectors of an entity.

    Args:
        kge_dim: Size of the link predictor's entity vectors (all its entity tables side by side).
        text_dim: Size of the text vectors.
        hidden: Width of a hidden ReLU layer in the projection; 0 for a linear projection.
    """

    def __init__(self, kge_dim: int, text_dim: int, hidden: int = 0) -> None:
        super().__init__()
        self.kge_dim, self.text_dim, self.hidden = kge_dim, text_dim, hidden
        self.proj = torch.nn.Linear(text_dim, kge_dim) if hidden <= 0 else torch.nn.Sequential(
            torch.nn.Linear(text_dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, kge_dim))
        self.gate = torch.nn.Linear(2 * kge_dim, kge_dim)
        torch.nn.init.zeros_(self.gate.weight)
        torch.nn.init.constant_(self.gate.bias, 2.0)
        # Where the KGE vectors sit (their mean) and how long they are once centred: the
        # projection predicts a direction, these put it back on the KGE scale.
        self.register_buffer("center", torch.zeros(kge_dim))
        self.register_buffer("scale", torch.ones(()))

    def config(self) -> dict[str, int]:
        return {"kge_dim": self.kge_dim, "text_dim": self.text_dim, "hidden": self.hidden}

    def direction(self, text: Tensor) -> Tensor:
        """Unit vectors ``(n, kge_dim)``: where text ``(n, text_dim)`` points in the centred KGE space."""
        return F.normalize(self.proj(text), dim=-1)

    def project(self, text: Tensor) -> Tensor:
        """Text vectors ``(n, text_dim)`` as KGE-space vectors ``(n, kge_dim)``."""
        return self.center + self.scale * self.direction(text)

    def forward(self, kge: Tensor, text: Tensor, known: Tensor | None = None) -> Tensor:
        """Fused vectors ``(n, kge_dim)`` from KGE vectors ``(n, kge_dim)`` and text vectors
        ``(n, text_dim)``; rows where ``known`` (bool ``(n,)``) is False use the text only."""
        p = self.project(text)
        g = torch.sigmoid(self.gate(torch.cat([kge, p], dim=-1)))
        fused = g * kge + (1 - g) * p
        return fused if known is None else torch.where(known.unsqueeze(-1), fused, p)


def entity_matrix(predictor: LinkPredictor) -> Tensor:
    """The link predictor's entity vectors ``(E, d)`` in its compact order: the encoder's
    output for message-passing models, else every entity table side by side (ComplEx and
    RotatE: real and imaginary parts)."""
    model = predictor.model
    with torch.no_grad():
        if hasattr(model, "encode"):
            return model.encode().detach().float().cpu()
        return torch.cat([t.weight.detach().float().cpu() for t in model.entity_tables()], dim=1)


def _ranks(queries: Tensor, keys: Tensor, truth: Tensor) -> Tensor:
    """Rank (1 = best) of key ``truth[i]`` for query ``i`` by cosine; ties count against."""
    sims = F.normalize(queries, dim=-1) @ F.normalize(keys, dim=-1).T
    true = sims.gather(1, truth.unsqueeze(1))
    return (sims >= true).sum(1)


def _mrr(ranks: Tensor) -> float:
    return float((1.0 / ranks.double()).mean()) if len(ranks) else float("nan")


def chance_mrr(n: int) -> float:
    """MRR of a uniformly random ranking of ``n`` candidates: H(n) / n."""
    return sum(1.0 / k for k in range(1, n + 1)) / n if n else float("nan")


def align(kge: Tensor, text: Tensor, *, train: Tensor | None = None, epochs: int = 100,
          batch_size: int = 256, lr: float = 3e-3, temperature: float = 0.05, weight_decay: float = 1e-4,
          hidden: int = 0, seed: int = 0) -> tuple[GatedFusion, dict[str, Any]]:
    """Train a :class:`GatedFusion`'s projection so text finds its entity's KGE vector (InfoNCE).

    Args:
        kge: float ``(N, dk)`` entity vectors (:func:`entity_matrix`).
        text: float ``(N, dt)`` text vectors of the same entities.
        train: bool ``(N,)``: the entities to train on; the others are held out and measured
            (default: all, nothing measured).
        epochs: Passes over the training entities.
        batch_size: Pairs per step; the other pairs of a batch are its negatives.
        lr, weight_decay: AdamW settings.
        temperature: τ of the softmax over cosine similarities.
        hidden: See :class:`GatedFusion`.
        seed: Seeds the initialisation and the shuffling.

    Returns:
        The module (eval mode) and metrics: ``train``/``held_out`` sizes, ``loss``, and for
        held-out entities ``mrr_all`` / ``hits1_all`` (rank of the true KGE vector among all N),
        ``mrr_held_out`` (among the held-out ones), with ``chance_all`` / ``chance_held_out``.
    """
    if kge.dim() != 2 or text.dim() != 2 or len(kge) != len(text):
        raise NesyError(f"align wants kge (N, dk) and text (N, dt) for the same N entities, got "
                        f"{tuple(kge.shape)} and {tuple(text.shape)}")
    if not temperature > 0 or epochs < 1 or batch_size < 2:
        raise NesyError("align: temperature must be > 0, epochs >= 1 and batch_size >= 2")
    kge, text = kge.float(), text.float()
    mask = torch.ones(len(kge), dtype=torch.bool) if train is None else torch.as_tensor(train, dtype=torch.bool)
    idx = mask.nonzero().flatten()
    if len(idx) < 2:
        raise NesyError(f"align needs at least 2 training entities, got {len(idx)}")
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # seeded initialisation without touching the caller's RNG
        torch.manual_seed(seed)
        model = GatedFusion(kge.shape[1], text.shape[1], hidden)
    center = kge[idx].mean(0)
    model.center.copy_(center)
    model.scale.fill_(float((kge[idx] - center).norm(dim=1).mean()))
    targets = F.normalize(kge - center, dim=-1)
    opt = torch.optim.AdamW(model.proj.parameters(), lr=lr, weight_decay=weight_decay)
    start, loss_sum, steps = time.perf_counter(), 0.0, 0
    model.train()
    for _ in range(epochs):
        order = idx[torch.randperm(len(idx), generator=gen)]
        for lo in range(0, len(order), batch_size):
            b = order[lo:lo + batch_size]
            if len(b) < 2:
                continue
            logits = model.direction(text[b]) @ targets[b].T / temperature  # (B, B)
            labels = torch.arange(len(b))
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum, steps = loss_sum + float(loss.detach()), steps + 1
    model.eval()
    held = (~mask).nonzero().flatten()
    metrics: dict[str, Any] = {"train": int(len(idx)), "held_out": int(len(held)), "entities": int(len(kge)),
                               "epochs": epochs, "loss": loss_sum / max(steps, 1), "temperature": temperature,
                               "seconds": round(time.perf_counter() - start, 2)}
    if len(held):
        with torch.no_grad():
            q = model.direction(text[held])
            r_all = _ranks(q, targets, held)
            r_held = _ranks(q, targets[held], torch.arange(len(held)))
        metrics.update(mrr_all=_mrr(r_all), hits1_all=float((r_all == 1).double().mean()),
                       hits10_all=float((r_all <= 10).double().mean()), chance_all=chance_mrr(len(kge)),
                       mrr_held_out=_mrr(r_held), chance_held_out=chance_mrr(len(held)))
    return model, metrics


def _text_vectors(kb: KBView, terms: list[Any], encoder: TextEncoder) -> Tensor:
    from nesy.text.encoder import term_texts
    from nesy.text.vectors import VectorStore

    return VectorStore.for_kb(kb, encoder).encode(term_texts(kb, terms))


def _kge_sha(kge: Tensor) -> str:
    """Fingerprint of the link predictor's entity vectors: a fusion model fits only them."""
    return hashlib.sha256(kge.contiguous().numpy().tobytes()).hexdigest()


def align_kb(kb: KBView, *, epochs: int = 100, held_out: float = 0.2, encoder: TextEncoder | None = None,
             seed: int = 0, **options: Any) -> dict[str, Any]:
    """Align the KB's entity texts with its link predictor and keep the fusion model.

    A share ``held_out`` of the predictor's entities is hidden from a first training run and
    measured (see :func:`align`); the model that is kept is then trained on every entity
    and saved to ``DIR/models/fusion`` (safetensors + JSON; in memory for an in-memory KB).

    Args:
        kb: A knowledge base with a trained link predictor.
        epochs: Training passes.
        held_out: Share of entities measured (0: no measurement, one run).
        encoder: The text encoder (default: the KB's, :func:`~nesy.text.encoder.get_encoder`).
        seed: Seeds the split and the training.
        options: :func:`align` keywords (``batch_size``, ``lr``, ``temperature``, ``hidden``...).

    Returns:
        The held-out metrics of :func:`align` plus ``saved`` (where the model went).
    """
    from nesy.text.encoder import get_encoder

    if not 0.0 <= held_out < 1.0:
        raise NesyError(f"held_out must be in [0, 1), got {held_out!r}")
    lp = kb.link_predictor_or_fail()
    encoder = encoder or get_encoder(kb=kb)
    kge, text = entity_matrix(lp), _text_vectors(kb, kb.vocab.terms(lp.data.entity_ids), encoder)
    metrics: dict[str, Any] = {}
    if held_out > 0:
        train = torch.from_numpy(np.random.default_rng(seed).random(len(kge)) >= held_out)
        metrics = align(kge, text, train=train, epochs=epochs, seed=seed, **options)[1]
    model, final = align(kge, text, epochs=epochs, seed=seed, **options)
    metrics = metrics or final
    meta = {"predictor": {k: lp.source.get(k) for k in ("model", "checkpoint", "trained")},
            "kge_sha256": _kge_sha(kge), "encoder": str(encoder.path), "metrics": dict(metrics)}
    metrics["saved"] = _save(kb, model, meta)
    return metrics


def _save(kb: KBView, model: GatedFusion, meta: dict[str, Any]) -> str:
    directory = kb.models.dir(NAME)
    if directory is None:
        kb.models.keep(NAME, (model, meta))
        return "(in memory)"
    from nesy.ml.checkpoint import write_pair

    doc = {"format": FORMAT, "version": 1, "config": model.config(), "meta": meta}
    write_pair(directory, model.state_dict(), doc, weights=WEIGHTS, description=DESCRIPTION, what="fusion model")
    kb.models.touch(NAME)
    return str(directory)


def load_fusion(kb: KBView) -> tuple[GatedFusion, dict[str, Any]] | None:
    """The KB's fusion model and its metadata, or None when :func:`align_kb` never ran.

    Raises:
        NesyError: The files are corrupt, or the link predictor changed since the alignment.
    """
    directory = kb.models.dir(NAME)
    if directory is None:
        found = kb.models.get(NAME)
    else:
        from nesy.ml.checkpoint import read_pair

        if not (directory / DESCRIPTION).is_file():
            return None
        state, doc = read_pair(directory, FORMAT, weights=WEIGHTS, description=DESCRIPTION,
                               what="fusion model", error=NesyError)
        try:
            model = GatedFusion(**doc["config"])
            model.load_state_dict(state)
        except (KeyError, TypeError, RuntimeError) as e:
            raise NesyError(f"corrupt fusion model ({e}); run the alignment again", file=str(directory)) from None
        found = (model.eval(), doc.get("meta", {}))
    if found is None:
        return None
    lp = kb.link_predictor
    if lp is None or found[1].get("kge_sha256") != _kge_sha(entity_matrix(lp)):
        raise NesyError("the fusion model was aligned with another link predictor; run the alignment again")
    return found


def fused_entity_vectors(kb: KBView, predictor: LinkPredictor | None = None,
                         encoder: TextEncoder | None = None, *, terms: list[URIRef] | None = None,
                         fusion: GatedFusion | None = None) -> Tensor:
    """A vector for every entity, float ``(len(terms), dk)``: the gated fusion of its KGE and
    projected text vectors, or the projected text alone for an entity the link predictor
    never saw.

    Args:
        kb: The knowledge base.
        predictor: The link predictor (default: the KB's).
        encoder: The text encoder (default: the one the fusion model was aligned with).
        terms: The entities, in row order (default: :func:`nesy.text.linking.entity_terms`).
        fusion: The fusion model (default: the one :func:`align_kb` saved).
    """
    from nesy.linkpred.predictor import IdIndex
    from nesy.text.encoder import get_encoder
    from nesy.text.linking import entity_terms

    lp = predictor or kb.link_predictor_or_fail()
    meta: dict[str, Any] = {}
    if fusion is None:
        found = load_fusion(kb)
        if found is None:
            raise NesyError("no fusion model: align the text with the link predictor first (align_kb)")
        fusion, meta = found
    encoder = encoder or get_encoder(meta.get("encoder"), kb=kb)
    terms = entity_terms(kb) if terms is None else list(terms)
    ids = np.array([-1 if (i := kb.vocab.get(t)) is None else i for t in terms], dtype=np.int64)
    where = torch.from_numpy(IdIndex(lp.data.entity_ids)(ids))
    known = where >= 0
    kge = torch.zeros(len(terms), fusion.kge_dim)
    kge[known] = entity_matrix(lp)[where[known]]
    with torch.no_grad():
        return fusion(kge, _text_vectors(kb, terms, encoder), known)


__all__ = ["GatedFusion", "align", "align_kb", "chance_mrr", "entity_matrix", "fused_entity_vectors",
           "load_fusion"]
