"""Binding tables and the vectorised operations a rule body runs as (joins, filters, ...).

A :class:`Table` holds one row per partial match of a rule body: an int64 id column per
bound variable, the product of the matched facts' scores, and one premise-handle column
per matched positive atom (see :data:`nesy.engine.relation.HANDLE_SHIFT`). Every
operation maps a table to a new one with whole-array numpy operations; only built-in
predicates (arbitrary Python) are called per distinct binding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from rdflib import Literal
from rdflib.term import Identifier

from nesy.engine.compile import CAggregate, CAssign, CAtom, CBuiltin, CCompare, CExpr, CLit, Key
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

    def relations_for(self, key: Key) -> list[tuple[Relation, int | None]]: ...

    def neural_relation(self, pred: int, heads: np.ndarray | None, tails: np.ndarray | None) -> Relation: ...

    def eval_body(self, body: tuple[CLit, ...], seed: Table, keep: set[str]) -> Table: ...


def _repeat_filter(args: tuple, free: list[int]) -> list[tuple[int, int]]:
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


def join_relation(ctx: Context, table: Table, rel: Relation, args: tuple, slot: int,
                  keep: set[str] | None, subset: np.ndarray | None = None, scored: bool = True) -> Table:
    """Join ``table`` with the facts of ``rel`` matching ``args``.

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
    if subset is not None:
        rows = subset
        pi = np.zeros(len(rows), dtype=np.int64)
        if table.n != 1:
            pi, rows = np.repeat(np.arange(table.n), len(rows)), np.tile(rows, table.n)
        ok = np.ones(len(rows), dtype=bool)
        for j in bound:
            want = args[j] if isinstance(args[j], int) else table.cols[args[j]][pi]
            ok &= rel.cols[rows, j] == want
        pi, rows = pi[ok], rows[ok]
    elif not bound:
        n = rel.n
        pi, rows = np.repeat(np.arange(table.n), n), np.tile(np.arange(n), table.n)
    else:
        probe = np.stack([table.col(args[j]) for j in bound], axis=1) if table.n else np.empty((0, len(bound)), np.int64)
        if len(bound) == len(args):
            found = rel.find(probe)
            pi = np.flatnonzero(found >= 0)
            rows = found[pi]
        else:
            pi, rows = rel.index(tuple(bound)).probe(pack(probe, rel.interner, False))
    for a, b in _repeat_filter(args, free):
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


def join_atom(ctx: Context, table: Table, atom: CAtom, keep: set[str] | None,
              subset: dict[int, np.ndarray] | None = None) -> Table:
    """Join with a positive stored atom (``subset``: relation id -> delta rows)."""
    if atom.neural:
        return _join_neural(ctx, table, atom, keep)
    rels = ctx.relations_for(atom.key)
    parts = []
    if atom.key != ("T",):
        for rel, _ in rels:
            if subset is None or rel.rel_id in subset:
                parts.append(join_relation(ctx, table, rel, atom.args, atom.slot, keep,
                                           None if subset is None else subset[rel.rel_id], not atom.hidden))
        return concat(parts, _shape(table, atom, keep))
    # rdf:type(X, C) with a variable class: one join per class relation.
    x, c = atom.args
    by_class = {cls: rel for rel, cls in rels}
    if c in table.cols:
        classes, inv = np.unique(table.cols[c], return_inverse=True)
        for i, cls in enumerate(classes.tolist()):
            rel = by_class.get(cls)
            if rel is None or (subset is not None and rel.rel_id not in subset):
                continue
            part = table.take(np.flatnonzero(inv == i))
            parts.append(join_relation(ctx, part, rel, (x,), atom.slot, keep,
                                       None if subset is None else subset[rel.rel_id]))
    else:
        for cls, rel in by_class.items():
            if subset is not None and rel.rel_id not in subset:
                continue
            part = join_relation(ctx, table, rel, (x,), atom.slot, keep,
                                 None if subset is None else subset[rel.rel_id])
            if keep is None or c in keep:
                part.cols[c] = np.full(part.n, cls, dtype=np.int64)
            parts.append(part)
    return concat(parts, _shape(table, atom, keep))


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
        return np.unique(table.cols[a]) if a in table.cols else None

    rel = ctx.neural_relation(atom.key[1], values(h), values(t))
    return join_relation(ctx, table, rel, atom.args, atom.slot, keep)


def anti_join(ctx: Context, table: Table, atom: CAtom, keep: set[str] | None) -> Table:
    """Keep rows for which the negated atom has no match (anonymous arguments are free)."""
    exists = np.zeros(table.n, dtype=bool)
    args = atom.args
    pairs: list[tuple[Relation, tuple, np.ndarray]] = []
    if atom.key == ("T",):
        x, c = args
        for rel, cls in ctx.relations_for(atom.key):
            rows = np.flatnonzero(table.cols[c] == cls) if c in table.cols else np.arange(table.n)
            pairs.append((rel, (x,), rows))
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


