"""Relation domains and ranges read from entity text: the text half of the rules + text hybrid.

Learned rules say nothing about a candidate no rule reaches, and on a graph of unseen
entities many true answers are such candidates: they tie with every other unreached entity.
The text of an entity (its label, its description) says what kind of thing it is, which is
what a relation's domain and range ask for, and it exists for entities never seen in
training. For every relation ``r`` a logistic model on the entity's text vector gives
``P(e can be a tail of r)`` (range) and ``P(e can be a head of r)`` (domain); trained on the
graph rules were learned on, applied to any graph whose entities have text. In the hybrid a
candidate's score is ``rules + weight x P(candidate fits r)``: the typing orders what the
rules leave tied, and the weight is chosen on validation triples.

Saved next to the rule file as ``RULES.text.safetensors`` (tensors ``weight`` float32
(d, 2R) and ``bias`` (2R,); metadata: the relation IRIs, the encoder, the hybrid weight).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nesy.errors import NesyError

SUFFIX = ".text.safetensors"
WEIGHTS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # hybrid weights tried on validation


def typing_labels(triples: np.ndarray, num_entities: int, num_relations: int) -> np.ndarray:
    """float32 (E, 2R): [e, r] = 1 when e is a tail of r, [e, R + r] = 1 when a head of r."""
    y = np.zeros((num_entities, 2 * num_relations), dtype=np.float32)
    y[triples[:, 2], triples[:, 1]] = 1.0
    y[triples[:, 0], triples[:, 1] + num_relations] = 1.0
    return y


def fit_typing(vectors: np.ndarray, labels: np.ndarray, *, steps: int = 300, lr: float = 0.05,
               l2: float = 1e-4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Multi-label logistic regression: ``(weight float32 (d, k), bias (k,))``.

    Args:
        vectors: float32 (E, d) the entities' text vectors.
        labels: float32 (E, k) the targets (:func:`typing_labels`).
        steps: Full-batch Adam steps.  lr: Its learning rate.  l2: Weight decay.
        seed: Seeds the initialisation.
    """
    import torch

    torch.manual_seed(seed)
    x, y = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)), torch.from_numpy(labels)
    k = y.shape[1]
    weight = torch.zeros(x.shape[1], k, requires_grad=True)
    # Start at each column's base rate: the model only has to learn what text adds to it.
    rate = y.mean(0).clamp(1e-4, 1 - 1e-4)
    bias = torch.log(rate / (1 - rate)).clone().requires_grad_(True)
    # Positives are rare (a relation's range is a small share of the entities): weigh them
    # up to half the loss so the model does not settle on "nothing fits".
    pos = ((1 - rate) / rate).clamp(max=100.0)
    opt = torch.optim.Adam([weight, bias], lr=lr, weight_decay=0.0)
    for _ in range(steps):
        logits = x @ weight + bias
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, pos_weight=pos)
        loss = loss + l2 * (weight ** 2).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return weight.detach().numpy(), bias.detach().numpy()


