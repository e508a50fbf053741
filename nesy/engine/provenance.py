"""Extra passes of the semirings that semi-naive rounds alone do not finish.

``noisyor`` combines *all* derivations of a fact, so after the fixpoint of the facts the
scores are iterated to their own fixpoint; ``topk`` keeps the ``k`` best derivations of
every fact for alternative proofs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nesy.engine.stratify import Stratum
from nesy.errors import LimitExceeded

if TYPE_CHECKING:
    from nesy.engine.evaluator import Evaluator


def noisyor_fixpoint(ev: Evaluator, st: Stratum) -> None:
    """Iterate ``score = 1 - (1 - input) Π (1 - derivation)`` to its fixpoint (with
    ``per_rule``, the product runs over rules, each with its best derivation)."""
    for _ in range(ev.shared.max_iterations):
        logs: dict[int, np.ndarray] = {}
        for rule in st.rules:
            for rel, at, scores, _ in ev.all_derivations(rule):
                if ev.semiring.per_rule:
                    at, scores = _best_per_fact(at, scores)
                with np.errstate(divide="ignore"):  # log(0) = -inf is exact: a certain derivation
                    acc = logs.setdefault(rel.rel_id, np.log1p(-rel.base[: rel.n]))
                    np.add.at(acc, at, np.log1p(-scores))
        delta = 0.0
        stamp = ev.shared.tick()
        for rid, acc in logs.items():
            rel = ev.by_id[rid]
            new = -np.expm1(acc)
            moved = np.flatnonzero(np.abs(new - rel.score[: rel.n]) > ev.semiring.epsilon)
            if len(moved):
                delta = max(delta, float(np.abs(new - rel.score[: rel.n]).max()))
                rel.score[moved] = new[moved]
                rel.stamp[moved] = stamp
                rel.last_change = stamp
        if delta <= ev.semiring.epsilon or not st.recursive:
            return
    raise LimitExceeded(f"noisy-or scores did not converge within {ev.shared.max_iterations} rounds")


def _best_per_fact(at: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct facts of ``at`` (int64 (m,)) with their highest score (float64 (m,))."""
    facts, where = np.unique(at, return_inverse=True)
    best = np.zeros(len(facts))
    np.maximum.at(best, where, scores)
    return facts, best


def keep_alternatives(ev: Evaluator, st: Stratum) -> None:
    """Keep the ``k`` best derivations of every fact of ``st`` (for ``topk`` proofs)."""
    k = ev.semiring.k
    parts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}
    for rule in st.rules:
        for rel, at, scores, prem in ev.all_derivations(rule):
            idx = ev.derivs[rule.id].append(prem)
            parts.setdefault(rel.rel_id, []).append((at, np.full(len(at), rule.id), idx, scores))
    for rid, ps in parts.items():
        rel = ev.by_id[rid]
        inputs = np.flatnonzero(rel.base[: rel.n] > 0)
        ps.append((inputs, np.full(len(inputs), -1), np.full(len(inputs), -1), rel.base[inputs]))
        at, rule, idx, scores = (np.concatenate(c) for c in zip(*ps, strict=True))
        order = np.lexsort((-scores, at))
        at, rule, idx, scores = at[order], rule[order], idx[order], scores[order]
        start = np.searchsorted(at, at, "left")
        keep = np.arange(len(at)) - start < k
        ev.alts[rid] = (at[keep], rule[keep], idx[keep], scores[keep])
