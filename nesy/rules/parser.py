"""Parse rule-language text into the syntax tree of :mod:`nesy.rules.ast`, with checks.

The syntax is defined once, in ``grammar.lark``. Lark compiles it into LALR(1) parse
tables and terminal definitions; this module runs those tables with a small driver of
its own (a contextual lexer plus the shift/reduce loop) that builds the dataclasses
directly while it reduces. Lark's own loop (a generic token stream, a tree, then a walk
over it) made a 10,000-rule file take about ten seconds; the driver is several times
faster. It follows Lark's lexing and parsing rules exactly, and ``tests/rules/test_fuzz.py``
checks that it accepts the same texts and builds the same trees as ``Lark.parse``.

Besides syntax, the parser checks what a rule file must satisfy before anything uses it:
known prefixes, safe rules (every variable bound by a positive atom), ground facts,
weights in (0, 1], one arity per predicate, import cycles and untrusted ``@plugin``
directives. Every problem is a :class:`~nesy.errors.NesyError` subclass with the file,
line, column and a caret excerpt; nothing partial is ever returned.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urljoin

from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

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
    BinOp,
    BodyLiteral,
    Comparison,
    Fact,
    PluginDirective,
    Program,
    Query,
    Rule,
    Var,
)

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")

#: Namespace of the built-in predicates; equal to ``nesy.plugins.registry.NESY`` (kept
#: literal here so that parsing does not import numpy through the plugin registry).
NESY_NS = "https://w3id.org/nesy#"

#: Prefixes every rule text knows without declaring them.
DEFAULT_PREFIXES: dict[str, str] = {
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "nesy": NESY_NS,
}

#: The namespace of bare lower-case names when no ``@prefix : <...> .`` is declared.
DEFAULT_NS = "http://example.org/nesy#"

#: The aggregate functions every knowledge base has (plugins may add more).
BUILTIN_AGGREGATES = ("count", "sum", "min", "max", "avg")

_START_PROGRAM = "start"
_START_QUERY = "query_input"
_START_ATOM = "atom_input"


# =========================================================================================
# The LALR tables and the contextual lexer, compiled from grammar.lark
# =========================================================================================


class _Tok:
    """A token: its terminal name, text and 1-based start line and column."""

    __slots__ = ("type", "value", "line", "column")

    def __init__(self, type_: str, value: str, line: int, column: int) -> None:
        self.type = type_
        self.value = value
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        return f"_Tok({self.type}, {self.value!r}, {self.line}:{self.column})"


class _Splice(list):  # type: ignore[type-arg]
    """Children of an inlined rule (``_name`` or a ``(...)*`` helper), spliced into the parent."""


# How the driver reduces a rule (chosen per rule in _Tables.__init__).
_CALL = 0  # call the rule's callback with its children
_INLINE = 1  # an inlined `_rule` or `(...)*` helper: hand the children to the parent
_INLINE_FLATTEN = 2  # _INLINE, and some children are themselves inlined lists to splice
_INLINE1 = 3  # a `?rule`: a single child stands for the rule itself, else call
_FLATTEN = 4  # _CALL, after splicing inlined children


#: A state's lexer: (skip-then-token regex, keyword retyping per terminal, skip-only regex).
_Lexer = tuple["re.Pattern[str]", dict[str, dict[str, str]], "re.Pattern[str]"]


class _Tables:
    """Lark's compiled grammar, re-shaped for the driver: actions, gotos, per-state lexers."""

    def __init__(self) -> None:
        import lark
        from lark.parsers.lalr_analysis import Shift

        self.lark = lark.Lark(
            GRAMMAR_PATH.read_text(encoding="utf-8"),
            parser="lalr",
            lexer="contextual",
            start=[_START_PROGRAM, _START_QUERY, _START_ATOM],
            propagate_positions=True,
            maybe_placeholders=False,
        )
        table = self.lark.parser.parser.parser.parse_table
        self.start_states: dict[str, int] = dict(table.start_states)
        self.end_states: dict[str, int] = dict(table.end_states)
        self.terminals = {str(t.name): t for t in self.lark.terminals}
        self.ignore = frozenset(str(t) for t in self.lark.ignore_tokens)

        infos: dict[int, tuple[int, str, str, int]] = {}

        def info_of(rule: Any) -> tuple[int, str, str, int]:
            key = id(rule)
            if key not in infos:
                # Lark names are sometimes Token objects; plain strings keep lookups fast.
                origin = str(rule.origin.name)
                flatten = any(not s.is_term and s.name.startswith("_") for s in rule.expansion)
                if origin.startswith("_"):
                    mode = _INLINE_FLATTEN if flatten else _INLINE
                elif rule.options.expand1:
                    mode = _INLINE1
                else:
                    mode = _FLATTEN if flatten else _CALL
                infos[key] = (len(rule.expansion), origin, str(rule.alias or origin), mode)
            return infos[key]

        # actions[state][terminal] = (True, next_state) for a shift, (False, rule info) for a
        # reduce, the info being (size, produced nonterminal, callback name, mode);
        # gotos[state][nonterminal] = next_state.
        self.actions: dict[int, dict[str, tuple[bool, Any]]] = {}
        self.gotos: dict[int, dict[str, int]] = {}
        for state, row in table.states.items():
            acts: dict[str, tuple[bool, Any]] = {}
            gotos: dict[str, int] = {}
            for sym, (action, arg) in row.items():
                sym = str(sym)
                if sym in self.terminals or sym == "$END":
                    acts[sym] = (True, arg) if action is Shift else (False, info_of(arg))
                else:
                    gotos[sym] = arg
            self.actions[state] = acts
            self.gotos[state] = gotos
        self._lexers: dict[frozenset[str], _Lexer] = {}
        self.lexer_by_state: dict[int, _Lexer] = {}
        self.root_lexer = self._build_lexer(frozenset(self.terminals))

    @lru_cache(maxsize=1)  # noqa: B019 - one _Tables for the process
    def terminal_regexes(self) -> dict[str, re.Pattern[str]]:
        """Each non-ignored terminal's own regex (for error messages)."""
        return {
            name: re.compile(t.pattern.to_regexp())
            for name, t in self.terminals.items()
            if name not in self.ignore
        }

    def lexer(self, state: int) -> _Lexer:
        """The lexer for a parser state: only the terminals that state accepts, plus ignored ones."""
        lex = self.lexer_by_state.get(state)
        if lex is None:
            accepts = frozenset(t for t in self.actions[state] if t in self.terminals)
            lex = self._build_lexer(accepts)
            self.lexer_by_state[state] = lex
        return lex

    def _build_lexer(self, accepts: frozenset[str]) -> _Lexer:
        """One alternation regex, ordered as Lark orders terminals, plus keyword retyping.

        Lark tries terminals by (priority, longest possible match, longest pattern, name)
        and turns a regex match that spells a keyword (``not`` matched as ``NAME``) into
        that keyword, when both are allowed; this mirrors both rules. Ignored text
        (whitespace, comments) is matched by a prefix of the same regex rather than as
        tokens of its own, which halves the regex calls; an ignored terminal that would
        lose to an accepted one (a ``%`` comment where ``%`` is the modulo operator) is
        left out of that prefix, as Lark's priorities would leave it out.
        """
        cached = self._lexers.get(accepts)
        if cached is not None:
            return cached
        from lark.lexer import PatternRE, PatternStr

        terms = [self.terminals[n] for n in accepts]
        terms.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        strs = [t for t in terms if isinstance(t.pattern, PatternStr)]
        unless: dict[str, dict[str, str]] = {}
        embedded: set[str] = set()
        for t in terms:
            if not isinstance(t.pattern, PatternRE):
                continue
            rx = re.compile(t.pattern.to_regexp())
            for s in strs:
                if s.priority != t.priority:
                    continue
                m = rx.match(s.pattern.value)
                if m and m.group(0) == s.pattern.value:
                    unless.setdefault(t.name, {})[s.pattern.value] = s.name
                    embedded.add(s.name)
        skips = []
        for name in sorted(self.ignore):
            ign = self.terminals[name]
            rx = re.compile(ign.pattern.to_regexp())
            beaten = any(
                t.priority > ign.priority
                and isinstance(t.pattern, PatternStr)
                and rx.match(t.pattern.value)
                for t in terms
            )
            if not beaten:
                skips.append(ign.pattern.to_regexp())
        # Atomic: once skipped, never re-entered, or backtracking could restart a token
        # inside a comment.
        skip = "(?>(?:" + "|".join(skips) + ")*)"
        alternation = "|".join(
            f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terms if t.name not in embedded
        )
        # A state that only accepts the end of the input gets a token regex that never matches.
        lex = (re.compile(f"{skip}(?:{alternation or '(?!)'})"), unless, re.compile(skip))
        self._lexers[accepts] = lex
        return lex


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    return _Tables()


