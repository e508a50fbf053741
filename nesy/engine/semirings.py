"""Provenance semirings: how rule applications and alternative derivations combine scores.

A semiring is picked by name (``boolean``, ``maxprod``, ``noisyor``, ``topk`` or
``topk:K``, or one a plugin registered as kind ``semiring``). Every semiring scores a rule application as ``weight × product(body
scores)``; they differ in how several derivations of one fact combine:

* ``boolean``: plain Datalog; every fact has score 1.0 and one derivation is kept.
* ``maxprod``: the score of the best proof (the default).
* ``noisyor``: ``1 - Π(1 - p)`` over all distinct derivations (an independence
  assumption, as in ProbLog's noisy-or), computed as a fixpoint up to ``epsilon``.
* ``noisyor-rules``: ``1 - Π(1 - p)`` over the *rules* that derive a fact, each with the
  score of its best derivation (AnyBURL's and Anil et al.'s aggregation of rule evidence:
  a rule that reaches a fact along many paths counts once). Learned rule files
  (``nesy learn``) are weighted for it.
* ``topk``: the score of the best proof, and the ``k`` best derivations of every fact are
  kept so that ``k`` alternative proofs can be shown.

With only hard facts and hard rules (all scores 1.0) every semiring gives plain
Datalog's answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nesy.errors import NesyError
from nesy.plugins.registry import resolve

if TYPE_CHECKING:
    from nesy.plugins.registry import Registry

#: Relative margin by which a score must grow to count as an improvement (stops float noise
#: from re-triggering semi-naive rounds forever).
IMPROVEMENT_EPS = 1e-12


@dataclass(frozen=True)
class Semiring:
    """A provenance semiring over scores in (0, 1].

    Attributes:
        name: The name it is registered under (``topk:3`` keeps its ``k``).
        tracks_scores: False for ``boolean``: scores are all 1.0 and never multiplied.
        idempotent: True when re-deriving a fact with the same score changes nothing
            (max-like), so semi-naive evaluation is exact; ``noisyor`` is not.
        k: How many derivations per fact are kept for proofs (1 except for ``topk``).
        epsilon: Convergence threshold of the ``noisyor`` fixpoint.
        per_rule: With ``idempotent`` False: each rule contributes its best derivation once
            (``noisyor-rules``), not every derivation.
    """

    name: str
    tracks_scores: bool = True
    idempotent: bool = True
    k: int = 1
    epsilon: float = 1e-9
    per_rule: bool = False

    def conjoin(self, weight: float, factors: list[np.ndarray]) -> np.ndarray | None:
        """Score of rule applications: ``weight × Π factors``.

        Args:
            weight: The rule weight (1.0 for hard rules).
            factors: Body scores, each float64 of shape ``(n,)``.

        Returns:
            float64 of shape ``(n,)``, or ``None`` for the boolean semiring (all 1.0).
        """
        if not self.tracks_scores:
            return None
        if not factors:
            return None
        # weight × f1 × f2 ... in that order (the same rounding as multiplying into a
        # column of weights), without making the column first.
        out = weight * factors[0]
        for f in factors[1:]:
            out = out * f
        return out

    def disjoin(self, scores: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
        """Combine the scores of several derivations per fact.

        Args:
            scores: float64 ``(m,)``: one score per derivation.
            groups: int64 ``(m,)``: the fact (``0..n_groups-1``) each derivation derives.
            n_groups: Number of facts.

        Returns:
            float64 ``(n_groups,)``: the combined score of every fact.
        """
        if not self.tracks_scores:
            return np.ones(n_groups)
        if not self.idempotent:
            # 1 - Π(1 - p), summed in log space so long products do not underflow.
            with np.errstate(divide="ignore"):
                logs = np.log1p(-np.minimum(scores, 1.0))
            total = np.bincount(groups, weights=logs, minlength=n_groups)
            return -np.expm1(total)
        out = np.zeros(n_groups)
        np.maximum.at(out, groups, scores)
        return out

    def improved(self, new: np.ndarray, old: np.ndarray) -> np.ndarray:
        """Which facts must re-enter the semi-naive delta.

        Args:
            new: float64 ``(n,)``: candidate scores.
            old: float64 ``(n,)``: the stored scores of the same facts.

        Returns:
            bool ``(n,)``: True where ``new`` strictly improves on ``old``.
        """
        if not self.tracks_scores:
            return np.zeros(len(new), dtype=bool)
        return new > old * (1.0 + IMPROVEMENT_EPS) + IMPROVEMENT_EPS

    def fact_score(self, score: float) -> float:
        """The score an input fact carries in this semiring (boolean: always 1.0)."""
        return float(score) if self.tracks_scores else 1.0


def boolean_semiring(arg: str | None = None) -> Semiring:
    """``boolean``: plain Datalog (every score 1.0)."""
    return Semiring("boolean", tracks_scores=False)


def maxprod_semiring(arg: str | None = None) -> Semiring:
    """``maxprod``: the score of the best proof."""
    return Semiring("maxprod")


def noisyor_semiring(arg: str | None = None) -> Semiring:
    """``noisyor`` or ``noisyor:EPSILON``: all derivations, combined as independent."""
    eps = float(arg) if arg else 1e-9
    return Semiring("noisyor" if not arg else f"noisyor:{arg}", idempotent=False, epsilon=eps)


def noisyor_rules_semiring(arg: str | None = None) -> Semiring:
    """``noisyor-rules`` or ``noisyor-rules:EPSILON``: noisy-or over the rules deriving a fact,
    each rule with its best derivation."""
    eps = float(arg) if arg else 1e-9
    return Semiring("noisyor-rules" if not arg else f"noisyor-rules:{arg}", idempotent=False, epsilon=eps,
                    per_rule=True)


def topk_semiring(arg: str | None = None) -> Semiring:
    """``topk`` or ``topk:K``: the best proof's score, keeping ``K`` (3) derivations per fact."""
    try:
        k = int(arg) if arg else 3
    except ValueError as exc:
        raise NesyError(f"topk needs an integer k, as in 'topk:5', not {arg!r}") from exc
    if k < 1:
        raise NesyError(f"topk needs k >= 1, got {k}")
    return Semiring(f"topk:{k}", k=k)


