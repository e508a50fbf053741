"""One integer id per RDF term, shared by the reasoner's relations and the neural models.

The vocabulary is append-only: an id, once given, always means the same term, so
embedding tables trained yesterday still line up with today's data. It persists as a
text file of N-Triples terms, one per line (line ``i`` is id ``i``), appended by the store's
commit (:mod:`nesy.store.commit`), which keeps the committed size and checksum.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Identifier
from rdflib.util import from_n3

from nesy.errors import StoreError

_NUMERIC_DATATYPES = {
    "http://www.w3.org/2001/XMLSchema#" + t
    for t in (
        "integer", "decimal", "double", "float", "int", "long", "short", "byte",
        "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
        "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte",
    )
}


def numeric_value(term: Identifier) -> float:
    """The number a literal denotes, or NaN when it is not numeric."""
    if isinstance(term, Literal) and term.datatype is not None and str(term.datatype) in _NUMERIC_DATATYPES:
        try:
            return float(term.toPython())
        except (TypeError, ValueError):
            return math.nan
    if isinstance(term, Literal) and isinstance(term.toPython(), bool):
        return math.nan
    return math.nan


def term_line(term: Identifier) -> str:
    """``term`` as one line of ``vocab.nt`` (N-Triples syntax)."""
    text = term.n3()
    if isinstance(term, Literal) and ("\n" in text or "\r" in text):
        # rdflib writes a multi-line literal in triple quotes, which would split one term
        # over several lines (and shift every later id): write the escaped form instead.
        dt = None if term.language or term.datatype is None else ox.NamedNode(str(term.datatype))
        text = str(ox.Literal(str(term), language=term.language, datatype=dt))
    return text


class Vocab:
    """Bidirectional map between rdflib terms and dense integer ids ``0..len-1``.

    Args:
        path: File to persist to (``None`` keeps it in memory only).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._terms: list[Identifier] = []
        self._ids: dict[Identifier, int] = {}
        self._numeric = np.empty(0, dtype=np.float64)
        self._literal = np.empty(0, dtype=bool)
        self._path = Path(path) if path is not None else None
        #: How many terms the committed vocabulary file holds (the store's commit sets it).
        self.committed = 0

    @classmethod
    def from_bytes(cls, data: bytes, path: str | os.PathLike[str] | None = None) -> Vocab:
        """The vocabulary in ``data`` (the committed part of ``vocab.nt``: one N-Triples term
        per line); a line that is not a term, or a term given twice, is a damaged file."""
        vocab = cls(path)
        where = str(path) if path is not None else None
        try:
            lines = data.decode("utf-8").split("\n")[:-1] if data else []
        except UnicodeDecodeError:
            lines = None  # find the line at fault below
        if lines is None:
            lines = []
            for lineno, raw in enumerate(data.split(b"\n")[:-1], 1):
                try:
                    lines.append(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise StoreError(f"vocabulary file is damaged: {exc}", file=where, line=lineno) from None
        ids = vocab._ids
        terms = vocab._terms
        for lineno, text in enumerate(lines, 1):
            # Most lines are IRIs without escapes: for those from_n3 only strips the brackets
            # (its escape decoding is the identity), and skipping it halves a large KB's open.
            if text[:1] == "<" and text[-1:] == ">" and "\\" not in text:
                term: object = URIRef(text[1:-1])
            else:
                try:
                    term = from_n3(text)
                except Exception as exc:  # a corrupted vocab is a store problem, not a crash
                    raise StoreError(f"vocabulary file is damaged: {exc}", file=where, line=lineno) from None
            if not isinstance(term, Identifier) or term in ids:
                raise StoreError("vocabulary file is damaged: not one new RDF term on this line",
                                 file=where, line=lineno)
            ids[term] = len(terms)
            terms.append(term)
        vocab.committed = len(vocab._terms)
        return vocab

    def encode(self, start: int) -> bytes:
        """The file lines of the terms with ids ``start..len-1`` (what a commit appends)."""
        return "".join(term_line(term) + "\n" for term in self._terms[start:]).encode("utf-8")

    def rollback(self, mark: int | None = None) -> None:
        """Forget the terms added after id ``mark`` (default: since the last commit), used
        when a write fails: a term is only kept once rows that use it are."""
        mark = self.committed if mark is None else mark
        for term in self._terms[mark:]:
            del self._ids[term]
        del self._terms[mark:]

    def __len__(self) -> int:
        return len(self._terms)

    def __contains__(self, term: object) -> bool:
        return term in self._ids

    def id(self, term: Identifier) -> int:
        """The id of ``term``, adding it when new."""
        i = self._ids.get(term)
        if i is None:
            i = len(self._terms)
            self._ids[term] = i
            self._terms.append(term)
        return i

    def get(self, term: Identifier) -> int | None:
        """The id of ``term``, or ``None`` when it has none (never adds)."""
        return self._ids.get(term)

    def ids(self, terms: Iterable[Identifier]) -> np.ndarray:
        """Ids of ``terms`` (adding new ones). Returns int64 array of shape ``(n,)``."""
        get = self._ids.get
        out = []
        for t in terms:
            i = get(t)
            if i is None:
                i = self.id(t)
            out.append(i)
        return np.asarray(out, dtype=np.int64)

    def term(self, i: int) -> Identifier:
        """The term with id ``i``."""
        return self._terms[int(i)]

    def terms(self, ids: Sequence[int] | np.ndarray) -> list[Identifier]:
        """Terms of an id array of shape ``(n,)``."""
        t = self._terms
        return [t[int(i)] for i in ids]

    def numeric(self, ids: np.ndarray) -> np.ndarray:
        """Numeric values of the terms ``ids`` (shape ``(n,)``), NaN where not a number."""
        n = len(self._terms)
        if len(self._numeric) < n:
            extra = np.fromiter(
                (numeric_value(t) for t in self._terms[len(self._numeric):]),
                dtype=np.float64,
                count=n - len(self._numeric),
            )
            self._numeric = np.concatenate([self._numeric, extra])
        return self._numeric[np.asarray(ids, dtype=np.int64)]

    def is_literal(self, ids: np.ndarray) -> np.ndarray:
        """Which of the terms ``ids`` (shape ``(n,)``) are literals (bool, shape ``(n,)``)."""
        n = len(self._terms)
        if len(self._literal) < n:
            extra = np.fromiter((isinstance(t, Literal) for t in self._terms[len(self._literal):]),
                                dtype=bool, count=n - len(self._literal))
            self._literal = np.concatenate([self._literal, extra])
        return self._literal[np.asarray(ids, dtype=np.int64)]

    def literal_id(self, value: float | int | str | bool) -> int:
        """Id of the literal for a Python value (ints stay ``xsd:integer``)."""
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)
        return self.id(Literal(value))

    @staticmethod
    def is_iri(term: Identifier) -> bool:
        return isinstance(term, URIRef)

    @staticmethod
    def is_blank(term: Identifier) -> bool:
        return isinstance(term, BNode)
