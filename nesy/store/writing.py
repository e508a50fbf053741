"""The store's writes: parsed files, rdflib triples and id triples into a graph, removals.

Each write changes the id table first and Oxigraph second, through the journalled
``_write_graphs`` of :class:`~nesy.store.store.Store` (the commit protocol), and is all or
nothing: on failure the table, the vocabulary, the sources and the graph registry are as
they were and Oxigraph is brought back to the table. A graph is a provenance graph's name
or a user's named graph IRI (created on first use; see :mod:`nesy.store.usergraphs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pyoxigraph as ox
from rdflib import URIRef
from rdflib.term import Identifier

from nesy.errors import StoreError
from nesy.namespaces import GRAPH_NS
from nesy.store.backends import Backend
from nesy.store.graphs import USER_CODE_BASE, check_graph, kind_of
from nesy.store.lexical import changed_forms
from nesy.store.parsed import CHUNK, ParsedFile
from nesy.store.sources import Source
from nesy.store.terms import from_ox, to_ox
from nesy.store.triples import TripleTable
from nesy.store.usergraphs import GraphNames
from nesy.store.vocab import Vocab


def check_score(score: float) -> None:
    """Refuse a confidence outside (0, 1] (NaN included) before anything is written."""
    if not 0.0 < score <= 1.0:
        raise StoreError(f"a score must be in (0, 1], got {score}")


class StoreWriting:
    """The writes of :class:`~nesy.store.store.Store` (a mixin: the store holds the state
    and the commit protocol)."""

    path: Any
    read_only: bool
    backend: Backend
    vocab: Vocab
    table: TripleTable
    sources: list[Source]
    graphs: GraphNames
    removal_listeners: list[Callable[[dict[str, np.ndarray]], None]]
    _ox_ids: dict[Any, int]
    _suspect: set[str]

    # Provided by the store (the commit protocol and the sources).
    def new_source(self, kind: str, graph: str, **fields: Any) -> Source: ...
    def savepoint(self) -> tuple[int, ...]: ...
    def rollback(self, savepoint: tuple[int, ...]) -> None: ...
    def commit(self) -> None: ...
    def _write_graphs(self, graphs: list[str], write: Callable[[], None]) -> None: ...

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"knowledge base {self.path} is open read-only")

    # -- terms ------------------------------------------------------------------------
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

    def ox_ids(self, terms: list[Any]) -> np.ndarray:
        """Ids of Oxigraph terms (int64 ``(n,)``), each converted to rdflib once per store."""
        cache = self._ox_ids
        ids = list(map(cache.get, terms))
        if None in ids:
            vocab_id = self.vocab.id
            for k, term in enumerate(terms):
                if ids[k] is None:
                    ids[k] = cache[term] = vocab_id(from_ox(term))
        return np.asarray(ids, dtype=np.int64)

    def _ox_id(self, term: Any) -> int:
        k = self._ox_ids.get(term)
        if k is None:
            k = self._ox_ids[term] = self.vocab.id(from_ox(term))
        return k

    # -- adding -------------------------------------------------------------------------
    def add_parsed(self, parsed: ParsedFile, graph: str, source_fields: dict[str, Any], score: float = 1.0) -> int:
        """Store a parsed file in ``graph``, one source record per graph of the input.

        A TriG or N-Quads file's named graphs go to users' graphs of those names; its default
        graph (and a graph named by a blank node or by nesy's own ``urn:nesy:graph:`` IRIs,
        which are kept as the record's ``graph_in_file``) goes to ``graph``. Returns the
        number of triples that were new. All or nothing: on failure the store, the
        vocabulary, the sources and the graphs are as before.
        """
        graph = check_graph(graph)
        self._check_writable()
        check_score(score)
        mark = self.savepoint()
        try:
            if parsed.format == "tsv":
                term_ids = self.vocab.ids(map(URIRef, parsed.terms))
            else:
                term_ids = self.ox_ids(parsed.terms)
            idx = parsed.index
            s, p, o = term_ids[idx[:, 0]], term_ids[idx[:, 1]], term_ids[idx[:, 2]]
            forms = changed_forms(parsed.terms, parsed.index) if parsed.format != "tsv" else {}
            codes, src_ids = self._file_graphs(parsed, graph, source_fields, forms)
            g = codes[parsed.graph_index] if len(codes) else np.empty(0, dtype=np.int64)
            src = src_ids[parsed.graph_index] if len(src_ids) else np.empty(0, dtype=np.int64)
            new = self.table.add(g, s, p, o, np.full(len(s), score), src)
            default = self.graphs.code(graph, create=True)
            used = sorted({int(c) for c in codes} or {default})
            self._write_graphs([self.graphs.name(c) for c in used], lambda: self._load_into(parsed, codes, default))
        except BaseException:
            self.rollback(mark)
            raise
        self.commit()
        return int(new.sum())

    def _file_graphs(self, parsed: ParsedFile, graph: str, source_fields: dict[str, Any],
                     forms: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
        """Per graph of the file: its graph code here, and a new source record for it (the
        first one keeps ``forms``, the lexical forms Oxigraph does not)."""
        codes, src_ids = [], []
        for k, g in enumerate(parsed.graph_names):
            fields = dict(source_fields)
            if k == 0 and forms:
                fields["extra"] = {**fields.get("extra", {}), "lexical": forms}
            name = graph
            if isinstance(g, ox.NamedNode) and not g.value.startswith(GRAPH_NS):
                name = g.value
            elif not isinstance(g, ox.DefaultGraph):
                # Kept where it came from, but not a graph of its own: a blank node names
                # nothing across files, and nesy's own graph IRIs are not users' graphs.
                fields["graph_in_file"] = str(from_ox(g))
            code = self.graphs.code(name, create=True)
            codes.append(code)
            src_ids.append(self.new_source(kind_of(code), self.graphs.name(code), **fields).id)
        return np.asarray(codes, dtype=np.int64), np.asarray(src_ids, dtype=np.int64)

    def _load_into(self, parsed: ParsedFile, codes: np.ndarray, default: int) -> None:
        """Write a parsed file to Oxigraph, each triple into its graph's Oxigraph graph: the
        quads of the one parse the ids came from (Oxigraph does not read the file again)."""
        targets = [self.graphs.target(int(c)) for c in codes] or [self.graphs.target(default)]
        native = self.backend.native
        if parsed.format == "tsv" and native is not None:
            # TSV has no quads of its own: N-Triples text of its IRIs is cheaper to build than
            # Python quads, and Oxigraph reads it without holding Python's lock.
            for start in range(0, len(parsed), CHUNK):
                native.bulk_load(input=parsed.ntriples(start, start + CHUNK), format=ox.RdfFormat.N_TRIPLES,
                                 to_graph=targets[0])
            return
        for chunk in parsed.quads_to(targets):
            self.backend.add(chunk)

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
        graph = check_graph(graph)
        triples = list(triples)
        score_list = [1.0] * len(triples) if scores is None else [float(x) for x in scores]
        if any(not 0.0 < x <= 1.0 for x in score_list):
            raise StoreError("every score must be in (0, 1]")
        mark = self.graphs.mark()
        if source is None:
            code = self.graphs.code(graph, create=True)
            source = self.new_source(kind or kind_of(code), graph, **source_fields)
        quads = [ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.DefaultGraph()) for s, p, o in triples]
        try:
            return self.add_encoded(graph, *self.encode_quads(quads), np.asarray(score_list),
                                    np.full(len(quads), source.id), quads=quads)
        except BaseException:
            self.graphs.restore(mark)
            raise

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
        check: Callable[[], None] | None = None,
    ) -> int:
        """Add triples given as ids (each array ``(n,)``) to ``graph``; returns how many were new.
        ``quads``: the same triples as Oxigraph quads (any graph name), written as they are.
        ``check``: called before each chunk of the write (a deadline's check); when it
        raises, the chunks already written are taken out again and the store is as before."""
        self._check_writable()
        mark = self.savepoint()
        code = self.graphs.code(check_graph(graph), create=True)
        name = self.graphs.name(code)
        new = self.table.add(np.full(len(s), code), s, p, o, np.asarray(scores, dtype=np.float64), src)
        target = self.graphs.target(code)
        if quads is None:
            # Smaller chunks under a deadline: a timeout is then noticed within ~0.5 s of work.
            chunks = self._quad_chunks(s[new], p[new], o[new], target, size=250_000 if check is None else 50_000)
        else:
            chunks = iter([[ox.Quad(q.subject, q.predicate, q.object, target)
                            for q, fresh in zip(quads, new) if fresh]])
        written: list[list[ox.Quad]] = []
        undone = False

        def write() -> None:
            nonlocal undone
            for chunk in chunks:
                if check is not None:
                    try:
                        check()
                    except BaseException:
                        # Only new quads went in: taking them out restores the graph exactly,
                        # without re-reading the whole graph.
                        for done in written:
                            self.backend.remove(done)
                        undone = True
                        raise
                self.backend.add(chunk)
                written.append(chunk)

        try:
            self._write_graphs([name], write)
        except BaseException:
            if undone:
                self._suspect.discard(name)
            self.rollback(mark)
            raise
        self.commit()
        return int(new.sum())

    def _quad_chunks(self, s: np.ndarray, p: np.ndarray, o: np.ndarray, target: Any,
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

    # -- removing -----------------------------------------------------------------------
    def clear(self, graph: str) -> int:
        """Remove every triple of ``graph``; returns how many were removed."""
        self._check_writable()
        code = self.graphs.find(graph)
        if code is None:
            return 0
        mask = self.table.select(g=code)
        n = int(mask.sum())
        self._tell_removal(mask)
        self.table.remove(mask)
        target = self.graphs.target(code)
        native = self.backend.native

        def write() -> None:
            if native is not None and code >= USER_CODE_BASE:
                native.clear_graph(target)  # a user's graph that exists stays, empty
            elif native is not None:
                native.remove_graph(target)
            else:
                self.backend.drop_graph(target.value)  # type: ignore[union-attr]

        self._write_graphs([self.graphs.name(code)], write)
        self.commit()
        return n

    def _tell_removal(self, mask: np.ndarray) -> None:
        """Show the rows about to go (``mask``: bool ``(n,)``) to the removal listeners, so
        that what they supported can be retracted."""
        if self.removal_listeners and mask.any():
            t = self.table
            gone = {name: getattr(t, name)[mask].copy() for name in ("g", "s", "p", "o", "score", "src")}
            for listener in self.removal_listeners:
                listener(gone)

    def remove_rows(self, mask: np.ndarray) -> None:
        """Remove the table rows selected by ``mask`` (bool, ``(n,)``) from table and backend."""
        self._check_writable()
        t, terms = self.table, self.vocab.term
        self._tell_removal(mask)
        codes = [int(c) for c in np.unique(t.g[mask])]
        targets = {c: self.graphs.target(c) for c in codes}
        quads = [ox.Quad(to_ox(terms(t.s[i])), to_ox(terms(t.p[i])), to_ox(terms(t.o[i])), targets[int(t.g[i])])
                 for i in np.nonzero(mask)[0]]
        t.remove(mask)
        self._write_graphs([self.graphs.name(c) for c in codes], lambda: self.backend.remove(quads))
        self.commit()


__all__ = ["StoreWriting", "check_score"]
