"""A parsed data file: its distinct terms, each triple as positions in them, and its quads.

A file is parsed once (:mod:`nesy.store.formats`); the ids of the vocabulary come from
:attr:`ParsedFile.terms` and what Oxigraph stores comes from :meth:`ParsedFile.quads_to`,
the same parse, so no file is read twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyoxigraph as ox

#: Quads per chunk handed to Oxigraph when they are rebuilt from the term table: a file of
#: millions of triples never holds millions of extra Python quads at once.
CHUNK = 500_000


@dataclass
class ParsedFile:
    """The complete content of one data file, as a table of its distinct terms.

    Attributes:
        format: The format name used.
        terms: The file's distinct terms: Oxigraph terms, or IRI strings for TSV.
        index: int64 ``(n, 3)``: positions in ``terms`` of each triple's subject, predicate, object.
        graph_names: The distinct named graphs inside the file (Oxigraph ``DefaultGraph`` or IRIs).
        graph_index: int64 ``(n,)``: position in ``graph_names`` of each triple's graph.
        prefixes: Prefixes the file declared (name -> namespace).
        path: The file, when read from one.
        base_iri: The base IRI relative IRIs were resolved against.
        blank_nodes: Whether any term is a blank node (their labels are fresh per parse).
        quads: The parser's own quads, in file order (``None`` when the file was too large
            to keep them; they are then rebuilt from ``terms`` and ``index``).
    """

    format: str
    terms: list[Any] = field(default_factory=list)
    index: np.ndarray = field(default_factory=lambda: np.empty((0, 3), dtype=np.int64))
    graph_names: list[Any] = field(default_factory=list)
    graph_index: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    prefixes: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    base_iri: str | None = None
    blank_nodes: bool = False
    quads: list[ox.Quad] | None = None

    def __len__(self) -> int:
        return len(self.index)

    def ox_terms(self) -> list[Any]:
        """The terms as Oxigraph terms (TSV IRIs become named nodes)."""
        return [ox.NamedNode(t) if isinstance(t, str) else t for t in self.terms]

    def triples(self) -> list[ox.Triple]:
        """The triples as Oxigraph objects (TSV IRIs become named nodes)."""
        terms = self.ox_terms()
        return [ox.Triple(terms[a], terms[b], terms[c]) for a, b, c in self.index.tolist()]

    def ntriples(self, start: int = 0, stop: int | None = None) -> bytes:
        """The triples ``start:stop`` serialized as N-Triples (fast path for TSV, whose terms
        are IRIs: each distinct term written once as a subject or predicate and once as an
        object, and the rows picked out of those with numpy and joined in one call)."""
        if self.format != "tsv":
            return ox.serialize(self.triples()[start:stop], format=ox.RdfFormat.N_TRIPLES)
        rows = self.index[start:stop]
        head = np.array([f"<{t}> " for t in self.terms], dtype=object)
        tail = np.array([f"<{t}> .\n" for t in self.terms], dtype=object)
        out = np.empty(rows.shape, dtype=object)
        out[:, :2] = head[rows[:, :2]]
        out[:, 2] = tail[rows[:, 2]]
        return "".join(out.ravel().tolist()).encode("utf-8")

    def quads_to(self, targets: Sequence[Any], size: int = CHUNK) -> Iterator[list[ox.Quad]]:
        """Every triple as an Oxigraph quad in ``targets[k]`` (``k``: its graph's position in
        :attr:`graph_names`), in chunks of at most ``size``. The parser's quads are handed on
        as they are when their graphs are already the targets (the usual case: a triples file
        into the default graph), so loading builds no second copy of the file."""
        n = len(self)
        if n == 0:
            return
        if self.quads is not None and all(t == g for t, g in zip(targets, self.graph_names)):
            yield self.quads
            return
        single = targets[0] if len(targets) == 1 else None
        if self.quads is not None:
            gi = self.graph_index.tolist()
            for start in range(0, n, size):
                chunk = self.quads[start:start + size]
                if single is not None:
                    yield [ox.Quad(q.subject, q.predicate, q.object, single) for q in chunk]
                else:
                    yield [ox.Quad(q.subject, q.predicate, q.object, targets[k])
                           for q, k in zip(chunk, gi[start:start + size])]
            return
        terms = self.ox_terms()
        pick = terms.__getitem__
        for start in range(0, n, size):
            rows = self.index[start:start + size]
            s, p, o = (map(pick, rows[:, c].tolist()) for c in range(3))
            if single is not None:
                graphs: Any = [single] * len(rows)
            else:
                graphs = map(targets.__getitem__, self.graph_index[start:start + size].tolist())
            yield list(map(ox.Quad, s, p, o, graphs))


__all__ = ["CHUNK", "ParsedFile"]
