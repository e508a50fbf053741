"""Syntax highlighting of shell input: the rule language, SPARQL keywords and ``:commands``."""

from __future__ import annotations

import re
from collections.abc import Callable

from prompt_toolkit.document import Document
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.styles import Style

#: The style of each token class (prompt_toolkit style strings).
STYLE = Style.from_dict({
    "comment": "italic #888888",
    "string": "#a0a000",
    "iri": "#00a0a0",
    "name": "#5f87ff",
    "variable": "bold #d75f00",
    "number": "#af87ff",
    "keyword": "bold #af5f87",
    "operator": "bold",
    "directive": "#af5f87",
    "command": "bold #00af5f",
    "prompt": "bold",
    "continuation": "#888888",
})

_SPARQL_KEYWORDS = frozenset(
    "SELECT ASK CONSTRUCT DESCRIBE WHERE PREFIX BASE DISTINCT REDUCED FROM NAMED OPTIONAL "
    "UNION MINUS FILTER BIND VALUES GRAPH SERVICE ORDER BY ASC DESC LIMIT OFFSET GROUP "
    "HAVING AS NOT EXISTS IN COUNT SUM MIN MAX AVG SAMPLE".split()
)
_RULE_KEYWORDS = frozenset({"not", "true", "false", "count", "sum", "min", "max", "avg"})

_TOKEN = re.compile(
    r"""
    (?P<command>^:[A-Za-z][\w-]*(?=\s|$))
  | (?P<comment>\#.*)
  | (?P<string>"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)
  | (?P<iri><[^<>"{}|^`\\\s]*>)
  | (?P<directive>@[A-Za-z]+)
  | (?P<operator>:-|\?-|::|[=!<>]=?|~)
  | (?P<name>[A-Za-z_][\w-]*:(?:[\w-]+(?:\.+[\w-]+)*)?|:[\w-]+(?:\.+[\w-]+)*)
  | (?P<variable>[?$]\w+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_]\w*)
    """,
    re.X,
)


def _word_style(word: str) -> str:
    if word.upper() in _SPARQL_KEYWORDS and (word.isupper() or word.islower()) and word not in _RULE_KEYWORDS:
        return "class:keyword"
    if word in _RULE_KEYWORDS:
        return "class:keyword"
    if word[0].isupper() or word[0] == "_":
        return "class:variable"
    return "class:name"


def tokens(line: str) -> list[tuple[str, str]]:
    """Style fragments ``(style, text)`` of one line; together they spell the line."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _TOKEN.finditer(line):
        if m.start() > pos:
            out.append(("", line[pos:m.start()]))
        kind = m.lastgroup or ""
        text = m.group()
        style = _word_style(text) if kind == "word" else f"class:{kind}"
        out.append((style, text))
        pos = m.end()
    if pos < len(line):
        out.append(("", line[pos:]))
    return out


class NesyLexer(Lexer):
    """A prompt_toolkit lexer for what the shell reads (one line at a time, no state)."""

    def lex_document(self, document: Document) -> Callable[[int], list[tuple[str, str]]]:
        """Return the function prompt_toolkit calls for the fragments of line ``i``."""
        lines = document.lines

        def get_line(i: int) -> list[tuple[str, str]]:
            return tokens(lines[i]) if 0 <= i < len(lines) else []

        return get_line
