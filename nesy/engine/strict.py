"""Which instances of a rule a change seen through its negations and aggregates can touch.

A rule ``h(X) :- p(X), not q(X, _)`` changes where it can only for the ``X`` of the
``q`` facts that changed; ``n(X, N) :- p(X), N = count { Y : q(X, Y) }`` only for the
groups ``X`` those facts fall in. :func:`strict_seeds` turns changed facts into such
bindings; evaluating the rule with them bound gives every head the change can touch, in
the old model (facts to take back) and in the new one (facts to add).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from nesy.engine.compile import CAggregate, CAtom, CRule, lit_vars
from nesy.engine.relation import Relation
from nesy.engine.table import Table

if TYPE_CHECKING:
    from nesy.engine.evaluator import Evaluator

#: ``rel -> rows`` of the relation's changed facts (int64, possibly empty).
ChangedRows = Callable[[Relation], np.ndarray]


def project(tuples: np.ndarray, args: tuple, keep: set[str]) -> Table | None:
    """The bindings of the variables ``keep`` that the atom ``args`` takes on ``tuples``
    (int64 ``(m, arity)``), distinct; None when no tuple matches the atom's constants."""
    ok = np.ones(len(tuples), dtype=bool)
    cols: dict[str, np.ndarray] = {}
    for j, a in enumerate(args):
        if isinstance(a, int):
            ok &= tuples[:, j] == a
        elif a in keep:
            if a in cols:
                ok &= tuples[:, j] == cols[a]
            else:
                cols[a] = tuples[:, j]
    if not ok.any():
        return None
    return distinct({v: c[ok] for v, c in cols.items()})


def distinct(cols: dict[str, np.ndarray]) -> Table:
    """A table of the distinct rows of ``cols`` (one row when there are no columns)."""
    if not cols:
        return Table.unit()
    names = sorted(cols)
    rows = np.unique(np.stack([cols[v] for v in names], axis=1), axis=0)
    return Table(len(rows), {v: rows[:, i] for i, v in enumerate(names)})


def _tuples(rel: Relation, cls: int | None, rows: np.ndarray) -> np.ndarray:
    t = rel.cols[rows]
    return t if cls is None else np.column_stack([t[:, 0], np.full(len(t), cls, dtype=np.int64)])


def _outside(rule: CRule, i: int) -> set[str]:
    """The variables of ``rule`` outside its body literal ``i`` (head included)."""
    out = {a for a in rule.head_args if isinstance(a, str)}
    for j, lit in enumerate(rule.body):
        if j != i:
            out |= lit_vars(lit)
    return out


def strict_seeds(ev: Evaluator, rule: CRule, changed: ChangedRows) -> list[Table] | None:
    """Per negated atom or aggregate of ``rule`` that reads changed facts, the bindings of the
    rule's variables through which it sees them.

    Returns:
        The seed tables (empty: the rule sees no change that way), or None when a change
        cannot be traced (an aggregate whose own body negates or aggregates changed facts).
    """
    seeds: list[Table] = []
    for i, lit in enumerate(rule.body):
        if isinstance(lit, CAtom) and lit.negated:
            outside = _outside(rule, i)
            for rel, cls in ev.relations_for(lit.key):
                rows = changed(rel)
                if len(rows):
                    seed = project(_tuples(rel, cls, rows), lit.args, outside)
                    if seed is not None:
                        seeds.append(seed)
        elif isinstance(lit, CAggregate):
            found = _groups(ev, lit, changed)
            if found is None:
                return None
            seeds += found
    return seeds


def _groups(ev: Evaluator, lit: CAggregate, changed: ChangedRows) -> list[Table] | None:
    """The groups of aggregate ``lit`` whose inner body matches a changed fact."""
    inner = CRule(-1, None, (), lit.body)
    groups = set(lit.group_vars)
    out: list[Table] = []
    for li, b in enumerate(lit.body):
        if isinstance(b, CAggregate):
            return None  # an aggregate inside an aggregate: not traced
        if not isinstance(b, CAtom):
            continue
        moved = {rel.rel_id: rows for rel, _ in ev.relations_for(b.key) if len(rows := changed(rel))}
        if not moved:
            continue
        if b.negated or b.neural:
            return None
        for t in ev.iter_body(inner, li, moved):
            if t.n:
                out.append(distinct({v: c for v, c in t.cols.items() if v in groups}))
    return out


__all__ = ["ChangedRows", "distinct", "project", "strict_seeds"]
