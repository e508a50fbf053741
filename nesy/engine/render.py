"""Terms, literals and rules back in rule syntax, for proofs and messages."""

from __future__ import annotations

import json
from typing import Any

from rdflib import Literal, URIRef
from rdflib.term import Identifier

from nesy.rules import ast

_XSD = "http://www.w3.org/2001/XMLSchema#"


def term_text(term: Identifier | None, prefixes: dict[str, str] | None = None) -> str:
    """A term in rule syntax: ``ex:a`` when a prefix matches, numbers bare, else N3."""
    if term is None:
        return "_"
    if isinstance(term, URIRef):
        s = str(term)
        best = None
        for name, ns in (prefixes or {}).items():
            if ns and s.startswith(ns) and (best is None or len(ns) > len(best[1])):
                best = (name, ns)
        if best is not None:
            local = s[len(best[1]):]
            if local and all(c.isalnum() or c in "_-." for c in local) and not local.endswith("."):
                return f"{best[0]}:{local}"
        return f"<{s}>"
    if isinstance(term, Literal):
        dt = str(term.datatype) if term.datatype else ""
        if dt in (_XSD + "integer", _XSD + "decimal", _XSD + "double", _XSD + "boolean"):
            return str(term)
        if dt and dt != _XSD + "string":
            return f"{json.dumps(str(term))}^^{term_text(term.datatype, prefixes)}"
        if term.language:
            return f"{json.dumps(str(term))}@{term.language}"
        return json.dumps(str(term))
    return str(term)


def expr_text(e: Any, prefixes: dict[str, str] | None = None) -> str:
    """An arithmetic expression in rule syntax."""
    if isinstance(e, ast.Var):
        return e.name
    if isinstance(e, ast.BinOp):
        return f"({expr_text(e.left, prefixes)} {e.op} {expr_text(e.right, prefixes)})"
    return term_text(e, prefixes)


def literal_text(lit: Any, prefixes: dict[str, str] | None = None) -> str:
    """A body literal in rule syntax."""
    if isinstance(lit, ast.Atom):
        inner = ", ".join(expr_text(a, prefixes) for a in lit.args)
        return ("not " if lit.negated else "") + ("~" if lit.neural else "") + f"{term_text(lit.predicate, prefixes)}({inner})"
    if isinstance(lit, ast.Comparison):
        return f"{expr_text(lit.left, prefixes)} {lit.op} {expr_text(lit.right, prefixes)}"
    if isinstance(lit, ast.Assignment):
        return f"{lit.var.name} = {expr_text(lit.expr, prefixes)}"
    if isinstance(lit, ast.Aggregate):
        terms = ", ".join(expr_text(t, prefixes) for t in lit.terms)
        body = ", ".join(literal_text(b, prefixes) for b in lit.body)
        return f"{lit.var.name} = {lit.func} {{ {terms} : {body} }}"
    return str(lit)


def rule_text(rule: ast.Rule, prefixes: dict[str, str] | None = None) -> str:
    """A rule in rule syntax, e.g. ``[gp] 0.8 :: g(X, Z) :- p(X, Y), p(Y, Z).``"""
    head = literal_text(rule.head, prefixes) if rule.head is not None else "false"
    text = head + (" :- " + ", ".join(literal_text(b, prefixes) for b in rule.body) if rule.body else "") + "."
    if rule.weight is not None:
        text = f"{rule.weight:g} :: {text}"
    if rule.name:
        text = f"[{rule.name}] {text}"
    return text