# -- expressions ---------------------------------------------------------------------------
def eval_expr(ctx: Context, table: Table, e: CExpr) -> tuple[str, np.ndarray]:
    """``("ids", int64 (n,))`` for a variable/constant, ``("num", float64 (n,))`` for arithmetic."""
    if not isinstance(e, tuple):
        return "ids", table.col(e)
    op, left, right = e
    a = _numeric(ctx, *eval_expr(ctx, table, left))
    b = _numeric(ctx, *eval_expr(ctx, table, right))
    with np.errstate(all="ignore"):
        return "num", np.asarray(ctx.registry.operators[op](a, b), dtype=np.float64)


def _numeric(ctx: Context, kind: str, values: np.ndarray) -> np.ndarray:
    return ctx.vocab.numeric(values) if kind == "ids" else values


def _strings(ctx: Context, ids: np.ndarray) -> np.ndarray:
    uniq, inv = np.unique(ids, return_inverse=True)
    text = np.array([str(t) for t in ctx.vocab.terms(uniq)] + [""], dtype=object)
    return text[inv.ravel()]


def compare(ctx: Context, table: Table, lit: CCompare, keep: set[str] | None) -> Table:
    """Keep rows where the comparison holds (numbers numerically, else strings / identity)."""
    ka, a = eval_expr(ctx, table, lit.left)
    kb, b = eval_expr(ctx, table, lit.right)
    return table.take(np.flatnonzero(compare_values(ctx, lit.op, ka, a, kb, b)), keep)


def compare_values(ctx: Context, op: str, ka: str, a: np.ndarray, kb: str, b: np.ndarray) -> np.ndarray:
    """Vectorised ``a op b`` over two evaluated expressions; returns bool ``(n,)``."""
    fn = ctx.registry.comparisons[op]
    na, nb = _numeric(ctx, ka, a), _numeric(ctx, kb, b)
    both = ~np.isnan(na) & ~np.isnan(nb)
    out = np.zeros(len(na), dtype=bool)
    with np.errstate(all="ignore"):
        out[both] = fn(na[both], nb[both])
    rest = np.flatnonzero(~both)
    if len(rest) and ka == "ids" and kb == "ids":
        # Non-numbers: identity for (in)equality, lexical order of the terms otherwise;
        # a number never equals a non-number.
        x, y = a[rest], b[rest]
        if op in ("==", "!="):
            mixed = np.isnan(na[rest]) != np.isnan(nb[rest])
            eq = (x == y) & ~mixed
            out[rest] = eq if op == "==" else ~eq
        else:
            out[rest] = np.asarray(fn(_strings(ctx, x), _strings(ctx, y)), dtype=bool)
    return out


def number_ids(ctx: Context, values: np.ndarray) -> np.ndarray:
    """Literal ids for float64 ``(n,)`` values (whole numbers become xsd:integer)."""
    uniq, inv = np.unique(values, return_inverse=True)
    ids = np.array([ctx.vocab.literal_id(float(v)) for v in uniq], dtype=np.int64)
    return ids[inv.ravel()] if len(uniq) else np.empty(0, np.int64)


def assign(ctx: Context, table: Table, lit: CAssign, keep: set[str] | None) -> Table:
    """Bind ``lit.var`` to the expression's value, or filter when it is already bound."""
    kind, vals = eval_expr(ctx, table, lit.expr)
    if kind == "num":
        ok = np.flatnonzero(~np.isnan(vals))
        table, vals = table.take(ok), vals[ok]
        if lit.var in table.cols:
            return table.take(np.flatnonzero(ctx.vocab.numeric(table.cols[lit.var]) == vals), keep)
        vals = number_ids(ctx, vals)
    elif lit.var in table.cols:
        same = compare_values(ctx, "==", "ids", table.cols[lit.var], "ids", vals)
        return table.take(np.flatnonzero(same), keep)
    out = table.take(np.arange(table.n), keep)
    if keep is None or lit.var in keep:
        out.cols[lit.var] = vals
    return out


# -- built-in predicates -----------------------------------------------------------------------
def _as_id(ctx: Context, value: Any) -> int:
    if isinstance(value, Identifier):
        return ctx.vocab.id(value)
    return ctx.vocab.id(Literal(value))


