"""Binding tables, and the vectorised joins that match stored atoms against them.

A :class:`Table` holds one row per partial match of a rule body: an int64 id column per
bound variable, the product of the matched facts' scores, and one premise-handle column
per matched positive atom (see :data:`nesy.engine.relation.HANDLE_SHIFT`). Joins and
anti-joins map a table to a new one with whole-array numpy operations (index probes,
``repeat``/gather); the other literals live in :mod:`nesy.engine.ops`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from nesy.engine.compile import CAtom, CLit, Key
from nesy.engine.kernels import expand_ranges, stable_order, unique
from nesy.engine.relation import Relation, pack

_E = np.empty(0, dtype=np.int64)


@dataclass
class Table:
    """Partial matches: ``n`` rows of variable bindings, scores and premise handles.

    Attributes:
        n: Number of rows.
        cols: Variable name -> int64 ids, shape ``(n,)``.
        score: float64 ``(n,)`` product of matched scores, or None when all are 1.0.
        prem: Premise slot -> int64 handles ``(n,)`` of the matched facts.
    """

    n: int
    cols: dict[str, np.ndarray] = field(default_factory=dict)
    score: np.ndarray | None = None
    prem: dict[int, np.ndarray] = field(default_factory=dict)

    @staticmethod
    def unit() -> Table:
        """The table with one empty row (the start of every body)."""
        return Table(1)

    def take(self, idx: np.ndarray, keep: set[str] | None = None) -> Table:
        """Rows ``idx`` (int64 ``(m,)``), dropping variables not in ``keep``."""
        cols = {v: c[idx] for v, c in self.cols.items() if keep is None or v in keep}
        score = None if self.score is None else self.score[idx]
        return Table(len(idx), cols, score, {s: h[idx] for s, h in self.prem.items()})

    def col(self, arg: str | int) -> np.ndarray:
        """Ids of a variable, or a constant broadcast to ``(n,)``."""
        if isinstance(arg, str):
            return self.cols[arg]
        return np.full(self.n, arg, dtype=np.int64)


def concat(tables: list[Table], template: Table) -> Table:
    """Stack tables with the same columns (``template`` gives the shape when empty)."""
    tables = [t for t in tables if t.n]
    if not tables:
        return Table(0, {v: _E for v in template.cols}, None if template.score is None else np.empty(0),
                     {s: _E for s in template.prem})
    if len(tables) == 1:
        return tables[0]
    t0 = tables[0]
    score = None if t0.score is None else np.concatenate([t.score for t in tables])
    return Table(sum(t.n for t in tables), {v: np.concatenate([t.cols[v] for t in tables]) for v in t0.cols},
                 score, {s: np.concatenate([t.prem[s] for t in tables]) for s in t0.prem})


class Context(Protocol):
    """What the table operations need from the evaluator."""

    vocab: Any
    registry: Any
    tracks_scores: bool
    builtin_cache: dict

    def relations_for(self, key: Key) -> list[tuple[Relation, int | None]]:
        """Relations holding ``key``'s facts, with the class id for ``TYPE_ANY``."""

    def neural_relation(self, pred: int, heads: np.ndarray | None, tails: np.ndarray | None) -> Relation:
        """Scores of ``~pred`` for the given heads/tails (int64 ``(k,)`` or None)."""

    def eval_body(self, body: tuple[CLit, ...], seed: Table, keep: set[str]) -> Table:
        """Matches of a conjunction starting from ``seed``'s bindings."""

    def budget_join(self, total: int, row_bytes: int, key: Key) -> int:
        """Check the limits before a join of ``total`` rows of ``key``; rows per chunk."""


def repeat_filter(args: tuple, free: list[int]) -> list[tuple[int, int]]:
    """Pairs of positions holding the same still-unbound variable (must be equal)."""
    first: dict[str, int] = {}
    pairs = []
    for j in free:
        a = args[j]
        if a in first:
            pairs.append((first[a], j))
        else:
            first[a] = j
    return pairs


