"""Run Lark's LALR(1) tables for ``grammar.lark`` with a fast contextual lexer and driver.

Lark compiles the grammar into LALR(1) parse tables and terminal definitions (kept as plain
data in ``grammar_tables.json`` by :mod:`nesy.rules.lalr_build`, so start-up skips Lark);
this module runs those tables with a small driver of its own (a contextual lexer plus the shift/reduce
loop) that calls the caller's callbacks while it reduces, so the syntax tree is built
directly. Lark's own loop (a generic token stream, a tree, then a walk over it) made a
10,000-rule file take about ten seconds; the driver is several times faster. It follows
Lark's lexing and parsing rules exactly, and ``tests/rules/test_fuzz.py`` checks that it
accepts the same texts and builds the same trees as ``Lark.parse``. Syntax errors are
explained by :mod:`nesy.rules.syntax_errors`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# How the driver reduces a rule (chosen per rule by lalr_build, kept in the tables).
from nesy.rules.lalr_build import CALL as _CALL
from nesy.rules.lalr_build import FLATTEN as _FLATTEN
from nesy.rules.lalr_build import (
    GRAMMAR_PATH,
    TABLES_PATH,
    compile_tables,
    grammar_digest,
    reference_lark,
)
from nesy.rules.lalr_build import INLINE as _INLINE
from nesy.rules.lalr_build import INLINE1 as _INLINE1
from nesy.rules.lalr_build import INLINE_FLATTEN as _INLINE_FLATTEN
from nesy.rules.syntax_errors import lex_failure, longest_word, parse_failure
from nesy.rules.tokens import SyntaxFailure, Tok

__all__ = [
    "START_ATOM",
    "START_PROGRAM",
    "START_QUERY",
    "SyntaxFailure",
    "Tables",
    "Tok",
    "drive",
    "grammar_tables",
]

#: The longest rule text the driver reads (characters); longer texts are refused at once.
MAX_TEXT = 64 * 1024 * 1024
#: The longest single token (a string literal, an IRI, a name), in characters.
MAX_TOKEN = 1024 * 1024

START_PROGRAM = "start"
START_QUERY = "query_input"
START_ATOM = "atom_input"


class Splice(list):  # type: ignore[type-arg]
    """Children of an inlined rule (``_name`` or a ``(...)*`` helper), spliced into the parent."""


#: A state's lexer: (skip-then-token regex, keyword retyping per terminal, skip-only regex).
_Lexer = tuple["re.Pattern[str]", dict[str, dict[str, str]], "re.Pattern[str]"]


@dataclass(frozen=True)
class Terminal:
    """A terminal of the grammar as Lark defines it: its regex and how Lark ranks it."""

    name: str
    regexp: str
    priority: int
    max_width: int
    value: str
    is_str: bool


class Tables:
    """Lark's compiled grammar, re-shaped for the driver: actions, gotos, per-state lexers."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.start_states: dict[str, int] = dict(data["start_states"])
        self.end_states: dict[str, int] = dict(data["end_states"])
        self.terminals = {name: Terminal(name, **t) for name, t in data["terminals"].items()}
        self.ignore = frozenset(data["ignore"])
        # actions[state][terminal] = (True, next_state) for a shift, (False, rule info) for a
        # reduce, the info being (size, produced nonterminal, callback name, mode);
        # gotos[state][nonterminal] = next_state.
        self.actions: dict[int, dict[str, tuple[bool, Any]]] = {
            int(state): {
                sym: (True, arg) if shift else (False, tuple(arg))
                for sym, (shift, arg) in row.items()
            }
            for state, row in data["actions"].items()
        }
        self.gotos: dict[int, dict[str, int]] = {
            int(state): dict(row) for state, row in data["gotos"].items()
        }
        self._lexers: dict[frozenset[str], _Lexer] = {}
        self.lexer_by_state: dict[int, _Lexer] = {}
        self.root_lexer = self._build_lexer(frozenset(self.terminals))

    @property
    def lark(self) -> Any:
        """Lark's own parser of the grammar (built on first use: tests and tooling)."""
        return _reference_lark()

    @lru_cache(maxsize=1)  # noqa: B019 - one Tables for the process
    def terminal_regexes(self) -> dict[str, re.Pattern[str]]:
        """Each non-ignored terminal's own regex (for error messages)."""
        return {
            name: re.compile(t.regexp)
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
        terms = [self.terminals[n] for n in accepts]
        terms.sort(key=lambda t: (-t.priority, -t.max_width, -len(t.value), t.name))
        strs = [t for t in terms if t.is_str]
        unless: dict[str, dict[str, str]] = {}
        embedded: set[str] = set()
        for t in terms:
            if t.is_str:
                continue
            rx = re.compile(t.regexp)
            for s in strs:
                if s.priority != t.priority:
                    continue
                m = rx.match(s.value)
                if m and m.group(0) == s.value:
                    unless.setdefault(t.name, {})[s.value] = s.name
                    embedded.add(s.name)
        skips = []
        for name in sorted(self.ignore):
            ign = self.terminals[name]
            rx = re.compile(ign.regexp)
            beaten = any(
                t.priority > ign.priority
                and t.is_str
                and rx.match(t.value)
                for t in terms
            )
            if not beaten:
                skips.append(ign.regexp)
        # Atomic: once skipped, never re-entered, or backtracking could restart a token
        # inside a comment.
        skip = "(?>(?:" + "|".join(skips) + ")*)"
        alternation = "|".join(
            f"(?P<{t.name}>{t.regexp})" for t in terms if t.name not in embedded
        )
        # A state that only accepts the end of the input gets a token regex that never matches.
        lex = (re.compile(f"{skip}(?:{alternation or '(?!)'})"), unless, re.compile(skip))
        self._lexers[accepts] = lex
        return lex


@lru_cache(maxsize=1)
def grammar_tables() -> Tables:
    """The compiled grammar, read once per process from ``grammar_tables.json``.

    The file is used only while its stamp matches the grammar's text; otherwise (a grammar
    edited in a checkout) Lark compiles the grammar here, as it always could.
    """
    text = GRAMMAR_PATH.read_text(encoding="utf-8")
    try:
        data = json.loads(TABLES_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("grammar_sha256") != grammar_digest(text):
        data = compile_tables(text)
    return Tables(data)


@lru_cache(maxsize=1)
def _reference_lark() -> Any:
    return reference_lark()


def drive(
    text: str,
    start: str,
    callbacks: Mapping[str, Callable[[list[Any], tuple[int, int]], Any]],
    probe: int = -1,
) -> Any:
    """Lex and parse ``text`` from ``start``, reducing with ``callbacks`` (name -> fn).

    Each callback gets the rule's children (tokens and callback results, inlined rules
    spliced in) and the ``(line, column)`` where the rule's text starts. This is Lark's
    LALR loop (``lark.parsers.lalr_parser_state.ParserState.feed_token``) and contextual
    lexer. The shift/reduce loop stays inline here because it runs a few times per token;
    lexing a token, reductions of several symbols, the end of the input and errors are
    helpers.

    With ``probe`` set to a text offset, it stops when the token there is about to be fed
    and returns ``(state stack, previous token)``: the error path uses this to see the
    parser exactly as it stood before the bad token made it reduce anything.
    """
    _check_length(text)
    tables = grammar_tables()
    actions = tables.actions
    gotos = tables.gotos
    lexers = tables.lexer_by_state
    state_stack = [tables.start_states[start]]
    end_state = tables.end_states[start]
    value_stack: list[Any] = []
    pos_stack: list[tuple[int, int]] = []
    prev_tok: Tok | None = None
    pos = 0
    line = 1
    line_start = 0
    prev_end = (1, 1)
    while True:
        state = state_stack[-1]
        # ---- lex one token with the lexer of this parser state (contextual lexing)
        lexer = lexers.get(state) or tables.lexer(state)
        m = lexer[0].match(text, pos)
        if m is None:
            pos, line, line_start = _skip_to_end(lexer, text, pos, line, line_start)
            if pos < len(text):
                raise lex_failure(
                    tables, text, pos, line, pos - line_start + 1, list(state_stack), prev_tok, prev_end
                )
            tok = Tok("$END", "", prev_end[0], prev_end[1])
            start_ = pos
        else:
            tok, start_, pos, line, line_start = _token(m, lexer, text, pos, line, line_start)
        if start_ == probe:
            return list(state_stack), prev_tok
        # ---- feed it: reduce as long as the table says so, then shift
        typ = tok.type
        tokpos = (tok.line, tok.column)
        while True:
            act = actions[state].get(typ)
            if act is None:
                raise _unexpected(tables, text, start, start_, tok, prev_end)
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
                state = _reduce(act[1], callbacks, gotos, state_stack, value_stack, pos_stack, tokpos)
            if state == end_state and typ == "$END":
                return value_stack[-1]
        prev_tok = tok
        if "\n" in tok.value:
            prev_end = (line, pos - line_start + 1)
        else:
            prev_end = (tok.line, tok.column + len(tok.value))


def _token(
    m: re.Match[str], lexer: _Lexer, text: str, pos: int, line: int, line_start: int
) -> tuple[Tok, int, int, int, int]:
    """The token a lexer match found: ``(token, its offset, pos, line, line_start)`` after it.

    The match may begin with skipped text (whitespace, comments), and a keyword matched
    by a regex terminal (``not`` as ``NAME``) is retyped as that keyword.
    """
    typ: str = m.lastgroup  # type: ignore[assignment]
    start = m.start(typ)
    if m.end() - start > MAX_TOKEN:
        line += text.count("\n", pos, start)
        raise _too_long(typ, m.end() - start, line, start - max(text.rfind("\n", 0, start) + 1, line_start) + 1)
    if start > pos:
        newlines = text.count("\n", pos, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", pos, start) + 1
    value = m.group(typ)
    keywords = lexer[1].get(typ)
    if keywords is not None:
        typ = keywords.get(value, typ)
    tok = Tok(typ, value, line, start - line_start + 1)
    pos = m.end()
    if "\n" in value:
        line += value.count("\n")
        line_start = text.rfind("\n", start, pos) + 1
    return tok, start, pos, line, line_start


def _check_length(text: str) -> None:
    """Refuse a text over :data:`MAX_TEXT` characters before lexing any of it."""
    if len(text) > MAX_TEXT:
        raise SyntaxFailure(f"the rule text has {len(text):,} characters, more than the maximum of "
                            f"{MAX_TEXT:,} (64 MiB): split it into files that @import each other", 1, 1)


def _too_long(typ: str, size: int, line: int, column: int) -> SyntaxFailure:
    """The failure for a token over :data:`MAX_TOKEN` characters, found before its text is
    copied out of the input (and never quoted in the message)."""
    what = {"STRING": "string literal", "IRIREF": "IRI"}.get(typ, "name")
    return SyntaxFailure(f"a {what} of {size:,} characters: longer than the maximum of {MAX_TOKEN:,} "
                         "(1 MiB) for one literal, IRI or name; keep large text in a data file", line, column)


def _skip_to_end(lexer: _Lexer, text: str, pos: int, line: int, line_start: int) -> tuple[int, int, int]:
    """Skip ignorable text from ``pos`` where no token matched: ``(pos, line, line_start)`` after it.

    Only ignorable text is left (the end of the input) unless the new ``pos`` is before
    the end, where no accepted terminal matches.
    """
    skip_end = lexer[2].match(text, pos).end()  # type: ignore[union-attr]
    newlines = text.count("\n", pos, skip_end)
    if newlines:
        line += newlines
        line_start = text.rfind("\n", pos, skip_end) + 1
    return skip_end, line, line_start


def _unexpected(
    tables: Tables, text: str, start: str, offset: int, tok: Tok, prev_end: tuple[int, int]
) -> SyntaxFailure:
    """The failure for a token the parser has no action for, explained from the state before it.

    Reductions may already have run on a lookahead that LALR merged in; the probe replays
    the text to the state before them (errors only, so cheap).
    """
    stack, prev = drive(text, start, _NO_CALLBACKS, probe=offset)
    return parse_failure(tables, stack, tok, prev, prev_end, longest_word(tables, text, offset))


def _reduce(
    info: tuple[int, str, str, int],
    callbacks: Mapping[str, Callable[[list[Any], tuple[int, int]], Any]],
    gotos: dict[int, dict[str, int]],
    state_stack: list[int],
    value_stack: list[Any],
    pos_stack: list[tuple[int, int]],
    tokpos: tuple[int, int],
) -> int:
    """Reduce a rule of ``size`` symbols (not the in-place one-symbol case) on the stacks.

    Pops the rule's children, builds its value (a splice for an inlined rule, else the
    callback's result), pushes it with the goto state, and returns that state.
    """
    size, origin, name, mode = info
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
        value = children if type(children) is Splice else Splice(children)
    elif mode == _INLINE1 and len(children) == 1:
        value = children[0]
    else:
        value = callbacks[name](children, where)
    state = gotos[state_stack[-1]][origin]
    state_stack.append(state)
    value_stack.append(value)
    pos_stack.append(where)
    return state


class _NoCallbacks(dict):  # type: ignore[type-arg]
    """Callbacks that build nothing (for the error probe)."""

    def __missing__(self, key: str) -> Callable[[list[Any], tuple[int, int]], None]:
        return _ignore


def _ignore(children: list[Any], where: tuple[int, int]) -> None:
    return None


_NO_CALLBACKS = _NoCallbacks()


def _flatten(children: list[Any]) -> Splice:
    """Splice inlined children into one list, reusing a leading splice (left recursion)."""
    first = children[0]
    if type(first) is Splice:
        out = first
        rest = children[1:]
    else:
        out = Splice()
        rest = children
    for c in rest:
        if type(c) is Splice:
            out.extend(c)
        else:
            out.append(c)
    return out