def reference_parser() -> Any:
    """The plain ``lark.Lark`` parser built from ``grammar.lark`` (for tests and tooling).

    It has the start symbols ``start`` (a file), ``query_input`` and ``atom_input``.
    """
    return _tables().lark


class _SyntaxFailure(Exception):
    """Raised by the driver; turned into a :class:`ParseError` by the caller."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _drive(
    text: str,
    start: str,
    callbacks: Mapping[str, Callable[[list[Any], tuple[int, int]], Any]],
    probe: int = -1,
) -> Any:
    """Lex and parse ``text`` from ``start``, reducing with ``callbacks`` (name -> fn).

    Each callback gets the rule's children (tokens and callback results, inlined rules
    spliced in) and the ``(line, column)`` where the rule's text starts. This is Lark's
    LALR loop (``lark.parsers.lalr_parser_state.ParserState.feed_token``) and contextual
    lexer, flattened into one function because it runs a few times per token.

    With ``probe`` set to a text offset, it stops when the token there is about to be fed
    and returns ``(state stack, previous token)``: the error path uses this to see the
    parser exactly as it stood before the bad token made it reduce anything.
    """
    tables = _tables()
    actions = tables.actions
    gotos = tables.gotos
    lexers = tables.lexer_by_state
    state_stack = [tables.start_states[start]]
    end_state = tables.end_states[start]
    value_stack: list[Any] = []
    pos_stack: list[tuple[int, int]] = []
    prev_tok: _Tok | None = None
    pos = 0
    n = len(text)
    line = 1
    line_start = 0
    prev_end = (1, 1)
    while True:
        state = state_stack[-1]
        # ---- lex one token with the lexer of this parser state (contextual lexing)
        lexer = lexers.get(state) or tables.lexer(state)
        m = lexer[0].match(text, pos)
        if m is None:
            # Only ignorable text left (the end), or text no accepted terminal matches.
            skip_end = lexer[2].match(text, pos).end()  # type: ignore[union-attr]
            if text.count("\n", pos, skip_end):
                line += text.count("\n", pos, skip_end)
                line_start = text.rfind("\n", pos, skip_end) + 1
            pos = skip_end
            if pos < n:
                raise _lex_failure(
                    tables,
                    text,
                    pos,
                    line,
                    pos - line_start + 1,
                    list(state_stack),
                    prev_tok,
                    prev_end,
                )
            tok = _Tok("$END", "", prev_end[0], prev_end[1])
            start_ = n
        else:
            typ = m.lastgroup
            start_ = m.start(typ)
            if start_ > pos:
                newlines = text.count("\n", pos, start_)
                if newlines:
                    line += newlines
                    line_start = text.rfind("\n", pos, start_) + 1
            value = m.group(typ)
            keywords = lexer[1].get(typ)  # type: ignore[arg-type]
            if keywords is not None:
                typ = keywords.get(value, typ)
            tok = _Tok(typ, value, line, start_ - line_start + 1)  # type: ignore[arg-type]
            pos = m.end()
            if "\n" in value:
                line += value.count("\n")
                line_start = text.rfind("\n", start_, pos) + 1
        if start_ == probe:
            return list(state_stack), prev_tok
        # ---- feed it: reduce as long as the table says so, then shift
        typ = tok.type
        tokpos = (tok.line, tok.column)
        while True:
            act = actions[state].get(typ)
            if act is None:
                # Reductions may already have run on a lookahead that LALR merged in; the
                # probe replays the text to the state before them (errors only, so cheap).
                stack, prev = _drive(text, start, _NO_CALLBACKS, probe=start_)
                raise _parse_failure(
                    tables, stack, tok, prev, prev_end, _longest_word(tables, text, start_)
                )
            if act[0]:  # shift
                state = act[1]
                state_stack.append(state)
                value_stack.append(tok)
                pos_stack.append(tokpos)
                break
            size, origin, name, mode = act[1]
            if size == 1 and mode != _FLATTEN:
                # The common case, done in place: one symbol becomes one value.
                if mode == _CALL:
                    value_stack[-1] = callbacks[name]([value_stack[-1]], pos_stack[-1])
                state = gotos[state_stack[-2]][origin]
                state_stack[-1] = state
            else:
                if size:
                    children = value_stack[-size:]
                    del value_stack[-size:]
                    del state_stack[-size:]
                    where = pos_stack[-size]
                    del pos_stack[-size:]
                    if mode == _FLATTEN or mode == _INLINE_FLATTEN:
                        children = _flatten(children)
                else:
                    children = []
                    where = tokpos
                if mode == _INLINE or mode == _INLINE_FLATTEN:
                    value = children if type(children) is _Splice else _Splice(children)
                elif mode == _INLINE1 and len(children) == 1:
                    value = children[0]
                else:
                    value = callbacks[name](children, where)
                state = gotos[state_stack[-1]][origin]
                state_stack.append(state)
                value_stack.append(value)
                pos_stack.append(where)
            if state == end_state and typ == "$END":
                return value_stack[-1]
        prev_tok = tok
        if "\n" in tok.value:
            prev_end = (line, pos - line_start + 1)
        else:
            prev_end = (tok.line, tok.column + len(tok.value))


class _NoCallbacks(dict):  # type: ignore[type-arg]
    """Callbacks that build nothing (for the error probe)."""

    def __missing__(self, key: str) -> Callable[[list[Any], tuple[int, int]], None]:
        return _ignore


def _ignore(children: list[Any], where: tuple[int, int]) -> None:
    return None


_NO_CALLBACKS = _NoCallbacks()


def _flatten(children: list[Any]) -> _Splice:
    """Splice inlined children into one list, reusing a leading splice (left recursion)."""
    first = children[0]
    if type(first) is _Splice:
        out = first
        rest = children[1:]
    else:
        out = _Splice()
        rest = children
    for c in rest:
        if type(c) is _Splice:
            out.extend(c)
        else:
            out.append(c)
    return out


# =========================================================================================
# Syntax error messages in user words
# =========================================================================================

#: How each terminal reads in a message.
_SYMBOLS: dict[str, str] = {
    "PREFIX_KW": "'@prefix'",
    "BASE_KW": "'@base'",
    "IMPORT_KW": "'@import'",
    "PLUGIN_KW": "'@plugin'",
    "LANGTAG": "a language tag like @en",
    "QUERY": "'?-'",
    "IF": "':-'",
    "WEIGHT_SEP": "'::'",
    "DOT": "'.'",
    "COMMA": "','",
    "COLON": "':'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "TILDE": "'~'",
    "DTYPE_SEP": "'^^'",
    "NOT": "'not'",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "CMP_OP": "a comparison (< <= > >= == !=)",
    "EQ": "'='",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "MOD": "'%'",
    "LABEL": "a rule name like [name]",
    "PNAME_NS": "a prefix name like fam:",
    "PNAME_LN": "a prefixed name",
    "IRIREF": "an <IRI>",
    "VAR": "a variable",
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "$END": "the end of the input",
}

_TERM_START = {"VAR", "PNAME_LN", "IRIREF", "NAME", "NUMBER", "STRING"}
_STATEMENT_START = {"PREFIX_KW", "QUERY", "LABEL"}


def _describe(tok: _Tok) -> str:
    if tok.type == "$END":
        return "the end of the input"
    value = tok.value if len(tok.value) <= 30 else tok.value[:27] + "..."
    if tok.type == "VAR":
        return f"variable '{value}'"
    return f"'{value}'"


def _expected_list(expected: Iterable[str]) -> str:
    words: list[str] = []
    for name in sorted(expected):
        word = _SYMBOLS.get(name, name.lower())
        if word not in words:
            words.append(word)
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _accepts(tables: _Tables, stack: list[int], terminal: str) -> bool:
    """Whether ``terminal`` would be shifted from ``stack`` (after any reductions it causes)."""
    stack = list(stack)
    while True:
        act = tables.actions[stack[-1]].get(terminal)
        if act is None:
            return False
        if act[0]:
            return True
        size, origin, _, _ = act[1]
        if size:
            del stack[-size:]
        stack.append(tables.gotos[stack[-1]][origin])
        if terminal == "$END" and stack[-1] in tables.end_states.values():
            return True


def _longest_word(tables: _Tables, text: str, pos: int) -> str | None:
    """The longest text any terminal matches at ``pos``: what the user meant as one token."""
    best = None
    for rx in tables.terminal_regexes().values():
        m = rx.match(text, pos)
        if m is not None and (best is None or m.end() > best):
            best = m.end()
    return text[pos:best] if best is not None and best > pos else None


def _parse_failure(
    tables: _Tables,
    stack: list[int],
    tok: _Tok,
    prev: _Tok | None,
    prev_end: tuple[int, int],
    word: str | None = None,
) -> _SyntaxFailure:
    """Explain an unexpected token from what the parser would really have accepted there."""
    candidates = [t for t in tables.actions[stack[-1]] if t in tables.terminals or t == "$END"]
    expected = {t for t in candidates if _accepts(tables, stack, t)}
    got = _describe(
        tok
        if word is None or len(word) <= len(tok.value)
        else _Tok(tok.type, word, tok.line, tok.column)
    )
    line, col = tok.line, tok.column
    new_line = tok.type == "$END" or tok.line > prev_end[0]

    def fail(message: str, at_previous: bool = False) -> _SyntaxFailure:
        if at_previous:
            return _SyntaxFailure(message, prev_end[0], prev_end[1])
        return _SyntaxFailure(message, line, col)

    if "DOT" in expected and new_line and prev is not None and prev.type != "DOT":
        if "COMMA" in expected and tok.type != "$END":
            return fail(
                "missing '.' at the end of the statement (or ',' before the next literal)",
                at_previous=True,
            )
        return fail("missing '.' at the end of the statement", at_previous=True)
    if tok.type == "LPAR" and prev is not None and prev.type == "VAR":
        return _SyntaxFailure(
            f"expected a predicate, found variable '{prev.value}': predicates are prefixed names "
            "(fam:Person), lower-case names (person) or <IRIs>; an upper-case name is a variable",
            prev.line,
            prev.column,
        )
    if prev is not None and prev.type == "NAME" and prev.value == "not" and expected == {"LPAR"}:
        return fail("a rule head cannot be negated ('not') or neural ('~')")
    if expected == {"IF", "DOT"}:
        return fail(f"expected ':-' or '.' after the rule head, found {got}")
    if "RPAR" in expected and "COMMA" in expected:
        return fail(f"expected ')' or ',' after an argument, found {got}")
    if "RBRACE" in expected and "COMMA" in expected:
        return fail(
            f"expected '}}' to close the aggregate (or ',' and another literal), found {got}"
        )
    if "COLON" in expected and "COMMA" in expected:
        return fail(
            f"expected ':' after the aggregated terms (as in count {{ Y : p(X, Y) }}), found {got}"
        )
    if "RPAR" in expected:
        return fail(f"expected ')', found {got}")
    if expected >= {"COMMA", "DOT"} or expected >= {"COMMA", "$END"}:
        if tok.type in ("CMP_OP", "EQ"):
            return fail(f"comparisons cannot be chained: write A < B, B < C (found {got})")
        return fail(f"expected ',' or '.' after a body literal, found {got}")
    if expected == {"WEIGHT_SEP"}:
        return fail(f"expected '::' after the weight (as in 0.8 :: head :- body.), found {got}")
    if expected == {"LPAR"}:
        return fail(f"expected '(' and the arguments after the predicate, found {got}")
    if expected == {"IF"}:
        return fail(
            f"expected ':-' after 'false' (a constraint is written false :- body.), found {got}"
        )
    if expected == {"PNAME_NS"}:
        return fail(f"expected a prefix name like fam: after @prefix, found {got}")
    if expected == {"IRIREF"}:
        return fail(f"expected an <IRI>, found {got}")
    if expected == {"STRING"}:
        return fail(f'expected a quoted name ("..."), found {got}')
    if expected == {"DOT"}:
        return fail(f"expected '.', found {got}")
    if expected == {"LBRACE"}:
        return fail(f"expected '{{' after the aggregate name, found {got}")
    if _STATEMENT_START <= expected:
        if tok.type in ("NOT", "TILDE"):
            return fail("a rule head cannot be negated ('not') or neural ('~')")
        if tok.type == "VAR":
            return fail(
                f"expected a predicate, found {got}: predicates are prefixed names (fam:Person), "
                "lower-case names (person) or <IRIs>; an upper-case name is a variable"
            )
        if tok.type == "LABEL" and "LABEL" not in expected:
            return fail(
                f"the rule name {tok.value} must come before the weight: [name] 0.5 :: head :- body."
            )
        return fail(f"expected a fact, a rule, a query or a directive, found {got}")
    if "LABEL" not in expected and tok.type == "LABEL":
        return fail(
            f"the rule name {tok.value} must come before the weight: [name] 0.5 :: head :- body."
        )
    if "NOT" in expected and "TILDE" in expected:
        if tok.type == "DOT":
            return fail(
                "expected a body literal after ':-' (an atom, not atom, ~atom or a comparison), found '.'"
            )
        return fail(
            f"expected a body literal (an atom, not atom, ~atom or a comparison), found {got}"
        )
    if "LPAR" in expected and "VAR" in expected:
        return fail(f"expected an expression, found {got}")
    if _TERM_START <= expected:
        if tok.type == "RPAR" and prev is not None and prev.type == "LPAR":
            return fail("expected a term: an atom needs at least one argument")
        return fail(
            f"expected a term (a variable, a name, an <IRI>, a string or a number), found {got}"
        )
    if {"PNAME_LN", "IRIREF", "NAME"} <= expected and "VAR" not in expected:
        if tok.type == "VAR":
            return fail(
                f"expected a predicate, found {got}: predicates are prefixed names (fam:Person), "
                "lower-case names (person) or <IRIs>; an upper-case name is a variable"
            )
        return fail(f"expected a predicate, found {got}")
    if expected == {"$END"}:
        return fail(f"expected the end of the input, found {got}")
    return fail(f"expected {_expected_list(expected)}, found {got}")


def _lex_failure(
    tables: _Tables,
    text: str,
    pos: int,
    line: int,
    column: int,
    stack: list[int],
    prev: _Tok | None,
    prev_end: tuple[int, int],
) -> _SyntaxFailure:
    """Explain text that no terminal of the current parser state matches."""
    ch = text[pos]
    expected = {
        t for t in tables.actions[stack[-1]] if t in tables.terminals and _accepts(tables, stack, t)
    }
    if ch in "\"'":
        return _SyntaxFailure("unterminated string", line, column)
    if ch == "<" and "IRIREF" in expected:
        return _SyntaxFailure(
            "unterminated IRI: an <IRI> ends with '>' and cannot contain spaces or any of <>\"{}|^`\\",
            line,
            column,
        )
    if ch == "@" and "PREFIX_KW" in expected:
        word = re.match(r"@\w*", text[pos:])
        name = word.group(0) if word else "@"
        return _SyntaxFailure(
            f"unknown directive '{name}' (expected @prefix, @base, @import or @plugin)",
            line,
            column,
        )
    if ch == "@" and "LANGTAG" in expected:
        return _SyntaxFailure("expected a language tag like @en after the string", line, column)
    # Some terminal of another context matches here: report it as an unexpected token, by
    # its longest match (the user wrote `:-`, not the `:` a priority rule would pick).
    best: tuple[int, int, str] | None = None
    for name, rx in tables.terminal_regexes().items():
        m = rx.match(text, pos)
        if m is not None and m.end() > pos:
            key = (m.end() - pos, tables.terminals[name].priority, name)
            if best is None or key[:2] > best[:2]:
                best = key
    if best is not None:
        length, _, typ = best
        value = text[pos : pos + length]
        typ = tables.root_lexer[1].get(typ, {}).get(value, typ)
        return _parse_failure(tables, stack, _Tok(typ, value, line, column), prev, prev_end)
    shown = repr(ch) if ch.isprintable() and ch != " " else f"U+{ord(ch):04X}"
    return _SyntaxFailure(
        f"unexpected character {shown}; expected {_expected_list(expected)}", line, column
    )


# =========================================================================================
# Building the syntax tree
# =========================================================================================

_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)
_LOCAL_ESCAPE_RE = re.compile(r"\\(.)")
_UCHAR_RE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})")
_WRITTEN_ANON_RE = re.compile(r"(?<![\w?])_[0-9]+(?!\w)")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
# The XSD lexical spaces (XML Schema 1.1 part 2, 3.3.3 to 3.3.5).
_DECIMAL_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_DOUBLE_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN")
#: Lexical checks for the datatypes whose literals are written often; rdflib checks the rest.
_LEXICAL = {
    str(XSD.integer): _INTEGER_RE,
    str(XSD.decimal): _DECIMAL_RE,
    str(XSD.double): _DOUBLE_RE,
    str(XSD.float): _DOUBLE_RE,
    str(XSD.boolean): re.compile(r"true|false|1|0"),
}
_XSD_INTEGER = XSD.integer
_XSD_DECIMAL = XSD.decimal
_XSD_DOUBLE = XSD.double
_XSD_BOOLEAN = XSD.boolean
_TRUE = Literal("true", datatype=XSD.boolean)
_FALSE = Literal("false", datatype=XSD.boolean)
_ZERO = Literal("0", datatype=XSD.integer)


def _codepoint(hex_digits: str) -> str | None:
    cp = int(hex_digits, 16)
    if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        return None
    return chr(cp)


@dataclass(frozen=True)
class _Weight:
    value: float
    text: str
    loc: SourceLocation


@dataclass(frozen=True)
class _AggBody:
    func: str
    terms: tuple[Any, ...]
    body: tuple[BodyLiteral, ...]
    loc: SourceLocation


@dataclass
class _Context:
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


class _Builder:
    """The reduction callbacks for one text: turn grammar rules into ast.py nodes and check them."""

    def __init__(self, text: str, file: str | None, ctx: _Context, base: str | None) -> None:
        self.text = text
        self.file = file
        self.ctx = ctx
        self.base = base
        self.env: dict[str, str] = dict(ctx.base_prefixes)  # prefixes in scope right now
        self.declared: dict[str, str] = {}  # prefixes declared here or by imports
        self.rules: list[Rule] = []
        self.facts: list[Fact] = []
        self.queries: list[Query] = []
        self.plugins: list[PluginDirective] = []
        self._iri_cache: dict[tuple[str, str], URIRef] = {}
        self._num_cache: dict[str, Literal] = {}
        self._anon = 0  # `_` occurrences in the current statement
        # `_N` names written anywhere in the text, which generated names must avoid.
        self._written_anon = set(_WRITTEN_ANON_RE.findall(text)) if "_" in text else set()
        self._locs: dict[tuple[int, int], SourceLocation] = {}
        self.callbacks: dict[str, Callable[[list[Any], tuple[int, int]], Any]] = {
            name[2:]: getattr(self, name) for name in dir(self) if name.startswith("r_")
        }

    # ---- errors and locations ---------------------------------------------------------
    def loc(self, where: tuple[int, int]) -> SourceLocation:
        loc = self._locs.get(where)
        if loc is None:
            loc = SourceLocation(self.file, where[0], where[1])
            self._locs[where] = loc
        return loc

    def tok_loc(self, tok: _Tok) -> SourceLocation:
        return self.loc((tok.line, tok.column))

    def fail(self, cls: type[NesyError], message: str, loc: SourceLocation) -> NoReturn:
        text = self.ctx.texts.get(loc.file, self.text) if loc.file != self.file else self.text
        raise cls(
            message,
            file=loc.file,
            line=loc.line,
            column=loc.column,
            excerpt=excerpt_of(text, loc.line),
        )

    # ---- terms ------------------------------------------------------------------------
    def r_iri(self, c: list[Any], where: tuple[int, int]) -> URIRef:
        tok: _Tok = c[0]
        key = (tok.type, tok.value)
        iri = self._iri_cache.get(key)
        if iri is not None:
            return iri
        value = tok.value
        if tok.type == "NAME":
            iri = URIRef(self.env.get("", self.ctx.default_ns) + value)
        elif tok.type == "PNAME_LN":
            prefix, _, local = value.partition(":")
            ns = self.env.get(prefix)
            if ns is None:
                if prefix == "":
                    ns = self.ctx.default_ns
                else:
                    self.fail(
                        RuleError,
                        f"unknown prefix '{prefix}:' (declare it with @prefix {prefix}: <...> .)",
                        self.tok_loc(tok),
                    )
            if "\\" in local:
                local = _LOCAL_ESCAPE_RE.sub(lambda m: m.group(1), local)
            iri = URIRef(ns + local)
        else:
            iri = URIRef(self.resolve_iri(tok))
        self._iri_cache[key] = iri
        return iri

    def resolve_iri(self, tok: _Tok) -> str:
        """The text of an ``<IRI>`` token with escapes decoded, resolved against ``@base``."""
        value = tok.value[1:-1]
        if "\\" in value:

            def decode(m: re.Match[str]) -> str:
                ch = _codepoint(m.group(1)[1:])
                if ch is None:
                    self.fail(
                        ParseError, f"invalid escape '\\{m.group(1)}' in IRI", self.tok_loc(tok)
                    )
                return ch

            value = _UCHAR_RE.sub(decode, value)
        if self.base is not None and not _SCHEME_RE.match(value):
            try:
                value = urljoin(self.base, value)
            except ValueError as exc:
                self.fail(
                    ParseError,
                    f"cannot resolve <{value}> against @base <{self.base}>: {exc}",
                    self.tok_loc(tok),
                )
        return value

    def r_arg(self, c: list[Any], where: tuple[int, int]) -> Any:
        first = c[0]
        if type(first) is not _Tok:
            return first  # a string literal
        typ = first.type
        if typ == "VAR":
            return self.var(first, where)
        if typ == "NUMBER":
            return self.number(first.value)
        if typ == "MINUS":
            return self.number("-" + c[1].value)
        if typ == "TRUE":
            return _TRUE
        if typ == "FALSE":
            return _FALSE
        return self.r_iri(c, where)

    r_operand = r_arg

    def var(self, tok: _Tok, where: tuple[int, int]) -> Var:
        name = tok.value
        if name == "_":
            # Each `_` is a variable of its own, named `_1`, `_2`... in its statement,
            # skipping any `_N` the text itself uses.
            self._anon += 1
            name = f"_{self._anon}"
            while name in self._written_anon:
                self._anon += 1
                name = f"_{self._anon}"
        return Var(name, self.loc(where))

    def number(self, lexical: str) -> Literal:
        """An xsd:integer, xsd:decimal or xsd:double literal, by the form of ``lexical``."""
        lit = self._num_cache.get(lexical)
        if lit is None:
            if "e" in lexical or "E" in lexical:
                datatype = _XSD_DOUBLE
            elif "." in lexical:
                datatype = _XSD_DECIMAL
            else:
                datatype = _XSD_INTEGER
            lit = Literal(lexical, datatype=datatype)
            self._num_cache[lexical] = lit
        return lit

    def negate(self, lit: Literal) -> Literal:
        """``-lit`` for a number literal, keeping its datatype (rdflib writes 1e3 as 1000.0)."""
        lexical = str(lit)
        return Literal(
            lexical[1:] if lexical.startswith("-") else "-" + lexical, datatype=lit.datatype
        )

    def string(self, tok: _Tok) -> str:
        """The text of a string token, quotes removed and escapes decoded."""
        raw = tok.value
        body = raw[3:-3] if raw[:3] in ('"""', "'''") and len(raw) >= 6 else raw[1:-1]
        if "\\" in body:

            def decode(m: re.Match[str]) -> str:
                esc = m.group(1)
                if esc[0] in "uU" and len(esc) > 1:
                    ch = _codepoint(esc[1:])
                    if ch is not None:
                        return ch
                elif esc in _ESCAPES:
                    return _ESCAPES[esc]
                self.fail(ParseError, f"invalid escape '\\{esc}' in string", self.tok_loc(tok))

            body = _ESCAPE_RE.sub(decode, body)
        return body

    def r_string_lit(self, c: list[Any], where: tuple[int, int]) -> Literal:
        body = self.string(c[0])
        if len(c) == 1:
            return Literal(body)
        if c[1].type == "LANGTAG":
            return Literal(body, lang=c[1].value[1:])
        datatype: URIRef = c[2]
        check = _LEXICAL.get(str(datatype))
        if check is not None and not check.fullmatch(body):
            self.fail(
                RuleError,
                f"ill-typed literal: {body!r} is not a valid {_short(datatype, self.env, self.ctx.default_ns)}",
                self.loc(where),
            )
        lit = Literal(body, datatype=datatype)
        if check is None and getattr(lit, "ill_typed", False):
            self.fail(
                RuleError,
                f"ill-typed literal: {body!r} is not a valid {_short(datatype, self.env, self.ctx.default_ns)}",
                self.loc(where),
            )
        return lit

    # ---- expressions ------------------------------------------------------------------
    def r_binop(self, c: list[Any], where: tuple[int, int]) -> BinOp:
        return BinOp(c[1].value, c[0], c[2], self.loc(where))

    def r_neg(self, c: list[Any], where: tuple[int, int]) -> Any:
        operand = c[1]
        if (
            isinstance(operand, Literal)
            and operand.datatype in (_XSD_INTEGER, _XSD_DECIMAL, _XSD_DOUBLE)
            and not (str(operand).startswith("-"))
        ):
            return self.negate(operand)
        # `-X` is `0 - X`: the AST has no unary operator, and this prints and parses back alike.
        return BinOp("-", _ZERO, operand, self.loc(where))

    def r_paren(self, c: list[Any], where: tuple[int, int]) -> Any:
        return c[1]

    # ---- atoms and literals -----------------------------------------------------------
    def r_atom(self, c: list[Any], where: tuple[int, int]) -> Atom:
        args = tuple(x for x in c[2:-1] if type(x) is not _Tok)
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
        if isinstance(right, _AggBody):
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

    def r_aggregate(self, c: list[Any], where: tuple[int, int]) -> _AggBody:
        func = c[0].value
        loc = self.loc(where)
        known = self.ctx.aggregates
        if known is not None and func not in known:
            names = ", ".join(sorted(known))
            self.fail(RuleError, f"unknown aggregate '{func}' (known: {names})", loc)
        colon = next(i for i, x in enumerate(c) if type(x) is _Tok and x.type == "COLON")
        terms = tuple(x for x in c[2:colon] if type(x) is not _Tok)
        return _AggBody(func, terms, c[colon + 1], loc)

    def r_body(self, c: list[Any], where: tuple[int, int]) -> tuple[BodyLiteral, ...]:
        return tuple(x for x in c if type(x) is not _Tok)

    def r_weight(self, c: list[Any], where: tuple[int, int]) -> _Weight:
        text = "".join(t.value for t in c[:-1])
        return _Weight(float(text), text, self.loc(where))

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
                    shown = "_" if _generated(t) else t.name
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
        body = next(x for x in c if type(x) is not _Tok)
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
        text = _read_text(path, self, loc)
        child = _parse_text(text, path, self.ctx, base=None)
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

    # ---- checks -----------------------------------------------------------------------
    def label_and_weight(self, c: list[Any]) -> tuple[str | None, _Weight | None, int]:
        i = 0
        name = None
        weight = None
        if type(c[0]) is _Tok and c[0].type == "LABEL":
            name = c[0].value.strip()[1:-1].strip()
            i = 1
        if isinstance(c[i], _Weight):
            weight = c[i]
            i += 1
        return name, weight, i

    def check_weight(self, weight: _Weight, what: str) -> None:
        if not 0.0 < weight.value <= 1.0:
            self.fail(RuleError, f"{what} {weight.text} is outside (0, 1]", weight.loc)

    def end_statement(self) -> None:
        self._anon = 0

    def finish(self, node: Any) -> Any:
        """Close the current statement (anonymous variables are numbered per statement)."""
        self.end_statement()
        return node

    def check_arities(self, atoms: Iterable[Any]) -> None:
        if not self.ctx.check_arity:
            return
        arities = self.ctx.arities
        for atom in _atoms_in(atoms):
            seen = arities.get(atom.predicate)
            if seen is None:
                arities[atom.predicate] = (atom.arity, atom.loc)
            elif seen[0] != atom.arity:
                pred = _short(atom.predicate, self.env, self.ctx.default_ns)
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
                    if v.anonymous and _generated(v):
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
            names_by_lit = [set(_var_names(lit)) for lit in body]
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
                if lit.var.name not in bound and all(v.name in bound for v in _expr_vars(lit.expr)):
                    bound.add(lit.var.name)
                    changed = True
        return bound

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
                                f"unsafe negation: variable {v.name} in 'not {_short(lit.predicate, self.env, self.ctx.default_ns)}(...)' "
                                "must also occur in a positive body atom (use _ for an argument you do not care about)",
                                v.loc,
                            )
            elif isinstance(lit, Comparison):
                for v in _expr_vars(lit.left) + _expr_vars(lit.right):
                    if v.name not in bound:
                        shown = "_" if _generated(v) else v.name
                        self.fail(
                            RuleError,
                            f"unsafe comparison: variable {shown} in '{lit.op}' is not bound by a positive "
                            "body atom or an assignment",
                            v.loc,
                        )
            elif isinstance(lit, Assignment):
                for v in _expr_vars(lit.expr):
                    if v.name not in bound:
                        shown = "_" if _generated(v) else v.name
                        self.fail(
                            RuleError,
                            f"unsafe assignment: variable {shown} on the right of '{lit.var.name} = ...' is not "
                            "bound by a positive body atom or another assignment",
                            v.loc,
                        )
            elif isinstance(lit, Aggregate):
                if in_aggregate:
                    self.fail(RuleError, "aggregates cannot be nested", lit.loc)
                for sub in lit.body:
                    if lit.var.name in _var_names(sub):
                        self.fail(
                            RuleError,
                            f"the aggregate result {lit.var.name} cannot also occur inside the aggregate",
                            lit.var.loc,
                        )
                inner = self.bound_in(lit.body, bound - {lit.var.name}, set())
                for t in lit.terms:
                    for v in _expr_vars(t):
                        if v.name not in inner:
                            self.fail(
                                RuleError,
                                f"aggregate term {v.name} does not occur in a positive atom of the aggregate body",
                                v.loc,
                            )
                self.check_literals(lit.body, inner, in_aggregate=True)


