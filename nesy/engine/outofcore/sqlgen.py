"""Compiled rules as SQL: one SELECT per rule (and per semi-naive delta) over id-encoded tables.

Every relation key has a physical table with id columns ``c0 .. c{a-1}``, ``score``
(DOUBLE), ``it`` (the evaluation round that gave the fact its score; 0 for input facts)
and ``base`` (1 for an input fact). Class keys ``("c", C)`` share the table ``tc``
(member ``c0``, class ``c1``), which ``rdf:type(X, C)`` with a variable class reads whole.
Numbers live in two more tables: ``num`` (``id, v, k``: every numeric literal of the
program's facts and constants, value as DOUBLE, kind 0 integer / 1 decimal / 2 double) and
``numc`` (the canonical literal of each ``(v, k)``; arithmetic results join it by value).

A rule's SELECT binds its positive atoms first (one FROM list with equalities), then wraps
that query once per other literal in an order where its variables are bound: comparisons
and assignments as filters and computed columns, negations as ``NOT EXISTS``, aggregates
as a grouped subquery joined on the group variables. The result has the head's id columns
``c{j}``, ``score`` and, for a head column whose value was computed (``S = X + 1``), the
value ``v{j}`` and kind ``k{j}`` with ``c{j}`` NULL: the driver gives those their ids.

Not compiled (the memory engine runs them): built-in predicates, neural atoms ``~p``, the
lexical order of non-numbers (``<`` on strings or IRIs is false here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nesy.engine.compile import (
    TYPE_ANY,
    CAggregate,
    CAssign,
    CAtom,
    CBuiltin,
    CCompare,
    CExpr,
    CLit,
    CRule,
    Key,
    binds,
    is_anon,
)
from nesy.errors import RuleError

#: Kinds of numbers, as in :mod:`nesy.engine.exact`: integer < decimal < double.
INT, DEC, DBL = 0, 1, 2
ONE = "CAST(1.0 AS DOUBLE)"
EXACT_DOUBLES = 9007199254740992  # 2**53: whole doubles below it are written as xsd:integer


def table_of(key: Key) -> tuple[str, dict[int, int]]:
    """The physical table of a relation key and its fixed columns (``{column: id}``)."""
    if key == TYPE_ANY:
        return "tc", {}
    if key[0] == "c":
        return "tc", {1: int(key[1])}
    if key[0] == "p":
        return f"p{int(key[1])}_{int(key[2])}", {}
    raise RuleError(f"the out-of-core engines cannot read relation {key!r}")


def table_arity(key: Key) -> int:
    """Number of id columns of the physical table of ``key``."""
    return 2 if key == TYPE_ANY or key[0] == "c" else int(key[2])


@dataclass
class Query:
    """A SELECT under construction: its SQL and where each variable's id / value is."""

    sql: str
    ids: dict[str, str] = field(default_factory=dict)  # variable -> id column
    vals: dict[str, tuple[str, str]] = field(default_factory=dict)  # variable -> (value, kind) columns
    computed: set[str] = field(default_factory=set)  # variables bound to a computed number

    def wrap(self, sql: str, ids: dict[str, str] | None = None, vals: dict[str, tuple[str, str]] | None = None,
             computed: set[str] | None = None) -> Query:
        """A query over this one with the same bindings unless given."""
        return Query(sql, dict(self.ids if ids is None else ids), dict(self.vals if vals is None else vals),
                     set(self.computed if computed is None else computed))


