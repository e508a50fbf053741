"""Literals computed by code: arithmetic, comparisons, assignments, built-ins, aggregates.

Each operation maps a :class:`~nesy.engine.table.Table` of bindings to a new one with
whole-array numpy operations (numbers exact where they are integers or decimals, see
:mod:`nesy.engine.exact`); built-in
predicates alone run Python once per distinct binding. :func:`apply` dispatches any body
literal, stored atoms included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from rdflib import Literal
from rdflib.term import Identifier

from nesy.engine import exact
from nesy.engine.compile import (
    CAggregate,
    CAssign,
    CAtom,
    CBuiltin,
    CCompare,
    CExpr,
    CLit,
    cexpr_children,
)
from nesy.engine.exact import Num
from nesy.engine.table import Context, Table, anti_join, join_atom, repeat_filter
from nesy.rules.ast import fold_tree


# -- expressions ---------------------------------------------------------------------------
def eval_expr(ctx: Context, table: Table, e: CExpr) -> tuple[str, Any]:
    """``("ids", int64 (n,))`` for a variable/constant, ``("num", Num)`` for arithmetic
    (exact integers and decimals, doubles as float64: see :mod:`nesy.engine.exact`)."""
    if not isinstance(e, tuple):
        return "ids", table.col(e)

    # A loop, not recursion: `1 + 1 + ... + 1` is a tree as deep as it has terms.
    def combine(node: tuple, a: tuple[str, Any], b: tuple[str, Any]) -> tuple[str, Any]:
        op = node[0]
        return "num", exact.arithmetic(op, ctx.registry.operators[op], _numeric(ctx, *a), _numeric(ctx, *b))

    return fold_tree(e, cexpr_children, lambda x: ("ids", table.col(x)), combine)


def _numeric(ctx: Context, kind: str, values: Any) -> Num:
    return exact.from_ids(ctx.vocab, values) if kind == "ids" else values


def _strings(ctx: Context, ids: np.ndarray) -> np.ndarray:
    uniq, inv = np.unique(ids, return_inverse=True)
    text = np.array([str(t) for t in ctx.vocab.terms(uniq)] + [""], dtype=object)
    return text[inv.ravel()]


def compare(ctx: Context, table: Table, lit: CCompare, keep: set[str] | None) -> Table:
    """Keep rows where the comparison holds (numbers numerically, else strings / identity)."""
    ka, a = eval_expr(ctx, table, lit.left)
    kb, b = eval_expr(ctx, table, lit.right)
    return table.take(np.flatnonzero(compare_values(ctx, lit.op, ka, a, kb, b)), keep)


def compare_values(ctx: Context, op: str, ka: str, a: Any, kb: str, b: Any) -> np.ndarray:
    """Vectorised ``a op b`` over two evaluated expressions; returns bool ``(n,)``.

    Numbers compare exactly (integers and decimals as such, with a double as doubles)."""
    fn = ctx.registry.comparisons[op]
    na, nb = _numeric(ctx, ka, a), _numeric(ctx, kb, b)
    out = exact.compare(fn, na, nb)
    rest = np.flatnonzero((na.types == exact.NAN) | (nb.types == exact.NAN))
    if len(rest) and ka == "ids" and kb == "ids":
        # Non-numbers: identity for (in)equality, lexical order of the terms otherwise;
        # a number never equals a non-number.
        x, y = a[rest], b[rest]
        if op in ("==", "!="):
            mixed = (na.types[rest] == exact.NAN) != (nb.types[rest] == exact.NAN)
            eq = (x == y) & ~mixed
            out[rest] = eq if op == "==" else ~eq
        else:
            out[rest] = np.asarray(fn(_strings(ctx, x), _strings(ctx, y)), dtype=bool)
    return out


def number_ids(ctx: Context, values: np.ndarray) -> np.ndarray:
    """Literal ids for float64 ``(n,)`` values (whole numbers become xsd:integer); aggregates."""
    uniq, inv = np.unique(values, return_inverse=True)
    ids = np.array([ctx.vocab.literal_id(float(v)) for v in uniq], dtype=np.int64)
    return ids[inv.ravel()] if len(uniq) else np.empty(0, np.int64)


def num_ids(ctx: Context, num: Num) -> np.ndarray:
    """Literal ids of a column of numbers, each of its XPath type (-1 where not a number)."""
    out = np.full(len(num.types), -1, dtype=np.int64)
    if not num.exact:
        for kind, make in ((exact.INT, lambda v: Literal(int(v))), (exact.DBL, lambda v: Literal(float(v)))):
            rows = np.flatnonzero(num.types == kind)
            if len(rows):
                uniq, inv = np.unique(num.values[rows], return_inverse=True)
                ids = np.array([ctx.vocab.id(make(v)) for v in uniq], dtype=np.int64)
                out[rows] = ids[inv.ravel()]
        return out
    seen: dict[Literal, int] = {}
    for j, term in enumerate(exact.to_terms(num)):
        if term is not None:
            i = seen.get(term)
            out[j] = seen.setdefault(term, ctx.vocab.id(term)) if i is None else i
    return out


def assign(ctx: Context, table: Table, lit: CAssign, keep: set[str] | None) -> Table:
    """Bind ``lit.var`` to the expression's value, or filter when it is already bound."""
    kind, vals = eval_expr(ctx, table, lit.expr)
    if kind == "num":
        ok = np.flatnonzero(vals.types != exact.NAN)
        table, vals = table.take(ok), Num(vals.values[ok], vals.types[ok])
        if lit.var in table.cols:
            bound = exact.from_ids(ctx.vocab, table.cols[lit.var])
            return table.take(np.flatnonzero(exact.compare(ctx.registry.comparisons["=="], bound, vals)), keep)
        vals = num_ids(ctx, vals)
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
    for a, b in repeat_filter(args, free):
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
