"""Goal-directed evaluation: the magic-sets rewriting of the rules a query needs.

For a query atom ``p(a, Y)`` the rewriting derives only ``p`` facts whose first argument
is reachable from ``a``: every derived predicate ``p`` used with bound arguments gets an
adorned copy ``p^bf`` whose rules start with a *magic* atom ``magic_p^bf(X)`` holding the
bindings asked for, and magic rules pass bindings sideways (left to right in evaluation
order) to the atoms each body needs. Predicates read under negation or aggregation, with
no bound argument, or through ``rdf:type(X, C)`` with a variable class, are computed in
full by their original rules — but only the rules the query depends on are run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from nesy.engine.compile import (
    TYPE_ANY,
    CAssign,
    CAtom,
    CBuiltin,
    CCompare,
    CExpr,
    CLit,
    CRule,
    Key,
    binds,
    cexpr_children,
)
from nesy.engine.evaluator import Evaluator, InputSource
from nesy.engine.planner import make_plan
from nesy.engine.shared import Shared
from nesy.engine.stratify import body_edges, stratify
from nesy.rules.ast import fold_tree


def _sub_expr(e: CExpr, var: str, const: int) -> CExpr:
    return fold_tree(e, cexpr_children, lambda x: const if x == var else x,
                     lambda node, left, right: (node[0], left, right))


def _sub_lit(lit: CLit, var: str, const: int) -> CLit:
    """Replace variable ``var`` by the constant id ``const`` in a literal."""
    if isinstance(lit, CAtom):
        args = tuple(const if a == var else a for a in lit.args)
        if lit.key == TYPE_ANY and isinstance(args[1], int):
            return replace(lit, key=("c", args[1]), args=(args[0],))
        return replace(lit, args=args)
    if isinstance(lit, CBuiltin):
        return replace(lit, args=tuple(const if a == var else a for a in lit.args))
    if isinstance(lit, CCompare):
        return replace(lit, left=_sub_expr(lit.left, var, const), right=_sub_expr(lit.right, var, const))
    if isinstance(lit, CAssign):
        if lit.var == var:
            return CCompare("==", const, _sub_expr(lit.expr, var, const), None)
        return replace(lit, expr=_sub_expr(lit.expr, var, const))
    return replace(lit, terms=tuple(const if a == var else a for a in lit.terms),
                   body=tuple(_sub_lit(b, var, const) for b in lit.body),
                   group_vars=tuple(g for g in lit.group_vars if g != var))


class _Rewriter:
    """One magic-sets rewriting pass; ``full`` keys are left to their original rules."""

    def __init__(self, rules: list[CRule], inputs: InputSource, full: set[Key]) -> None:
        self.rules = [r for r in rules if r.head_key is not None]
        self.inputs = inputs
        self.full = set(full)
        self.idb = {r.head_key for r in self.rules}
        self.out: list[CRule] = []
        self.seen: set[tuple[Key, str]] = set()
        self.todo: list[tuple[Key, str]] = []

    def derived(self, key: Key) -> bool:
        """Whether rules can derive facts of ``key``."""
        return key in self.idb or (key[0] == "c" and TYPE_ANY in self.idb)

    def rules_for(self, key: Key) -> list[CRule]:
        """Rules deriving ``key``; variable-class ``rdf:type`` heads specialised to a class."""
        out = [r for r in self.rules if r.head_key == key]
        if key[0] == "c":
            for r in self.rules:
                if r.head_key == TYPE_ANY:
                    x, c = r.head_args
                    if isinstance(c, int):
                        continue
                    body = tuple(_sub_lit(b, c, key[1]) for b in r.body)
                    out.append(replace(r, head_key=key, head_args=(x,), body=body, origin=r.origin or r))
        return out

    def strict(self, body: tuple[CLit, ...]) -> None:
        """Keys under negation/aggregation, and unbound-class atoms, are computed in full."""
        for key, kind in body_edges(body):
            if kind != "pos" or key == TYPE_ANY:
                self.full.add(key)

    def body(self, body: tuple[CLit, ...], bound: set[str], magic: CAtom | None) -> tuple[CLit, ...]:
        """Rewrite a body (adorn its derived atoms) and emit the magic rules it implies."""
        self.strict(body)
        new = list(body)
        before: list[CLit] = [magic] if magic is not None else []
        for li, _ in make_plan(body, None, bound, None):
            lit = body[li]
            if isinstance(lit, CAtom) and not lit.negated and not lit.neural and self.derived(lit.key) \
                    and lit.key not in self.full:
                ad = "".join("b" if isinstance(a, int) or a in bound else "f" for a in lit.args)
                if "b" in ad:
                    margs = tuple(a for a, m in zip(lit.args, ad, strict=True) if m == "b")
                    self.emit(("mg", lit.key, ad), margs, tuple(before))
                    self.want(lit.key, ad)
                    new[li] = replace(lit, key=("ad", lit.key, ad))
                else:
                    self.full.add(lit.key)
            before.append(new[li])
            bound |= binds(lit, bound) or set()
        return tuple(new)

    def emit(self, head_key: Key, head_args: tuple, body: tuple[CLit, ...]) -> None:
        """A magic rule; its atoms' slots are renumbered, magic atoms are hidden."""
        slot, lits = 0, []
        for lit in body:
            if isinstance(lit, CAtom) and not lit.negated:
                lit = replace(lit, slot=slot)
                slot += 1
            lits.append(lit)
        self.out.append(CRule(0, head_key, head_args, tuple(lits), 1.0, slot, None, label="magic"))

    def want(self, key: Key, ad: str) -> None:
        """Queue the adorned predicate ``key^ad`` unless already done."""
        if (key, ad) not in self.seen:
            self.seen.add((key, ad))
            self.todo.append((key, ad))

    def adorn(self, key: Key, ad: str) -> None:
        """Emit the adorned copies of the rules for ``key`` with binding pattern ``ad``."""
        mkey, akey = ("mg", key, ad), ("ad", key, ad)
        for rule in self.rules_for(key):
            margs = tuple(a for a, m in zip(rule.head_args, ad, strict=True) if m == "b")
            magic = CAtom(mkey, margs, slot=rule.slots, hidden=True)
            bound = {a for a in margs if isinstance(a, str)}
            body = self.body(rule.body, bound, magic)
            self.out.append(replace(rule, head_key=akey, body=(magic,) + body, slots=rule.slots + 1,
                                    origin=rule.origin or rule))
        if self.inputs.input_relation(key) is not None:
            args = tuple(f"V{i}" for i in range(len(ad)))
            margs = tuple(a for a, m in zip(args, ad, strict=True) if m == "b")
            copy = (CAtom(("edb", key), args, slot=0), CAtom(mkey, margs, slot=1, hidden=True))
            self.out.append(CRule(0, akey, args, copy, 1.0, 2, None, copy_edb=True, label="input"))

    def run(self, query: CRule) -> CRule:
        """Rewrite the query and, transitively, every rule it needs."""
        q = replace(query, body=self.body(query.body, set(), None))
        while self.todo:
            self.adorn(*self.todo.pop())
        return q


