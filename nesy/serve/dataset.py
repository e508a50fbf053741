"""The protocol's ``default-graph-uri`` / ``named-graph-uri``: written into the query as its FROM clauses.

SPARQL 1.1 Protocol §2.1.4: a dataset given by the protocol replaces the query's own
``FROM`` / ``FROM NAMED``. nesy's store already reads a query's dataset clauses (and maps
``urn:nesy:graph:<kind>`` to its provenance graphs: :mod:`nesy.store.dataset`), so the
parameters become clauses: the query's own are cut and the new ones go right before its
``WHERE`` clause (after a CONSTRUCT template, after the terms of a DESCRIBE).
"""

from __future__ import annotations

import pyoxigraph as ox

from nesy.serve.problems import RequestError
from nesy.store.sparql_text import QUERY_FORMS, Token, nesting, skip_group, tokenize


def check_iri(iri: str, parameter: str) -> str:
    """``iri`` when it is an absolute IRI (400 otherwise)."""
    try:
        ox.NamedNode(iri)
    except ValueError:
        raise RequestError(400, f"{parameter}={iri[:80]!r} is not an absolute IRI") from None
    return iri


def _form_index(tokens: list[Token]) -> int:
    """Index of the query form's keyword (after the PREFIX/BASE lines)."""
    i = 0
    while i < len(tokens) and tokens[i].kind == "word" and tokens[i].text.upper() in ("PREFIX", "BASE"):
        i += 3 if tokens[i].text.upper() == "PREFIX" else 2
    return i


def _end(tok: Token) -> int:
    return tok.start + len(tok.text)


def _scan(tokens: list[Token], start: int) -> tuple[int | None, list[tuple[int, int]]]:
    """Where the WHERE clause starts (a character offset, or ``None``) and the spans of the
    query's own dataset clauses before it."""
    depth, k, cuts = 0, start, []
    while k < len(tokens):
        tok = tokens[k]
        word = tok.text.upper() if tok.kind == "word" else ""
        if depth == 0 and (word == "WHERE" or (tok.kind == "punct" and tok.text == "{")):
            return tok.start, cuts
        if depth == 0 and word == "FROM":
            named = k + 1 < len(tokens) and tokens[k + 1].text.upper() == "NAMED"
            last = min(k + (2 if named else 1), len(tokens) - 1)
            cuts.append((tok.start, _end(tokens[last])))
            k = last + 1
            continue
        depth += nesting(tok)
        k += 1
    return None, cuts


def with_dataset(query: str, default: list[str], named: list[str]) -> str:
    """``query`` with the protocol's dataset as its only ``FROM`` / ``FROM NAMED`` clauses
    (unchanged when neither list has an IRI, or when it cannot be read: the engine then
    reports the query's own error)."""
    if not default and not named:
        return query
    for iri in default:
        check_iri(iri, "default-graph-uri")
    for iri in named:
        check_iri(iri, "named-graph-uri")
    clauses = "".join(f" FROM <{iri}>" for iri in default) + "".join(f" FROM NAMED <{iri}>" for iri in named)
    tokens = tokenize(query, strict=False)
    i = _form_index(tokens)
    if i >= len(tokens) or tokens[i].text.upper() not in QUERY_FORMS:
        return query
    form = tokens[i].text.upper()
    start = i + 1
    if form == "CONSTRUCT" and start < len(tokens) and tokens[start].text == "{":
        start = skip_group(tokens, start)
    at, cuts = _scan(tokens, start)
    if at is None:
        if form != "DESCRIBE":
            return query
        k = start
        while k < len(tokens) and (tokens[k].kind in ("var", "iri", "pname") or tokens[k].text == "*"):
            k += 1
        at = _end(tokens[k - 1]) if k > start else _end(tokens[i])
    out = query[:at] + clauses + " " + query[at:]
    for begin, end in reversed(cuts):
        out = out[:begin] + " " * (end - begin) + out[end:]  # blanks keep every line and column
    return out


__all__ = ["check_iri", "with_dataset"]
