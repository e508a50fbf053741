"""Print terms and syntax-tree nodes as rule-language text that parses back to them.

This is nesy's one printer of terms and rules: proofs, answer tables, the REPL,
``kb.shorten``, learned rule files and the ontology packs all print through it, so a
term reads the same everywhere. Literals keep their characters (``"café"``, only
control characters, quotes and backslashes escaped); integers, decimals and booleans are
bare; an ``xsd:double`` always has an exponent (``1.5e0``), because the grammar reads
``1.5`` as a decimal; other typed literals name their datatype (``"2020-01-02"^^xsd:date``).

IRIs are printed as the shortest name the parser will read back: a bare name for the
default namespace, else a prefixed name (``fam:parent``) when the local part is a valid
Turtle local name, else ``<iri>``. Which names are valid comes from the terminals of
``grammar.lark`` itself, so the printer and the parser cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from nesy.namespaces import DEFAULT_NAMESPACE, DEFAULT_PREFIXES
from nesy.rules.ast import (
    Aggregate,
    Assignment,
    Atom,
    BinOp,
    BodyLiteral,
    Comparison,
    Fact,
    Program,
    Query,
    Rule,
    Var,
    binop_children,
    fold_tree,
)
from nesy.rules.lalr import grammar_tables

__all__ = [
    "format_atom",
    "format_body",
    "format_expr",
    "format_fact",
    "format_iri",
    "format_literal",
    "format_program",
    "format_query",
    "format_rule",
    "format_term",
]

#: Words the lexer reads as keywords where a bare name could stand.
_KEYWORDS = frozenset({"not", "true", "false"})
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2}
_STRING_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f]')
_IRI_ESCAPE = re.compile(r'[<>"{}|^`\\\x00-\x20]')
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+")


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern[str]]:
    """The grammar's own regexes for the tokens the printer emits."""
    terminals = grammar_tables().terminals
    return {
        name: re.compile(terminals[name].regexp)
        for name in ("PNAME_LN", "NAME", "VAR", "NUMBER", "LANGTAG", "LABEL")
    }


def _merged(prefixes: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(DEFAULT_PREFIXES)
    if prefixes:
        merged.update(prefixes)
    return merged


def format_iri(
    iri: str, prefixes: Mapping[str, str] | None = None, default_ns: str | None = None
) -> str:
    """The shortest spelling of ``iri`` that parses back to it with these prefixes.

    Args:
        iri: The IRI.
        prefixes: Prefixes the reader will know (the defaults are always included).
        default_ns: The namespace of bare names when ``prefixes`` has no ``""`` entry.
    """
    env = _merged(prefixes)
    pats = _patterns()
    default = env.get("", default_ns if default_ns is not None else DEFAULT_NAMESPACE)
    best: str | None = None
    if default and iri.startswith(default):
        local = iri[len(default) :]
        if local not in _KEYWORDS and pats["NAME"].fullmatch(local):
            return local
    names = dict(env)
    if default:
        names.setdefault("", default)  # `:local` reads back against the default namespace
    for name, ns in names.items():
        if not ns or not iri.startswith(ns):
            continue
        candidate = f"{name}:{iri[len(ns) :]}"
        if "\\" in candidate or not pats["PNAME_LN"].fullmatch(candidate):
            continue
        if best is None or (len(candidate), candidate) < (len(best), best):
            best = candidate
    if best is not None:
        return best
    return "<" + _IRI_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04X}", iri) + ">"


def format_string(text: str) -> str:
    """A double-quoted string literal with the escapes the parser decodes."""
    if _NEEDS_ESCAPE.search(text):
        text = _NEEDS_ESCAPE.sub(
            lambda m: _STRING_ESCAPES.get(m.group(), f"\\u{ord(m.group()):04X}"), text
        )
    return f'"{text}"'


