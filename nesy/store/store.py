"""The RDF store: triples with provenance in a backend, kept in step with their integer ids.

Triples live in the provenance graphs ``asserted`` (loaded files; Oxigraph's default
graph), ``extracted`` (from text), ``inferred`` (rules), ``predicted`` (the link predictor)
and ``dl-reasoner``, and in users' own named graphs (see :mod:`nesy.store.graphs` and
:mod:`nesy.store.usergraphs`). Backends (:mod:`nesy.store.backends`): Oxigraph on disk in
the KB directory or in memory, or any SPARQL 1.1 endpoint.

Every triple also has a row in the integer-encoded :class:`TripleTable` with its score
and the id of its :class:`~nesy.store.sources.Source` record (file, document and
sentence, model...), so provenance survives a restart and the reasoner reads ids without
going through RDF terms. This module holds the state and the commit protocol; the writes
are in :class:`~nesy.store.writing.StoreWriting`, reading and export in
:class:`~nesy.store.usergraphs.GraphReading` and :class:`~nesy.store.reading.StoreReading`.

On disk every write goes through the commit protocol of :mod:`nesy.store.commit`: a
journal names the graphs before Oxigraph changes, the vocabulary, sources and table are
written, and the manifest's atomic replacement commits them; an open that finds a journal
brings those graphs back to the committed table (see ``docs/store.md``).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyoxigraph as ox

from nesy.errors import StoreError
from nesy.store import commit as kbdir
from nesy.store.backends import Backend, OxigraphBackend, RemoteBackend
from nesy.store.graphs import GRAPH_CODE, GRAPH_NS, GRAPHS, check_graph, graph_iri
from nesy.store.repair import drop_untracked, sync_graph
from nesy.store.sources import Source, encode_sources, parse_sources
from nesy.store.terms import from_ox, to_ox
from nesy.store.triples import TripleTable
from nesy.store.usergraphs import GraphNames, GraphReading
from nesy.store.vocab import Vocab
from nesy.store.writing import StoreWriting, check_score

#: Triples per request when a remote endpoint's graphs are read into the id mirror.
REMOTE_PAGE = 100_000


class Store(StoreWriting, GraphReading):
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
        graphs: The graph codes (users' named graphs included) and their Oxigraph graphs.
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
        self._keep: set[str] | None = None
        self._suspect: set[str] = set()
        self._union: bool | None = None
        self.graphs = GraphNames()
        self._table_dirty = False
        self._config: dict[str, Any] | None = None
        self._manifest: dict[str, Any] | None = None
        self._logs: tuple[kbdir.AppendLog, kbdir.AppendLog] | None = None
        self._legacy = False
        self.vocab, self.table, self.sources = Vocab(), TripleTable(), []
        if endpoint is not None:
            self.graphs = GraphNames(asserted_default=False)  # what other clients of the endpoint read
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
            self.graphs = GraphNames.from_manifest(state.manifest)
            self._check_ids(table_file)
            state.vocab.count, state.sources.count = len(self.vocab), len(self.sources)
            self._logs, self._manifest, self._legacy = (state.vocab, state.sources), state.manifest, state.legacy
            if not self.read_only:
                kbdir.register(path, self)
                kbdir.tidy(path, state.manifest)
                self._recover(state.journal)
                self._move_asserted()
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
        if int(t.src.max()) >= len(self.sources) or int(t.g.max()) >= len(self.graphs):
            raise kbdir.damaged(table_file, f"it names source {int(t.src.max())} but there are "
                                f"{len(self.sources)} source records", self.path)

    def _recover(self, journal: dict[str, Any] | None) -> None:
        """Undo what an interrupted write left: the graphs its journal names are brought back
        to the committed table, uncommitted bytes are cut off the append-only files."""
        assert self.path is not None and self._logs is not None
        if journal is not None:
            kbdir.crash_point("recovery")
            for graph in journal.get("graphs", []):
                if isinstance(graph, str):
                    self._sync(graph)
            if isinstance(journal.get("keep"), list):
                # A SPARQL update that could write any graph: graphs it created are dropped.
                drop_untracked(self.backend.native, self.graphs, set(journal["keep"]))  # type: ignore[arg-type]
        self._logs = (self._logs[0].appended(b"", 0), self._logs[1].appended(b"", 0))
        if journal is not None:
            self.backend.flush()
            kbdir.remove_file(self.path / kbdir.JOURNAL)
            kbdir.fsync_dir(self.path)

    def _sync(self, graph: str) -> None:
        """Bring one graph (a name the journal or a failed write gave) back to the table; a
        user's graph the committed registry does not know is removed from Oxigraph."""
        native = self.backend.native
        if native is None:
            return
        try:
            code = self.graphs.find(graph)
        except StoreError:
            return  # not a graph name: nothing nesy wrote
        if code is not None:
            sync_graph(native, self.vocab, self.table, self.graphs, code)
        elif native.contains_named_graph(ox.NamedNode(graph)):
            native.remove_graph(ox.NamedNode(graph))

    def restore_graphs(self, graphs: list[str], keep: set[str] | None = None) -> None:
        """Bring ``graphs`` in Oxigraph back to the table after a write that failed there
        (a user's graph the registry does not know is removed); with ``keep``, also remove
        every untracked named graph not in it."""
        for graph in graphs:
            self._sync(graph)
        if keep is not None and self.backend.native is not None:
            drop_untracked(self.backend.native, self.graphs, keep)

    def _move_asserted(self) -> None:
        """A KB from before users' graphs kept the asserted data in ``urn:nesy:graph:asserted``:
        move it to Oxigraph's default graph (journalled and committed like any write, and
        idempotent, so a crash half way is finished by the next open). Quads that were in the
        default graph without a table row (nesy never wrote there) are removed."""
        native = self.backend.native
        if self.graphs.asserted_default or native is None:
            return
        self.graphs.asserted_default = True
        self._write_graphs(["asserted"], lambda: sync_graph(native, self.vocab, self.table, self.graphs, 0))
        self.checkpoint()

    @property
    def union_default_graph(self) -> bool:
        """Whether a SPARQL query's default graph also holds every user's graph (like Jena's
        unionDefaultGraph): ``"union_default_graph": true`` in ``kb.json``, or set here for
        this session. Off by default: users' graphs are named graphs only (SPARQL's dataset)."""
        if self._union is not None:
            return self._union
        config = self._config if self._config is not None else (self._manifest or {}).get("config") or {}
        return bool(config.get("union_default_graph", False))

    @union_default_graph.setter
    def union_default_graph(self, value: bool) -> None:
        self._union = bool(value)

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
            target = self.graphs.target(GRAPH_CODE[name]).value  # type: ignore[union-attr]
            # In pages: a large graph never arrives as one response (ordered, so pages do not overlap).
            for page in itertools.count():
                data = remote.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{target}> {{ ?s ?p ?o }} }} "
                                        f"ORDER BY ?s ?p ?o LIMIT {REMOTE_PAGE} OFFSET {page * REMOTE_PAGE}")
                quads = list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
                if quads:
                    if src is None:
                        src = self.new_source("asserted", name, file=remote.endpoint)
                    s, p, o = self.encode_quads(quads)
                    n = len(s)
                    self.table.add(np.full(n, GRAPH_CODE[name]), s, p, o, np.ones(n), np.full(n, src.id))
                if len(quads) < REMOTE_PAGE:
                    break

    # -- sources ----------------------------------------------------------------------
    def new_source(self, kind: str, graph: str, **fields: Any) -> Source:
        """Create a source record (persisted on the next :meth:`commit`); ``graph`` is a
        provenance graph or a user's graph IRI."""
        src = Source(id=len(self.sources), kind=kind, graph=check_graph(graph), **fields)
        self.sources.append(src)
        return src

    # -- all or nothing ---------------------------------------------------------------
    def savepoint(self) -> tuple[Any, ...]:
        """Where the sources, the id table, the vocabulary and the graph registry end now:
        give it to :meth:`rollback`."""
        return len(self.sources), len(self.table), len(self.vocab), self.graphs.mark()

    def rollback(self, savepoint: tuple[Any, ...]) -> None:
        """Undo, in memory, the source records, table rows, new terms and new user graphs
        added since ``savepoint``; a graph whose Oxigraph write failed half way is brought
        back to the table (one created meanwhile is dropped)."""
        n_sources, n_rows, n_terms = savepoint[:3]
        if len(savepoint) > 3:
            self.graphs.restore(savepoint[3])
        if len(self.table) > n_rows:
            self.table.remove(np.arange(len(self.table)) >= n_rows)
        for gone in range(n_sources, len(self.sources)):
            self._described.pop(gone, None)
        del self.sources[n_sources:]
        self.vocab.rollback(n_terms)
        self._ox_ids.clear()
        self._repair_suspect()

    # -- the commit protocol ------------------------------------------------------------
    def journal(self, graphs: list[str], *, keep: set[str] | None = None) -> tuple[frozenset[str], Any]:
        """Name ``graphs`` (provenance names or user graph IRIs) in the journal before Oxigraph
        changes them: a crash before the commit brings them back to the table on the next
        open. ``keep``: the write may create any graph; the next open then drops every named
        graph it does not track except these. Returns what :meth:`unjournal` restores."""
        before = (frozenset(self._touched), self._keep)
        if self.path is None or self.backend.native is None:
            return before
        if set(graphs) <= self._touched and (keep is None or self._keep is not None):
            return before
        self._touched.update(graphs)
        if keep is not None:
            self._keep = set(keep) if self._keep is None else self._keep | keep
        assert self._logs is not None
        body: dict[str, Any] = {"base": (self._manifest or {}).get("generation", 0), "graphs": sorted(self._touched)}
        if self._keep is not None:
            body["keep"] = sorted(self._keep)
        if self._legacy:
            body["legacy"] = {"vocab": self._logs[0].size, "sources": self._logs[1].size}
        kbdir.write_journal(self.path, body)
        return before

    def unjournal(self, before: tuple[frozenset[str], Any]) -> None:
        """After a write that changed nothing in the end (Oxigraph brought back): forget the
        graphs :meth:`journal` added, and remove the journal when nothing else is pending,
        so a failed write leaves the files as they were."""
        touched, keep = before
        if touched or keep is not None or self.path is None:
            return
        self._touched.clear()
        self._keep = None
        kbdir.remove_file(self.path / kbdir.JOURNAL)
        kbdir.fsync_dir(self.path)

    def _write_graphs(self, graphs: list[str], write: Callable[[], None]) -> None:
        """Run one Oxigraph write to ``graphs``, journalled first: a crash in it (or before
        the commit) is undone on the next open by bringing those graphs back to the table."""
        self.journal(graphs)
        kbdir.crash_point("before-oxigraph")
        try:
            write()
        except BaseException:
            self._suspect.update(graphs)
            raise
        kbdir.crash_point("after-oxigraph")

    def _repair_suspect(self) -> None:
        """Bring graphs whose Oxigraph write failed half way back to the in-memory table."""
        while self._suspect and self.backend.native is not None:
            self._sync(self._suspect.pop())

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
        registry = self.graphs.to_manifest()
        moved = self._manifest is not None and any(self._manifest.get(k) != v for k, v in registry.items())
        if not (self._table_dirty or self._config is not None or self._touched or moved
                or len(self.sources) > sources_log.count or (grew_vocab and not self._reader)):
            return
        if self._legacy and not self._touched:
            # The first commit of a KB from before manifests: note the old sizes first, so a
            # crash before the manifest is written leaves the old files as they were.
            kbdir.write_journal(self.path, {"base": 0, "graphs": [],
                                            "legacy": {"vocab": vocab_log.size, "sources": sources_log.size}})
        counts = np.bincount(self.table.g, minlength=len(self.graphs))
        pending = kbdir.Pending(
            vocab=(self.vocab.encode(vocab_log.count), len(self.vocab) - vocab_log.count),
            sources=(encode_sources(self.sources, sources_log.count), len(self.sources) - sources_log.count),
            table=self.table.to_bytes() if self._table_dirty or self._legacy else None,
            config=self._config,
            graphs={self.graphs.name(code): int(n) for code, n in enumerate(counts)},
            registry=registry,
        )
        self._manifest, self._logs = kbdir.commit_generation(self.path, self._manifest, self._logs, pending)
        self.vocab.committed = len(self.vocab)
        self._table_dirty, self._config, self._legacy = False, None, False
        self._touched.clear()
        self._keep = None

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


__all__ = ["GRAPHS", "GRAPH_CODE", "GRAPH_NS", "Source", "Store", "TripleTable", "check_graph", "check_score",
           "from_ox", "graph_iri", "to_ox"]
