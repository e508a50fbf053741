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

On disk every write goes through the commit protocol of :mod:`nesy.store.commit`: a
journal names the graphs before Oxigraph changes, the vocabulary, sources and table are
written, and the manifest's atomic replacement commits them; an open that finds a journal
brings those graphs back to the committed table (see ``docs/store.md``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyoxigraph as ox
from rdflib import URIRef
from rdflib.term import Identifier

from nesy.errors import StoreError
from nesy.store import commit as kbdir
from nesy.store.backends import Backend, OxigraphBackend, RemoteBackend
from nesy.store.formats import ParsedFile
from nesy.store.graphs import GRAPH_CODE, GRAPH_NS, GRAPHS, check_graph, graph_iri
from nesy.store.reading import StoreReading
from nesy.store.repair import sync_graph
from nesy.store.sources import Source, encode_sources, parse_sources
from nesy.store.terms import from_ox, to_ox
from nesy.store.triples import TripleTable
from nesy.store.vocab import Vocab


def check_score(score: float) -> None:
    """Refuse a confidence outside (0, 1] (NaN included) before anything is written."""
    if not 0.0 < score <= 1.0:
        raise StoreError(f"a score must be in (0, 1], got {score}")


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
        # Oxigraph term -> id, so a term seen in a bulk load is converted to rdflib once.
        self._ox_ids: dict[Any, int] = {}
        self._described: dict[int, dict[str, Any]] = {}
        self._txn = 0
        self._deferred = False
        self._reader = False
        #: Called by :meth:`remove_rows` with the columns (``g, s, p, o, score, src``, each
        #: ``(m,)``) of the rows about to go: what a reasoner retracts incrementally.
        self.removal_listeners: list[Callable[[dict[str, np.ndarray]], None]] = []
        self._touched: set[str] = set()
        self._suspect: set[str] = set()
        self._table_dirty = False
        self._config: dict[str, Any] | None = None
        self._manifest: dict[str, Any] | None = None
        self._logs: tuple[kbdir.AppendLog, kbdir.AppendLog] | None = None
        self._legacy = False
        self.vocab, self.table, self.sources = Vocab(), TripleTable(), []
        if endpoint is not None:
            self.backend: Backend = RemoteBackend(endpoint, update_endpoint)
            self._mirror_remote(self.backend)
        elif self.path is None:
            self.backend = OxigraphBackend(None)
        else:
            self._open_directory(self.path)

    def _open_directory(self, path: Path) -> None:
        """Open the KB directory: committed files only, each checked; an interrupted write
        (a journal) is recovered first when this process can take the writer lock."""
        if self.read_only:
            _recover_abandoned(path)
        else:
            _mark_new_directory(path)
        self.backend = OxigraphBackend(path, self.read_only)
        try:
            state = kbdir.open_directory(path, read_only=self.read_only)
            self.vocab = Vocab.from_bytes(state.vocab_bytes, path / kbdir.VOCAB_FILE)
            self.sources = parse_sources(state.sources_bytes, path / kbdir.SOURCES_FILE)
            table_file = path / ((state.manifest or {}).get("table") or {"file": kbdir.LEGACY_TABLE})["file"]
            if state.table_bytes is not None:
                self.table = TripleTable.from_bytes(state.table_bytes, table_file)
            self._check_ids(table_file)
            state.vocab.count, state.sources.count = len(self.vocab), len(self.sources)
            self._logs, self._manifest, self._legacy = (state.vocab, state.sources), state.manifest, state.legacy
            if not self.read_only:
                kbdir.register(path, self)
                kbdir.tidy(path, state.manifest)
                self._recover(state.journal)
        except BaseException:
            self.backend.close()
            raise

    def _check_ids(self, table_file: Path) -> None:
        """Every id in the table must name a term, a source and a graph."""
        t = self.table
        if not len(t):
            return
        assert self.path is not None
        top = max(int(t.s.max()), int(t.p.max()), int(t.o.max()))
        low = min(int(t.s.min()), int(t.p.min()), int(t.o.min()), int(t.src.min()), int(t.g.min()))
        if top >= len(self.vocab) or low < 0:
            raise kbdir.damaged(table_file, f"it uses term id {top} but the vocabulary has {len(self.vocab)} terms",
                                self.path)
        if int(t.src.max()) >= len(self.sources) or int(t.g.max()) >= len(GRAPHS):
            raise kbdir.damaged(table_file, f"it names source {int(t.src.max())} but there are "
                                f"{len(self.sources)} source records", self.path)

    def _recover(self, journal: dict[str, Any] | None) -> None:
        """Undo what an interrupted write left: the graphs its journal names are brought back
        to the committed table, uncommitted bytes are cut off the append-only files."""
        assert self.path is not None and self._logs is not None
        if journal is not None:
            kbdir.crash_point("recovery")
            for graph in journal.get("graphs", []):
                if graph in GRAPH_CODE:
                    sync_graph(self.backend.native, self.vocab, self.table, graph)  # type: ignore[arg-type]
        self._logs = (self._logs[0].appended(b"", 0), self._logs[1].appended(b"", 0))
        if journal is not None:
            self.backend.flush()
            kbdir.remove_file(self.path / kbdir.JOURNAL)
            kbdir.fsync_dir(self.path)

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
    def savepoint(self) -> tuple[int, int, int]:
        """Where the sources, the id table and the vocabulary end now: give it to :meth:`rollback`."""
        return len(self.sources), len(self.table), len(self.vocab)

    def rollback(self, savepoint: tuple[int, int, int]) -> None:
        """Undo, in memory, the source records, table rows and new terms added since
        ``savepoint``; a graph whose Oxigraph write failed half way is brought back to the table."""
        n_sources, n_rows, n_terms = savepoint
        if len(self.table) > n_rows:
            self.table.remove(np.arange(len(self.table)) >= n_rows)
        for gone in range(n_sources, len(self.sources)):
            self._described.pop(gone, None)
        del self.sources[n_sources:]
        self.vocab.rollback(n_terms)
        self._ox_ids.clear()
        self._repair_suspect()

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
        check_score(score)
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
            self._write_graphs([graph], lambda: self.backend.load_parsed(parsed, ox.NamedNode(str(graph_iri(graph)))))
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
            chunks = self._quad_chunks(s[new], p[new], o[new], target)
        else:
            chunks = iter([[ox.Quad(q.subject, q.predicate, q.object, target)
                            for q, fresh in zip(quads, new) if fresh]])

        def write() -> None:
            for chunk in chunks:
                self.backend.add(chunk)

        self._write_graphs([graph], write)
        self.commit()
        return int(new.sum())

    def _quad_chunks(self, s: np.ndarray, p: np.ndarray, o: np.ndarray, target: ox.NamedNode,
                     size: int = 250_000) -> Iterator[list[ox.Quad]]:
        """Oxigraph quads of id triples (each ``(n,)``), ``size`` at a time: each distinct
        term is converted once, and a million derived facts never become a million Python
        quads at the same moment."""
        ids, inverse = np.unique(np.concatenate([s, p, o]), return_inverse=True)
        terms = self.vocab.term
        ox_terms = [to_ox(terms(int(i))) for i in ids]
        n = len(s)
        si, pi, oi = inverse[:n].tolist(), inverse[n:2 * n].tolist(), inverse[2 * n:].tolist()
        for start in range(0, n, size):
            stop = start + size
            yield [ox.Quad(ox_terms[a], ox_terms[b], ox_terms[c], target)
                   for a, b, c in zip(si[start:stop], pi[start:stop], oi[start:stop])]

    def clear(self, graph: str) -> int:
        """Remove every triple of ``graph``; returns how many were removed."""
        self._check_writable()
        mask = self.table.select(g=GRAPH_CODE[check_graph(graph)])
        n = int(mask.sum())
        self.table.remove(mask)
        self._write_graphs([graph], lambda: self.backend.drop_graph(str(graph_iri(graph))))
        self.commit()
        return n

    def remove_rows(self, mask: np.ndarray) -> None:
        """Remove the table rows selected by ``mask`` (bool, ``(n,)``) from table and backend."""
        self._check_writable()
        t, terms = self.table, self.vocab.term
        if self.removal_listeners:
            gone = {name: getattr(t, name)[mask].copy() for name in ("g", "s", "p", "o", "score", "src")}
            for listener in self.removal_listeners:
                listener(gone)
        quads = [
            ox.Quad(to_ox(terms(t.s[i])), to_ox(terms(t.p[i])), to_ox(terms(t.o[i])),
                    ox.NamedNode(str(graph_iri(GRAPHS[t.g[i]]))))
            for i in np.nonzero(mask)[0]
        ]
        graphs = [GRAPHS[code] for code in np.unique(t.g[mask])]
        t.remove(mask)
        self._write_graphs(graphs, lambda: self.backend.remove(quads))
        self.commit()

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"knowledge base {self.path} is open read-only")

    # -- the commit protocol ------------------------------------------------------------
    def _write_graphs(self, graphs: list[str], write: Callable[[], None]) -> None:
        """Run one Oxigraph write to ``graphs``, journalled first: a crash in it (or before
        the commit) is undone on the next open by bringing those graphs back to the table."""
        if self.path is not None and self.backend.native is not None and not set(graphs) <= self._touched:
            self._touched.update(graphs)
            assert self._logs is not None
            journal: dict[str, Any] = {"base": (self._manifest or {}).get("generation", 0),
                                       "graphs": sorted(self._touched)}
            if self._legacy:
                journal["legacy"] = {"vocab": self._logs[0].size, "sources": self._logs[1].size}
            kbdir.write_journal(self.path, journal)
        kbdir.crash_point("before-oxigraph")
        try:
            write()
        except BaseException:
            self._suspect.update(graphs)
            raise
        kbdir.crash_point("after-oxigraph")

    def _repair_suspect(self) -> None:
        """Bring graphs whose Oxigraph write failed half way back to the in-memory table."""
        native = self.backend.native
        while self._suspect and native is not None:
            sync_graph(native, self.vocab, self.table, self._suspect.pop())

    def commit(self) -> None:
        """Persist the vocabulary, the sources and the id table next to the RDF store: now,
        or at the end of the open :meth:`transaction` (or at :meth:`close` when deferred)."""
        self._table_dirty = True
        self._maybe_commit()

    def _maybe_commit(self) -> None:
        if self._txn == 0 and not self._deferred:
            self.checkpoint()

    def for_reading(self) -> None:
        """Mark this process a reader that may still refresh derived facts (a query): terms it
        only mentioned (constants of a query, computed values) are then not committed unless
        a stored row or source needs them, so asking a question leaves the files as they were."""
        self._reader = True

    def defer_commits(self) -> None:
        """Make every later write of this process one commit, written by :meth:`close` or
        :meth:`checkpoint`: a command then happens whole or not at all across a kill."""
        self._deferred = True

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one commit (nested transactions join the outer one)."""
        self._txn += 1
        try:
            yield
        finally:
            self._txn -= 1
            self._maybe_commit()

    def stage_config(self, config: dict[str, Any]) -> None:
        """Make ``config`` the settings (``kb.json``) of the next commit (see :meth:`commit`)."""
        self._config = json.loads(json.dumps(config))
        self._maybe_commit()

    @property
    def manifest(self) -> dict[str, Any] | None:
        """The committed manifest (``None``: in memory, remote, or a KB from before manifests)."""
        return self._manifest

    def checkpoint(self) -> None:
        """Commit every write made so far now, as one new generation."""
        if self.path is None or self.read_only or self.closed or self._logs is None:
            return
        self._repair_suspect()
        vocab_log, sources_log = self._logs
        grew_vocab = len(self.vocab) > vocab_log.count
        if not (self._table_dirty or self._config is not None or self._touched
                or len(self.sources) > sources_log.count or (grew_vocab and not self._reader)):
            return
        if self._legacy and not self._touched:
            # The first commit of a KB from before manifests: note the old sizes first, so a
            # crash before the manifest is written leaves the old files as they were.
            kbdir.write_journal(self.path, {"base": 0, "graphs": [],
                                            "legacy": {"vocab": vocab_log.size, "sources": sources_log.size}})
        counts = np.bincount(self.table.g, minlength=len(GRAPHS))
        pending = kbdir.Pending(
            vocab=(self.vocab.encode(vocab_log.count), len(self.vocab) - vocab_log.count),
            sources=(encode_sources(self.sources, sources_log.count), len(self.sources) - sources_log.count),
            table=self.table.to_bytes() if self._table_dirty or self._legacy else None,
            config=self._config,
            graphs={name: int(n) for name, n in zip(GRAPHS, counts)},
        )
        self._manifest, self._logs = kbdir.commit_generation(self.path, self._manifest, self._logs, pending)
        self.vocab.committed = len(self.vocab)
        self._table_dirty, self._config, self._legacy = False, None, False
        self._touched.clear()

    def close(self) -> None:
        """Commit and release the store (and its writer lock); a second call does nothing."""
        if self.closed or isinstance(self.backend, RemoteBackend):
            return
        try:
            self._deferred = False
            self.checkpoint()
            if self.path is not None and not self.read_only:
                self.backend.flush()
        finally:
            self.release()

    def release(self) -> None:
        """Give the store and its writer lock back without committing (the KB stays at its
        last commit): what an open that failed half way does."""
        if self.closed:
            return
        self.backend.close()
        self.closed = True
        if self.path is not None:
            kbdir.unregister(self.path, self)


def _mark_new_directory(path: Path) -> None:
    """Create the KB directory with an empty manifest before anything else, so that from
    its first byte the directory is recognisably a knowledge base (not a stray folder)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create knowledge base directory {path}: {exc.strerror}") from exc
    legacy = any((path / n).exists() for n in (kbdir.VOCAB_FILE, kbdir.SOURCES_FILE, kbdir.LEGACY_TABLE))
    if os.access(path, os.W_OK) and not legacy and not (path / kbdir.MANIFEST).exists():
        kbdir.write_manifest(path, kbdir.empty_manifest())


def _recover_abandoned(path: Path) -> None:
    """Before a read-only open: what a writer that died left (a journal, temporary files,
    uncommitted bytes) is recovered by a short writable open, when this process may write and
    no other holds the writer lock (a live writer's files are its own business: the
    committed state is read meanwhile)."""
    if not path.is_dir() or not os.access(path, os.W_OK) or not kbdir.needs_recovery(path):
        return
    try:
        Store(path).close()
    except StoreError as exc:
        if "another process" not in str(exc):
            raise


__all__ = ["GRAPHS", "GRAPH_CODE", "GRAPH_NS", "Source", "Store", "check_graph", "from_ox", "graph_iri", "to_ox"]