def format_term(
    term: Var | URIRef | Literal | BNode,
    prefixes: Mapping[str, str] | None = None,
    default_ns: str | None = None,
) -> str:
    """A variable, IRI or literal as rule-language text.

    Args:
        term: The term.
        prefixes: Prefixes the reader will know (the defaults are always included).
        default_ns: The namespace of bare names when ``prefixes`` has no ``""`` entry.
    """
    if isinstance(term, Var):
        if not _patterns()["VAR"].fullmatch(term.name):
            raise ValueError(f"variable name {term.name!r} cannot be written (use X, ?x or _x)")
        return term.name
    if isinstance(term, URIRef):
        return format_iri(str(term), prefixes, default_ns)
    if isinstance(term, Literal):
        return _format_literal_term(term, prefixes, default_ns)
    if isinstance(term, BNode):
        return f"_:{term}"  # for display: rules have no blank nodes, so this does not parse back
    raise TypeError(f"not a term: {term!r}")


def _format_literal_term(
    lit: Literal, prefixes: Mapping[str, str] | None, default_ns: str | None
) -> str:
    lexical = str(lit)
    if lit.language:
        return f"{format_string(lexical)}@{lit.language}"
    dt = lit.datatype
    if dt is None:
        return format_string(lexical)
    if dt == XSD.integer and _INTEGER.fullmatch(lexical):
        return lexical
    if dt == XSD.decimal and _DECIMAL.fullmatch(lexical):
        return lexical
    if dt == XSD.double:
        unsigned = lexical[1:] if lexical.startswith("-") else lexical
        if _patterns()["NUMBER"].fullmatch(unsigned) and ("e" in unsigned or "E" in unsigned):
            return lexical
        if _DECIMAL.fullmatch(lexical) or _INTEGER.fullmatch(lexical):
            # rdflib writes 1e3 as 1000.0; an exponent keeps it a double when read back.
            return _as_double(lexical)
    if dt == XSD.boolean and lexical in ("true", "false"):
        return lexical
    return f"{format_string(lexical)}^^{format_iri(str(dt), prefixes, default_ns)}"


def _as_double(lexical: str) -> str:
    """A decimal-looking double's lexical form with an exponent, so the grammar reads it
    back as a double: the shorter of the same digits with ``e0`` (``22.5`` -> ``22.5e0``,
    ``1000.0`` -> ``1000e0``) and scientific notation (``1000000.0`` -> ``1e6``,
    ``0.025`` -> ``2.5e-2``), the digits on a tie."""
    digits = (lexical[:-2] if lexical.endswith(".0") else lexical) + "e0"
    sign, numerals, exponent = Decimal(lexical).normalize().as_tuple()
    text = "".join(map(str, numerals))
    power = int(exponent) + len(text) - 1
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    scientific = f"{'-' if sign else ''}{mantissa}e{power}"
    return scientific if len(scientific) < len(digits) else digits


def format_expr(
    expr: object, prefixes: Mapping[str, str] | None = None, default_ns: str | None = None
) -> str:
    """An arithmetic expression, with the parentheses its tree needs and no others."""

    def combine(node: BinOp, left: str, right: str) -> str:
        prec = _PRECEDENCE[node.op]
        if isinstance(node.left, BinOp) and _PRECEDENCE[node.left.op] < prec:
            left = f"({left})"
        if isinstance(node.right, BinOp) and _PRECEDENCE[node.right.op] <= prec:
            right = f"({right})"
        return f"{left} {node.op} {right}"

    return fold_tree(expr, binop_children, lambda t: format_term(t, prefixes, default_ns), combine)


def format_atom(
    atom: Atom, prefixes: Mapping[str, str] | None = None, default_ns: str | None = None
) -> str:
    """``p(a, X)``, ``not p(a, X)`` or ``~p(a, X)``."""
    env = _merged(prefixes)
    args = ", ".join(format_term(t, env, default_ns) for t in atom.args)
    mark = "not " if atom.negated else ("~" if atom.neural else "")
    return f"{mark}{format_iri(str(atom.predicate), env, default_ns)}({args})"


