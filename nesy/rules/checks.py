"""Check statements before anything uses them: safety, one arity per predicate, weights.

A rule is safe when every variable is bound by a positive atom, an assignment or an
aggregate; constraints and queries follow the same rule for their bodies. Each problem is
a :class:`~nesy.errors.RuleError` at the offending variable or atom.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from rdflib import URIRef

from nesy.errors import NesyError, RuleError, SourceLocation
from nesy.rules.ast import Aggregate, Assignment, Atom, BinOp, BodyLiteral, Comparison, Var
from nesy.rules.printer import format_iri

if TYPE_CHECKING:
    from nesy.rules.builder import Context, Weight


class RuleChecks:
    """The builder's checks on a finished statement (a base of the builder)."""

    env: dict[str, str]
    ctx: Context

    if TYPE_CHECKING:

        def fail(self, cls: type[NesyError], message: str, loc: SourceLocation) -> NoReturn: ...

    def check_weight(self, weight: Weight, what: str) -> None:
        if not 0.0 < weight.value <= 1.0:
            self.fail(RuleError, f"{what} {weight.text} is outside (0, 1]", weight.loc)

    def check_arities(self, atoms: Iterable[Any]) -> None:
        if not self.ctx.check_arity:
            return
        arities = self.ctx.arities
        for atom in atoms_in(atoms):
            seen = arities.get(atom.predicate)
            if seen is None:
                arities[atom.predicate] = (atom.arity, atom.loc)
            elif seen[0] != atom.arity:
                pred = short_iri(atom.predicate, self.env, self.ctx.default_ns)
                self.fail(
                    RuleError,
                    f"predicate {pred} is used with {_args(atom.arity)} here but with "
                    f"{_args(seen[0])} at {seen[1]}",
                    atom.loc,
                )

    def check_safety(self, head: Atom | None, body: tuple[BodyLiteral, ...]) -> None:
        """Every variable must be bound by a positive atom, an assignment or an aggregate.

        The order of the body literals does not matter: bindings are computed to a fixpoint
        first, then each literal that needs bound variables is checked.
        """
        outside: set[str] = set()
        if head is not None:
            outside.update(v.name for v in head.variables())
        bound = self.bound_in(body, set(), outside)
        self.check_literals(body, bound)
        if head is not None:
            for v in head.variables():
                if v.name not in bound:
                    if v.anonymous and generated(v):
                        self.fail(
                            RuleError,
                            "unsafe rule: '_' cannot appear in a rule head; name the variable",
                            v.loc,
                        )
                    self.fail(
                        RuleError,
                        f"unsafe rule: head variable {v.name} does not occur in a positive body atom",
                        v.loc,
                    )

    def bound_in(
        self, body: tuple[BodyLiteral, ...], outer: set[str], outside: set[str]
    ) -> set[str]:
        """The variables bound by ``body`` (given those bound outside it) at the fixpoint."""
        bound = set(outer)
        for lit in body:
            if isinstance(lit, Atom) and not lit.negated:
                bound.update(v.name for v in lit.variables())
        aggregates = [lit for lit in body if isinstance(lit, Aggregate)]
        if aggregates:
            # Variables that occur outside an aggregate are its group-by variables; the
            # aggregate binds them (from its own positive atoms) and its result variable.
            names_by_lit = [set(var_names(lit)) for lit in body]
            for idx, lit in enumerate(body):
                if not isinstance(lit, Aggregate):
                    continue
                elsewhere = set(outside) | outer
                for j, names in enumerate(names_by_lit):
                    if j != idx:
                        elsewhere |= names
                inner = set()
                for sub in lit.body:
                    if isinstance(sub, Atom) and not sub.negated:
                        inner.update(v.name for v in sub.variables())
                bound |= inner & elsewhere
                bound.add(lit.var.name)
        assignments = [lit for lit in body if isinstance(lit, Assignment)]
        changed = bool(assignments)
        while changed:
            changed = False
            for lit in assignments:
                if lit.var.name not in bound and all(v.name in bound for v in expr_vars(lit.expr)):
                    bound.add(lit.var.name)
                    changed = True
        return bound

    def _require_bound(self, variables: list[Var], bound: set[str], message: str) -> None:
        """Fail with ``message`` (``{}`` = the variable) at the first variable not in ``bound``."""
        for v in variables:
            if v.name not in bound:
                self.fail(RuleError, message.format("_" if generated(v) else v.name), v.loc)

    def check_literals(
        self, body: tuple[BodyLiteral, ...], bound: set[str], in_aggregate: bool = False
    ) -> None:
        for lit in body:
            if isinstance(lit, Atom):
                if lit.negated:
                    for v in lit.variables():
                        if v.name not in bound and not v.anonymous:
                            self.fail(
                                RuleError,
                                f"unsafe negation: variable {v.name} in 'not {short_iri(lit.predicate, self.env, self.ctx.default_ns)}(...)' "
                                "must also occur in a positive body atom (use _ for an argument you do not care about)",
                                v.loc,
                            )
            elif isinstance(lit, Comparison):
                self._require_bound(
                    expr_vars(lit.left) + expr_vars(lit.right), bound,
                    "unsafe comparison: variable {} in '" + lit.op + "' is not bound by a positive "
                    "body atom or an assignment",
                )
            elif isinstance(lit, Assignment):
                self._require_bound(
                    expr_vars(lit.expr), bound,
                    "unsafe assignment: variable {} on the right of '" + lit.var.name + " = ...' is not "
                    "bound by a positive body atom or another assignment",
                )
            elif isinstance(lit, Aggregate):
                if in_aggregate:
                    self.fail(RuleError, "aggregates cannot be nested", lit.loc)
                for sub in lit.body:
                    if lit.var.name in var_names(sub):
                        self.fail(
                            RuleError,
                            f"the aggregate result {lit.var.name} cannot also occur inside the aggregate",
                            lit.var.loc,
                        )
                inner = self.bound_in(lit.body, bound - {lit.var.name}, set())
                for t in lit.terms:
                    for v in expr_vars(t):
                        if v.name not in inner:
                            self.fail(
                                RuleError,
                                f"aggregate term {v.name} does not occur in a positive atom of the aggregate body",
                                v.loc,
                            )
                self.check_literals(lit.body, inner, in_aggregate=True)