#: The built-in semiring factories; the factory gets the text after ``:`` (or ``None``).
#: They reach users through the registry (kind ``semiring``), where plugins add theirs.
SEMIRINGS: dict[str, Callable[[str | None], Semiring]] = {
    "boolean": boolean_semiring,
    "maxprod": maxprod_semiring,
    "noisyor": noisyor_semiring,
    "noisyor-rules": noisyor_rules_semiring,
    "topk": topk_semiring,
}


def get_semiring(name: str, registry: Registry | None = None) -> Semiring:
    """The semiring called ``name`` (``maxprod``, ``topk:5``, a plugin's ...).

    A registered semiring is a :class:`Semiring` (used as it is) or a factory called with
    the text after ``:`` (or ``None``).

    Args:
        name: ``BASE`` or ``BASE:ARG``; the base is matched ignoring case, ``-`` and ``_``.
        registry: Where names are looked up (default: the process-wide registry).

    Raises:
        NesyError: for an unknown name (with the closest known names as suggestions) or a
            bad argument.
    """
    base, _, arg = name.partition(":")
    found = resolve("semiring", base.strip(), registry)
    arg = arg.strip() or None
    if isinstance(found, Semiring):
        if arg is not None:
            raise NesyError(f"semiring {base.strip()!r} takes no argument, got {name!r}")
        return found
    semiring = found(arg)
    if not isinstance(semiring, Semiring):
        raise NesyError(f"semiring {name!r} is not a Semiring (got {type(semiring).__name__})")
    return semiring
