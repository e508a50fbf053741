"""The RDF store: triples with provenance in a backend, kept in step with their integer ids.

Triples live in the named graphs ``asserted`` (loaded files), ``extracted`` (from text),
``inferred`` (rules) and ``predicted`` (the link predictor) (see :mod:`nesy.store.graphs`).
Backends (:mod:`nesy.store.backends`): Oxigraph on disk in the KB directory or in memory,
or any SPARQL 1.1 endpoint.

Every triple also has a row in the integer-encoded :class:`TripleTable` with its score
and the id of its :class:`~nesy.store.sources.Source` record (file, document and
sentence, model...), so provenance survives a restart and the reasoner reads ids without
going through RDF terms. This module keeps the two in step; reading and export are in
:class:`~nesy.store.reading.StoreReading`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyoxigraph as ox
from rdflib import URIRef
from rdflib.term import Identifier

from nesy.errors import StoreError
from nesy.store.backends import Backend, OxigraphBackend, RemoteBackend
from nesy.store.formats import ParsedFile
from nesy.store.graphs import GRAPH_CODE, GRAPH_NS, GRAPHS, check_graph, graph_iri
from nesy.store.reading import StoreReading
from nesy.store.sources import Source, append_sources, read_sources
from nesy.store.terms import from_ox, to_ox
from nesy.store.triples import TripleTable
from nesy.store.vocab import Vocab


class Store(StoreReading):
    """Triples with provenance in a backend, mirrored as integer ids.

    Args:
        path: KB directory for the Oxigraph backend (``None``: in memory).
        endpoint: Query endpoint URL for the remote SPARQL backend.
        update_endpoint: Update endpoint URL (default: derived from ``endpoint``).
        read_only: Open an on-disk store without taking the writer lock.

    Attributes:
        backend: Where the RDF lives (:class:`~nesy.store.backends.OxigraphBackend` or
            :class:`~nesy.store.backends.RemoteBackend`).
        vocab: Term <-> id.
        table: The id triples with their scores and source ids.
        sources: The source records, by id.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        endpoint: str | None = None,
        update_endpoint: str | None = None,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        self.closed = False
        self.backend: Backend = (RemoteBackend(endpoint, update_endpoint) if endpoint is not None
                                 else OxigraphBackend(self.path, read_only))
        meta = self.path
        self.vocab = Vocab(meta / "vocab.nt" if meta else None)
        self.table = TripleTable.read(meta / "triples.npz") if meta else TripleTable()
        self.sources: list[Source] = read_sources(meta / "sources.jsonl") if meta else []
        # Oxigraph term -> id, so a term seen in a bulk load is converted to rdflib once.
        self._ox_ids: dict[Any, int] = {}
        self._described: dict[int, dict[str, Any]] = {}
        if isinstance(self.backend, RemoteBackend):
            self._mirror_remote(self.backend)

    @property
    def dataset(self) -> Any:
        """The rdflib ``Dataset`` over the backend (for rdflib-level access)."""
        return self.backend.dataset

    @property
    def endpoint(self) -> str | None:
        """The query endpoint of a remote store (``None`` for Oxigraph)."""
        return self.backend.endpoint

    def _mirror_remote(self, remote: RemoteBackend) -> None:
        """Read the provenance graphs of a remote endpoint into the id mirror."""
        src = None
        for name in GRAPHS:
            data = remote.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph_iri(name)}> {{ ?s ?p ?o }} }}")
            quads = list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
            if quads:
                if src is None:
                    src = self.new_source("asserted", name, file=remote.endpoint)
                s, p, o = self.encode_quads(quads)
                n = len(s)
                self.table.add(np.full(n, GRAPH_CODE[name]), s, p, o, np.ones(n), np.full(n, src.id))

    # -- sources ----------------------------------------------------------------------
    def new_source(self, kind: str, graph: str, **fields: Any) -> Source:
        """Create a source record (persisted on the next :meth:`commit`)."""
        src = Source(id=len(self.sources), kind=kind, graph=check_graph(graph), **fields)
        self.sources.append(src)
        return src

    # -- all or nothing ---------------------------------------------------------------
    def savepoint(self) -> tuple[int, int]:
        """Where the sources and the id table end now: give it to :meth:`rollback`."""
        return len(self.sources), len(self.table)

    def rollback(self, savepoint: tuple[int, int]) -> None:
        """Undo, in memory, the source records, table rows and new terms added since
        ``savepoint`` (the backend is the caller's: write to it last)."""
        n_sources, n_rows = savepoint
        if len(self.table) > n_rows:
            self.table.remove(np.arange(len(self.table)) >= n_rows)
        for gone in range(n_sources, len(self.sources)):
            self._described.pop(gone, None)
        del self.sources[n_sources:]
        self.vocab.rollback()
        self._ox_ids.clear()

    # -- writing ----------------------------------------------------------------------
    def encode_quads(self, quads: list[ox.Quad]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ids for the subjects, predicates and objects of Oxigraph quads; each ``(n,)``."""
        n = len(quads)
        s = np.empty(n, dtype=np.int64)
        p = np.empty(n, dtype=np.int64)
        o = np.empty(n, dtype=np.int64)
        for i, q in enumerate(quads):
            for col, term in ((s, q.subject), (p, q.predicate), (o, q.object)):
                col[i] = self._ox_id(term)
        return s, p, o

    def _ox_id(self, term: Any) -> int:
        k = self._ox_ids.get(term)
        if k is None:
            k = self._ox_ids[term] = self.vocab.id(from_ox(term))
        return k

    def add_parsed(self, parsed: ParsedFile, graph: str, source_fields: dict[str, Any], score: float = 1.0) -> int:
        """Store a parsed file in ``graph``, one source record per named graph of the input.

        Returns the number of triples that were new. All or nothing: on failure the store,
        the vocabulary and the sources are as before.
        """
        check_graph(graph)
        self._check_writable()
        if not 0.0 < score <= 1.0:
            raise StoreError(f"a score must be in (0, 1], got {score}")
        mark = self.savepoint()
        try:
            if parsed.format == "tsv":
                vocab_id = self.vocab.id
                term_ids = np.fromiter((vocab_id(URIRef(t)) for t in parsed.terms), dtype=np.int64,
                                       count=len(parsed.terms))
            else:
                term_ids = np.fromiter((self._ox_id(t) for t in parsed.terms), dtype=np.int64,
                                       count=len(parsed.terms))
            idx = parsed.index
            s, p, o = term_ids[idx[:, 0]], term_ids[idx[:, 1]], term_ids[idx[:, 2]]
            # One source record per named graph inside the file keeps TriG/N-Quads graphs known.
            src_ids = np.array([
                self.new_source(graph, graph, **source_fields,
                                **({} if isinstance(g, ox.DefaultGraph) else {"graph_in_file": str(from_ox(g))})).id
                for g in parsed.graph_names
            ], dtype=np.int64)
            src = src_ids[parsed.graph_index] if len(src_ids) else np.empty(0, dtype=np.int64)
            new = self.table.add(np.full(len(s), GRAPH_CODE[graph]), s, p, o, np.full(len(s), score), src)
            self.backend.load_parsed(parsed, ox.NamedNode(str(graph_iri(graph))))
        except BaseException:
            self.rollback(mark)
            raise
        self.commit()
        return int(new.sum())

    def add_triples(
        self,
        triples: Iterable[tuple[Identifier, Identifier, Identifier]],
        graph: str,
        *,
        scores: Iterable[float] | None = None,
        source: Source | None = None,
        kind: str | None = None,
        **source_fields: Any,
    ) -> int:
        """Add rdflib triples to ``graph`` with scores (default 1.0) and one source record."""
        triples = list(triples)
        score_list = [1.0] * len(triples) if scores is None else [float(x) for x in scores]
        if any(not 0.0 < x <= 1.0 for x in score_list):
            raise StoreError("every score must be in (0, 1]")
        if source is None:
            source = self.new_source(kind or graph, graph, **source_fields)
        quads = [ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.DefaultGraph()) for s, p, o in triples]
        return self.add_encoded(graph, *self.encode_quads(quads), np.asarray(score_list),
                                np.full(len(quads), source.id), quads=quads)

    def add_encoded(
        self,
        graph: str,
        s: np.ndarray,
        p: np.ndarray,
        o: np.ndarray,
        scores: np.ndarray,
        src: np.ndarray,
        *,
        quads: list[ox.Quad] | None = None,
    ) -> int:
        """Add triples given as ids (each array ``(n,)``); returns how many were new."""
        self._check_writable()
        new = self.table.add(np.full(len(s), GRAPH_CODE[check_graph(graph)]), s, p, o,
                             np.asarray(scores, dtype=np.float64), src)
        target = ox.NamedNode(str(graph_iri(graph)))
        if quads is None:
            terms = self.vocab.term
            quads = [ox.Quad(to_ox(terms(a)), to_ox(terms(b)), to_ox(terms(c)), target)
                     for a, b, c in zip(s[new], p[new], o[new])]
        else:
            quads = [ox.Quad(q.subject, q.predicate, q.object, target) for q, fresh in zip(quads, new) if fresh]
        self.backend.add(quads)
        self.commit()
        return int(new.sum())

    def clear(self, graph: str) -> int:
        """Remove every triple of ``graph``; returns how many were removed."""
        self._check_writable()
        mask = self.table.select(g=GRAPH_CODE[check_graph(graph)])
        n = int(mask.sum())
        self.table.remove(mask)
        self.backend.drop_graph(str(graph_iri(graph)))
        self.commit()
        return n

    def remove_rows(self, mask: np.ndarray) -> None:
        """Remove the table rows selected by ``mask`` (bool, ``(n,)``) from table and backend."""
        self._check_writable()
        t, terms = self.table, self.vocab.term
        quads = [
            ox.Quad(to_ox(terms(t.s[i])), to_ox(terms(t.p[i])), to_ox(terms(t.o[i])),
                    ox.NamedNode(str(graph_iri(GRAPHS[t.g[i]]))))
            for i in np.nonzero(mask)[0]
        ]
        t.remove(mask)
        self.backend.remove(quads)
        self.commit()

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"knowledge base {self.path} is open read-only")

    def commit(self) -> None:
        """Persist the vocabulary, the sources and the id table next to the RDF store."""
        if self.path is None or self.read_only:
            return
        self.vocab.save()
        append_sources(self.path / "sources.jsonl", self.sources)
        self.table.write(self.path / "triples.npz")

    def close(self) -> None:
        """Persist and release the store (and its writer lock); a second call does nothing."""
        if self.closed or isinstance(self.backend, RemoteBackend):
            return
        self.commit()
        if self.path is not None and not self.read_only:
            self.backend.flush()
        self.backend.close()
        self.closed = True


__all__ = ["GRAPHS", "GRAPH_CODE", "GRAPH_NS", "Source", "Store", "check_graph", "from_ox", "graph_iri", "to_ox"]
