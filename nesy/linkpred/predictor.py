"""The KB side of link prediction: compact training data from the store, id maps, the predictor.

A KGE model works on compact ids (entities 0..E-1, relations 0..R-1); the knowledge base
on vocabulary ids. :class:`KGData` holds the map between them (``entity_ids`` and
``relation_ids``, both vocabulary ids in compact order) and is saved in the checkpoint with
a fingerprint of the terms, so a checkpoint is only ever used with the vocabulary it was
trained on. :class:`LinkPredictor` is what the reasoner calls for ``~p(X, Y)`` and what
``kb.predict`` and ``nesy predict`` use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nesy.engine.kernels import unique
from nesy.errors import NesyError

if TYPE_CHECKING:
    from nesy.kbview import KBView
    from nesy.store.vocab import Vocab

#: The graphs link predictors learn from: stored facts, not their own or the rules' output.
TRAIN_GRAPHS = ("asserted", "extracted")


def fingerprint(vocab: Vocab, ids: np.ndarray) -> str:
    """SHA-256 over the terms of ``ids`` (int64 ``(k,)``) in order."""
    digest = hashlib.sha256()
    for term in vocab.terms(ids):
        digest.update(term.n3().encode("utf-8") + b"\n")
    return digest.hexdigest()


@dataclass
class KGData:
    """Training triples in compact ids, and the maps back to vocabulary ids.

    Attributes:
        triples: int64 ``(n, 3)`` compact (head, relation, tail).
        entity_ids: int64 ``(E,)`` vocabulary id of compact entity i.
        relation_ids: int64 ``(R,)`` vocabulary id of compact relation j.
    """

    triples: np.ndarray
    entity_ids: np.ndarray
    relation_ids: np.ndarray

    @classmethod
    def from_kb(cls, kb: KBView, *, entities: np.ndarray | None = None,
                relations: np.ndarray | None = None, extra: np.ndarray | None = None) -> KGData:
        """The KB's entity-to-entity triples (literal objects left out).

        Args:
            kb: The knowledge base.
            entities: int64 ``(E0,)`` entity order to keep (a checkpoint's): these come
                first, entities new since then are appended.
            relations: int64 ``(R0,)`` relation order to keep; the KB may not add relations.
            extra: int64 ``(k, 3)`` vocabulary-id triples (queries from a file) whose
                entities and relations join the maps without joining the graph.
        """
        from nesy.store.store import GRAPH_CODE

        t = kb.store.table
        keep = np.isin(t.g, [GRAPH_CODE[g] for g in TRAIN_GRAPHS]) & ~kb.vocab.is_literal(t.o)
        s, p, o = t.s[keep], t.p[keep], t.o[keep]
        triples = np.unique(np.stack([s, p, o], axis=1), axis=0) if len(s) else np.empty((0, 3), np.int64)
        if not len(triples):
            raise NesyError("the knowledge base has no triples between entities to train on; load data first")
        both = triples if extra is None else np.concatenate([triples, extra.reshape(-1, 3)])
        seen = unique(np.concatenate([both[:, 0], both[:, 2]]))
        ents = seen if entities is None else np.concatenate([entities, np.setdiff1d(seen, entities)])
        rels = unique(both[:, 1])
        if relations is not None:
            extra = np.setdiff1d(rels, relations)
            if len(extra):
                names = ", ".join(kb.shorten(x) for x in kb.vocab.terms(extra[:5]))
                raise NesyError(f"the checkpoint does not know relation(s) {names}; "
                                "train a new model (without --resume) to include them")
            rels = relations
        data = cls(np.empty((0, 3), np.int64), ents.astype(np.int64), rels.astype(np.int64))
        data.triples = data.compact(triples)
        return data

    def compact(self, triples: np.ndarray) -> np.ndarray:
        """Vocabulary-id triples int64 ``(n, 3)`` as compact ids; rows with an entity or
        relation the model does not know are dropped."""
        e = IdIndex(self.entity_ids)
        r = IdIndex(self.relation_ids)
        h, rel, tail = e(triples[:, 0]), r(triples[:, 1]), e(triples[:, 2])
        ok = (h >= 0) & (rel >= 0) & (tail >= 0)
        return np.stack([h[ok], rel[ok], tail[ok]], axis=1).astype(np.int64)

    def meta(self, vocab: Vocab) -> dict[str, Any]:
        """What a checkpoint stores about the vocabulary."""
        return {"entity_ids": self.entity_ids.tolist(), "relation_ids": self.relation_ids.tolist(),
                "entity_fingerprint": fingerprint(vocab, self.entity_ids),
                "relation_fingerprint": fingerprint(vocab, self.relation_ids)}

    @classmethod
    def from_meta(cls, meta: dict[str, Any], vocab: Vocab, where: str) -> KGData:
        """The maps of a checkpoint, checked against ``vocab``.

        Raises:
            NesyError: the checkpoint was trained on another vocabulary.
        """
        try:
            ents = np.asarray(meta["entity_ids"], dtype=np.int64)
            rels = np.asarray(meta["relation_ids"], dtype=np.int64)
        except (KeyError, TypeError, ValueError):
            raise NesyError("the checkpoint has no vocabulary map; it was not written by `nesy train`",
                            file=where) from None
        n = len(vocab)
        ok = (not len(ents) or (ents.min() >= 0 and ents.max() < n)) and (not len(rels) or rels.max() < n)
        if not ok or fingerprint(vocab, ents) != meta.get("entity_fingerprint") \
                or fingerprint(vocab, rels) != meta.get("relation_fingerprint"):
            raise NesyError("the checkpoint belongs to another knowledge base (its vocabulary differs); "
                            "train a model for this one", file=where)
        return cls(np.empty((0, 3), np.int64), ents, rels)


class IdIndex:
    """Vocabulary id -> compact id (-1 when absent), vectorised by a sorted lookup.

    Args:
        ids: int64 (k,) vocabulary ids in compact order (compact id i is ``ids[i]``).
    """

    def __init__(self, ids: np.ndarray) -> None:
        self.order = np.argsort(ids, kind="stable")
        self.sorted = ids[self.order]

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.int64)
        if not len(self.sorted):
            return np.full(len(values), -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.sorted, values), 0, len(self.sorted) - 1)
        return np.where(self.sorted[pos] == values, self.order[pos], -1)


class LinkPredictor:
    """A trained model behind vocabulary ids, with calibrated probabilities.

    Args:
        model: The KGE model (eval mode).
        data: The id maps of its checkpoint.
        calibrator: Platt calibrator (``None``: a plain sigmoid of the score).
        source: What proofs say about a predicted fact (model, checkpoint...).
        top_k: Candidates per bound entity for ``~p(X, Y)``.
        threshold: Lowest probability a candidate needs.
    """

    def __init__(self, model: Any, data: KGData, calibrator: Any = None, *, source: dict[str, Any] | None = None,
                 top_k: int = 10, threshold: float = 0.5) -> None:
        self.model = model.eval()
        self.data = data
        self.calibrator = calibrator
        self.source = dict(source or {})
        self.top_k = top_k
        self.threshold = threshold
        self._entities = IdIndex(data.entity_ids)
        self._relations = IdIndex(data.relation_ids)

    @property
    def num_relations(self) -> int:
        return len(self.data.relation_ids)

    def relation(self, pred: int) -> int:
        """The compact id of vocabulary predicate ``pred``; NesyError when unknown."""
        r = int(self._relations(np.array([pred]))[0])
        if r < 0:
            raise NesyError("the link predictor was not trained on this relation; "
                            "train again after loading facts of it")
        return r

    def probabilities(self, anchors: np.ndarray, pred: int, *, tails: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities of every entity as the other end of ``pred`` from each anchor.

        Args:
            anchors: int64 ``(b,)`` vocabulary ids (heads when ``tails``, else tails).
            pred: The predicate's vocabulary id.
            tails: Predict tails (True) or heads (through the reciprocal relation).

        Returns:
            ``known``: bool ``(b,)`` anchors the model knows; ``probs``: float64
            ``(known.sum(), E)``.
        """
        import torch

        r = self.relation(pred) + (0 if tails else self.num_relations)
        idx = self._entities(anchors)
        known = idx >= 0
        out = []
        with torch.no_grad():
            for lo in range(0, int(known.sum()), 256):
                h = torch.as_tensor(idx[known][lo:lo + 256])
                scores = self.model.score_t(h, torch.full_like(h, r))
                out.append(self._prob(scores).double().numpy())
        probs = np.concatenate(out) if out else np.empty((0, len(self.data.entity_ids)))
        return known, probs

    def _prob(self, scores: Any) -> Any:
        import torch

        return self.calibrator.prob(scores) if self.calibrator is not None else torch.sigmoid(scores)

    def top(self, anchors: np.ndarray, pred: int, *, tails: bool = True, k: int | None = None,
            threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` candidates per anchor with probability >= ``threshold``.

        Returns:
            ``pairs``: int64 ``(m, 2)`` vocabulary ids (anchor, candidate); ``probs``: ``(m,)``.
        """
        k = self.top_k if k is None else k
        threshold = self.threshold if threshold is None else threshold
        known, probs = self.probabilities(anchors, pred, tails=tails)
        if not len(probs):
            return np.empty((0, 2), np.int64), np.empty(0)
        k = min(k, probs.shape[1])
        best = np.argpartition(-probs, k - 1, axis=1)[:, :k]
        p = np.take_along_axis(probs, best, axis=1)
        rows = np.repeat(np.asarray(anchors, dtype=np.int64)[known], k)
        cand, p = self.data.entity_ids[best.reshape(-1)], p.reshape(-1)
        keep = p >= threshold
        order = np.lexsort((-p[keep], rows[keep]))
        return np.stack([rows[keep], cand[keep]], axis=1)[order], p[keep][order]

    def __call__(self, pred: int, heads: np.ndarray | None, tails: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Rows (head, tail) int64 ``(m, 2)`` and probabilities ``(m,)`` for ``~pred(X, Y)``.

        A bound side gets its top-k candidates above the threshold; both bound: every pair's
        probability above the threshold; none bound: top-k tails of every entity the model
        knows as a head of ``pred``.
        """
        if heads is not None and tails is not None:
            known, probs = self.probabilities(heads, pred)
            cols = self._entities(tails)
            probs = probs[:, cols[cols >= 0]]
            tail_ids = np.asarray(tails)[cols >= 0]
            hh = np.repeat(np.asarray(heads)[known], len(tail_ids))
            tt = np.tile(tail_ids, int(known.sum()))
            p = probs.reshape(-1)
            keep = p >= self.threshold
            return np.stack([hh[keep], tt[keep]], axis=1), p[keep]
        if tails is not None:
            pairs, p = self.top(tails, pred, tails=False)
            return pairs[:, ::-1].copy(), p
        if heads is None:
            r = self.relation(pred)
            heads = self.data.entity_ids[unique(self.data.triples[self.data.triples[:, 1] == r][:, 0])]
        return self.top(heads, pred)


__all__ = ["TRAIN_GRAPHS", "IdIndex", "KGData", "LinkPredictor", "fingerprint"]
