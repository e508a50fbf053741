"""TSV triples ``head<TAB>relation<TAB>tail``: names placed in a namespace as IRIs.

A file is split and its names numbered with a few passes in C (string splits, ``dict``
and ``map``); only a file with a bad line is read again line by line, to say which line.
"""

from __future__ import annotations

from operator import methodcaller
from urllib.parse import quote, unquote

import numpy as np
import pyoxigraph as ox

from nesy.errors import LoadError
from nesy.store.parsed import ParsedFile

#: What ``quote(name, safe="-._~")`` does to each ASCII character, as a ``str.translate`` table.
_QUOTE_ASCII = {c: f"%{c:02X}" for c in range(128)
                if not (chr(c).isascii() and (chr(c).isalnum() or chr(c) in "-._~"))}


def tsv_iri(namespace: str, name: str) -> ox.NamedNode:
    """The IRI a TSV name maps to: the namespace plus the name, percent-encoded where needed."""
    return ox.NamedNode(namespace + quote(name, safe="-._~"))


def tsv_name(namespace: str, iri: str) -> str | None:
    """Inverse of :func:`tsv_iri`: the TSV name of an IRI in ``namespace``, else ``None``."""
    if not iri.startswith(namespace):
        return None
    return unquote(iri[len(namespace):])


def _quoted(name: str) -> str:
    """``quote(name, safe="-._~")``; ASCII names by one ``str.translate`` (the same bytes)."""
    return name.translate(_QUOTE_ASCII) if name.isascii() else quote(name, safe="-._~")


def check_namespace(namespace: str, file: str | None) -> None:
    """Refuse a TSV namespace that would not make IRIs."""
    if not (namespace.endswith(("#", "/", ":"))):
        raise LoadError(f"TSV namespace {namespace!r} should end with '#', '/' or ':'", file=file)
    try:
        ox.NamedNode(namespace + "x")
    except ValueError as exc:
        raise LoadError(f"TSV namespace {namespace!r} is not a valid IRI: {exc}", file=file) from None


def parse_tsv(text: str, namespace: str, *, file: str | None = None) -> ParsedFile:
    """Parse ``head<TAB>relation<TAB>tail`` lines (blank lines and ``#`` comments skipped)
    into IRIs in ``namespace`` (checked beforehand with :func:`check_namespace`)."""
    lines = text.split("\n")
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
    rows = [line for line in lines if line and line[0] != "#" and not line.isspace()]
    fields = "\t".join(rows).split("\t") if rows else []
    if set(map(methodcaller("count", "\t"), rows)) - {2} or "" in fields:
        _raise_bad_line(lines, file)
    local = {name: i for i, name in enumerate(dict.fromkeys(fields))}
    index = np.fromiter(map(local.__getitem__, fields), dtype=np.int64, count=len(fields)).reshape(-1, 3)
    return ParsedFile(
        format="tsv",
        terms=[namespace + _quoted(name) for name in local],
        index=index,
        graph_names=[ox.DefaultGraph()],
        graph_index=np.zeros(len(index), dtype=np.int64),
    )


def _raise_bad_line(lines: list[str], file: str | None) -> None:
    """Raise the error for the first line that is not three non-empty fields."""
    for lineno, line in enumerate(lines, 1):
        if not line or line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not all(parts):
            raise LoadError(
                f"expected head<TAB>relation<TAB>tail, found {len(parts)} field(s)"
                + (" (an empty field)" if len(parts) == 3 else ""),
                file=file, line=lineno, column=1, excerpt=line,
            )
    raise AssertionError("a TSV file failed its check without a bad line")


__all__ = ["check_namespace", "parse_tsv", "tsv_iri", "tsv_name"]
