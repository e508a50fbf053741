"""Build the syntax tree of one rule text: statements, directives and imports.

:class:`Builder` supplies the callbacks that :func:`nesy.rules.lalr.drive` calls as it
reduces: terms come from :class:`~nesy.rules.terms.TermBuilder`, checks from
:class:`~nesy.rules.checks.RuleChecks`, and this module adds atoms, body literals, facts,
rules, constraints, queries and the ``@prefix``/``@base``/``@plugin``/``@import``
directives (an import parses the other file with the same :class:`Context`).

An ``@import`` is confined: its target must resolve, after symbolic links, inside one of
:attr:`Context.allowed` (the root file's folder, the KB's ``rules/`` folder, and what the
caller allows), or it is refused at the directive without the file being opened. Errors
never quote a file the user did not name or place next to the root file, and the number
and size of imported files are bounded (:data:`MAX_IMPORTS`, :data:`MAX_IMPORT_BYTES`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rdflib import URIRef

from nesy.errors import (
    ImportCycleError,
    NesyError,
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

#: At most this many files may be imported (directly or not) by one root file.
MAX_IMPORTS = 256
#: An imported rule file may have at most this many bytes.
MAX_IMPORT_BYTES = 16 * 1024 * 1024


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
    #: Real folders imports may read from; the first is the root file's own (errors in files
    #: elsewhere, which the caller allowed, are reported without quoting them).
    allowed: tuple[str, ...] = ()
    links: list[ImportLink] = dataclasses.field(default_factory=list)  # every @import, in order
    read: dict[str, str] = dataclasses.field(default_factory=dict)  # real path -> text of each file
    max_imports: int = MAX_IMPORTS
    max_import_bytes: int = MAX_IMPORT_BYTES

    def place(self, real: str) -> int | None:
        """The index in :attr:`allowed` of the folder ``real`` lies in (None: outside all)."""
        for i, folder in enumerate(self.allowed):
            if real == folder or real.startswith(folder.rstrip(os.sep) + os.sep):
                return i
        return None


@dataclass(frozen=True)
class ImportLink:
    """One ``@import`` directive: where its quoted name is (so a copy can rename it) and
    the real path of the file it names."""

    importer: str | None  # real path of the importing file (None: rule text)
    line: int
    column: int
    raw: str  # the quoted name as written
    target: str


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
        tok: Tok = c[1]
        target = self.string(tok)
        loc = self.loc(where)
        here = os.path.dirname(self.file) if self.file is not None else ""
        path = os.path.normpath(os.path.join(here, target))
        real = os.path.realpath(path)
        if real in self.ctx.stack:
            first = self.ctx.stack.index(real)
            chain = self.ctx.stack_names[first:] + [self.ctx.stack_names[first]]
            self.fail(ImportCycleError, f"import cycle: {' -> '.join(chain)}", loc)
        where_ok = self.ctx.place(real) if self.ctx.allowed else 0
        if where_ok is None:
            # Refused before the file is touched: neither its content nor its existence leaks.
            folders = ", ".join(self.ctx.allowed)
            self.fail(ParseError, f'@import "{target}" refused: {real} is outside the folders rule files may '
                      f"import from ({folders}); allow its folder with allow_paths= "
                      "(--allow-import-dir DIR on the command line)", loc)
        importer = os.path.realpath(self.file) if self.file is not None else None
        link = ImportLink(importer, tok.line, tok.column, tok.value, real)
        if real in self.ctx.done:
            # A diamond: the file is already in the program; only its prefixes come along.
            self.ctx.links.append(link)
            self.add_prefixes(self.ctx.done[real])
            return
        if not os.path.isfile(path):
            self.fail(ParseError, f'cannot import "{target}": no such file {path}', loc)
        if len(self.ctx.done) >= self.ctx.max_imports:
            self.fail(ParseError, f'cannot import "{target}": more than {self.ctx.max_imports} imported files', loc)
        text = read_text(path, self, loc, limit=self.ctx.max_import_bytes, quiet=where_ok > 0)
        self.ctx.links.append(link)
        child = self.parse_child(text, path, target, loc, quiet=where_ok > 0)
        self.rules.extend(child.rules)
        self.facts.extend(child.facts)
        self.queries.extend(child.queries)
        self.plugins.extend(child.plugins)
        self.add_prefixes(child.declared)

    def parse_child(self, text: str, path: str, target: str, loc: SourceLocation, *, quiet: bool) -> Builder:
        """Parse an imported file; ``quiet``: it lies outside the root file's folder, so an
        error names its place but quotes nothing of it (it may not be a rule file at all)."""
        if not quiet:
            return parse_text(text, path, self.ctx, base=None)
        try:
            return parse_text(text, path, self.ctx, base=None)
        except NesyError as exc:
            if isinstance(exc, ParseError) and not exc.message.startswith(("cannot import", "@import")):
                at = f" (syntax error at line {exc.line}, column {exc.column})" if exc.line else ""
                self.fail(ParseError, f'cannot import "{target}": {path} is not a rule file{at}', loc)
            exc.excerpt = None
            exc.args = (exc.render(),)
            raise

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


def read_text(path: str, builder: Builder | None, loc: SourceLocation | None, *, limit: int | None = None,
              quiet: bool = False) -> str:
    """The text of a rule file (a BOM dropped); ParseError when it cannot be read, is over
    ``limit`` bytes or is not UTF-8 (``quiet``: at the importing directive, naming no byte)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read() if limit is None else fh.read(limit + 1)
    except OSError as exc:
        message = f"cannot read rule file {path}: {exc.strerror or exc}"
        if builder is not None and loc is not None:
            builder.fail(ParseError, message, loc)
        raise ParseError(message, file=path) from exc
    if limit is not None and len(data) > limit and builder is not None and loc is not None:
        builder.fail(ParseError, f"cannot import {path}: an imported rule file may have at most {limit} bytes", loc)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if quiet and builder is not None and loc is not None:
            builder.fail(ParseError, f"cannot import {path}: not a rule file (not UTF-8 text)", loc)
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
        ctx.read[real] = text
        ctx.stack.append(real)
        ctx.stack_names.append(file)  # type: ignore[arg-type]
    builder = Builder(text, file, ctx, base)
    run_builder(builder, text, START_PROGRAM)
    if real is not None:
        ctx.stack.pop()
        ctx.stack_names.pop()
        ctx.done[real] = dict(builder.declared)
    return builder