class TextTyping:
    """The typing model of one rule file, bound to a knowledge base's entities; the interface
    :class:`~nesy.rulelearn.kbeval.RuleScorer` calls in hybrid mode (``probabilities``,
    ``data.entity_ids``).

    Attributes:
        relations: The relation IRIs (column r: range of relation r, R + r: its domain).
        weight: float32 (d, 2R).  bias: float32 (2R,).
        encoder: The text encoder's name ("" = the default).
        mix: The hybrid weight chosen on validation.
    """

    def __init__(self, relations: Sequence[str], weight: np.ndarray, bias: np.ndarray, *, encoder: str = "",
                 mix: float = 0.1) -> None:
        self.relations, self.weight, self.bias = list(relations), weight, bias
        self.encoder, self.mix = encoder, mix
        self.data: Any = None
        self._probs: np.ndarray | None = None
        self._column: dict[int, int] = {}

    def bind(self, kb: Any, data: Any) -> TextTyping:
        """Compute the fit of every entity of ``data`` (a KGData of ``kb``) from its text."""
        self.data = data
        vectors = entity_vectors(kb, data.entity_ids, self.encoder)
        if vectors.shape[1] != self.weight.shape[0]:
            raise NesyError(f"the text model expects {self.weight.shape[0]}-dimensional vectors, the encoder "
                            f"gives {vectors.shape[1]}: use the encoder it was learned with ({self.encoder or 'default'})")
        logits = vectors @ self.weight + self.bias
        self._probs = 1.0 / (1.0 + np.exp(-logits))
        vids = {str(t): i for i, t in enumerate(self.relations)}
        for vid, term in zip(data.relation_ids.tolist(), kb.vocab.terms(data.relation_ids), strict=True):
            if str(term) in vids:
                self._column[int(vid)] = vids[str(term)]
        return self

    def probabilities(self, anchors: Any, pred: int, *, tails: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """``known`` bool (b,) and float64 (b, E): how well each entity fits the tail (or
        head) of ``pred`` (a vocabulary id) — the same row for every anchor."""
        assert self._probs is not None, "bind() first"
        col = self._column.get(int(pred))
        if col is None:
            raise NesyError("the text model does not know this relation")
        R = len(self.relations)
        row = self._probs[:, col if tails else col + R].astype(np.float64)
        return np.ones(len(anchors), dtype=bool), np.broadcast_to(row, (len(anchors), len(row)))

    def save(self, path: str | Path) -> None:
        """Write ``path`` whole or not at all (safetensors: no code runs on loading)."""
        from safetensors.numpy import save_file

        meta = {"relations": json.dumps(self.relations), "encoder": self.encoder, "mix": repr(self.mix)}
        tmp = Path(str(path) + ".tmp")
        save_file({"weight": np.ascontiguousarray(self.weight), "bias": np.ascontiguousarray(self.bias)},
                  str(tmp), metadata=meta)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> TextTyping:
        """Read a text model; NesyError naming the file when it is not one."""
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="numpy") as fh:
                meta = fh.metadata() or {}
                weight, bias = fh.get_tensor("weight"), fh.get_tensor("bias")
            relations = json.loads(meta["relations"])
            mix = float(meta.get("mix", "0.1"))
        except (OSError, KeyError, ValueError, TypeError, SafetensorError) as exc:
            raise NesyError(f"not a text model written by `nesy learn --text`: {exc}", file=str(path)) from None
        if (weight.ndim != 2 or bias.shape != (weight.shape[1],) or weight.shape[1] != 2 * len(relations)
                or not all(isinstance(r, str) for r in relations) or not 0 <= mix <= 10):
            raise NesyError("the text model's tensors do not fit its relations", file=str(path))
        return cls(relations, weight.astype(np.float32), bias.astype(np.float32),
                   encoder=str(meta.get("encoder", "")), mix=mix)


def entity_vectors(kb: Any, entity_ids: np.ndarray, encoder: str = "") -> np.ndarray:
    """float32 (E, d): the text vectors of the entities (label and description, else the
    IRI's local name in words)."""
    from nesy.text.encoder import get_encoder, term_texts

    texts = term_texts(kb, kb.vocab.terms(entity_ids), comments=True)
    return get_encoder(encoder or None, kb=kb).encode(texts).numpy().astype(np.float32)


def learn_typing(kb: Any, data: Any, *, encoder: str = "") -> TextTyping:
    """Fit the typing model on ``data``'s triples (a KGData of ``kb``)."""
    E, R = len(data.entity_ids), len(data.relation_ids)
    vectors = entity_vectors(kb, data.entity_ids, encoder)
    weight, bias = fit_typing(vectors, typing_labels(data.triples, E, R))
    relations = [str(t) for t in kb.vocab.terms(data.relation_ids)]
    return TextTyping(relations, weight, bias, encoder=encoder)


__all__ = ["SUFFIX", "WEIGHTS", "TextTyping", "entity_vectors", "fit_typing", "learn_typing", "typing_labels"]
