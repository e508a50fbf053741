"""Proof trees: what supports an answer, rendered as text, JSON or Mermaid, and re-checked.

A :class:`Proof` node states one fact (or one step such as a comparison) with its kind
— ``asserted``, ``extracted``, ``derived``, ``learned``, ``predicted``, ``builtin``,
``negation``, ``comparison``, ``assignment``, ``aggregate`` or ``query`` — its score, the
rule that derived it, the variable bindings of that rule application, the premises, and
the source of a leaf. :func:`check_proof` re-validates a proof from the rule text and
the input facts alone, without the reasoner.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from rdflib import Literal, URIRef
from rdflib.term import Identifier

from nesy.engine.proofjson import RDF_TYPE, ProofSerializer, term_key, text_cache
from nesy.rules import ast
from nesy.rules.printer import format_literal, format_rule, format_term
from nesy.store.vocab import numeric_value

#: Kinds of nodes that state a fact (the others are steps of a rule application).
FACT_KINDS = {"asserted", "extracted", "derived", "learned", "predicted", "inferred"}
STEP_KINDS = {"negation", "comparison", "assignment", "aggregate", "builtin"}

Prefixes = Mapping[str, str] | None


def term_text(term: Identifier | None, prefixes: Prefixes = None, default_ns: str | None = None) -> str:
    """A proof's term as :func:`nesy.rules.printer.format_term` prints it (as ``kb.shorten`` does).

    ``None``, an anonymous argument of a ground atom, prints as ``_``. ``prefixes`` and
    ``default_ns`` are those of :func:`~nesy.rules.printer.format_term`. Each term's text
    is computed once per prefix set (:func:`nesy.engine.proofjson.text_cache`).
    """
    if term is None:
        return "_"
    if isinstance(term, Identifier):
        cache = text_cache(prefixes, default_ns)
        key = term_key(term)
        got = cache.get(key)
        if got is None:
            got = cache[key] = format_term(term, prefixes, default_ns)  # type: ignore[arg-type]
        return got
    return str(term)


class GroundAtom(NamedTuple):
    """A predicate IRI with argument terms (``None`` for an anonymous argument)."""

    predicate: URIRef
    args: tuple[Identifier | None, ...]

    def render(self, prefixes: Prefixes = None, default_ns: str | None = None) -> str:
        """``p(a, b)``; an ``rdf:type`` triple renders as the class atom ``C(x)``."""
        if self.predicate == RDF_TYPE and len(self.args) == 2 and isinstance(self.args[1], URIRef):
            cls, member = self.args[1], self.args[0]
            return f"{term_text(cls, prefixes, default_ns)}({term_text(member, prefixes, default_ns)})"
        inner = ", ".join(term_text(a, prefixes, default_ns) for a in self.args)
        return f"{term_text(self.predicate, prefixes, default_ns)}({inner})"


@dataclass(frozen=True)
class RuleInfo:
    """The rule a derived node applied.

    Attributes:
        label: The rule's name, else ``file:line:column``.
        name: The ``[name]``, if any.
        file: The rule file (None for rules given as text or built in code).
        line: 1-based line of the rule.
        weight: The rule weight (None for a hard rule).
        text: The rule in rule syntax.
    """

    label: str
    name: str | None = None
    file: str | None = None
    line: int | None = None
    weight: float | None = None
    text: str | None = None

    @property
    def where(self) -> str:
        """``file:line`` of the rule, or empty."""
        return f"{self.file or '<input>'}:{self.line}" if self.line else ""


@dataclass(eq=False)
class Proof:
    """One node of a proof DAG (children may be shared between parents).

    Attributes:
        fact: The fact this node supports (None for comparison/assignment/aggregate steps).
        kind: ``asserted``, ``extracted``, ``derived``, ``learned``, ``predicted``,
            ``builtin``, ``negation``, ``comparison``, ``assignment``, ``aggregate``, ``query``.
        score: The fact's score under the reasoner's semiring.
        rule: For derived/learned nodes, the rule applied.
        bindings: Variable -> term of that rule application.
        premises: Child nodes, in body order (facts and steps).
        source: For leaves, where the fact comes from (graph, file, document, model...).
        note: Text of a step (``A >= 18``) or remark (``no such fact``).
    """

    fact: GroundAtom | None
    kind: str
    score: float
    rule: RuleInfo | None = None
    bindings: dict[str, Identifier] = field(default_factory=dict)
    premises: list[Proof] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    def walk(self) -> Iterator[Proof]:
        """Every node once, depth first."""
        seen: set[int] = set()
        stack = [self]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield node
            stack.extend(reversed(node.premises))

    def leaves(self) -> list[Proof]:
        """The input-fact nodes (leaves) of the proof."""
        return [n for n in self.walk() if not n.premises and n.kind in FACT_KINDS]

    def label(self, prefixes: Prefixes = None, default_ns: str | None = None) -> str:
        """One-line description of this node (without children)."""
        what = self.fact.render(prefixes, default_ns) if self.fact is not None else (self.note or "")
        if self.kind == "negation":
            what = f"not {what}"
        parts = [self.kind, what]
        if self.kind not in STEP_KINDS:
            parts.append(f"score={self.score:.4g}")
        if self.rule is not None:
            parts.append(f"[rule {self.rule.label}" + (f" @ {self.rule.where}" if self.rule.where and self.rule.name else "") + "]")
        if self.note and self.fact is not None:
            parts.append(f"({self.note})")
        if self.source:
            from nesy.engine.display import source_fields

            quote, rest = source_fields(self.kind, self.source)
            parts.append(quote or "")
            if rest:
                parts.append("[" + ", ".join(f"{k}={v}" for k, v in rest.items()) + "]")
        return "  ".join(p for p in parts if p)

    def to_text(self, prefixes: Prefixes = None, indent: str = "  ", *, default_ns: str | None = None) -> str:
        """Indented tree, one line per node; a node shown before is marked ``(see above)``.

        Terms print as :func:`nesy.rules.printer.format_term` prints them with ``prefixes``
        and ``default_ns`` (the KB's, for the same text as ``kb.shorten``).
        """
        lines: list[str] = []
        shown: set[int] = set()

        def go(node: Proof, depth: int) -> None:
            again = id(node) in shown and node.premises
            lines.append(indent * depth + node.label(prefixes, default_ns) + ("  (see above)" if again else ""))
            if again:
                return
            shown.add(id(node))
            for p in node.premises:
                go(p, depth + 1)

        go(self, 0)
        return "\n".join(lines)

    def to_dict(self, prefixes: Prefixes = None, *, default_ns: str | None = None) -> dict[str, Any]:
        """A JSON-ready nested dict (terms as :meth:`to_text` prints them).

        A sub-proof that appears twice is one dict appearing twice; to serialise many
        proofs at once, use :class:`nesy.engine.proofjson.ProofSerializer` (or
        :func:`proof_dicts`), which shares that work between them.
        """
        return ProofSerializer(prefixes, default_ns).to_dict(self)

    def to_json(self, prefixes: Prefixes = None, indent: int | None = 2, *, default_ns: str | None = None) -> str:
        """The proof as JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(prefixes, default_ns=default_ns), indent=indent, ensure_ascii=False)

    def to_mermaid(self, prefixes: Prefixes = None, *, default_ns: str | None = None) -> str:
        """A Mermaid ``graph TD`` of the proof DAG (shared nodes drawn once)."""
        ids: dict[int, str] = {}
        lines = ["graph TD"]
        for node in self.walk():
            nid = ids.setdefault(id(node), f"n{len(ids)}")
            text = node.label(prefixes, default_ns).replace('"', "#quot;")
            lines.append(f'  {nid}["{text}"]')
        for node in self.walk():
            for p in node.premises:
                lines.append(f"  {ids[id(node)]} --> {ids[id(p)]}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        from nesy.engine.display import proof_html

        return proof_html(self)

    def __rich__(self) -> Any:
        from nesy.engine.display import proof_rich

        return proof_rich(self)


def proof_dicts(proofs: Iterable[Proof], prefixes: Prefixes = None, *, default_ns: str | None = None) -> list[dict[str, Any]]:
    """Many proofs as :meth:`Proof.to_dict` writes each, serialised together: every term
    rendered once and every shared sub-proof once."""
    return ProofSerializer(prefixes, default_ns).many(proofs)


def rule_info(rule: ast.Rule, prefixes: Prefixes = None, default_ns: str | None = None) -> RuleInfo:
    """The :class:`RuleInfo` of an AST rule (its text as :func:`~nesy.rules.printer.format_rule` prints it)."""
    loc = rule.loc
    return RuleInfo(rule.label, rule.name, loc.file if loc.line else None, loc.line or None, rule.weight,
                    format_rule(rule, prefixes, default_ns))


# -- checking ------------------------------------------------------------------------------
@dataclass
class ProofCheck:
    """Result of :func:`check_proof`: truthy when the proof is valid."""

    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def __bool__(self) -> bool:
        return self.ok


def _ground(atom: ast.Atom, b: dict[str, Identifier]) -> GroundAtom:
    t = atom.triple_form() if atom.is_class else atom
    return GroundAtom(t.predicate, tuple(
        (b.get(a.name) if not a.anonymous else None) if isinstance(a, ast.Var) else a for a in t.args))


def _matches(pattern: GroundAtom, fact: GroundAtom) -> bool:
    return (pattern.predicate == fact.predicate and len(pattern.args) == len(fact.args)
            and all(p is None or p == f for p, f in zip(pattern.args, fact.args, strict=True)))


def _value(e: Any, b: dict[str, Identifier], registry: Any) -> tuple[Identifier | None, float]:
    """(term or None, numeric value) of an expression under bindings."""
    if isinstance(e, ast.Var):
        t = b.get(e.name)
        return t, numeric_value(t) if t is not None else math.nan
    if isinstance(e, ast.BinOp):
        def combine(node: ast.BinOp, x: tuple, y: tuple) -> tuple[Identifier | None, float]:
            with np.errstate(all="ignore"):
                r = registry.operators[node.op](np.array([x[1]]), np.array([y[1]]))
            return None, float(r[0])

        return ast.fold_tree(e, ast.binop_children, lambda t: _value(t, b, registry), combine)
    return e, numeric_value(e)


def _holds(op: str, left: tuple, right: tuple, registry: Any) -> bool:
    (ta, na), (tb, nb) = left, right
    if not (math.isnan(na) or math.isnan(nb)):
        return bool(registry.comparisons[op](np.array([na]), np.array([nb]))[0])
    if ta is None or tb is None:
        return False
    if op in ("==", "!="):
        same = ta == tb and math.isnan(na) == math.isnan(nb)
        return same if op == "==" else not same
    return bool(registry.comparisons[op](np.array([str(ta)], dtype=object), np.array([str(tb)], dtype=object))[0])


def check_proof(
    proof: Proof,
    program_rules: Iterable[ast.Rule],
    fact_lookup: Callable[[URIRef, tuple[Identifier, ...]], float | None],
    *,
    model_contains: Callable[[URIRef, tuple[Identifier | None, ...]], bool] | None = None,
    semiring: str = "maxprod",
    registry: Any = None,
) -> ProofCheck:
    """Re-validate a proof step by step, independently of the reasoner.

    Args:
        proof: The root node.
        program_rules: The rules (AST) the proof may use; matched by label.
        fact_lookup: ``(predicate, args) -> score`` of an input fact, None when absent.
        model_contains: ``(predicate, args) -> bool`` over the whole model (None args are
            wildcards); when given, negated atoms are checked to be absent.
        semiring: ``maxprod``, ``boolean`` or ``topk...`` check scores exactly per proof
            tree; ``noisyor`` scores combine several proofs and are not re-checked.
        registry: Operators, comparisons and built-ins (default: :func:`default_registry`).

    Returns:
        A :class:`ProofCheck` listing every problem found (empty = valid).
    """
    if registry is None:
        from nesy.plugins.registry import default_registry

        registry = default_registry()
    checker = _ProofChecker(program_rules, fact_lookup, model_contains, semiring, registry)
    checker.check(proof)
    return ProofCheck(checker.problems)


class _ProofChecker:
    """The state of one :func:`check_proof` run: the rules by label and the problems found."""

    def __init__(
        self,
        program_rules: Iterable[ast.Rule],
        fact_lookup: Callable[[URIRef, tuple[Identifier, ...]], float | None],
        model_contains: Callable[[URIRef, tuple[Identifier | None, ...]], bool] | None,
        semiring: str,
        registry: Any,
    ) -> None:
        self.rules: dict[str, list[ast.Rule]] = {}
        for r in program_rules:
            self.rules.setdefault(r.label, []).append(r)
        self.fact_lookup = fact_lookup
        self.model_contains = model_contains
        self.semiring = semiring
        self.registry = registry
        # Only these semirings score one proof tree on its own; noisy-or combines several.
        self.exact = semiring.split(":")[0] in ("maxprod", "boolean", "topk")
        self.problems: list[str] = []
        self.done: set[int] = set()

    def bad(self, node: Proof, msg: str) -> None:
        what = node.fact.render() if node.fact is not None else node.kind
        self.problems.append(f"{what}: {msg}")

    def check(self, node: Proof) -> None:
        """Check ``node`` and everything below it (each shared node once)."""
        if id(node) in self.done:
            return
        self.done.add(id(node))
        for p in node.premises:
            self.check(p)
        if node.kind in ("derived", "learned"):
            self.check_rule(node)
        elif node.kind in FACT_KINDS and not node.premises:
            self.check_leaf(node)

    def check_leaf(self, node: Proof) -> None:
        """An input fact must be one, with the score it has there."""
        if node.source.get("neural"):
            return
        got = self.fact_lookup(node.fact.predicate, node.fact.args)
        if got is None:
            self.bad(node, "is not an input fact")
        elif not math.isclose(got, node.score, rel_tol=1e-9, abs_tol=1e-12) and self.semiring != "boolean":
            self.bad(node, f"input score {got} differs from {node.score}")

    def check_rule(self, node: Proof) -> None:
        """A derived fact must follow from one of the rules with its label."""
        if node.rule is None:
            return self.bad(node, "derived without a rule")
        # Labels need not be unique (unnamed rules without a file): any rule that checks wins.
        cands = self.rules.get(node.rule.label) or [r for rs in self.rules.values() for r in rs]
        if not cands:
            return self.bad(node, f"rule {node.rule.label} is not in the program")
        found = [self.rule_problems(node, r) for r in cands]
        if not any(not f for f in found):
            for msg in found[0]:
                self.bad(node, msg)

    def rule_problems(self, node: Proof, rule: ast.Rule) -> list[str]:
        """What is wrong with ``node`` as an application of ``rule`` (empty: nothing)."""
        b = node.bindings
        head = _ground(rule.head, b) if rule.head is not None else None
        if head is None or None in head.args or not _matches(head, node.fact):
            return [f"is not the head of rule {rule.label} under {b}"]
        facts = [p for p in node.premises if p.kind in FACT_KINDS]
        used: set[int] = set()
        out: list[str] = []
        score = 1.0 if rule.weight is None else float(rule.weight)
        for lit in rule.body:
            if isinstance(lit, ast.Atom) and not lit.negated and lit.predicate not in self.registry.predicates:
                # Premises come in body order; each matches one atom (two atoms may look alike
                # through anonymous arguments, so take them in order).
                g = _ground(lit, b)
                match = next((i for i, p in enumerate(facts) if i not in used and _matches(g, p.fact)), None)
                if match is None:
                    out.append(f"no premise matches {format_literal(lit)}")
                else:
                    used.add(match)
                    score *= facts[match].score
            else:
                problem = self.step_problem(lit, b)
                if problem is not None:
                    out.append(problem)
        if self.semiring == "boolean":
            score = 1.0
        if self.exact and not math.isclose(score, node.score, rel_tol=1e-9, abs_tol=1e-12):
            out.append(f"score {node.score} is not the rule's combination {score}")
        return out

    def step_problem(self, lit: ast.BodyLiteral, b: dict[str, Identifier]) -> str | None:
        """Why a body literal that matches no premise (built-in, negation, comparison,
        assignment) does not hold under ``b``, or None when it holds."""
        registry = self.registry
        if isinstance(lit, ast.Atom) and lit.predicate in registry.predicates:
            g = _ground(lit, b)
            outs = registry.predicates[lit.predicate].fn(*g.args) if None not in g.args else []
            results = {tuple(v if isinstance(v, Identifier) else Literal(v) for v in o) for o in outs}
            if (tuple(g.args) in results) == lit.negated:
                return f"built-in {format_literal(lit)} does not hold"
        elif isinstance(lit, ast.Atom):  # negated: the atom must be absent
            if self.model_contains is not None and self.model_contains(*_ground(lit, b)):
                return f"{format_literal(lit)} is false: the atom holds"
        elif isinstance(lit, ast.Comparison):
            if not _holds(lit.op, _value(lit.left, b, registry), _value(lit.right, b, registry), registry):
                return f"comparison {format_literal(lit)} does not hold under {b}"
        elif isinstance(lit, ast.Assignment):
            have = b.get(lit.var.name)
            if have is None or not _holds("==", (have, numeric_value(have)), _value(lit.expr, b, registry), registry):
                return f"assignment {format_literal(lit)} does not hold under {b}"
        return None
