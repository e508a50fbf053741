"""SPARQL text before it runs: a tokenizer, the query form, Update detection, SERVICE refusal.

pyoxigraph 0.5 parses and evaluates in one call and exposes no parsed algebra, so a
``SERVICE`` clause has to be found before Oxigraph sees the query. A regex over the text
is not enough (``FILTER(1<2)SERVICE<...>``, ``service:x {...}``, a ``SERVICE`` hidden
behind a ``#`` that one reading takes for a comment and another for part of an IRI).
:func:`check_no_service` therefore reads the query several ways and refuses when any
reading could contain a SERVICE clause:

1. a tokenizer that follows the SPARQL 1.1 terminals as Oxigraph reads them: ``#``
   comments, short and long strings with escapes, ``<IRIs>`` (only the characters IRIREF
   allows, plus ``\\u`` escapes), variables, prefixed names (with ``\\#`` escapes),
   numbers, keywords;
2. the same with every ``<...#...>`` that follows an operand read as the operator ``<``
   (Oxigraph's parser picks ``<`` or an IRI by grammar position: after an operand inside
   a FILTER it is an operator, and then the ``#`` starts a comment);
3. both again on the text with ``\\uXXXX``/``\\UXXXXXXXX`` escapes decoded first (the
   SPARQL specification decodes them before parsing; Oxigraph 0.5 does not, so this
   reading only ever refuses more);
4. rdflib's SPARQL parser (a second, independent grammar) when the text mentions
   ``service`` at all: a ``ServiceGraphPattern`` in its parse tree is refused, and when
   rdflib cannot parse the query, any ``service`` outside a variable name is refused as
   "cannot verify".

A token is a SERVICE candidate when it is a bare word containing ``service`` (``SERVICE``,
``sErViCe``, ``trueSERVICE``: Oxigraph needs no space after a keyword) or a prefixed name
whose prefix contains it (``service:x {...}`` is ``SERVICE :x {...}`` to Oxigraph).
Variables (``?service``), strings and IRIs that unambiguously are IRIs are never refused.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pyoxigraph as ox

from nesy.errors import QueryError

#: The query forms nesy runs.
QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
#: Words that begin a SPARQL 1.1 Update operation.
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "WITH", "ADD", "MOVE", "COPY")

_PN_ESC = r"\\[_~.\-!$&'()*+,;=/?#@%]"
_PN_CHAR = rf"(?:[\w\-\u00B7\u0300-\u036F\u203F-\u2040:]|%[0-9A-Fa-f]{{2}}|{_PN_ESC})"
_TOKEN = re.compile(
    rf"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<string>\"\"\"(?:(?:\"|\"\")?(?:[^\"\\]|\\.))*\"\"\"
             | '''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
             | \"(?:[^\"\\\n\r]|\\.)*\"
             | '(?:[^'\\\n\r]|\\.)*')
  | (?P<iri><(?:[^<>\"{{}}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{{4}}|\\U[0-9A-Fa-f]{{8}})*>)
  | (?P<var>[?$][\w\u00B7\u0300-\u036F\u203F-\u2040]+)
  | (?P<bnode>_:[\w\-.]*[\w\-])
  | (?P<pname>(?:[^\W\d_](?:[\w\-.]*[\w\-])?)?:(?:{_PN_CHAR}(?:(?:{_PN_CHAR}|\.)*{_PN_CHAR})?)?)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<word>[^\W\d][\w]*)
  | (?P<open>[\"'])
  | (?P<punct>.)
    """,
    re.X | re.S,
)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
#: Tokens after which ``<`` may be the less-than operator.
_OPERAND_END = ("var", "iri", "pname", "number", "string", "word", "bnode")


@dataclass(frozen=True)
class Token:
    """One SPARQL token: its kind (``word``, ``var``, ``iri``...), text and 1-based position."""

    kind: str
    text: str
    line: int
    column: int
    start: int


