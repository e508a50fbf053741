"""Compiles rule ASTs into integer-encoded rules: relation keys, variable slots, safety checks.

Relation keys name the relations the reasoner keeps:

* ``("p", pred_id, arity)`` — an ordinary predicate (binary = RDF triples).
* ``("c", class_id)`` — the members of one class: unary ``C(X)`` and ``rdf:type(X, C)``.
* ``TYPE_ANY = ("T",)`` — ``rdf:type(X, C)`` with a variable class: the union of all classes.
* ``("n", pred_id)`` — link-predictor scores for the neural atom ``~p(X, Y)``.
* ``("edb", key)`` — only the input (stored) facts of ``key``, never derived ones: the
  body atoms of a rule applied once (``# nesy:apply once``), and the magic-sets rewriting's
  copies of input facts.
* ``("ad", key, adornment)`` / ``("mg", key, adornment)`` — made by the magic-sets rewriting
  (:mod:`nesy.engine.magic`).

Arguments are compiled to ``str`` (a variable name) or ``int`` (a constant's vocab id).
Anonymous variables get unique names so they never join with each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rdflib import RDF, Literal, URIRef
from rdflib.term import Identifier

from nesy.errors import RuleError
from nesy.plugins.registry import BuiltinPredicate, Registry
from nesy.rules import ast
from nesy.rules.printer import format_literal

Key = tuple
Arg = str | int
TYPE_ANY: Key = ("T",)
CExpr = str | int | tuple  # variable, constant id, or (op, left, right)


@dataclass(frozen=True)
class CAtom:
    """A compiled atom. ``slot`` is its premise column for positive atoms, else -1."""

    key: Key
    args: tuple[Arg, ...]
    negated: bool = False
    neural: bool = False
    slot: int = -1
    hidden: bool = False
    src: ast.Atom | None = None


@dataclass(frozen=True)
class CBuiltin:
    """A built-in predicate call (``negated`` = a test that must yield nothing)."""

    pred: BuiltinPredicate
    args: tuple[Arg, ...]
    negated: bool = False
    src: ast.Atom | None = None


@dataclass(frozen=True)
class CCompare:
    """``left op right`` over numbers (or strings / term identity for non-numbers)."""

    op: str
    left: CExpr
    right: CExpr
    src: ast.Comparison | None = None


@dataclass(frozen=True)
class CAssign:
    """``var = expr``; a filter when ``var`` is already bound."""

    var: str
    expr: CExpr
    src: ast.Assignment | None = None


@dataclass(frozen=True)
class CAggregate:
    """``var = func { terms : body }`` grouped by ``group_vars``."""

    var: str
    func: str
    terms: tuple[Arg, ...]
    body: tuple[CLit, ...]
    group_vars: tuple[str, ...]
    src: ast.Aggregate | None = None


CLit = CAtom | CBuiltin | CCompare | CAssign | CAggregate


@dataclass(frozen=True)
class CRule:
    """A compiled rule (a constraint or query when ``head_key`` is None).

    Attributes:
        id: Index in the owning evaluator's rule list.
        head_key: Relation key of the head, ``TYPE_ANY`` for ``rdf:type(X, C)`` heads.
        head_args: Head arguments.
        body: Compiled body literals in written order.
        weight: Rule weight (1.0 when hard).
        slots: Number of premise columns (positive atoms).
        source: The AST rule, for proofs and messages.
        kind: Proof node kind of what it derives (``derived`` or ``learned``).
        origin: For a rewritten rule, the original compiled rule; ``slot_map`` maps
            this rule's premise slots to the original's (-1 = hidden, e.g. magic atoms).
        copy_edb: An internal rule copying input facts (proofs show the input fact).
        new: Added since the last evaluation (evaluated fully once).
    """

    id: int
    head_key: Key | None
    head_args: tuple[Arg, ...]
    body: tuple[CLit, ...]
    weight: float = 1.0
    slots: int = 0
    source: ast.Rule | None = None
    kind: str = "derived"
    origin: CRule | None = None
    slot_map: tuple[int, ...] = ()
    copy_edb: bool = False
    label: str = ""
    names: tuple[str, ...] = field(default=())

    def atoms(self) -> list[CAtom]:
        """The positive stored atoms, in slot order."""
        return [lit for lit in self.body if isinstance(lit, CAtom) and not lit.negated]


def atom_vars(args: Sequence[Arg]) -> set[str]:
    """Variable names among compiled arguments."""
    return {a for a in args if isinstance(a, str)}


def cexpr_children(e: CExpr) -> tuple[CExpr, CExpr] | None:
    """``(left, right)`` of a compiled ``(op, left, right)``, ``None`` for a leaf (for
    :func:`nesy.rules.ast.fold_tree`: walks over expressions must not recurse per level)."""
    return (e[1], e[2]) if isinstance(e, tuple) else None


def expr_vars(e: CExpr) -> set[str]:
    """Variable names in a compiled expression."""
    out: set[str] = set()
    todo = [e]
    while todo:
        x = todo.pop()
        if isinstance(x, tuple):
            todo += (x[1], x[2])
        elif isinstance(x, str):
            out.add(x)
    return out


def lit_vars(lit: CLit) -> set[str]:
    """Variables a literal mentions (for an aggregate: its result and group variables)."""
    if isinstance(lit, (CAtom, CBuiltin)):
        return atom_vars(lit.args)
    if isinstance(lit, CCompare):
        return expr_vars(lit.left) | expr_vars(lit.right)
    if isinstance(lit, CAssign):
        return {lit.var} | expr_vars(lit.expr)
    return {lit.var, *lit.group_vars}


def is_anon(name: str) -> bool:
    """Whether a compiled variable name is anonymous (``_...``)."""
    return name.startswith("_")


class Compiler:
    """Turns AST rules, facts and queries into compiled form against one vocabulary.

    Args:
        vocab: The shared vocabulary (constants get ids here).
        registry: Built-in predicates are recognised through ``registry.predicates``.
    """

    def __init__(self, vocab: object, registry: Registry) -> None:
        self.vocab = vocab
        self.registry = registry
        self.rdf_type = vocab.id(RDF.type)
        self._fresh = itertools.count()

    # -- terms and atoms ----------------------------------------------------------------
    def arg(self, term: ast.Term) -> Arg:
        """Compile a term: variable name (anonymous ones made unique) or constant id."""
        if isinstance(term, ast.Var):
            if term.anonymous:
                return f"_{term.name}#{next(self._fresh)}"
            return term.name
        return self.vocab.id(term)

    def key_of(self, atom: ast.Atom, args: tuple[Arg, ...]) -> tuple[Key, tuple[Arg, ...]]:
        """The relation key of an atom and its arguments in that relation."""
        pid = self.vocab.id(atom.predicate)
        if atom.neural:
            if len(args) != 2:
                raise self._err(atom, f"neural atom ~{atom.predicate} needs 2 arguments")
            return ("n", pid), args
        if len(args) == 1:
            return ("c", pid), args
        if pid == self.rdf_type and len(args) == 2:
            if isinstance(args[1], int):
                return ("c", args[1]), (args[0],)
            return TYPE_ANY, args
        return ("p", pid, len(args)), args

    def literal(self, lit: ast.BodyLiteral, slots: list[int]) -> CLit:
        """Compile one body literal; ``slots`` is a one-element counter of premise slots."""
        if isinstance(lit, ast.Atom):
            args = tuple(self.arg(t) for t in lit.args)
            builtin = self.registry.predicates.get(lit.predicate)
            if builtin is not None and not lit.neural:
                if builtin.arity != len(args):
                    raise self._err(lit, f"built-in {lit.predicate} takes {builtin.arity} arguments, got {len(args)}")
                return CBuiltin(builtin, args, lit.negated, lit)
            key, args = self.key_of(lit, args)
            if lit.negated:
                return CAtom(key, args, negated=True, src=lit)
            slots[0] += 1
            return CAtom(key, args, neural=lit.neural, slot=slots[0] - 1, src=lit)
        if isinstance(lit, ast.Comparison):
            return CCompare(lit.op, self.expr(lit.left), self.expr(lit.right), lit)
        if isinstance(lit, ast.Assignment):
            return CAssign(self.arg(lit.var), self.expr(lit.expr), lit)
        if isinstance(lit, ast.Aggregate):
            if lit.func not in self.registry.aggregates:
                raise RuleError(f"unknown aggregate {lit.func!r}; known: {', '.join(sorted(self.registry.aggregates))}",
                                **_where(lit))
            inner_slots = [0]
            body = tuple(self.literal(b, inner_slots) for b in lit.body)
            return CAggregate(self.arg(lit.var), lit.func, tuple(self.arg(t) for t in lit.terms), body, (), lit)
        raise RuleError(f"unsupported body literal {lit!r}")

    def expr(self, e: ast.Expr) -> CExpr:
        """Compile an arithmetic expression to nested ``(op, left, right)`` tuples."""

        def leaf(t: ast.Expr) -> CExpr:
            if isinstance(t, ast.Var) and t.anonymous:
                raise RuleError("an anonymous variable cannot be used in an expression", **_where(t))
            return self.arg(t)

        def combine(node: ast.BinOp, left: CExpr, right: CExpr) -> CExpr:
            if node.op not in self.registry.operators:
                raise RuleError(f"unknown operator {node.op!r}", **_where(node))
            return (node.op, left, right)

        return ast.fold_tree(e, ast.binop_children, leaf, combine)

    # -- rules ----------------------------------------------------------------------------
    def rule(self, rule: ast.Rule, rid: int, kind: str = "derived", *, once: bool = False) -> CRule:
        """Compile and check a rule (safety, arities, weight); ``once``: its body atoms read
        the input facts only, so the rule is applied once to them (see :func:`stored_view`)."""
        slots = [0]
        body = tuple(self.literal(b, slots) for b in rule.body)
        if once:
            body = tuple(stored_view(lit) for lit in body)
        head_key: Key | None = None
        head_args: tuple[Arg, ...] = ()
        if rule.head is not None:
            if rule.head.negated or rule.head.neural:
                raise self._err(rule.head, "a rule head cannot be negated or neural")
            if rule.head.predicate in self.registry.predicates:
                raise self._err(rule.head, f"cannot define built-in predicate {rule.head.predicate}")
            for t in rule.head.args:
                if isinstance(t, ast.Var) and t.anonymous:
                    raise self._err(rule.head, "anonymous variable '_' in a rule head")
            head_key, head_args = self.key_of(rule.head, tuple(self.arg(t) for t in rule.head.args))
        weight = 1.0 if rule.weight is None else float(rule.weight)
        if not 0.0 < weight <= 1.0:
            raise RuleError(f"rule weight must be in (0, 1], got {weight}", **_where(rule))
        body = self._group_aggregates(body, head_args)
        check_safety(body, head_args, rule)
        return CRule(rid, head_key, head_args, body, weight, slots[0], rule, kind, label=rule.label)

    def fact(self, fact: ast.Fact, prefixes: dict[str, str]) -> tuple[Key, tuple[Arg, ...], float]:
        """A rule file's fact as ``(relation key, argument ids, score)``; RuleError when it is
        not a plain ground atom or its score is outside (0, 1]."""
        atom, loc = fact.atom, fact.loc
        if any(not isinstance(a, Identifier) for a in atom.args) or atom.negated or atom.neural:
            raise RuleError(f"a fact must be a plain ground atom: {format_literal(atom, prefixes)}",
                            file=loc.file, line=loc.line or None, column=loc.column or None)
        score = 1.0 if fact.score is None else float(fact.score)
        if not 0 < score <= 1:
            raise RuleError(f"fact score must be in (0, 1], got {score}", file=loc.file, line=loc.line or None)
        key, args = self.key_of(atom, tuple(self.vocab.id(a) for a in atom.args))
        return key, args, score

    def query(self, query: ast.Query, rid: int) -> CRule:
        """Compile a query as a headless rule whose ``names`` are the answer variables."""
        names = tuple(v.name for v in query.variables())
        fake = ast.Rule(None, query.body, None, "query", query.loc)
        rule = self.rule(fake, rid)
        return replace(rule, names=names, label="query")

    def _group_aggregates(self, body: tuple[CLit, ...], head_args: tuple[Arg, ...]) -> tuple[CLit, ...]:
        out = []
        for i, lit in enumerate(body):
            if isinstance(lit, CAggregate):
                outside = atom_vars(head_args)
                for j, other in enumerate(body):
                    if j != i:
                        outside |= lit_vars(other)
                inside = atom_vars(lit.terms)
                for b in lit.body:
                    inside |= lit_vars(b)
                groups = tuple(sorted((inside & outside) - {lit.var}))
                lit = replace(lit, group_vars=groups)
            out.append(lit)
        return tuple(out)

    def _err(self, atom: ast.Atom, msg: str) -> RuleError:
        return RuleError(msg, **_where(atom))


def stored_view(lit: CLit) -> CLit:
    """``lit`` reading only the input facts of its relation (``("edb", key)``), never what
    rules derive; built-ins, comparisons, neural atoms and ``rdf:type`` with a variable class
    are left as they are."""
    if isinstance(lit, CAtom) and not lit.neural and lit.key[0] in ("p", "c"):
        return replace(lit, key=("edb", lit.key))
    if isinstance(lit, CAggregate):
        return replace(lit, body=tuple(stored_view(b) for b in lit.body))
    return lit


def _where(node: object) -> dict:
    loc = getattr(node, "loc", None)
    if loc is None or not loc.line:
        return {}
    return {"file": loc.file, "line": loc.line, "column": loc.column}


def binds(lit: CLit, bound: set[str]) -> set[str] | None:
    """Variables ``lit`` binds when evaluated after ``bound``; None if it cannot run yet."""
    if isinstance(lit, CAtom):
        if lit.negated:
            need = {a for a in atom_vars(lit.args) if not is_anon(a)}
            return set() if need <= bound else None
        return atom_vars(lit.args)
    if isinstance(lit, CBuiltin):
        need = {lit.args[i] for i in lit.pred.inputs if isinstance(lit.args[i], str)}
        if lit.negated:
            need = atom_vars(lit.args)
        if not need <= bound:
            return None
        return set() if lit.negated else atom_vars(lit.args)
    if isinstance(lit, CCompare):
        return set() if (expr_vars(lit.left) | expr_vars(lit.right)) <= bound else None
    if isinstance(lit, CAssign):
        return {lit.var} if expr_vars(lit.expr) <= bound else None
    return {lit.var, *lit.group_vars}


def check_safety(body: Sequence[CLit], head_args: Sequence[Arg], rule: ast.Rule | None,
                 outer: set[str] | None = None) -> None:
    """Raise :class:`RuleError` unless every variable can be bound before it is needed.

    ``outer`` holds the variables already bound around an aggregate's body.
    """
    bound: set[str] = set(outer or ())
    todo = list(body)
    while todo:
        # Aggregates go last: their groups should be bound by the rest of the body first.
        ready = [lit for lit in todo if not isinstance(lit, CAggregate) and binds(lit, bound) is not None]
        if not ready:
            ready = [lit for lit in todo if isinstance(lit, CAggregate)][:1]
        if not ready:
            break
        for lit in ready:
            if isinstance(lit, CAggregate):
                check_safety(lit.body, (), rule, bound & set(lit.group_vars))
            bound |= binds(lit, bound) or set()
            todo.remove(lit)
    where = _where(rule) if rule is not None else {}
    if todo:
        lit = todo[0]
        missing = sorted(v for v in lit_vars(lit) - bound if not is_anon(v))
        what = _describe(lit)
        raise RuleError(f"unsafe rule: variable {', '.join(missing) or '?'} in {what} is not bound by a "
                        "positive atom", **where)
    free = sorted(a for a in atom_vars(head_args) if a not in bound)
    if free:
        raise RuleError(f"unsafe rule: head variable {', '.join(free)} does not occur in a positive body atom",
                        **where)


def _describe(lit: CLit) -> str:
    src = getattr(lit, "src", None)
    if isinstance(src, ast.Atom):
        return ("not " if src.negated else "") + str(src.predicate)
    if isinstance(lit, CCompare):
        return f"comparison '{lit.op}'"
    if isinstance(lit, CAssign):
        return f"assignment to {lit.var}"
    if isinstance(lit, CAggregate):
        return f"aggregate {lit.func}"
    return "a literal"


def term_value(vocab: object, arg: Arg) -> URIRef | Literal:
    """The rdflib term of a compiled constant."""
    return vocab.term(arg)