def generated(v: Var) -> bool:
    """A variable the parser named for a `_` (``_1``, ``_2``...)."""
    return v.name[1:].isdigit() and v.name[0] == "_"


def expr_vars(node: Any) -> list[Var]:
    """Variables of an expression, without recursion (expressions can be long chains)."""
    out: list[Var] = []
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, Var):
            out.append(x)
        elif isinstance(x, BinOp):
            stack.append(x.right)
            stack.append(x.left)
    return out


def var_names(lit: Any) -> list[str]:
    if isinstance(lit, Atom):
        return [v.name for v in lit.variables()]
    if isinstance(lit, Comparison):
        return [v.name for v in expr_vars(lit.left) + expr_vars(lit.right)]
    if isinstance(lit, Assignment):
        return [lit.var.name] + [v.name for v in expr_vars(lit.expr)]
    if isinstance(lit, Aggregate):
        names = [lit.var.name]
        for t in lit.terms:
            names += [v.name for v in expr_vars(t)]
        for sub in lit.body:
            names += var_names(sub)
        return names
    return []


def atoms_in(literals: Iterable[Any]) -> Iterator[Atom]:
    for lit in literals:
        if isinstance(lit, Atom):
            yield lit
        elif isinstance(lit, Aggregate):
            yield from atoms_in(lit.body)


def _args(n: int) -> str:
    return "1 argument" if n == 1 else f"{n} arguments"


def short_iri(iri: URIRef, prefixes: Mapping[str, str], default_ns: str | None = None) -> str:
    """``iri`` as the user would write it, for messages."""
    return format_iri(str(iri), prefixes, default_ns)
