"""Explain syntax errors in the user's words, from what the parser would have accepted.

The driver in :mod:`nesy.rules.lalr` hands over the parser's state stack at the bad token
(or at text no terminal matches); these functions work out which terminals that state
really accepts and turn the situation into a message such as "missing '.' at the end of
the statement", positioned where the user should look.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from nesy.rules.tokens import SyntaxFailure, Tok

if TYPE_CHECKING:
    from nesy.rules.lalr import Tables

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


def _describe(tok: Tok) -> str:
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


def _accepts(tables: Tables, stack: list[int], terminal: str) -> bool:
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


def longest_word(tables: Tables, text: str, pos: int) -> str | None:
    """The longest text any terminal matches at ``pos``: what the user meant as one token."""
    best = None
    for rx in tables.terminal_regexes().values():
        m = rx.match(text, pos)
        if m is not None and (best is None or m.end() > best):
            best = m.end()
    return text[pos:best] if best is not None and best > pos else None


#: Messages for a state that accepts exactly one kind of token, ``{got}`` the token found.
_ONLY_ONE: dict[frozenset[str], str] = {
    frozenset({"WEIGHT_SEP"}): "expected '::' after the weight (as in 0.8 :: head :- body.), found {got}",
    frozenset({"LPAR"}): "expected '(' and the arguments after the predicate, found {got}",
    frozenset({"IF"}): "expected ':-' after 'false' (a constraint is written false :- body.), found {got}",
    frozenset({"PNAME_NS"}): "expected a prefix name like fam: after @prefix, found {got}",
    frozenset({"IRIREF"}): "expected an <IRI>, found {got}",
    frozenset({"STRING"}): 'expected a quoted name ("..."), found {got}',
    frozenset({"DOT"}): "expected '.', found {got}",
    frozenset({"LBRACE"}): "expected '{{' after the aggregate name, found {got}",
}
_HEAD_NOT_NEGATED = "a rule head cannot be negated ('not') or neural ('~')"
_PREDICATE_NOT_VAR = (
    "expected a predicate, found {got}: predicates are prefixed names (fam:Person), "
    "lower-case names (person) or <IRIs>; an upper-case name is a variable"
)
_LABEL_FIRST = "the rule name {name} must come before the weight: [name] 0.5 :: head :- body."


class _Spot:
    """An unexpected token, what the parser accepted there, and where to point the user."""

    def __init__(
        self, expected: set[str], tok: Tok, prev: Tok | None, prev_end: tuple[int, int], got: str
    ) -> None:
        self.expected = expected
        self.tok = tok
        self.prev = prev
        self.prev_end = prev_end
        self.got = got

    def fail(self, message: str, at_previous: bool = False) -> SyntaxFailure:
        """The failure at the token, or just after the previous one."""
        line, col = self.prev_end if at_previous else (self.tok.line, self.tok.column)
        return SyntaxFailure(message, line, col)


def parse_failure(
    tables: Tables,
    stack: list[int],
    tok: Tok,
    prev: Tok | None,
    prev_end: tuple[int, int],
    word: str | None = None,
) -> SyntaxFailure:
    """Explain an unexpected token from what the parser would really have accepted there."""
    candidates = [t for t in tables.actions[stack[-1]] if t in tables.terminals or t == "$END"]
    expected = {t for t in candidates if _accepts(tables, stack, t)}
    shown = tok if word is None or len(word) <= len(tok.value) else Tok(tok.type, word, tok.line, tok.column)
    spot = _Spot(expected, tok, prev, prev_end, _describe(shown))
    for explain in (_at_statement_end, _inside_atom, _at_statement_start, _in_body):
        failure = explain(spot)
        if failure is not None:
            return failure
    if expected == {"$END"}:
        return spot.fail(f"expected the end of the input, found {spot.got}")
    return spot.fail(f"expected {_expected_list(expected)}, found {spot.got}")


def _at_statement_end(spot: _Spot) -> SyntaxFailure | None:
    """A statement that goes on where it should end: a missing '.', a head gone wrong."""
    expected, tok, prev = spot.expected, spot.tok, spot.prev
    new_line = tok.type == "$END" or tok.line > spot.prev_end[0]
    if "DOT" in expected and new_line and prev is not None and prev.type != "DOT":
        if "COMMA" in expected and tok.type != "$END":
            return spot.fail(
                "missing '.' at the end of the statement (or ',' before the next literal)",
                at_previous=True,
            )
        return spot.fail("missing '.' at the end of the statement", at_previous=True)
    if tok.type == "LPAR" and prev is not None and prev.type == "VAR":
        got = f"variable '{prev.value}'"
        return SyntaxFailure(_PREDICATE_NOT_VAR.format(got=got), prev.line, prev.column)
    if prev is not None and prev.type == "NAME" and prev.value == "not" and expected == {"LPAR"}:
        return spot.fail(_HEAD_NOT_NEGATED)
    if expected == {"IF", "DOT"}:
        return spot.fail(f"expected ':-' or '.' after the rule head, found {spot.got}")
    return None


def _inside_atom(spot: _Spot) -> SyntaxFailure | None:
    """Inside an atom, an aggregate or a directive: the closing or separating token is missing."""
    expected, got = spot.expected, spot.got
    if "RPAR" in expected and "COMMA" in expected:
        return spot.fail(f"expected ')' or ',' after an argument, found {got}")
    if "RBRACE" in expected and "COMMA" in expected:
        return spot.fail(
            f"expected '}}' to close the aggregate (or ',' and another literal), found {got}"
        )
    if "COLON" in expected and "COMMA" in expected:
        return spot.fail(
            f"expected ':' after the aggregated terms (as in count {{ Y : p(X, Y) }}), found {got}"
        )
    if "RPAR" in expected:
        return spot.fail(f"expected ')', found {got}")
    if expected >= {"COMMA", "DOT"} or expected >= {"COMMA", "$END"}:
        if spot.tok.type in ("CMP_OP", "EQ"):
            return spot.fail(f"comparisons cannot be chained: write A < B, B < C (found {got})")
        return spot.fail(f"expected ',' or '.' after a body literal, found {got}")
    message = _ONLY_ONE.get(frozenset(expected))
    return spot.fail(message.format(got=got)) if message is not None else None


def _at_statement_start(spot: _Spot) -> SyntaxFailure | None:
    """Where a statement begins, or a rule name written after the weight."""
    expected, tok = spot.expected, spot.tok
    if _STATEMENT_START <= expected:
        if tok.type in ("NOT", "TILDE"):
            return spot.fail(_HEAD_NOT_NEGATED)
        if tok.type == "VAR":
            return spot.fail(_PREDICATE_NOT_VAR.format(got=spot.got))
        if tok.type == "LABEL" and "LABEL" not in expected:
            return spot.fail(_LABEL_FIRST.format(name=tok.value))
        return spot.fail(f"expected a fact, a rule, a query or a directive, found {spot.got}")
    if "LABEL" not in expected and tok.type == "LABEL":
        return spot.fail(_LABEL_FIRST.format(name=tok.value))
    return None


def _in_body(spot: _Spot) -> SyntaxFailure | None:
    """Where a body literal, an expression, a term or a predicate should be."""
    expected, tok, prev, got = spot.expected, spot.tok, spot.prev, spot.got
    if "NOT" in expected and "TILDE" in expected:
        if tok.type == "DOT":
            return spot.fail(
                "expected a body literal after ':-' (an atom, not atom, ~atom or a comparison), found '.'"
            )
        return spot.fail(
            f"expected a body literal (an atom, not atom, ~atom or a comparison), found {got}"
        )
    if "LPAR" in expected and "VAR" in expected:
        return spot.fail(f"expected an expression, found {got}")
    if _TERM_START <= expected:
        if tok.type == "RPAR" and prev is not None and prev.type == "LPAR":
            return spot.fail("expected a term: an atom needs at least one argument")
        return spot.fail(
            f"expected a term (a variable, a name, an <IRI>, a string or a number), found {got}"
        )
    if {"PNAME_LN", "IRIREF", "NAME"} <= expected and "VAR" not in expected:
        if tok.type == "VAR":
            return spot.fail(_PREDICATE_NOT_VAR.format(got=got))
        return spot.fail(f"expected a predicate, found {got}")
    return None


def lex_failure(
    tables: Tables,
    text: str,
    pos: int,
    line: int,
    column: int,
    stack: list[int],
    prev: Tok | None,
    prev_end: tuple[int, int],
) -> SyntaxFailure:
    """Explain text that no terminal of the current parser state matches."""
    ch = text[pos]
    expected = {
        t for t in tables.actions[stack[-1]] if t in tables.terminals and _accepts(tables, stack, t)
    }
    if ch in "\"'":
        return SyntaxFailure("unterminated string", line, column)
    if ch == "<" and "IRIREF" in expected:
        return SyntaxFailure(
            "unterminated IRI: an <IRI> ends with '>' and cannot contain spaces or any of <>\"{}|^`\\",
            line,
            column,
        )
    if ch == "@" and "PREFIX_KW" in expected:
        word = re.match(r"@\w*", text[pos:])
        name = word.group(0) if word else "@"
        return SyntaxFailure(
            f"unknown directive '{name}' (expected @prefix, @base, @import or @plugin)",
            line,
            column,
        )
    if ch == "@" and "LANGTAG" in expected:
        return SyntaxFailure("expected a language tag like @en after the string", line, column)
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
        return parse_failure(tables, stack, Tok(typ, value, line, column), prev, prev_end)
    shown = repr(ch) if ch.isprintable() and ch != " " else f"U+{ord(ch):04X}"
    return SyntaxFailure(
        f"unexpected character {shown}; expected {_expected_list(expected)}", line, column
    )