def tokenize(text: str, *, ambiguous_as_operator: bool = False, strict: bool = True,
             quote_as_punct: bool = False) -> list[Token]:
    """The tokens of ``text`` (whitespace and comments left out).

    Args:
        text: The query.
        ambiguous_as_operator: Read a ``<...>`` that holds ``#`` and follows an operand as
            the operator ``<`` (reading 2 of the module docstring).
        strict: Raise on an unterminated string; otherwise the rest is one string.
        quote_as_punct: When not ``strict``: an unterminated quote is a one-character
            punctuation token and reading goes on (so nothing after it is hidden).

    Raises:
        QueryError: ``strict`` and a string that does not close (with line and column).
    """
    out: list[Token] = []
    pos, line, line_start = 0, 1, 0
    prev = ""
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m is not None  # the last alternative matches any character
        kind, tok = m.lastgroup or "punct", m.group()
        if kind == "iri" and ambiguous_as_operator and "#" in tok and prev in _OPERAND_END:
            kind, tok = "punct", "<"
        if kind == "open":
            if strict:
                raise QueryError("SPARQL syntax error: a string that does not close", line=line,
                                 column=pos - line_start + 1)
            kind, tok = ("punct", tok) if quote_as_punct else ("string", text[pos:])
        if kind not in ("ws", "comment"):
            out.append(Token(kind, tok, line, pos - line_start + 1, pos))
            prev = kind
        newlines = tok.count("\n")
        if newlines:
            line += newlines
            line_start = pos + tok.rindex("\n") + 1
        pos += len(tok)
    return out


def nesting(tok: Token) -> int:
    """How a token changes the bracket depth: +1 for ``( { [``, -1 for ``) } ]``, else 0."""
    if tok.kind != "punct":
        return 0
    return 1 if tok.text in "({[" else -1 if tok.text in ")}]" else 0


def skip_group(tokens: list[Token], i: int) -> int:
    """The index after the bracket group that opens at ``tokens[i]`` (``len(tokens)`` when
    it never closes; ``i`` when no group opens there)."""
    if i >= len(tokens) or nesting(tokens[i]) != 1:
        return i
    depth = 0
    for k in range(i, len(tokens)):
        depth += nesting(tokens[k])
        if depth == 0:
            return k + 1
    return len(tokens)


def decode_escapes(text: str) -> str:
    """``text`` with ``\\uXXXX`` and ``\\UXXXXXXXX`` codepoint escapes decoded (invalid
    codepoints are left as written)."""
    def one(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else m.group()
    return _ESCAPE.sub(one, text)


#: Deepest nesting of ``(``, ``{`` and ``[`` a query may have. Oxigraph's parser and
#: evaluator recurse once per level on the native stack, and a stack overflow aborts the
#: process. Measured one subprocess per depth (pyoxigraph 0.5.13, a thread with the
#: default 8 MiB stack): ``FILTER(EXISTS{`` nested 800 times (depth 1,600) crashed and
#: 600 times (depth 1,200) ran; plain ``(`` crashed at 5,000 and ``{`` at 5,000. Nested
#: collections ``( ( (`` in a triple pattern cost cubic time (depth 100: 0.6 s, 200: 7.9 s).
#: 128 keeps a nine-fold margin to the first crash and any such query near a second.
MAX_QUERY_DEPTH = 128
#: Longest query text, in characters (a VALUES block of 40,000 IRIs is 1.1 million);
#: every query is tokenized before it runs, at about 0.2 s per million characters.
MAX_QUERY_CHARS = 4 * 2**20
_OPENERS = frozenset("({[")
_CLOSERS = frozenset(")}]")


def check_query_shape(query: str) -> None:
    """Refuse a query too long or nested too deeply for the engines to read safely.

    Both readings of an ambiguous ``<...#...>`` are checked, and the brackets inside an
    IRI count as well (after an operand Oxigraph may read its ``<`` as less-than), so no
    reading Oxigraph could take nests deeper than :data:`MAX_QUERY_DEPTH`.

    Raises:
        QueryError: longer than :data:`MAX_QUERY_CHARS`, or nested deeper than
            :data:`MAX_QUERY_DEPTH` (with the line and column of the bracket past the limit).
    """
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"SPARQL query is {len(query):,} characters long; nesy runs queries of at most "
                         f"{MAX_QUERY_CHARS:,} characters; split it, or load long VALUES lists as data")
    for split in (False, True) if "#" in query else (False,):
        _check_depth(tokenize(query, ambiguous_as_operator=split, strict=False, quote_as_punct=True))