def call_builtin(ctx: Context, lit: CBuiltin, call: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Results of one call (``call``: ids, -1 where unbound) as full id tuples, cached."""
    key = (lit.pred.name, call)
    hit = ctx.builtin_cache.get(key)
    if hit is not None:
        return hit
    terms = [ctx.vocab.term(i) if i >= 0 else None for i in call]
    out = []
    for res in lit.pred.fn(*terms):
        ids = tuple(_as_id(ctx, v) for v in res)
        if len(ids) == len(call) and all(c < 0 or c == r for c, r in zip(call, ids, strict=True)):
            out.append(ids)
    ctx.builtin_cache[key] = out
    return out


def builtin(ctx: Context, table: Table, lit: CBuiltin, keep: set[str] | None) -> Table:
    """Join with a built-in predicate, calling it once per distinct binding of its arguments."""
    args = lit.args
    k = len(args)
    calls = np.stack([table.col(a) if (isinstance(a, int) or a in table.cols) else np.full(table.n, -1)
                      for a in args], axis=1) if k else np.empty((table.n, 0), np.int64)
    uniq, inv = np.unique(calls, axis=0, return_inverse=True)
    inv = inv.ravel()
    groups, results = [], []
    for g, row in enumerate(uniq.tolist()):
        for ids in call_builtin(ctx, lit, tuple(row)):
            groups.append(g)
            results.append(ids)
    if lit.negated:
        has = np.zeros(len(uniq), dtype=bool)
        has[np.asarray(groups, dtype=np.int64)] = True
        return table.take(np.flatnonzero(~has[inv]), keep)
    gid = np.asarray(groups, dtype=np.int64)
    res = np.asarray(results, dtype=np.int64).reshape(len(results), k)
    pi, ri = expand(inv, gid)
    free = [j for j, a in enumerate(args) if isinstance(a, str) and a not in table.cols]
    for a, b in _repeat_filter(args, free):
        ok = res[ri, a] == res[ri, b]
        pi, ri = pi[ok], ri[ok]
    out = table.take(pi, keep)
    for j in free:
        if keep is None or args[j] in keep:
            out.cols[args[j]] = res[ri, j]
    return out


def expand(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equi-join of two int64 key arrays; returns matching index pairs ``(i, j)``."""
    order = np.argsort(right, kind="stable")
    rs = right[order]
    lo = np.searchsorted(rs, left, "left")
    cnt = np.searchsorted(rs, left, "right") - lo
    total = int(cnt.sum())
    pi = np.repeat(np.arange(len(left)), cnt)
    starts = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt)
    return pi, order[starts + np.arange(total)]


# -- aggregates ----------------------------------------------------------------------------------
def aggregate(ctx: Context, table: Table, lit: CAggregate, keep: set[str] | None) -> Table:
    """Evaluate ``var = func { terms : body }`` per group and join the results in.

    Groups are the distinct values of the group variables; those already bound here seed
    the inner body (so an empty group still gets ``count``/``sum`` = 0).
    """
    agg = ctx.registry.aggregates[lit.func]
    outer = [g for g in lit.group_vars if g in table.cols]
    free = [g for g in lit.group_vars if g not in table.cols]
    if outer:
        mat = np.stack([table.cols[g] for g in outer], axis=1)
        seeds, inv = np.unique(mat, axis=0, return_inverse=True)
        inv = inv.ravel()
        seed = Table(len(seeds), {g: seeds[:, i] for i, g in enumerate(outer)})
    else:
        seed, inv = Table.unit(), np.zeros(table.n, dtype=np.int64)
    seed.cols["#seed"] = np.arange(seed.n, dtype=np.int64)
    term_vars = {t for t in lit.terms if isinstance(t, str)}
    inner = ctx.eval_body(lit.body, seed, {"#seed", *free, *term_vars})
    width = 1 + len(free) + len(lit.terms)
    if inner.n:
        parts = [inner.cols["#seed"]] + [inner.cols[g] for g in free] + [inner.col(t) for t in lit.terms]
        distinct = np.unique(np.stack(parts, axis=1), axis=0)
    else:  # an empty body may stop before binding every column
        distinct = np.empty((0, width), np.int64)
    ng = 1 + len(free)
    groups, gid = np.unique(distinct[:, :ng], axis=0, return_inverse=True)
    gid = gid.ravel()
    values = ctx.vocab.numeric(distinct[:, ng]) if lit.terms else np.zeros(len(distinct))
    res, defined = agg.fn(values, gid, len(groups))
    groups, res = groups[defined], np.asarray(res)[defined]
    if not free and agg.empty is not None:
        missing = np.setdiff1d(np.arange(seed.n), groups[:, 0])
        groups = np.concatenate([groups, missing[:, None]])
        res = np.concatenate([res, np.full(len(missing), agg.empty)])
    rid = number_ids(ctx, res)
    pi, gi = expand(inv, groups[:, 0])
    if lit.var in table.cols:
        ok = ctx.vocab.numeric(table.cols[lit.var][pi]) == res[gi]
        pi, gi = pi[ok], gi[ok]
    out = table.take(pi, keep)
    for i, g in enumerate(free):
        if keep is None or g in keep:
            out.cols[g] = groups[gi, 1 + i]
    if lit.var not in table.cols and (keep is None or lit.var in keep):
        out.cols[lit.var] = rid[gi]
    return out


def apply(ctx: Context, table: Table, lit: CLit, keep: set[str] | None,
          subset: dict[int, np.ndarray] | None = None) -> Table:
    """Apply one body literal to ``table``."""
    op: Callable[..., Table]
    if isinstance(lit, CAtom):
        if lit.negated:
            return anti_join(ctx, table, lit, keep)
        return join_atom(ctx, table, lit, keep, subset)
    if isinstance(lit, CBuiltin):
        op = builtin
    elif isinstance(lit, CCompare):
        op = compare
    elif isinstance(lit, CAssign):
        op = assign
    else:
        op = aggregate
    return op(ctx, table, lit, keep)
