"""When a typed statement is complete, and what kind of input it is.

The shell reads one *statement* at a time, possibly over several lines:

- a **command** (``:name args``) is one line;
- a **question** in English (``?? which nationality is ann_smith 's spouse ?``) is one line;
- **SPARQL** (text that starts with ``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE``,
  ``PREFIX`` or ``BASE``) is complete once it has opened at least one ``{`` and its
  braces balance, outside strings, ``<IRIs>`` and ``#`` comments;
- anything else is **rule language** (facts, rules, ``?-`` queries, ``@prefix``): it is
  complete when its last line ends with ``.`` outside strings and comments;
- an **empty line** sends whatever was typed so far (so a broken statement still gets
  its error message), and so does an input that is empty to begin with.

Read from a pipe (``nesy repl KB < script``), a statement left open is not allowed to
swallow the rest of the script: a line that can only start a new statement (``?-``,
``??``, or a known ``:command``; see :func:`starts_statement`) ends it, and it is refused
with :func:`unterminated` as its error, as is one still open at the end of the input.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from nesy.store.sparql_text import is_sparql

#: A command: ``:`` then letters, then a space or the end. ``:knows(a, b).`` is a fact
#: in the default prefix, not a command.
COMMAND = re.compile(r"^\s*:([A-Za-z][\w-]*)(?=\s|$)")

#: Words that mean ``:quit`` when typed alone.
QUIT_WORDS = frozenset({"quit", "exit"})

_TOKENS = re.compile(
    r"""
    (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<open>["'])                     # a quote that does not close on its line
  | (?P<iri><[^<>"{}|^`\\\s]*>)
  | (?P<comment>\#[^\n]*)
    """,
    re.X,
)


def is_command(text: str) -> bool:
    """Whether ``text`` is a ``:command`` (rather than a statement such as ``:p(a).``)."""
    return COMMAND.match(text) is not None


def code_of(text: str) -> tuple[str, bool]:
    """The text with strings and IRIs blanked and comments removed, and whether a string is open.

    Strings become ``""`` and IRIs ``<>``, so the characters inside them (``.``, ``{``,
    ``#``) do not count as punctuation.

    Returns:
        ``(code, open_string)``: ``open_string`` is true when the last line ends inside a
        string.
    """
    out: list[str] = []
    pos = 0
    open_string = False
    for m in _TOKENS.finditer(text):
        out.append(text[pos:m.start()])
        kind = m.lastgroup
        if kind == "string":
            out.append('""')
        elif kind == "iri":
            out.append("<>")
        elif kind == "open":
            # An unterminated quote swallows the rest of its line.
            end = text.find("\n", m.end())
            if end == -1:
                open_string = True
                pos = len(text)
                break
            out.append('""')
            pos = end
            continue
        pos = m.end()
    else:
        out.append(text[pos:])
    return "".join(out), open_string


def starts_statement(line: str, commands: Collection[str]) -> bool:
    """Whether ``line`` can only be the start of a new statement, never a continuation.

    ``?-`` and ``??`` never occur inside SPARQL or a rule; a ``:name`` line counts only
    for a known command name, since ``:ann :parent ?x .`` is a line of SPARQL.
    """
    text = line.lstrip()
    if text.startswith(("?-", "??")):
        return True
    m = COMMAND.match(text)
    return m is not None and m.group(1) in commands


def in_long_string(text: str) -> bool:
    """Whether ``text`` ends inside what may be a long (triple-quoted) string, the only kind
    that spans lines, so that its next line belongs to it whatever it starts with."""
    return code_of(text)[1] and ('"' * 3 in text or "'" * 3 in text)


def is_blank(text: str) -> bool:
    """Whether ``text`` holds nothing but white space and ``#`` comments."""
    code, open_string = code_of(text)
    return not open_string and not code.strip()


def unterminated(text: str) -> str:
    """What an incomplete statement lacks, in words (for the error that refuses it)."""
    code, open_string = code_of(text)
    if open_string:
        return "a string is never closed"
    if is_sparql(text):
        if "{" not in code:
            return "a SPARQL query needs a { ... } block"
        return f"{code.count('{') - code.count('}')} '{{' never closed in this SPARQL query"
    return "a statement ends with '.'"


def is_complete(text: str) -> bool:
    """Whether the statement typed so far can be run (see the module docstring).

    Args:
        text: Everything typed since the prompt, lines joined by ``\\n``.

    Returns:
        True when Enter should send ``text``; False when the shell should read another
        line with the ``...`` prompt.
    """
    if not text.strip():
        return True
    if "\n" in text and not text.rsplit("\n", 1)[1].strip():
        return True  # an empty line sends what is there
    if is_command(text) or text.strip().lower() in QUIT_WORDS or text.lstrip().startswith("??"):
        return True  # a question in English (``??``) is one line
    code, open_string = code_of(text)
    if open_string:
        return False
    if is_sparql(text):
        return "{" in code and code.count("{") <= code.count("}")
    return code.rstrip().endswith(".")
