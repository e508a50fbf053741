"""Parse rule-language text into the syntax tree of :mod:`nesy.rules.ast`, with checks.

This module is the public entry point: :func:`parse_program`, :func:`parse_file`,
:func:`parse_query`, :func:`parse_atom`, and :func:`parse_tree` for tests. The syntax is
defined once, in ``grammar.lark``, and run by the fast LALR driver of :mod:`nesy.rules.lalr`;
:mod:`nesy.rules.syntax_errors` words syntax errors, :mod:`nesy.rules.builder` (with
:mod:`nesy.rules.terms`) builds the dataclasses while the driver reduces, and
:mod:`nesy.rules.checks` checks them.

Besides syntax, the parser checks what a rule file must satisfy before anything uses it:
known prefixes, safe rules (every variable bound by a positive atom), ground facts,
weights in (0, 1], one arity per predicate, import cycles, ``@import`` paths outside the
allowed folders (see :mod:`nesy.rules.builder`) and untrusted ``@plugin`` directives. Every problem is a :class:`~nesy.errors.NesyError` subclass with the file,
line, column and a caret excerpt; nothing partial is ever returned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nesy.errors import ParseError, excerpt_of
from nesy.namespaces import DEFAULT_NAMESPACE, DEFAULT_PREFIXES, NESY_NS
from nesy.rules.ast import Atom, Program, Query, read_pragmas
from nesy.rules.builder import Builder, Context, ImportLink, parse_text, read_text, run_builder
from nesy.rules.lalr import START_ATOM, START_PROGRAM, START_QUERY, drive, grammar_tables
from nesy.rules.tokens import SyntaxFailure, Tok

__all__ = [
    "BUILTIN_AGGREGATES",
    "DEFAULT_NS",
    "DEFAULT_PREFIXES",
    "NESY_NS",
    "ImportLink",
    "RuleSources",
    "import_folders",
    "parse_atom",
    "parse_file",
    "parse_program",
    "parse_sources",
    "parse_query",
    "parse_tree",
    "reference_parser",
]

#: The namespace of bare lower-case names when no ``@prefix : <...> .`` is declared
#: (:data:`nesy.namespaces.DEFAULT_NAMESPACE`; ``DEFAULT_PREFIXES`` and ``NESY_NS`` come
#: from there too).
DEFAULT_NS = DEFAULT_NAMESPACE

#: The aggregate functions every knowledge base has (plugins may add more).
BUILTIN_AGGREGATES = ("count", "sum", "min", "max", "avg")


def reference_parser() -> Any:
    """The plain ``lark.Lark`` parser built from ``grammar.lark`` (for tests and tooling).

    It has the start symbols ``start`` (a file), ``query_input`` and ``atom_input``.
    """
    return grammar_tables().lark


def _base_prefixes(prefixes: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(DEFAULT_PREFIXES)
    if prefixes:
        env.update(prefixes)
    return env


def parse_program(
    text: str,
    *,
    file: str | None = None,
    prefixes: Mapping[str, str] | None = None,
    default_ns: str = DEFAULT_NS,
    base: str | None = None,
    trust_plugins: bool = False,
    aggregates: Collection[str] | None = None,
    allow_paths: Iterable[str | os.PathLike[str]] = (),
) -> Program:
    """Parse and check a rule program.

    Args:
        text: The rule text.
        file: The file name to report in locations and errors; ``@import`` paths are
            resolved relative to its folder (to the working directory when ``None``).
        prefixes: Prefixes already known (e.g. by the knowledge base); :data:`DEFAULT_PREFIXES`
            are always known, and the text's own ``@prefix`` declarations win.
        default_ns: The namespace of bare names (``parent``) and of ``:name`` when the text
            declares no ``@prefix : <...> .`` and ``prefixes`` has no ``""`` entry.
        base: The base IRI for relative ``<IRIs>`` until an ``@base`` directive.
        trust_plugins: Accept ``@plugin`` directives (else they raise :class:`PluginError`).
        aggregates: When given, the aggregate names allowed (else any name is accepted and
            the knowledge base reports unknown ones).
        allow_paths: More folders ``@import`` may read from, besides the folder of ``file``
            (the working directory when ``None``); anything else is refused.

    Returns:
        The program, imports inlined.

    Raises:
        ParseError: Bad syntax, or an import that cannot be read or is not allowed.
        RuleError: A rule that parses but is wrong (unknown prefix, unsafe, arity clash...).
        ImportCycleError: Files that import each other.
        PluginError: ``@plugin`` in a text that is not trusted.
    """
    return parse_sources(text, file=file, prefixes=prefixes, default_ns=default_ns, base=base,
                         trust_plugins=trust_plugins, aggregates=aggregates, allow_paths=allow_paths).program


@dataclass(frozen=True)
class RuleSources:
    """A parsed rule text with everything it read: what a knowledge base copies.

    Attributes:
        program: The program, imports inlined.
        texts: Real path -> text of each imported file, in the order first read (and the
            root file's, when it has a name).
        links: Every ``@import`` directive, with the real path it named.
    """

    program: Program
    texts: dict[str, str]
    links: tuple[ImportLink, ...]


def import_folders(file: str | None, allow_paths: Iterable[str | os.PathLike[str]] = ()) -> tuple[str, ...]:
    """The real folders ``@import`` may read from: ``file``'s own folder (the working
    directory for rule text) first, then ``allow_paths``."""
    root = os.path.realpath(os.path.dirname(os.path.abspath(file)) if file is not None else os.getcwd())
    return (root, *(os.path.realpath(os.fspath(p)) for p in allow_paths))


def parse_sources(
    text: str,
    *,
    file: str | None = None,
    prefixes: Mapping[str, str] | None = None,
    default_ns: str = DEFAULT_NS,
    base: str | None = None,
    trust_plugins: bool = False,
    aggregates: Collection[str] | None = None,
    allow_paths: Iterable[str | os.PathLike[str]] = (),
) -> RuleSources:
    """:func:`parse_program`, also returning the texts of the files read and the imports."""
    ctx = Context(
        trust_plugins=trust_plugins,
        base_prefixes=_base_prefixes(prefixes),
        default_ns=default_ns,
        aggregates=frozenset(aggregates) if aggregates is not None else None,
        allowed=import_folders(file, allow_paths),
    )
    if text.startswith("\ufeff"):
        text = text[1:]
    builder = parse_text(text, file, ctx, base)
    program = Program(
        rules=tuple(builder.rules),
        facts=tuple(builder.facts),
        queries=tuple(builder.queries),
        prefixes=tuple(builder.declared.items()),
        plugins=tuple(builder.plugins),
        files=tuple(ctx.files),
        pragmas=read_pragmas(text.splitlines()),
    )
    return RuleSources(program, dict(ctx.read), tuple(ctx.links))


def parse_file(
    path: str | os.PathLike[str],
    *,
    prefixes: Mapping[str, str] | None = None,
    default_ns: str = DEFAULT_NS,
    base: str | None = None,
    trust_plugins: bool = False,
    aggregates: Collection[str] | None = None,
    allow_paths: Iterable[str | os.PathLike[str]] = (),
) -> Program:
    """Read and parse a rule file; ``@import`` paths are relative to it and confined to its
    folder and ``allow_paths``.

    Args:
        path: The rule file.
        prefixes: Prefixes already known (see :func:`parse_program`).
        default_ns: The namespace of bare names.
        base: The base IRI for relative ``<IRIs>``.
        trust_plugins: Accept ``@plugin`` directives.
        aggregates: When given, the aggregate names allowed.
        allow_paths: More folders ``@import`` may read from.

    Returns:
        The program with its imports inlined (each file once, even through a diamond).

    Raises:
        ParseError: The file cannot be read, or bad syntax.
        RuleError, ImportCycleError, PluginError: See :func:`parse_program`.
    """
    file = os.fspath(path)
    text = read_text(file, None, None)
    return parse_program(
        text,
        file=file,
        prefixes=prefixes,
        default_ns=default_ns,
        base=base,
        trust_plugins=trust_plugins,
        aggregates=aggregates,
        allow_paths=allow_paths,
    )


def _fragment_builder(
    text: str, prefixes: Mapping[str, str] | None, default_ns: str, file: str | None
) -> Builder:
    ctx = Context(
        trust_plugins=False,
        base_prefixes=_base_prefixes(prefixes),
        default_ns=default_ns,
        aggregates=None,
        check_arity=False,
    )
    ctx.texts[file] = text
    return Builder(text, file, ctx, None)


def parse_query(
    text: str,
    *,
    prefixes: Mapping[str, str] | None = None,
    default_ns: str = DEFAULT_NS,
    file: str | None = None,
) -> Query:
    """Parse a query: ``?- body.``, or just the body, with or without the final ``.``.

    Args:
        text: The query text, e.g. ``?- fam:parent(X, Y).`` or ``fam:parent(X, Y)``.
        prefixes: Prefixes known to the caller (the defaults are always known).
        default_ns: The namespace of bare names.
        file: A name for the input in error messages (e.g. ``<repl>``).

    Returns:
        The query.

    Raises:
        ParseError: Bad syntax.
        RuleError: Unknown prefix or an unsafe body (e.g. ``not p(X)`` alone).
    """
    builder = _fragment_builder(text, prefixes, default_ns, file)
    return run_builder(builder, text, START_QUERY)


def parse_atom(
    text: str,
    *,
    prefixes: Mapping[str, str] | None = None,
    default_ns: str = DEFAULT_NS,
    file: str | None = None,
) -> Atom:
    """Parse one atom such as ``fam:parent(fam:ann, X)``; a final ``.`` is optional.

    Args:
        text: The atom text.
        prefixes: Prefixes known to the caller (the defaults are always known).
        default_ns: The namespace of bare names.
        file: A name for the input in error messages.

    Returns:
        The atom (variables allowed).

    Raises:
        ParseError: Bad syntax, or anything but one atom.
        RuleError: Unknown prefix.
    """
    builder = _fragment_builder(text, prefixes, default_ns, file)
    return run_builder(builder, text, START_ATOM)


def parse_tree(text: str, start: str = START_PROGRAM) -> Any:
    """The syntax-only parse of ``text`` as a ``lark.Tree``, built by this module's driver.

    It equals ``reference_parser().parse(text, start=start)``; tests use the pair to
    check that the driver follows Lark. Raises :class:`ParseError` on bad syntax.
    """
    from lark import Token, Tree

    def conv(x: Any) -> Any:
        return Token(x.type, x.value) if type(x) is Tok else x

    def make(name: str) -> Callable[[list[Any], tuple[int, int]], Any]:
        return lambda children, where: Tree(name, [conv(x) for x in children])

    tables = grammar_tables()
    names = {
        info[2]
        for row in tables.actions.values()
        for (is_shift, info) in row.values()
        if not is_shift
    }
    callbacks = {name: make(name) for name in names}
    try:
        return drive(text, start, callbacks)
    except SyntaxFailure as fail:
        raise ParseError(
            fail.message, line=fail.line, column=fail.column, excerpt=excerpt_of(text, fail.line)
        ) from None