def format_literal(
    lit: BodyLiteral, prefixes: Mapping[str, str] | None = None, default_ns: str | None = None
) -> str:
    """One body literal: an atom, a comparison, an assignment or an aggregate."""
    if isinstance(lit, Atom):
        return format_atom(lit, prefixes, default_ns)
    if isinstance(lit, Comparison):
        left = format_expr(lit.left, prefixes, default_ns)
        right = format_expr(lit.right, prefixes, default_ns)
        return f"{left} {lit.op} {right}"
    if isinstance(lit, Assignment):
        return f"{lit.var.name} = {format_expr(lit.expr, prefixes, default_ns)}"
    if isinstance(lit, Aggregate):
        terms = ", ".join(format_term(t, prefixes, default_ns) for t in lit.terms)
        body = format_body(lit.body, prefixes, default_ns)
        return f"{lit.var.name} = {lit.func} {{ {terms} : {body} }}"
    raise TypeError(f"not a body literal: {lit!r}")


def format_body(
    body: tuple[BodyLiteral, ...],
    prefixes: Mapping[str, str] | None = None,
    default_ns: str | None = None,
) -> str:
    """Body literals joined by commas."""
    env = _merged(prefixes)
    return ", ".join(format_literal(lit, env, default_ns) for lit in body)


def _format_weight(weight: float) -> str:
    return repr(float(weight))


def format_rule(
    rule: Rule, prefixes: Mapping[str, str] | None = None, default_ns: str | None = None
) -> str:
    """``[name] w :: head :- body.``, or ``false :- body.`` for a constraint."""
    env = _merged(prefixes)
    parts = []
    if rule.name is not None:
        if not _patterns()["LABEL"].fullmatch(f"[{rule.name}]"):
            raise ValueError(f"rule name {rule.name!r} cannot be written as [name]")
        parts.append(f"[{rule.name}] ")
    if rule.weight is not None:
        parts.append(f"{_format_weight(rule.weight)} :: ")
    parts.append("false" if rule.head is None else format_atom(rule.head, env, default_ns))
    # A rule the parser builds always has a body; one built in code may not, and reads
    # best as the fact it amounts to.
    parts.append(f" :- {format_body(rule.body, env, default_ns)}." if rule.body else ".")
    return "".join(parts)


def format_fact(
    fact: Fact, prefixes: Mapping[str, str] | None = None, default_ns: str | None = None
) -> str:
    """``w :: p(a, b).`` (the confidence only when given)."""
    score = f"{_format_weight(fact.score)} :: " if fact.score is not None else ""
    return f"{score}{format_atom(fact.atom, prefixes, default_ns)}."


def format_query(
    query: Query, prefixes: Mapping[str, str] | None = None, default_ns: str | None = None
) -> str:
    """``?- body.``"""
    return f"?- {format_body(query.body, prefixes, default_ns)}."


def format_program(
    program: Program, prefixes: Mapping[str, str] | None = None, default_ns: str | None = None
) -> str:
    """A whole program: its ``@prefix`` and ``@plugin`` lines, facts, rules, then queries.

    Args:
        program: The program (imports are already inlined, so none are printed).
        prefixes: Extra prefixes the reader will know; the program's own are printed and used.
        default_ns: The namespace of bare names when no ``""`` prefix is known.
    """
    env = _merged(prefixes)
    env.update(program.prefixes)
    lines = [f"@prefix {name}: {format_iri_ref(ns)} ." for name, ns in program.prefixes]
    lines += [f"@plugin {format_string(p.module)} ." for p in program.plugins]
    lines += [format_fact(f, env, default_ns) for f in program.facts]
    lines += [format_rule(r, env, default_ns) for r in program.rules]
    lines += [format_query(q, env, default_ns) for q in program.queries]
    return "\n".join(lines) + ("\n" if lines else "")


def format_iri_ref(iri: str) -> str:
    """``<iri>`` with the characters an IRI reference cannot hold escaped."""
    return "<" + _IRI_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04X}", iri) + ">"