def _check_depth(tokens: list[Token]) -> None:
    depth = 0
    for tok in tokens:
        if tok.kind == "iri":
            inner = depth
            for k, ch in enumerate(tok.text):
                if ch in _OPENERS:
                    inner += 1
                    if inner > MAX_QUERY_DEPTH:
                        raise _too_deep(tok.line, tok.column + k)
                elif ch in _CLOSERS:
                    inner = max(inner - 1, 0)
            depth = max(depth, inner)  # read as an operator, the brackets stay open
        elif tok.kind == "punct" and tok.text in _OPENERS:
            depth += 1
            if depth > MAX_QUERY_DEPTH:
                raise _too_deep(tok.line, tok.column)
        elif tok.kind == "punct" and tok.text in _CLOSERS:
            depth = max(depth - 1, 0)


def _too_deep(line: int, column: int) -> QueryError:
    return QueryError(f"SPARQL query nested too deeply: more than {MAX_QUERY_DEPTH} levels of (, {{ and [ "
                      "(the SPARQL engine recurses once per level and would overflow its stack); "
                      "flatten the expression or the group patterns", line=line, column=column)


def _prologue_end(tokens: list[Token]) -> int:
    """Index of the first token after the ``PREFIX``/``BASE`` declarations."""
    i = 0
    while i < len(tokens):
        word = tokens[i].text.upper()
        if tokens[i].kind == "word" and word == "BASE":
            i += 2
        elif tokens[i].kind == "word" and word == "PREFIX":
            i += 3
        else:
            break
    return i


def form_of(query: str) -> str:
    """The operation a SPARQL text asks for: a query form, or an Update word.

    Comments and ``PREFIX``/``BASE`` declarations before it may share its line.

    Raises:
        QueryError: neither a query form nor an Update word comes first.
    """
    tokens = tokenize(query, strict=False)
    i = _prologue_end(tokens)
    word = tokens[i].text.upper() if i < len(tokens) and tokens[i].kind == "word" else ""
    if word in QUERY_FORMS or word in UPDATE_WORDS:
        return word
    found = f"found {tokens[i].text[:40]!r}" if i < len(tokens) else "found nothing"
    where = tokens[i] if i < len(tokens) else None
    raise QueryError(f"not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE (after any "
                     f"PREFIX lines), {found}", line=where.line if where else None,
                     column=where.column if where else None)


_SCHEME = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]*:")


def relative_iri(query: str) -> Token | None:
    """The first ``<relative IRI>`` of a query that declares no ``BASE`` (None otherwise):
    Oxigraph cannot resolve it without a base IRI, and its own message for that misleads."""
    tokens = tokenize(query, strict=False)
    head = tokens[:_prologue_end(tokens)]
    if any(t.kind == "word" and t.text.upper() == "BASE" for t in head):
        return None
    return next((t for t in tokens if t.kind == "iri" and not _SCHEME.match(t.text)), None)


def check_base(base: str) -> None:
    """Refuse a base IRI that is not an absolute IRI (Oxigraph resolves against it)."""
    try:
        ox.NamedNode(base)
    except ValueError as exc:
        raise QueryError(f"the base IRI {base[:80]!r} is not an absolute IRI ({exc}); give one such as "
                         "http://example.org/ or file:///path/") from None


def function_token(query: str, iri: str, prefixes: dict[str, str]) -> Token | None:
    """Where the query calls the function ``iri`` (an ``<iri>`` or a prefixed name right
    before ``(``), resolving prefixed names with the query's ``PREFIX`` lines and ``prefixes``."""
    tokens = tokenize(query, strict=False)
    known = dict(prefixes)
    head = tokens[:_prologue_end(tokens)]
    for i, tok in enumerate(head[:-2]):
        if tok.kind == "word" and tok.text.upper() == "PREFIX" and head[i + 2].kind == "iri":
            known[head[i + 1].text[:-1]] = head[i + 2].text[1:-1]
    for tok, nxt in zip(tokens, tokens[1:]):
        if nxt.text != "(":
            continue
        if tok.kind == "iri" and tok.text[1:-1] == iri:
            return tok
        if tok.kind == "pname":
            prefix, local = tok.text.split(":", 1)
            if prefix in known and known[prefix] + re.sub(r"\\(.)", r"\1", local) == iri:
                return tok
    return None


_UPDATE_START = re.compile(
    r"(?:INSERT|DELETE)\s*(?:DATA\b|WHERE\b|\{)|LOAD\s+(?:SILENT\b|<)|"
    r"(?:CLEAR|DROP)\s+(?:SILENT\s+)?(?:GRAPH|DEFAULT|NAMED|ALL)\b|CREATE\s+(?:SILENT\s+)?GRAPH\b|"
    r"WITH\s*<|(?:ADD|MOVE|COPY)\s+(?:SILENT\s+)?(?:GRAPH\b|DEFAULT\b|<)", re.I)