def _match(table: Table, rel: Relation, args: tuple, bound: list[int],
           subset: np.ndarray | None) -> tuple[int, Callable[[int, int], tuple[np.ndarray, np.ndarray]]]:
    """How many ``(table row, relation row)`` pairs a join has, and how to make a range of them.

    The count is known before any pair is made (index counts, or the product of the sizes
    for a cross product), so a caller can refuse a join too big, or cut it into chunks.

    Returns:
        ``(total, pairs)``: ``pairs(a, b)`` gives the pairs ``a..b-1`` as int64 arrays
        ``(pi, rows)``. With ``subset`` the count is of candidates, and ``pairs`` drops
        those whose bound columns do not match.
    """
    if subset is not None:
        k = len(subset)

        def candidates(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
            pos = np.arange(a, b, dtype=np.int64)
            pi, rows = pos // k, subset[pos % k]
            ok = np.ones(len(rows), dtype=bool)
            for j in bound:
                want = args[j] if isinstance(args[j], int) else table.cols[args[j]][pi]
                ok &= rel.cols[rows, j] == want
            return pi[ok], rows[ok]

        return table.n * k, candidates
    if not bound:
        n = rel.n
        return table.n * n, lambda a, b: divmod(np.arange(a, b, dtype=np.int64), n)
    probe = np.stack([table.col(args[j]) for j in bound], axis=1) if table.n else np.empty((0, len(bound)), np.int64)
    if len(bound) == len(args):
        found = rel.find(probe)
        hit = np.flatnonzero(found >= 0)
        return len(hit), lambda a, b: (hit[a:b], found[hit[a:b]])
    keys = pack(probe, rel.interner, False)
    runs = []
    for lo, cnt, rrows in rel.index(tuple(bound)).ranges(keys):
        ends = np.cumsum(cnt)
        if len(ends) and ends[-1]:
            runs.append((int(ends[-1]), lo, cnt, ends, rrows))

    def probed(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        outs_p, outs_r, base = [], [], 0
        for total, lo, cnt, ends, rrows in runs:
            lo_r, hi_r = max(a - base, 0), min(b - base, total)
            if lo_r < hi_r:
                pi, at = _pair_range(lo, cnt, ends, lo_r, hi_r)
                outs_p.append(pi)
                outs_r.append(rrows[at])
            base += total
        if len(outs_p) == 1:
            return outs_p[0], outs_r[0]
        return (np.concatenate(outs_p), np.concatenate(outs_r)) if outs_p else (_E, _E)

    return sum(r[0] for r in runs), probed


def _pair_range(lo: np.ndarray, cnt: np.ndarray, ends: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``a..b-1`` of one sorted run's matches: (probe row, position in the run).

    Probe row ``i`` matches positions ``lo[i] .. lo[i] + cnt[i] - 1``; ``ends`` is the
    running total of ``cnt``, so pair ``j`` belongs to the first row whose end exceeds ``j``.
    """
    if a == 0 and b == int(ends[-1]):
        return expand_ranges(lo, cnt, b)
    first = int(np.searchsorted(ends, a, "right"))
    last = int(np.searchsorted(ends, b - 1, "right")) + 1
    starts = ends[first:last] - cnt[first:last]
    # Clip the first and last row's ranges to the pairs asked for.
    skip = np.maximum(starts, a) - starts
    take = np.minimum(ends[first:last], b) - starts - skip
    owner, at = expand_ranges(lo[first:last] + skip, take, b - a)
    return owner + first, at


def _joined(ctx: Context, table: Table, rel: Relation, args: tuple, free: list[int], pi: np.ndarray,
            rows: np.ndarray, slot: int, keep: set[str] | None, scored: bool) -> Table:
    """The bindings of matched pairs ``(pi, rows)``: ``table``'s rows extended with ``rel``'s."""
    for a, b in repeat_filter(args, free):
        ok = rel.cols[rows, a] == rel.cols[rows, b]
        pi, rows = pi[ok], rows[ok]
    out = table.take(pi, keep)
    for j in free:
        v = args[j]
        if keep is None or v in keep:
            out.cols[v] = rel.cols[rows, j]
    if ctx.tracks_scores and scored:
        s = rel.score[rows]
        out.score = s if out.score is None else out.score * s
    if slot >= 0:
        out.prem[slot] = rel.handles(rows)
    return out


def join_relation_chunks(ctx: Context, table: Table, rel: Relation, args: tuple, slot: int,
                         keep: set[str] | None, subset: np.ndarray | None = None,
                         scored: bool = True) -> Iterator[Table]:
    """Join ``table`` with the facts of ``rel`` matching ``args``, in chunks of bounded size.

    The join's size is counted first and handed to ``ctx.budget_join``, which stops a join
    over ``max_facts`` rows before anything is allocated and says how many rows one chunk
    may have (from the memory budget); the chunks come in the order one whole join has.

    Args:
        ctx: Evaluation context.
        table: Current bindings.
        rel: The relation.
        args: One compiled argument per column.
        slot: Premise slot to record the matched rows in (-1: none).
        keep: Variables still needed afterwards (None: keep all).
        subset: Restrict to these rows of ``rel`` (int64 ``(k,)``; the semi-naive delta).
        scored: Multiply the matched facts' scores in (False for magic atoms).
    """
    bound = [j for j, a in enumerate(args) if isinstance(a, int) or a in table.cols]
    free = [j for j in range(len(args)) if j not in bound]
    total, pairs = _match(table, rel, args, bound, subset)
    width = len(table.cols) + len(free) + len(table.prem) + 4  # + score, handles, pair indices
    step = ctx.budget_join(total, 8 * width, rel.key)
    for a in range(0, total, step):
        if a:
            ctx.budget_join(0, 0, rel.key)  # the clock, between chunks
        pi, rows = pairs(a, min(a + step, total))
        yield _joined(ctx, table, rel, args, free, pi, rows, slot, keep, scored)


def join_relation(ctx: Context, table: Table, rel: Relation, args: tuple, slot: int,
                  keep: set[str] | None, subset: np.ndarray | None = None, scored: bool = True) -> Table:
    """The whole join of :func:`join_relation_chunks` as one table."""
    parts = list(join_relation_chunks(ctx, table, rel, args, slot, keep, subset, scored))
    if parts:
        return concat(parts, parts[0])
    return _joined(ctx, table, rel, args, [j for j, a in enumerate(args) if isinstance(a, str) and a not in table.cols],
                   _E, _E, slot, keep, scored)


def join_atom_chunks(ctx: Context, table: Table, atom: CAtom, keep: set[str] | None,
                     subset: dict[int, np.ndarray] | None = None) -> Iterator[Table]:
    """Join with a positive stored atom (``subset``: relation id -> delta rows), chunk by chunk."""
    if atom.neural:
        yield _join_neural(ctx, table, atom, keep)
        return
    rels = ctx.relations_for(atom.key)
    if atom.key != ("T",):
        for rel, _ in rels:
            if subset is None or rel.rel_id in subset:
                yield from join_relation_chunks(ctx, table, rel, atom.args, atom.slot, keep,
                                                None if subset is None else subset[rel.rel_id], not atom.hidden)
        return
    # rdf:type(X, C) with a variable class: one join per class relation.
    x, c = atom.args
    by_class = {cls: rel for rel, cls in rels}
    if c in table.cols:
        for cls, rows in group_rows(table.cols[c]):
            rel = by_class.get(cls)
            if rel is None or (subset is not None and rel.rel_id not in subset):
                continue
            yield from join_relation_chunks(ctx, table.take(rows), rel, (x,), atom.slot, keep,
                                            None if subset is None else subset[rel.rel_id])
        return
    for cls, rel in by_class.items():
        if subset is not None and rel.rel_id not in subset:
            continue
        for part in join_relation_chunks(ctx, table, rel, (x,), atom.slot, keep,
                                         None if subset is None else subset[rel.rel_id]):
            if keep is None or c in keep:
                part.cols[c] = np.full(part.n, cls, dtype=np.int64)
            yield part


def join_atom(ctx: Context, table: Table, atom: CAtom, keep: set[str] | None,
              subset: dict[int, np.ndarray] | None = None) -> Table:
    """Join with a positive stored atom (``subset``: relation id -> delta rows), as one table."""
    return concat(list(join_atom_chunks(ctx, table, atom, keep, subset)), _shape(table, atom, keep))


def group_rows(values: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``(value, row indices)`` for each distinct value of int64 ``values`` (one sort, not
    one scan per value)."""
    order = stable_order(values)
    sv = values[order]
    cuts = np.flatnonzero(sv[1:] != sv[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(sv)]])
    return [(int(sv[a]), order[a:b]) for a, b in zip(starts, ends, strict=True) if b > a]


def _shape(table: Table, atom: CAtom, keep: set[str] | None) -> Table:
    names = {v for v in table.cols if keep is None or v in keep}
    names |= {a for a in atom.args if isinstance(a, str) and (keep is None or a in keep)}
    prem = dict.fromkeys(table.prem, _E)
    if atom.slot >= 0:
        prem[atom.slot] = _E
    return Table(0, dict.fromkeys(names, _E), table.score, prem)


def _join_neural(ctx: Context, table: Table, atom: CAtom, keep: set[str] | None) -> Table:
    h, t = atom.args

    def values(a: str | int) -> np.ndarray | None:
        if isinstance(a, int):
            return np.array([a], dtype=np.int64)
        return unique(table.cols[a]) if a in table.cols else None

    rel = ctx.neural_relation(atom.key[1], values(h), values(t))
    return join_relation(ctx, table, rel, atom.args, atom.slot, keep)


def anti_join(ctx: Context, table: Table, atom: CAtom, keep: set[str] | None) -> Table:
    """Keep rows for which the negated atom has no match (anonymous arguments are free)."""
    exists = np.zeros(table.n, dtype=bool)
    args = atom.args
    pairs: list[tuple[Relation, tuple, np.ndarray]] = []
    if atom.key == ("T",):
        x, c = args
        rels = ctx.relations_for(atom.key)
        if c in table.cols:
            by_class = {cls: rel for rel, cls in rels}
            pairs = [(by_class[cls], (x,), rows) for cls, rows in group_rows(table.cols[c]) if cls in by_class]
        else:
            pairs = [(rel, (x,), np.arange(table.n)) for rel, _ in rels]
    else:
        pairs = [(rel, args, np.arange(table.n)) for rel, _ in ctx.relations_for(atom.key)]
    for rel, a, rows in pairs:
        if not len(rows) or rel.n == 0:
            continue
        bound = [j for j, v in enumerate(a) if isinstance(v, int) or v in table.cols]
        probe = np.stack([table.col(a[j])[rows] for j in bound], axis=1) if bound else np.empty((len(rows), 0), np.int64)
        if len(bound) == len(a):
            hit = rel.find(probe) >= 0
        elif not bound:
            hit = np.ones(len(rows), dtype=bool)
        else:
            hit = rel.index(tuple(bound)).count(pack(probe, rel.interner, False)) > 0
        exists[rows[hit]] = True
    return table.take(np.flatnonzero(~exists), keep)