def _closure(rules: list[CRule], full: set[Key]) -> list[CRule]:
    """The original rules needed to compute ``full`` keys completely (and their inputs)."""
    heads = [r for r in rules if r.head_key is not None]
    need, out, todo = set(), [], list(full)
    while todo:
        key = todo.pop()
        if key in need:
            continue
        need.add(key)
        for r in heads:
            hit = r.head_key == key or (key[0] == "c" and r.head_key == TYPE_ANY) or \
                (key == TYPE_ANY and (r.head_key[0] == "c" or r.head_key == TYPE_ANY))
            if hit and r not in out:
                out.append(r)
                todo.extend(k for k, _ in body_edges(r.body))
                if r.head_key == TYPE_ANY:
                    todo.append(TYPE_ANY)
    return out


def goal_directed(shared: Shared, inputs: InputSource, rules: list[CRule], query: CRule,
                  namer: Callable[[Key], str]) -> tuple[Evaluator, CRule, int]:
    """An evaluator holding only what ``query`` needs, and the query rewritten for it.

    Call ``run()`` on the evaluator, then evaluate the returned query body on it.

    Returns:
        ``(evaluator, query, n_full)``: ``n_full`` counts the original rules that must run
        in full (no bindings to push into them).
    """
    full: set[Key] = set()
    while True:
        rw = _Rewriter(rules, inputs, full)
        q = rw.run(query)
        if rw.full == full:
            break
        # A key first adorned and later found to be needed in full: redo with it in full.
        full = rw.full
    whole = _closure(rules, full)
    program = [replace(r, id=i) for i, r in enumerate(whole + rw.out)]
    ev = Evaluator(shared, inputs)
    ev.set_rules(program, stratify(program, namer), [r.id for r in program])
    return ev, q, len(whole)
