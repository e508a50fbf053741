"""A tiny Datalog reader for engine tests, so they build ASTs without the real parser.

Syntax: ``[name] 0.8 :: p(X, a) :- q(X, Y), not r(Y), ~s(X, Y), A >= 3, D = A - 1,
N = count { Y : q(X, Y) }.`` Lower-case names are IRIs in :data:`EX`, upper-case / ``_``
names are variables, numbers and ``"strings"`` are literals, ``nesy:f`` is a built-in.
"""

from __future__ import annotations

import re

from rdflib import RDF, Literal, Namespace, URIRef

from nesy.errors import SourceLocation
from nesy.plugins.registry import NESY
from nesy.rules.ast import (
    Aggregate,
    Assignment,
    Atom,
    BinOp,
    Comparison,
    Fact,
    Program,
    Query,
    Rule,
    Var,
)

EX = Namespace("http://ex.org/")
PREFIXES = {"ex": str(EX)}
_TOKEN = re.compile(r'\s*(:-|::|\?-|>=|<=|==|!=|[(),.{}:<>=+\-*/%~\[\]]|"[^"]*"|\d+\.\d+|\d+|[A-Za-z_?][\w:]*)')


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot read {text[pos:]!r}")
        out.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Reader:
    def __init__(self, text: str, line: int = 0, file: str | None = None) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.loc = SourceLocation(file, line, 1) if line else SourceLocation(None, 0, 0)

    def peek(self, k: int = 0) -> str | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self, want: str | None = None) -> str:
        tok = self.toks[self.i]
        if want is not None and tok != want:
            raise ValueError(f"expected {want!r}, got {tok!r} in {' '.join(self.toks)}")
        self.i += 1
        return tok

    def term(self) -> object:
        tok = self.take()
        if tok.startswith('"'):
            return Literal(tok[1:-1])
        if re.fullmatch(r"\d+", tok):
            return Literal(int(tok))
        if re.fullmatch(r"\d+\.\d+", tok):
            return Literal(float(tok))
        if tok[0].isupper() or tok[0] in "_?":
            return Var(tok)
        return iri(tok)

    def expr(self) -> object:
        left = self.term()
        while self.peek() in ("+", "-", "*", "/", "%"):
            op = self.take()
            left = BinOp(op, left, self.term())
        return left

    def atom(self) -> Atom:
        negated = neural = False
        if self.peek() == "not":
            self.take()
            negated = True
        if self.peek() == "~":
            self.take()
            neural = True
        pred = iri(self.take())
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.term())
            if self.peek() == ",":
                self.take()
        self.take(")")
        return Atom(pred, tuple(args), negated, neural, self.loc)

    def literal(self) -> object:
        tok, nxt = self.peek(), self.peek(1)
        if tok == "not" or tok == "~" or nxt == "(":
            return self.atom()
        left = self.expr()
        op = self.take()
        if op == "=" and isinstance(left, Var) and self.peek(1) == "{":
            func = self.take()
            self.take("{")
            terms = []
            while self.peek() != ":":
                terms.append(self.term())
                if self.peek() == ",":
                    self.take()
            self.take(":")
            body = self.body("}")
            self.take("}")
            return Aggregate(left, func, tuple(terms), tuple(body), self.loc)
        right = self.expr()
        if op == "=":
            return Assignment(left, right, self.loc)
        return Comparison(op, left, right, self.loc)

    def body(self, stop: str) -> list:
        out = []
        while self.peek() not in (stop, None):
            out.append(self.literal())
            if self.peek() == ",":
                self.take()
        return out


def iri(name: str) -> URIRef:
    """``p`` -> ``EX.p``; ``nesy:x`` -> the built-in; ``rdf:type`` -> RDF.type."""
    if name == "rdf:type":
        return RDF.type
    if name.startswith("nesy:"):
        return URIRef(NESY + name[5:])
    return EX[name]


def atom(text: str) -> Atom:
    return _Reader(text).atom()


def rule(text: str, line: int = 0, file: str | None = None) -> Rule:
    """Read one rule (a trailing ``.`` is optional)."""
    r = _Reader(text.rstrip().rstrip("."), line, file)
    name = weight = None
    if r.peek() == "[":
        r.take("[")
        name = r.take()
        r.take("]")
    if r.peek(1) == "::":
        weight = float(r.take())
        r.take("::")
    head = None
    if r.peek() == "false":
        r.take()
    else:
        head = r.atom()
    body = []
    if r.peek() == ":-":
        r.take()
        body = r.body(None)
    return Rule(head, tuple(body), weight, name, r.loc)


def query(text: str) -> Query:
    r = _Reader(text.strip().removeprefix("?-").rstrip().rstrip("."))
    return Query(tuple(r.body(None)))


def program(text: str, file: str | None = None) -> Program:
    """Read rules and facts, one per line (``%`` starts a comment line)."""
    rules, facts = [], []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("%"):
            continue
        r = rule(line, n, file)
        if not r.body and r.head is not None and not any(isinstance(a, Var) for a in r.head.args):
            facts.append(Fact(r.head, r.weight, r.loc))
        else:
            rules.append(r)
    return Program(tuple(rules), tuple(facts), (), tuple(PREFIXES.items()))
