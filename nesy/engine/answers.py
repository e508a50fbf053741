"""Query answers and constraint violations, as the reasoner returns them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rdflib.term import Identifier

from nesy.engine.compile import CRule
from nesy.engine.proofs import Proof, RuleInfo
from nesy.engine.semirings import Semiring
from nesy.engine.table import Table


@dataclass
class Answer:
    """One answer of a query.

    Attributes:
        bindings: Query variable name -> rdflib term.
        score: The answer's score (best proof under ``maxprod``).
        proof: Its proof; for a multi-literal query a ``query`` node whose premises are
            the proofs of the matched atoms (built on first access).
    """

    bindings: dict[str, Identifier]
    score: float
    build: Callable[[], Proof] | None = field(default=None, repr=False, compare=False)
    #: ``(builder, compiled query, matches, row, score)``: where the proof is read from
    #: (:func:`nesy.engine.proofdata.answer_proof_dicts` writes it without building it).
    data: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)
    _proof: Proof | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def proof(self) -> Proof:
        """The answer's proof (built on first access)."""
        if self._proof is None and self.build is not None:
            self._proof = self.build()
        return self._proof

    @property
    def built(self) -> bool:
        """Whether :attr:`proof` has been built (or was given)."""
        return self._proof is not None

    def __getitem__(self, name: str) -> Identifier:
        return self.bindings[name]

    def _repr_html_(self) -> str:
        from nesy.engine.display import Answers

        return Answers([self])._repr_html_()


@dataclass
class Violation:
    """One match of a constraint ``false :- body``.

    Attributes:
        rule: The constraint.
        bindings: Its variable bindings.
        score: Product of the matched facts' scores (times the rule weight).
        proof: A ``violation`` node whose premises are the matched facts' proofs.
    """

    rule: RuleInfo
    bindings: dict[str, Identifier]
    score: float
    proof: Proof


def collect_answers(ev: object, rule: CRule, table: Table, builder: object, semiring: Semiring,
                    limit: int | None) -> list[Answer]:
    """Group the matches of a query body into answers (one per distinct binding).

    Args:
        ev: The evaluator the matches come from.
        rule: The compiled query (``rule.names`` are the answer variables).
        table: The matches.
        builder: A :class:`~nesy.engine.explain.ProofBuilder` for ``ev``.
        semiring: Combines the scores of several matches of one answer.
        limit: Keep at most this many answers (the best).
    """
    if table.n == 0:
        return []
    names = list(rule.names)
    scores = table.score if (semiring.tracks_scores and table.score is not None) else np.ones(table.n)
    if names:
        mat = np.stack([table.cols[v] for v in names], axis=1)
        groups, gid = np.unique(mat, axis=0, return_inverse=True)
        gid = gid.ravel()
    else:
        groups, gid = np.zeros((1, 0), dtype=np.int64), np.zeros(table.n, dtype=np.int64)
    ng = len(groups)
    combined = semiring.disjoin(scores, gid, ng) if semiring.tracks_scores else np.ones(ng)
    order = np.lexsort((-scores, gid))
    first = np.ones(len(order), dtype=bool)
    first[1:] = gid[order][1:] != gid[order][:-1]
    best_row = order[first]
    vocab = ev.vocab
    items = []
    for g in range(ng):
        terms = vocab.terms(groups[g])
        items.append((-float(combined[g]), tuple(str(t) for t in terms), g, terms))
    items.sort(key=lambda x: (x[0], x[1]))
    if limit is not None:
        items = items[:limit]
    out = []
    for neg, _, g, terms in items:
        row = int(best_row[g])
        score = -neg
        out.append(Answer(dict(zip(names, terms, strict=True)), score,
                          _builder(builder, rule, table, row, score), (builder, rule, table, row, score)))
    return out


def _builder(builder: object, rule: CRule, table: Table, row: int, score: float) -> Callable[[], Proof]:
    return lambda: builder.matches(rule, table, row, score, "query")