def is_sparql(text: str) -> bool:
    """Whether ``text`` reads as SPARQL: a query form or a prologue first (after any ``#``
    comment lines), or the start of an Update operation (so it gets Update's message, not
    a rule-parser error). ``load(x).`` and other rule-language facts stay rules."""
    tokens = tokenize(text, strict=False)
    if not tokens or tokens[0].kind != "word":
        return False
    first = tokens[0].text.upper()
    if first in QUERY_FORMS or first in ("PREFIX", "BASE"):
        return True
    return first in UPDATE_WORDS and _UPDATE_START.match(text, tokens[0].start) is not None


def refuse_update(word: str) -> QueryError:
    """The error for an Update operation given to a read-only query path."""
    return QueryError(f"not a SPARQL query but a SPARQL Update ({word}); `nesy query` and kb.sparql are "
                      "read-only. Add data with "
                      "`nesy load DIR FILE` (or kb.load / kb.add), derive it with rules (`nesy rules`), "
                      "and remove it by loading into a fresh knowledge base")


#: A character right before a word that no SERVICE keyword can follow in a valid query
#: (an operator that needs an operand, a path operator): such a word is never refused.
_NOT_BEFORE_KEYWORD = frozenset("-/=&?:@%+*,(!$~|^")
_MIXED = re.compile(r"(?:^<|[\w).\]>'\"}{;])service", re.I)


def _candidate(tok: Token, text: str) -> bool:
    if tok.start and text[tok.start - 1] in _NOT_BEFORE_KEYWORD:
        return False
    if tok.kind == "word":
        return "service" in tok.text.lower()
    if tok.kind == "pname":
        return "service" in tok.text.split(":", 1)[0].lower()
    return False


def check_no_service(query: str) -> None:
    """Refuse a query that may contain a SERVICE clause (see the module docstring).

    Raises:
        QueryError: SERVICE (or a reading nesy cannot rule it out in), or a string that
            does not close.
    """
    first = _service_reason(query)
    if first is not None:
        raise QueryError("SERVICE is disabled: federated queries reach other servers; enable them with "
                         f"allow_service=True (--allow-service){first}")


@functools.lru_cache(maxsize=512)
def _service_reason(query: str) -> str | None:
    variants = [query]
    decoded = decode_escapes(query)
    if decoded != query:
        variants.append(decoded)
    if not any("service" in v.lower() for v in variants):
        return None
    for n, text in enumerate(variants):
        for split in (False, True):
            tokens = tokenize(text, ambiguous_as_operator=split, strict=n == 0 and not split)
            for prev, tok in zip([None, *tokens], tokens):
                # An ambiguous <...#...> read as the operator in one place only (mixed readings).
                mixed = (tok.kind == "iri" and "#" in tok.text and prev is not None and prev.kind in _OPERAND_END
                         and _MIXED.search(tok.text.split("#", 1)[0]) is not None)
                if _candidate(tok, text) or mixed:
                    return f" (found {tok.text[:40]!r} at line {tok.line}, column {tok.column})"
    return _rdflib_reason(query)


def _rdflib_reason(query: str) -> str | None:
    """What rdflib's parser says: a SERVICE clause, or a parse it cannot make."""
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        tree = parseQuery(query)
    except Exception:  # noqa: BLE001 - any parser failure means "cannot verify"
        outside_vars = re.sub(r"[?$][\w\u00B7\u0300-\u036F\u203F-\u2040]+", " ", query)
        if "service" in decode_escapes(outside_vars).lower():
            return (" (the query mentions 'service' outside a variable name and nesy's second "
                    "parser cannot read it, so a SERVICE clause cannot be ruled out)")
        return None
    return " (a SERVICE clause)" if _has_service(tree) else None


def _has_service(node: object) -> bool:
    if getattr(node, "name", None) == "ServiceGraphPattern":
        return True
    if isinstance(node, dict):
        return any(_has_service(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_has_service(v) for v in node)
    return False


__all__ = ["MAX_QUERY_CHARS", "MAX_QUERY_DEPTH", "QUERY_FORMS", "UPDATE_WORDS", "Token", "check_base", "check_no_service",
           "check_query_shape", "decode_escapes", "form_of", "function_token",
           "is_sparql", "nesting", "refuse_update", "relative_iri", "skip_group", "tokenize"]