def _generated(v: Var) -> bool:
    """A variable the parser named for a `_` (``_1``, ``_2``...)."""
    return v.name[1:].isdigit() and v.name[0] == "_"


def _expr_vars(node: Any) -> list[Var]:
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


def _var_names(lit: Any) -> list[str]:
    if isinstance(lit, Atom):
        return [v.name for v in lit.variables()]
    if isinstance(lit, Comparison):
        return [v.name for v in _expr_vars(lit.left) + _expr_vars(lit.right)]
    if isinstance(lit, Assignment):
        return [lit.var.name] + [v.name for v in _expr_vars(lit.expr)]
    if isinstance(lit, Aggregate):
        names = [lit.var.name]
        for t in lit.terms:
            names += [v.name for v in _expr_vars(t)]
        for sub in lit.body:
            names += _var_names(sub)
        return names
    return []


def _atoms_in(literals: Iterable[Any]) -> Iterator[Atom]:
    for lit in literals:
        if isinstance(lit, Atom):
            yield lit
        elif isinstance(lit, Aggregate):
            yield from _atoms_in(lit.body)


def _args(n: int) -> str:
    return "1 argument" if n == 1 else f"{n} arguments"


def _short(iri: URIRef, prefixes: Mapping[str, str], default_ns: str | None = None) -> str:
    """``iri`` as the user would write it, for messages."""
    from nesy.rules.printer import format_iri

    return format_iri(str(iri), prefixes, default_ns)


