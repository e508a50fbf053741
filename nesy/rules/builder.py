"""Build the syntax tree of one rule text: statements, directives and imports.

:class:`Builder` supplies the callbacks that :func:`nesy.rules.lalr.drive` calls as it
reduces: terms come from :class:`~nesy.rules.terms.TermBuilder`, checks from
:class:`~nesy.rules.checks.RuleChecks`, and this module adds atoms, body literals, facts,
rules, constraints, queries and the ``@prefix``/``@base``/``@plugin``/``@import``
directives (an import parses the other file with the same :class:`Context`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import URIRef

from nesy.errors import (
    ImportCycleError,
    ParseError,
    PluginError,
    RuleError,
    SourceLocation,
    excerpt_of,
)
from nesy.rules.ast import (
    Aggregate,
    Assignment,
    Atom,
    BodyLiteral,
    Comparison,
    Fact,
    PluginDirective,
    Query,
    Rule,
    Var,
)
from nesy.rules.checks import RuleChecks, generated
from nesy.rules.lalr import START_PROGRAM, drive
from nesy.rules.terms import TermBuilder
from nesy.rules.tokens import SyntaxFailure, Tok


@dataclass(frozen=True)
class Weight:
    value: float
    text: str
    loc: SourceLocation


@dataclass(frozen=True)
class AggBody:
    func: str
    terms: tuple[Any, ...]
    body: tuple[BodyLiteral, ...]
    loc: SourceLocation


@dataclass
class Context:
    """State shared by a root file and everything it imports."""

    trust_plugins: bool
    base_prefixes: dict[str, str]
    default_ns: str
    aggregates: frozenset[str] | None
    texts: dict[str | None, str] = dataclasses.field(default_factory=dict)
    stack: list[str] = dataclasses.field(default_factory=list)  # real paths being parsed
    stack_names: list[str] = dataclasses.field(default_factory=list)  # the same, as named
    done: dict[str, dict[str, str]] = dataclasses.field(
        default_factory=dict
    )  # real path -> its prefixes
    files: list[str] = dataclasses.field(default_factory=list)
    arities: dict[URIRef, tuple[int, SourceLocation]] = dataclasses.field(default_factory=dict)
    check_arity: bool = True


class Builder(TermBuilder, RuleChecks):
    """The reduction callbacks for one text: turn grammar rules into ast.py nodes and check them."""

    def __init__(self, text: str, file: str | None, ctx: Context, base: str | None) -> None:
        super().__init__(text, file, ctx, base)
        self.declared: dict[str, str] = {}  # prefixes declared here or by imports
        self.rules: list[Rule] = []
        self.facts: list[Fact] = []
        self.queries: list[Query] = []
        self.plugins: list[PluginDirective] = []
        self.callbacks: dict[str, Callable[[list[Any], tuple[int, int]], Any]] = {
            name[2:]: getattr(self, name) for name in dir(self) if name.startswith("r_")
        }

    # ---- atoms and literals -----------------------------------------------------------
    def r_atom(self, c: list[Any], where: tuple[int, int]) -> Atom:
        args = tuple(x for x in c[2:-1] if type(x) is not Tok)
        return Atom(c[0], args, loc=self.loc(where))

    def r_negated(self, c: list[Any], where: tuple[int, int]) -> Atom:
        a: Atom = c[1]
        return Atom(a.predicate, a.args, negated=True, loc=self.loc(where))

    def r_neural(self, c: list[Any], where: tuple[int, int]) -> Atom:
        a: Atom = c[1]
        return Atom(a.predicate, a.args, neural=True, loc=self.loc(where))

    def r_comparison(self, c: list[Any], where: tuple[int, int]) -> Comparison:
        return Comparison(c[1].value, c[0], c[2], self.loc(where))

    def r_equation(self, c: list[Any], where: tuple[int, int]) -> BodyLiteral:
        left, right = c[0], c[2]
        loc = self.loc(where)
        if isinstance(right, AggBody):
            if not isinstance(left, Var):
                self.fail(
                    RuleError,
                    "the result of an aggregate must be a variable: N = count { ... }",
                    loc,
                )
            return Aggregate(left, right.func, right.terms, right.body, loc)
        if isinstance(left, Var):
            return Assignment(left, right, loc)
        return Comparison("==", left, right, loc)

    def r_aggregate(self, c: list[Any], where: tuple[int, int]) -> AggBody:
        func = c[0].value
        loc = self.loc(where)
        known = self.ctx.aggregates
        if known is not None and func not in known:
            names = ", ".join(sorted(known))
            self.fail(RuleError, f"unknown aggregate '{func}' (known: {names})", loc)
        colon = next(i for i, x in enumerate(c) if type(x) is Tok and x.type == "COLON")
        terms = tuple(x for x in c[2:colon] if type(x) is not Tok)
        return AggBody(func, terms, c[colon + 1], loc)

    def r_body(self, c: list[Any], where: tuple[int, int]) -> tuple[BodyLiteral, ...]:
        return tuple(x for x in c if type(x) is not Tok)

    def r_weight(self, c: list[Any], where: tuple[int, int]) -> Weight:
        text = "".join(t.value for t in c[:-1])
        return Weight(float(text), text, self.loc(where))

    # ---- statements -------------------------------------------------------------------
    def r_clause(self, c: list[Any], where: tuple[int, int]) -> None:
        loc = self.loc(where)
        name, weight, i = self.label_and_weight(c)
        head: Atom = c[i]
        if c[i + 1].type == "DOT":
            if name is not None:
                self.fail(
                    RuleError, f"a fact cannot have a name ([{name}]): names label rules", loc
                )
            for t in head.args:
                if isinstance(t, Var):
                    shown = "_" if generated(t) else t.name
                    self.fail(
                        RuleError,
                        f"a fact must be ground, but it contains the variable {shown} "
                        "(a rule needs ':-' and a body)",
                        t.loc,
                    )
            score = None
            if weight is not None:
                self.check_weight(weight, "confidence")
                score = weight.value
            fact = Fact(head, score, loc)
            self.check_arities((head,))
            self.facts.append(fact)
        else:
            body: tuple[BodyLiteral, ...] = c[i + 2]
            value = None
            if weight is not None:
                self.check_weight(weight, "weight")
                value = weight.value
            rule = self.finish(Rule(head, body, value, name, loc))
            self.check_safety(rule.head, rule.body)
            self.check_arities((rule.head, *rule.body))
            self.rules.append(rule)
        self.end_statement()

    def r_constraint(self, c: list[Any], where: tuple[int, int]) -> None:
        loc = self.loc(where)
        name, weight, i = self.label_and_weight(c)
        if weight is not None:
            self.fail(RuleError, "a constraint (false :- ...) cannot have a weight", weight.loc)
        rule = self.finish(Rule(None, c[i + 2], None, name, loc))
        self.check_safety(None, rule.body)
        self.check_arities(rule.body)
        self.rules.append(rule)
        self.end_statement()

    def r_query(self, c: list[Any], where: tuple[int, int]) -> None:
        query = self.finish(Query(c[1], self.loc(where)))
        self.check_safety(None, query.body)
        self.check_arities(query.body)
        self.queries.append(query)
        self.end_statement()

    def r_query_input(self, c: list[Any], where: tuple[int, int]) -> Query:
        body = next(x for x in c if type(x) is not Tok)
        query = self.finish(Query(body, self.loc(where)))
        self.check_safety(None, query.body)
        return query

    def r_atom_input(self, c: list[Any], where: tuple[int, int]) -> Atom:
        return self.finish(c[0])

    def r_prefix_decl(self, c: list[Any], where: tuple[int, int]) -> None:
        prefix = c[1].value[:-1]
        ns = self.resolve_iri(c[2])
        self.env[prefix] = ns
        self.declared[prefix] = ns
        self._iri_cache.clear()  # names read from now on resolve against the new namespace

    def r_base_decl(self, c: list[Any], where: tuple[int, int]) -> None:
        self.base = self.resolve_iri(c[1])
        self._iri_cache.clear()

    def r_plugin_decl(self, c: list[Any], where: tuple[int, int]) -> None:
        module = self.string(c[1])
        loc = self.loc(where)
        if not self.ctx.trust_plugins:
            self.fail(
                PluginError,
                f'@plugin "{module}" refused: rule files are data, and this one is not trusted to load '
                "Python code (pass trust_plugins=True, or --trust on the command line)",
                loc,
            )
        self.plugins.append(PluginDirective(module, loc))

    def r_import_decl(self, c: list[Any], where: tuple[int, int]) -> None:
        target = self.string(c[1])
        loc = self.loc(where)
        here = os.path.dirname(self.file) if self.file is not None else ""
        path = os.path.normpath(os.path.join(here, target))
        real = os.path.realpath(path)
        if real in self.ctx.stack:
            first = self.ctx.stack.index(real)
            chain = self.ctx.stack_names[first:] + [self.ctx.stack_names[first]]
            self.fail(ImportCycleError, f"import cycle: {' -> '.join(chain)}", loc)
        if real in self.ctx.done:
            # A diamond: the file is already in the program; only its prefixes come along.
            self.add_prefixes(self.ctx.done[real])
            return
        if not os.path.isfile(path):
            self.fail(ParseError, f'cannot import "{target}": no such file {path}', loc)
        text = read_text(path, self, loc)
        child = parse_text(text, path, self.ctx, base=None)
        self.rules.extend(child.rules)
        self.facts.extend(child.facts)
        self.queries.extend(child.queries)
        self.plugins.extend(child.plugins)
        self.add_prefixes(child.declared)

    def add_prefixes(self, prefixes: Mapping[str, str]) -> None:
        self.env.update(prefixes)
        self.declared.update(prefixes)
        self._iri_cache.clear()

    def r_start(self, c: list[Any], where: tuple[int, int]) -> None:
        return None

    # ---- statement helpers ------------------------------------------------------------
    def label_and_weight(self, c: list[Any]) -> tuple[str | None, Weight | None, int]:
        i = 0
        name = None
        weight = None
        if type(c[0]) is Tok and c[0].type == "LABEL":
            name = c[0].value.strip()[1:-1].strip()
            i = 1
        if isinstance(c[i], Weight):
            weight = c[i]
            i += 1
        return name, weight, i

    def end_statement(self) -> None:
        self._anon = 0

    def finish(self, node: Any) -> Any:
        """Close the current statement (anonymous variables are numbered per statement)."""
        self.end_statement()
        return node


def read_text(path: str, builder: Builder | None, loc: SourceLocation | None) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        message = f"cannot read rule file {path}: {exc.strerror or exc}"
        if builder is not None and loc is not None:
            builder.fail(ParseError, message, loc)
        raise ParseError(message, file=path) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(
            f"{path} is not valid UTF-8 (byte {exc.start})", file=path, line=line
        ) from exc
    return text[1:] if text.startswith("\ufeff") else text


def run_builder(builder: Builder, text: str, start: str) -> Any:
    try:
        return drive(text, start, builder.callbacks)
    except SyntaxFailure as fail:
        raise ParseError(
            fail.message,
            file=builder.file,
            line=fail.line,
            column=fail.column,
            excerpt=excerpt_of(text, fail.line),
        ) from None
    except RecursionError:
        raise ParseError("the statement is nested too deeply", file=builder.file) from None


def parse_text(text: str, file: str | None, ctx: Context, base: str | None) -> Builder:
    """Parse one file's text (imports recursively) into a finished builder."""
    real = os.path.realpath(file) if file is not None else None
    ctx.texts[file] = text
    if file is not None:
        ctx.files.append(file)
    if real is not None:
        ctx.stack.append(real)
        ctx.stack_names.append(file)  # type: ignore[arg-type]
    builder = Builder(text, file, ctx, base)
    run_builder(builder, text, START_PROGRAM)
    if real is not None:
        ctx.stack.pop()
        ctx.stack_names.pop()
        ctx.done[real] = dict(builder.declared)
    return builder
