"""The rule language's syntax tree: frozen dataclasses that keep their source positions.

Terms are rdflib terms (``URIRef``, ``Literal``) or :class:`Var`. Every node carries a
``loc`` (:class:`~nesy.errors.SourceLocation`) so later errors and proofs can point at the
exact file, line and column the user wrote. ``loc`` is excluded from equality, so two
rules that say the same thing compare equal wherever they were written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

from rdflib import RDF, Literal, URIRef

from nesy.errors import SourceLocation

_NOWHERE = SourceLocation(None, 0, 0)

_T = TypeVar("_T")


def fold_tree(
    root: Any,
    children: Callable[[Any], tuple[Any, Any] | None],
    leaf: Callable[[Any], _T],
    combine: Callable[[Any, _T, _T], _T],
) -> _T:
    """Fold a binary expression tree bottom-up, left before right, without recursion.

    ``children(node)`` gives ``(left, right)`` of an inner node and ``None`` for a leaf.
    Every walk over expressions goes through here: ``1 + 1 + ... + 1`` is a tree as deep
    as it has terms, and ``- - ... - 1`` one as deep as it has signs, so a recursive walk
    would end in ``RecursionError`` on ordinary (or hostile) input.
    """
    todo: list[tuple[Any, bool]] = [(root, False)]
    done: list[_T] = []
    while todo:
        node, ready = todo.pop()
        if ready:
            right = done.pop()
            done.append(combine(node, done.pop(), right))
            continue
        kids = children(node)
        if kids is None:
            done.append(leaf(node))
        else:
            todo += ((node, True), (kids[1], False), (kids[0], False))
    return done[0]


def binop_children(node: Any) -> tuple[Any, Any] | None:
    """``(left, right)`` of a :class:`BinOp`, ``None`` for anything else (a leaf)."""
    return (node.left, node.right) if isinstance(node, BinOp) else None


@dataclass(frozen=True)
class Var:
    """A logic variable. ``name`` is as written (``X``, ``?x``); ``_`` names are anonymous."""

    name: str
    loc: SourceLocation = field(default=_NOWHERE, compare=False, repr=False)

    @property
    def anonymous(self) -> bool:
        """True for ``_`` (each occurrence is a fresh variable)."""
        return self.name == "_" or self.name.startswith("_")

    def __str__(self) -> str:
        return self.name


Term = Union[Var, URIRef, Literal]


@dataclass(frozen=True)
class Atom:
    """A predicate applied to terms: ``p(X, Y)``, ``not p(X, Y)`` or ``~p(X, Y)``.

    A unary atom ``C(X)`` is kept as written (``predicate=C``, one argument); it means the
    triple ``X rdf:type C`` — see :meth:`triple_form`.

    Attributes:
        predicate: The predicate IRI.
        args: The argument terms; binary atoms are RDF triples ``(args[0], predicate, args[1])``.
        negated: ``not p(...)`` (stratified negation as failure).
        neural: ``~p(...)``: the link predictor scores this atom.
    """

    predicate: URIRef
    args: tuple[Term, ...]
    negated: bool = False
    neural: bool = False
    loc: SourceLocation = field(default=_NOWHERE, compare=False, repr=False)

    @property
    def arity(self) -> int:
        return len(self.args)

    @property
    def is_class(self) -> bool:
        """A unary atom, i.e. an ``rdf:type`` membership."""
        return len(self.args) == 1

    def triple_form(self) -> Atom:
        """The binary form of this atom: unary ``C(X)`` becomes ``rdf:type(X, C)``."""
        if self.is_class:
            return Atom(
                RDF.type, (self.args[0], self.predicate), self.negated, self.neural, self.loc
            )
        return self

    def variables(self) -> tuple[Var, ...]:
        return tuple(t for t in self.args if isinstance(t, Var))


@dataclass(frozen=True)
class BinOp:
    """Arithmetic ``left op right`` with ``op`` one of ``+ - * / %``."""

    op: str
    left: Expr
    right: Expr
    loc: SourceLocation = field(default=_NOWHERE, compare=False, repr=False)

    # The dataclass versions of these recurse once per level; a long sum is a deep tree
    # (see fold_tree), so they are written as loops with the same results.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BinOp):
            return NotImplemented
        pairs: list[tuple[Any, Any]] = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if isinstance(a, BinOp) and isinstance(b, BinOp):
                if a is not b:
                    if a.op != b.op:
                        return False
                    pairs += ((a.right, b.right), (a.left, b.left))
            elif isinstance(a, BinOp) or isinstance(b, BinOp) or not a == b:
                return False
        return True

    def __hash__(self) -> int:
        return fold_tree(self, binop_children, hash, lambda n, a, b: hash((n.op, a, b)))

    def __repr__(self) -> str:
        return fold_tree(self, binop_children, repr, lambda n, a, b: f"BinOp(op={n.op!r}, left={a}, right={b})")


Expr = Union[Var, Literal, URIRef, BinOp]


@dataclass(frozen=True)
class Comparison:
    """``left op right`` with ``op`` one of ``< <= > >= != ==``; both sides must be bound."""

    op: str
    left: Expr
    right: Expr
    loc: SourceLocation = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Assignment:
    """``Var = expr``: binds ``var`` to the value of ``expr`` (all of whose variables are bound)."""

    var: Var
    expr: Expr
    loc: SourceLocation = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Aggregate:
    """``Var = func { T1, ..., Tn : body }``.

    The aggregate ranges over the distinct tuples ``(T1, ..., Tn)`` satisfying ``body``,
    grouped by the variables ``body`` shares with the rest of the rule. ``count`` and
    ``sum`` over an empty group give 0; ``min``, ``max`` and ``avg`` give no answer.

    Attributes:
        var: The result variable.
        func: One of ``count``, ``sum``, ``min``, ``max``, ``avg``.
        terms: The tuple before the colon; the first term is the aggregated value for
            ``sum``/``min``/``max``/``avg``.
        body: The literals after the colon.
    """

    var: Var
    func: str
    terms: tuple[Term, ...]
    body: tuple[BodyLiteral, ...]
    loc: SourceLocation = field(default=_NOWHERE, compare=False, repr=False)


BodyLiteral = Union[Atom, Comparison, Assignment, Aggregate]


@dataclass(frozen=True)
class Rule:
    """``[name] w :: head :- body.`` — ``head`` is ``None`` for a constraint ``false :- body``.

    Attributes:
        head: The derived atom, or ``None`` for an integrity constraint (``false`` head).
        body: The body literals, in written order.
        weight: The rule weight in (0, 1], or ``None`` for a hard rule (weight 1).
        name: The ``[name]`` label, if any.
        loc: Where the rule starts.
    """

    head: Atom | None
    body: tuple[BodyLiteral, ...]
    weight: float | None = None
    name: str | None = None
    loc: SourceLocation = field(default=_NOWHERE, compare=False, repr=False)

    @property
    def label(self) -> str:
        """The name if given, else ``file:line``."""
        return self.name or str(self.loc)


@dataclass(frozen=True)
class Fact:
    """A ground atom, optionally with a confidence: ``0.7 :: p(a, b).``"""

    atom: Atom
    score: float | None = None
    loc: SourceLocation = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Query:
    """``?- body.``: a conjunction whose variable bindings are the answers."""

    body: tuple[BodyLiteral, ...]
    loc: SourceLocation = field(default=_NOWHERE, compare=False, repr=False)

    def variables(self) -> tuple[Var, ...]:
        """The named (non-anonymous) variables of the query, in order of first appearance."""
        seen: dict[str, Var] = {}
        for lit in self.body:
            for v in variables_of(lit):
                if not v.anonymous and v.name not in seen:
                    seen[v.name] = v
        return tuple(seen.values())


@dataclass(frozen=True)
class PluginDirective:
    """``@plugin "pkg.module" .`` — honoured only when the caller trusts the file."""

    module: str
    loc: SourceLocation = field(default=_NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Program:
    """A parsed rule file with its imports inlined.

    Attributes:
        rules: Rules in file order (imports first, at the point of the ``@import``).
        facts: Facts in file order.
        queries: ``?-`` queries in file order.
        prefixes: Every prefix declared in the file or its imports (name -> namespace IRI).
        plugins: ``@plugin`` directives.
        files: The files read, the root file first.
        pragmas: ``(name, value)`` of the ``# nesy:NAME VALUE`` lines in the root text's
            leading comments (``# nesy:apply once``, ``# nesy:semiring noisyor-rules``).
    """

    rules: tuple[Rule, ...] = ()
    facts: tuple[Fact, ...] = ()
    queries: tuple[Query, ...] = ()
    prefixes: tuple[tuple[str, str], ...] = ()
    plugins: tuple[PluginDirective, ...] = ()
    files: tuple[str, ...] = ()
    pragmas: tuple[tuple[str, str], ...] = ()

    def prefix_map(self) -> dict[str, str]:
        return dict(self.prefixes)

    def pragma(self, name: str) -> str | None:
        """The value of the first ``# nesy:NAME`` line, or None."""
        return next((v for k, v in self.pragmas if k == name), None)

    @property
    def applied_once(self) -> bool:
        """``# nesy:apply once``: each rule's body reads the input facts only (what the store
        holds and rule files state), never derived facts, so it is applied once to them, as
        a learned rule was learned and as ``nesy eval`` ranks with it."""
        return self.pragma("apply") == "once"


PRAGMA = "# nesy:"


def read_pragmas(lines: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``(name, value)`` of each ``# nesy:NAME VALUE`` line in the leading comment block
    (blank lines and other comments may come between; the first other line ends it)."""
    out = []
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            break
        if text.startswith(PRAGMA):
            name, _, value = text[len(PRAGMA):].partition(" ")
            out.append((name, value.strip()))
    return tuple(out)


def variables_of(node: BodyLiteral | Expr | Term) -> tuple[Var, ...]:
    """All variables occurring in a literal or expression, in order (duplicates kept).

    For an :class:`Aggregate`, only the result variable and the variables it shares
    with the outside are *bound* by it, but this helper returns every variable inside.
    """
    if isinstance(node, Var):
        return (node,)
    if isinstance(node, Atom):
        return node.variables()
    if isinstance(node, BinOp):
        return fold_tree(node, binop_children, variables_of, lambda _n, a, b: a + b)
    if isinstance(node, Comparison):
        return variables_of(node.left) + variables_of(node.right)
    if isinstance(node, Assignment):
        return (node.var,) + variables_of(node.expr)
    if isinstance(node, Aggregate):
        out: tuple[Var, ...] = (node.var,)
        for t in node.terms:
            out += variables_of(t)
        for lit in node.body:
            out += variables_of(lit)
        return out
    return ()