def _read_text(path: str, builder: _Builder | None, loc: SourceLocation | None) -> str:
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


# =========================================================================================
# Entry points
# =========================================================================================


def _base_prefixes(prefixes: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(DEFAULT_PREFIXES)
    if prefixes:
        env.update(prefixes)
    return env


def _run(builder: _Builder, text: str, start: str) -> Any:
    try:
        return _drive(text, start, builder.callbacks)
    except _SyntaxFailure as fail:
        raise ParseError(
            fail.message,
            file=builder.file,
            line=fail.line,
            column=fail.column,
            excerpt=excerpt_of(text, fail.line),
        ) from None
    except RecursionError:
        raise ParseError("the statement is nested too deeply", file=builder.file) from None


def _parse_text(text: str, file: str | None, ctx: _Context, base: str | None) -> _Builder:
    """Parse one file's text (imports recursively) into a finished builder."""
    real = os.path.realpath(file) if file is not None else None
    ctx.texts[file] = text
    if file is not None:
        ctx.files.append(file)
    if real is not None:
        ctx.stack.append(real)
        ctx.stack_names.append(file)  # type: ignore[arg-type]
    builder = _Builder(text, file, ctx, base)
    _run(builder, text, _START_PROGRAM)
    if real is not None:
        ctx.stack.pop()
        ctx.stack_names.pop()
        ctx.done[real] = dict(builder.declared)
    return builder


def parse_program(
    text: str,
    *,
    file: str | None = None,
    prefixes: Mapping[str, str] | None = None,
    default_ns: str = DEFAULT_NS,
    base: str | None = None,
    trust_plugins: bool = False,
    aggregates: Collection[str] | None = None,
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

    Returns:
        The program, imports inlined.

    Raises:
        ParseError: Bad syntax, or an import that cannot be read.
        RuleError: A rule that parses but is wrong (unknown prefix, unsafe, arity clash...).
        ImportCycleError: Files that import each other.
        PluginError: ``@plugin`` in a text that is not trusted.
    """
    ctx = _Context(
        trust_plugins=trust_plugins,
        base_prefixes=_base_prefixes(prefixes),
        default_ns=default_ns,
        aggregates=frozenset(aggregates) if aggregates is not None else None,
    )
    if text.startswith("\ufeff"):
        text = text[1:]
    builder = _parse_text(text, file, ctx, base)
    return Program(
        rules=tuple(builder.rules),
        facts=tuple(builder.facts),
        queries=tuple(builder.queries),
        prefixes=tuple(builder.declared.items()),
        plugins=tuple(builder.plugins),
        files=tuple(ctx.files),
    )


def parse_file(
    path: str | os.PathLike[str],
    *,
    prefixes: Mapping[str, str] | None = None,
    default_ns: str = DEFAULT_NS,
    base: str | None = None,
    trust_plugins: bool = False,
    aggregates: Collection[str] | None = None,
) -> Program:
    """Read and parse a rule file; ``@import`` paths are relative to it.

    Args:
        path: The rule file.
        prefixes: Prefixes already known (see :func:`parse_program`).
        default_ns: The namespace of bare names.
        base: The base IRI for relative ``<IRIs>``.
        trust_plugins: Accept ``@plugin`` directives.
        aggregates: When given, the aggregate names allowed.

    Returns:
        The program with its imports inlined (each file once, even through a diamond).

    Raises:
        ParseError: The file cannot be read, or bad syntax.
        RuleError, ImportCycleError, PluginError: See :func:`parse_program`.
    """
    file = os.fspath(path)
    text = _read_text(file, None, None)
    return parse_program(
        text,
        file=file,
        prefixes=prefixes,
        default_ns=default_ns,
        base=base,
        trust_plugins=trust_plugins,
        aggregates=aggregates,
    )


def _fragment_builder(
    text: str, prefixes: Mapping[str, str] | None, default_ns: str, file: str | None
) -> _Builder:
    ctx = _Context(
        trust_plugins=False,
        base_prefixes=_base_prefixes(prefixes),
        default_ns=default_ns,
        aggregates=None,
        check_arity=False,
    )
    ctx.texts[file] = text
    return _Builder(text, file, ctx, None)


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
    return _run(builder, text, _START_QUERY)


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
    return _run(builder, text, _START_ATOM)


def parse_tree(text: str, start: str = _START_PROGRAM) -> Any:
    """The syntax-only parse of ``text`` as a ``lark.Tree``, built by this module's driver.

    It equals ``reference_parser().parse(text, start=start)``; tests use the pair to
    check that the driver follows Lark. Raises :class:`ParseError` on bad syntax.
    """
    from lark import Token, Tree

    def conv(x: Any) -> Any:
        return Token(x.type, x.value) if type(x) is _Tok else x

    def make(name: str) -> Callable[[list[Any], tuple[int, int]], Any]:
        return lambda children, where: Tree(name, [conv(x) for x in children])

    tables = _tables()
    names = {
        info[2]
        for row in tables.actions.values()
        for (is_shift, info) in row.values()
        if not is_shift
    }
    callbacks = {name: make(name) for name in names}
    try:
        return _drive(text, start, callbacks)
    except _SyntaxFailure as fail:
        raise ParseError(
            fail.message, line=fail.line, column=fail.column, excerpt=excerpt_of(text, fail.line)
        ) from None