class RuleSQL:
    """Writes the SELECTs of compiled rules.

    Args:
        constant_value: ``id -> (value, kind)`` of a numeric constant, or None.
        tracks_scores: False for the boolean semiring (every score 1.0).
        name: ``key -> text`` for messages.
    """

    def __init__(self, constant_value: Callable[[int], tuple[float, int] | None], tracks_scores: bool,
                 name: Callable[[Key], str] = str) -> None:
        self.constant_value = constant_value
        self.tracks_scores = tracks_scores
        self.name = name
        self._n = 0

    def _col(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    # -- a rule --------------------------------------------------------------------------
    def rule(self, rule: CRule, delta: int | None = None, stamp: int = 0) -> tuple[str, list[int]]:
        """``(sql, valued head columns)`` of ``rule``; with ``delta``, its ``delta``-th
        positive atom reads only the facts of round ``stamp``."""
        q = self.body(rule, rule.body, delta, stamp, weight=rule.weight)
        out, valued = [], []
        head_args = list(rule.head_args)
        if rule.head_key is not None and rule.head_key[0] == "c":
            head_args.append(int(rule.head_key[1]))
        for j, arg in enumerate(head_args):
            if isinstance(arg, int):
                out.append(f"CAST({arg} AS BIGINT) AS c{j}")
            elif arg not in q.computed:
                out.append(f"b.{q.ids[arg]} AS c{j}")
            else:
                v, k = q.vals[arg]
                out += [f"CAST(NULL AS BIGINT) AS c{j}", f"b.{v} AS v{j}", f"b.{k} AS k{j}"]
                valued.append(j)
        return f"SELECT {', '.join(out)}, b.score AS score FROM ({q.sql}) b", valued

    def body(self, rule: CRule, body: tuple[CLit, ...], delta: int | None, stamp: int,
             weight: float = 1.0, premises: bool = False) -> Query:
        """The bindings of ``body``: its positive atoms joined, then the other literals; with
        ``premises``, also each positive atom's row ``p{i}_{j}``, stamp ``it{i}``, ``base{i}``,
        ``inscore{i}`` and ``score{i}`` (for proofs)."""
        check_runnable(rule, body)
        atoms = [lit for lit in body if isinstance(lit, CAtom) and not lit.negated]
        q = self._join(atoms, delta, stamp, weight, premises)
        todo = [lit for lit in body if not (isinstance(lit, CAtom) and not lit.negated)]
        while todo:
            bound = set(q.ids) | set(q.vals)
            ready = [lit for lit in todo if not isinstance(lit, CAggregate) and binds(lit, bound) is not None]
            lit = ready[0] if ready else next((a for a in todo if isinstance(a, CAggregate)), todo[0])
            todo.remove(lit)
            q = self._literal(rule, q, lit)
        return q

    def _join(self, atoms: list[CAtom], delta: int | None, stamp: int, weight: float, premises: bool) -> Query:
        """The positive atoms as one FROM list with equalities."""
        froms, conds, ids, scores = [], [], {}, []
        for i, atom in enumerate(atoms):
            table, fixed = table_of(atom.key)
            alias = f"a{i}"
            src = f"(SELECT * FROM {table} WHERE it = {stamp})" if i == delta else table
            froms.append(f"{src} {alias}")
            conds += [f"{alias}.c{c} = {v}" for c, v in fixed.items()]
            for j, arg in enumerate(atom.args):
                e = f"{alias}.c{j}"
                if isinstance(arg, int):
                    conds.append(f"{e} = {arg}")
                elif arg in ids:
                    conds.append(f"{e} = {ids[arg]}")
                else:
                    ids[arg] = e
            scores.append(f"{alias}.score")
        if not self.tracks_scores or not scores:
            score = ONE if not self.tracks_scores or weight == 1.0 else f"CAST({weight!r} AS DOUBLE)"
        else:
            score = f"CAST({weight!r} AS DOUBLE) * " + " * ".join(scores)
        cols = {v: self._col("x") for v in ids if not is_anon(v)}
        select = [f"{ids[v]} AS {c}" for v, c in cols.items()] + [f"{score} AS score"]
        for i, atom in enumerate(atoms if premises else []):
            select += [f"a{i}.c{j} AS p{i}_{j}" for j in range(table_arity(atom.key))]
            select += [f"a{i}.{c} AS {c}{i}" for c in ("it", "base", "inscore", "score")]
        sql = f"SELECT {', '.join(select)}"
        if froms:
            sql += f" FROM {', '.join(froms)}"
        if conds:
            sql += f" WHERE {' AND '.join(conds)}"
        return Query(sql, dict(cols))

    # -- the other literals --------------------------------------------------------------------
    def _literal(self, rule: CRule, q: Query, lit: CLit) -> Query:
        if isinstance(lit, CAtom):
            return self._negation(q, lit)
        if isinstance(lit, CCompare):
            q = self._with_values(q, _vars(lit.left) | _vars(lit.right))
            return q.wrap(f"SELECT * FROM ({q.sql}) b WHERE {self._compare(q, lit.op, lit.left, lit.right)}")
        if isinstance(lit, CAssign):
            return self._assign(q, lit)
        if isinstance(lit, CAggregate):
            return self._aggregate(rule, q, lit)
        raise RuleError(f"{rule.label or 'a rule'}: this literal cannot run out of core")

    def _negation(self, q: Query, atom: CAtom) -> Query:
        q = self._with_ids(q, {a for a in atom.args if isinstance(a, str) and a in q.computed})
        table, fixed = table_of(atom.key)
        conds = [f"n.c{c} = {v}" for c, v in fixed.items()]
        for j, arg in enumerate(atom.args):
            if isinstance(arg, int):
                conds.append(f"n.c{j} = {arg}")
            elif arg in q.ids:
                conds.append(f"n.c{j} = b.{q.ids[arg]}")
        where = " AND ".join(conds) or "TRUE"
        return q.wrap(f"SELECT * FROM ({q.sql}) b WHERE NOT EXISTS (SELECT 1 FROM {table} n WHERE {where})")

    def _with_ids(self, q: Query, names: set[str]) -> Query:
        """``q`` with the id of each computed number in ``names`` (NULL when no fact can hold it:
        it is no canonical literal of the program)."""
        need = sorted(v for v in names if v not in q.ids)
        if not need:
            return q
        select, joins, ids = ["b.*"], [], dict(q.ids)
        for i, v in enumerate(need):
            vc, kc = q.vals[v]
            ids[v] = self._col("x")
            joins.append(f"LEFT JOIN numc m{i} ON m{i}.v = b.{vc} AND m{i}.k = b.{kc}")
            select.append(f"m{i}.id AS {ids[v]}")
        return q.wrap(f"SELECT {', '.join(select)} FROM ({q.sql}) b {' '.join(joins)}", ids=ids)

    def _with_values(self, q: Query, names: set[str]) -> Query:
        """``q`` with the numeric value and kind of each variable in ``names`` (NULL for a non-number)."""
        need = sorted(v for v in names if v not in q.vals)
        if not need:
            return q
        select, joins, vals = ["b.*"], [], dict(q.vals)
        for i, v in enumerate(need):
            vc, kc = self._col("xv"), self._col("xk")
            joins.append(f"LEFT JOIN num n{i} ON n{i}.id = b.{q.ids[v]}")
            select += [f"n{i}.v AS {vc}", f"n{i}.k AS {kc}"]
            vals[v] = (vc, kc)
        return q.wrap(f"SELECT {', '.join(select)} FROM ({q.sql}) b {' '.join(joins)}", vals=vals)

    def _expr(self, q: Query, e: CExpr) -> tuple[str, str]:
        """``(value, kind)`` SQL of an expression (NULL value where it is not a number)."""
        if isinstance(e, str):
            v, k = q.vals[e]
            return f"b.{v}", f"b.{k}"
        if isinstance(e, int):
            got = self.constant_value(e)
            return ("CAST(NULL AS DOUBLE)", "CAST(NULL AS BIGINT)") if got is None else \
                (f"CAST({got[0]!r} AS DOUBLE)", f"CAST({got[1]} AS BIGINT)")
        op, left, right = e
        (a, ka), (b, kb) = self._expr(q, left), self._expr(q, right)
        kind = f"GREATEST({ka}, {kb})"
        if op in ("+", "-", "*"):
            return f"({a} {op} {b})", kind
        if op == "/":
            return f"(CASE WHEN {b} = 0 THEN NULL ELSE {a} / {b} END)", f"GREATEST({ka}, {kb}, {DEC})"
        if op == "%":  # the sign of the divisor, as the memory engine's (and Python's) modulo
            return f"(CASE WHEN {b} = 0 THEN NULL ELSE {a} - {b} * floor({a} / {b}) END)", kind
        raise RuleError(f"the operator {op!r} runs only in the memory engine")

    def _compare(self, q: Query, op: str, left: CExpr, right: CExpr) -> str:
        (a, _), (b, _) = self._expr(q, left), self._expr(q, right)
        sql_op = {"==": "=", "!=": "<>"}.get(op, op)
        if op not in ("==", "!=") or isinstance(left, tuple) or isinstance(right, tuple):
            return f"COALESCE({a} {sql_op} {b}, FALSE)"
        # Plain terms: numbers by value, other terms by identity; a number never equals a non-number.
        ida, idb = self._id(q, left), self._id(q, right)
        eq = (f"(CASE WHEN {a} IS NOT NULL AND {b} IS NOT NULL THEN {a} = {b} "
              f"WHEN {a} IS NULL AND {b} IS NULL THEN {ida} = {idb} ELSE FALSE END)")
        return eq if op == "==" else f"NOT {eq}"

    @staticmethod
    def _id(q: Query, e: CExpr) -> str:
        return f"CAST({e} AS BIGINT)" if isinstance(e, int) else f"b.{q.ids[e]}"

    def _assign(self, q: Query, lit: CAssign) -> Query:
        q = self._with_values(q, _vars(lit.expr) | ({lit.var} if lit.var in q.ids else set()))
        if lit.var in q.ids or lit.var in q.vals:  # bound already: a filter
            plain = not isinstance(lit.expr, tuple) and lit.var in q.ids and lit.var not in q.computed
            cond = self._compare(q, "==", lit.var, lit.expr) if plain else \
                f"COALESCE({self._expr(q, lit.var)[0]} = {self._expr(q, lit.expr)[0]}, FALSE)"
            return q.wrap(f"SELECT * FROM ({q.sql}) b WHERE {cond}")
        if isinstance(lit.expr, int):  # X = constant: that very term
            xc = self._col("x")
            return q.wrap(f"SELECT b.*, CAST({lit.expr} AS BIGINT) AS {xc} FROM ({q.sql}) b",
                          ids={**q.ids, lit.var: xc})
        if isinstance(lit.expr, str):  # X = Y: the same term
            ids = {**q.ids, lit.var: q.ids[lit.expr]} if lit.expr in q.ids else q.ids
            vals = {**q.vals, lit.var: q.vals[lit.expr]} if lit.expr in q.vals else q.vals
            return q.wrap(q.sql, ids, vals, q.computed | ({lit.var} if lit.expr in q.computed else set()))
        v, k = self._expr(q, lit.expr)
        vc, kc = self._col("xv"), self._col("xk")
        sql = f"SELECT b.*, {v} AS {vc}, {k} AS {kc} FROM ({q.sql}) b WHERE {v} IS NOT NULL"
        return q.wrap(sql, vals={**q.vals, lit.var: (vc, kc)}, computed=q.computed | {lit.var})

    def _aggregate(self, rule: CRule, q: Query, lit: CAggregate) -> Query:
        q = self._with_ids(q, {g for g in lit.group_vars if g in q.computed})
        outer = [g for g in lit.group_vars if g in q.ids]
        free = [g for g in lit.group_vars if g not in q.ids]
        inner = self.body(rule, lit.body, None, 0)
        terms = [t for t in lit.terms if isinstance(t, str)]
        if lit.func != "count" and lit.terms:
            inner = self._with_values(inner, {lit.terms[0]} if isinstance(lit.terms[0], str) else set())
        groups = [inner.ids[g] for g in lit.group_vars]
        cols = groups + [inner.ids[t] for t in terms]
        if lit.func == "count":
            value = "CAST(COUNT(*) AS DOUBLE)"
        elif lit.func in ("sum", "min", "max", "avg"):
            first = lit.terms[0]
            cols.append(inner.vals[first][0] if isinstance(first, str) else f"{self._expr(inner, first)[0]} AS tv")
            value = f"CAST({lit.func.upper()}({cols[-1].split(' AS ')[-1]}) AS DOUBLE)"
        else:
            raise RuleError(f"{rule.label or 'a rule'}: the aggregate {lit.func!r} runs only in the memory engine")
        distinct = f"SELECT DISTINCT {', '.join(cols) or '1 AS one'} FROM ({inner.sql}) b"
        group_by = f" GROUP BY {', '.join(groups)}" if groups else ""
        agg = f"SELECT {', '.join([*groups, f'{value} AS r'])} FROM ({distinct}) d{group_by}"
        on = " AND ".join(f"b.{q.ids[g]} = g.{inner.ids[g]}" for g in outer) or "TRUE"
        empty = 0.0 if lit.func in ("count", "sum") else None
        vc, kc = self._col("xv"), self._col("xk")
        value_sql = f"COALESCE(g.r, {empty!r})" if empty is not None and not free else "g.r"
        kind = f"CASE WHEN {value_sql} = floor({value_sql}) AND abs({value_sql}) < {EXACT_DOUBLES} " \
               f"THEN {INT} ELSE {DBL} END"
        select = ["b.*", f"{value_sql} AS {vc}", f"CAST({kind} AS BIGINT) AS {kc}"]
        ids = dict(q.ids)
        for g in free:
            ids[g] = self._col("x")
            select.append(f"g.{inner.ids[g]} AS {ids[g]}")
        join = "LEFT JOIN" if value_sql.startswith("COALESCE") else "JOIN"
        sql = f"SELECT {', '.join(select)} FROM ({q.sql}) b {join} ({agg}) g ON {on} WHERE {value_sql} IS NOT NULL"
        out = q.wrap(sql, ids=ids)
        if lit.var in q.ids or lit.var in q.vals:  # already bound: a filter on the value
            out = self._with_values(out, {lit.var} if lit.var in q.ids else set())
            return out.wrap(f"SELECT * FROM ({out.sql}) b WHERE b.{out.vals[lit.var][0]} = b.{vc}")
        return out.wrap(out.sql, vals={**out.vals, lit.var: (vc, kc)}, computed=out.computed | {lit.var})


def check_runnable(rule: CRule, body: tuple[CLit, ...] | None = None) -> None:
    """Raise :class:`RuleError` when ``rule`` has what only the memory engine runs."""
    where = rule.source.label if rule.source is not None else (rule.label or "a rule")
    for lit in rule.body if body is None else body:
        if isinstance(lit, CBuiltin):
            raise RuleError(f"{where}: built-in predicates run only in the memory engine")
        if isinstance(lit, CAtom) and (lit.neural or lit.key[0] == "n"):
            raise RuleError(f"{where}: neural atoms (~p) run only in the memory engine, next to the link predictor")
        if isinstance(lit, CAtom) and lit.key[0] == "edb":
            raise RuleError(f"{where}: rules applied once to the input facts (# nesy:apply once) run only in "
                            "the memory engine")
        if isinstance(lit, CAggregate):
            if lit.func not in ("count", "sum", "min", "max", "avg"):
                raise RuleError(f"{where}: the aggregate {lit.func!r} runs only in the memory engine")
            check_runnable(rule, lit.body)


def _vars(e: CExpr) -> set[str]:
    if isinstance(e, str):
        return {e}
    if isinstance(e, tuple):
        return _vars(e[1]) | _vars(e[2])
    return set()


__all__ = ["DBL", "DEC", "INT", "Query", "RuleSQL", "check_runnable", "table_arity", "table_of"]
