"""The RDF store: an rdflib Dataset with four provenance graphs, kept in step with ids.

Triples live in the named graphs ``asserted`` (loaded files), ``extracted`` (from text),
``inferred`` (rules) and ``predicted`` (the link predictor). Backends (chosen by name):

* ``oxigraph`` — rdflib's Oxigraph store (``oxrdflib``), on disk in the KB directory or in
  memory; writes go straight to the underlying ``pyoxigraph.Store`` for bulk speed.
* ``sparql`` — any SPARQL 1.1 endpoint through rdflib's ``SPARQLUpdateStore``.

Every triple also has a row in the integer-encoded :class:`TripleTable` with its score
and the id of its source record (file, document and sentence, model...), so provenance
survives a restart and the reasoner reads ids without going through RDF terms.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyoxigraph as ox
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.term import Identifier

from nesy.store.formats import FORMATS, ParsedFile
from nesy.store.triples import TripleTable
from nesy.store.vocab import Vocab
from nesy.errors import LoadError, StoreError

#: The provenance graphs, in code order (the ``g`` column of the triple table).
# Codes are positions: append new graphs at the end, so stored triple tables stay valid.
GRAPHS = ("asserted", "extracted", "inferred", "predicted", "dl-reasoner")
GRAPH_CODE = {name: i for i, name in enumerate(GRAPHS)}
GRAPH_NS = "urn:nesy:graph:"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def graph_iri(name: str) -> URIRef:
    """The IRI of provenance graph ``name`` (``urn:nesy:graph:asserted`` ...)."""
    return URIRef(GRAPH_NS + check_graph(name))


def check_graph(name: str) -> str:
    """Validate a provenance-graph name, with a message listing the valid ones."""
    if name not in GRAPH_CODE:
        raise StoreError(f"unknown graph {name!r}; the graphs are {', '.join(GRAPHS)}")
    return name


@dataclass
class Source:
    """Where a group of triples came from; each triple points at one source record.

    Attributes:
        id: Dense id (the ``src`` column of the triple table).
        kind: ``asserted``, ``extracted``, ``inferred``, ``predicted``, ``learned``...
        graph: The provenance graph the triples went into.
        file: Source file, for loaded data.
        format: Its format.
        graph_in_file: The named graph the triples had inside a quad file.
        document, sentence, span: For text extractions.
        extractor, model, checkpoint: Which component produced the triples.
        created: ISO timestamp.
        extra: Anything else worth keeping.
    """

    id: int
    kind: str
    graph: str
    file: str | None = None
    format: str | None = None
    graph_in_file: str | None = None
    document: str | None = None
    sentence: str | None = None
    span: tuple[int, int] | None = None
    extractor: str | None = None
    model: str | None = None
    checkpoint: str | None = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The fields that say where the triples came from (empty ones left out), for proofs."""
        skip = {"id", "kind", "created", "format"}
        return {k: v for k, v in asdict(self).items() if k not in skip and v not in (None, {}, "")}


# -- term conversion between Oxigraph and rdflib -----------------------------------------
def from_ox(term: Any) -> Identifier:
    """An rdflib term for an Oxigraph term (plain literals lose the explicit xsd:string)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        dt = term.datatype.value
        if dt == _XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(dt))
    if isinstance(term, ox.Triple):
        # RDF 1.2 triple terms have no rdflib counterpart; keep them as their N-Triples text.
        return Literal(str(term), datatype=URIRef("urn:nesy:triple-term"))
    raise StoreError(f"unsupported RDF term {term!r}")


def to_ox(term: Identifier) -> Any:
    """An Oxigraph term for an rdflib term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.datatype is not None and str(term.datatype) == "urn:nesy:triple-term":
            return next(iter(ox.parse(f"<urn:s> <urn:p> {term} .", format=ox.RdfFormat.N_TRIPLES))).object
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise StoreError(f"unsupported RDF term {term!r}")


class Store:
    """Triples with provenance in a backend, mirrored as integer ids.

    Args:
        path: KB directory for the ``oxigraph`` backend (``None``: in memory).
        endpoint: Query endpoint URL for the ``sparql`` backend.
        update_endpoint: Update endpoint URL (default: derived from ``endpoint``).
        read_only: Open an on-disk store without taking the writer lock.
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
        self._ox: ox.Store | None = None
        self._remote = None
        if endpoint is not None:
            self._open_remote(endpoint, update_endpoint)
        else:
            self._open_oxigraph()
        meta = self.path
        self.vocab = Vocab(meta / "vocab.nt" if meta else None)
        self.table = TripleTable.read(meta / "triples.npz") if meta else TripleTable()
        self.sources: list[Source] = self._read_sources()
        self._ox_ids: dict[Any, int] = {}
        self._described: dict[int, dict[str, Any]] = {}
        if endpoint is not None:
            self._mirror_remote()

    # -- opening ----------------------------------------------------------------------
    def _open_oxigraph(self) -> None:
        from oxrdflib import OxigraphStore

        if self.path is None:
            self._ox = ox.Store()
        else:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create knowledge base directory {self.path}: {exc.strerror}") from exc
            if not os.access(self.path, os.W_OK) and not self.read_only:
                raise StoreError(f"knowledge base directory {self.path} is not writable")
            db = self.path / "oxigraph"
            try:
                self._ox = ox.Store.read_only(str(db)) if self.read_only else ox.Store(str(db))
            except OSError as exc:
                text = str(exc)
                if "lock" in text.lower():
                    raise StoreError(
                        f"knowledge base {self.path} is open in another process (its writer lock is "
                        "held); close that process first, or open this one read-only"
                    ) from None
                raise StoreError(f"cannot open knowledge base {self.path}: {text}") from None
        self.dataset = Dataset(store=OxigraphStore(store=self._ox))

    def _open_remote(self, endpoint: str, update_endpoint: str | None) -> None:
        from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore

        if update_endpoint is None:
            update_endpoint = endpoint[: -len("/query")] + "/update" if endpoint.endswith("/query") else endpoint
        self._remote = SPARQLUpdateStore(query_endpoint=endpoint, update_endpoint=update_endpoint, context_aware=True)
        self.dataset = Dataset(store=self._remote)
        self.endpoint = endpoint

    def _mirror_remote(self) -> None:
        """Read the provenance graphs of a remote endpoint into the id mirror."""
        src = None
        for name in GRAPHS:
            data = self._sparql_construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph_iri(name)}> {{ ?s ?p ?o }} }}")
            quads = list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
            if quads:
                if src is None:
                    src = self.new_source("asserted", name, file=self.endpoint)
                s, p, o = self.encode_quads(quads)
                n = len(s)
                self.table.add(np.full(n, GRAPH_CODE[name]), s, p, o, np.ones(n), np.full(n, src.id))

    def _sparql_construct(self, query: str) -> bytes:
        import urllib.parse
        import urllib.request

        req = urllib.request.Request(
            self.endpoint,
            data=urllib.parse.urlencode({"query": query}).encode("ascii"),
            headers={"Accept": "application/n-triples", "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                return resp.read()
        except OSError as exc:
            raise StoreError(f"cannot read from SPARQL endpoint {self.endpoint}: {exc}") from None

    def _read_sources(self) -> list[Source]:
        if self.path is None or not (self.path / "sources.jsonl").exists():
            return []
        out = []
        with open(self.path / "sources.jsonl", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    d = json.loads(line)
                    if d.get("span") is not None:
                        d["span"] = tuple(d["span"])
                    out.append(Source(**d))
        return out

    # -- sources ----------------------------------------------------------------------
    def new_source(self, kind: str, graph: str, **fields: Any) -> Source:
        """Create a source record (persisted on the next :meth:`commit`)."""
        src = Source(id=len(self.sources), kind=kind, graph=check_graph(graph), **fields)
        self.sources.append(src)
        return src

    def source(self, i: int) -> Source:
        return self.sources[int(i)]

    def describe_source(self, i: int) -> dict[str, Any]:
        """``source(i).describe()``, computed once per source (proofs ask for it per leaf)."""
        i = int(i)
        cached = self._described.get(i)
        if cached is None:
            cached = self._described[i] = self.sources[i].describe()
        return dict(cached)

    # -- writing ----------------------------------------------------------------------
    def encode_quads(self, quads: list[ox.Quad]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ids for the subjects, predicates and objects of Oxigraph quads; each ``(n,)``."""
        cache = self._ox_ids
        vocab_id = self.vocab.id
        n = len(quads)
        s = np.empty(n, dtype=np.int64)
        p = np.empty(n, dtype=np.int64)
        o = np.empty(n, dtype=np.int64)
        for i, q in enumerate(quads):
            for col, term in ((s, q.subject), (p, q.predicate), (o, q.object)):
                k = cache.get(term)
                if k is None:
                    k = cache[term] = vocab_id(from_ox(term))
                col[i] = k
        return s, p, o

    def add_parsed(self, parsed: ParsedFile, graph: str, source_fields: dict[str, Any], score: float = 1.0) -> int:
        """Store a parsed file in ``graph``, one source record per named graph of the input.

        Returns the number of triples that were new. All or nothing: on failure the store,
        the vocabulary and the sources are as before.
        """
        check_graph(graph)
        self._check_writable()
        if not 0.0 < score <= 1.0:
            raise StoreError(f"a score must be in (0, 1], got {score}")
        n_sources, n_rows = len(self.sources), len(self.table)
        try:
            vocab_id = self.vocab.id
            if parsed.format == "tsv":
                term_ids = np.fromiter((vocab_id(URIRef(t)) for t in parsed.terms), dtype=np.int64, count=len(parsed.terms))
            else:
                cache = self._ox_ids
                term_ids = np.empty(len(parsed.terms), dtype=np.int64)
                for i, t in enumerate(parsed.terms):
                    k = cache.get(t)
                    if k is None:
                        k = cache[t] = vocab_id(from_ox(t))
                    term_ids[i] = k
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
            try:
                self._backend_load(parsed, graph)
            except BaseException:
                self.table.remove(np.arange(len(self.table)) >= n_rows)
                raise
        except BaseException:
            for gone in range(n_sources, len(self.sources)):
                self._described.pop(gone, None)
            del self.sources[n_sources:]
            self.vocab.rollback()
            self._ox_ids.clear()
            raise
        self.commit()
        return int(new.sum())

    def _backend_load(self, parsed: ParsedFile, graph: str) -> None:
        """Write a parsed file to the backend by the fastest path that keeps ids in step."""
        target = ox.NamedNode(str(graph_iri(graph)))
        if self._ox is None:
            triples = parsed.triples()
            self._backend_add([ox.Quad(t.subject, t.predicate, t.object, target) for t in triples])
            return
        if parsed.format == "tsv":
            self._ox.bulk_load(input=parsed.ntriples(), format=ox.RdfFormat.N_TRIPLES, to_graph=target)
            return
        fmt = FORMATS.get(parsed.format)
        if fmt is None:  # converted on the way in (OWL/XML): no file Oxigraph could re-read
            self._ox.bulk_extend([ox.Quad(t.subject, t.predicate, t.object, target) for t in parsed.triples()])
            return
        if parsed.path is not None and not parsed.blank_nodes and not fmt.supports_datasets:  # type: ignore[union-attr]
            # Oxigraph re-reads the file in Rust: the quads never become Python objects again.
            # Blank nodes get fresh labels on every parse, so those files take the other path.
            with gzip.open(parsed.path) if parsed.path.suffix.lower() == ".gz" else open(parsed.path, "rb") as fh:
                self._ox.bulk_load(input=fh, format=fmt, base_iri=parsed.base_iri, to_graph=target)
            return
        self._ox.bulk_extend([ox.Quad(t.subject, t.predicate, t.object, target) for t in parsed.triples()])

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
        return self.add_encoded(graph, *self.encode_quads(quads), np.asarray(score_list), np.full(len(quads), source.id), quads=quads)

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
        new = self.table.add(np.full(len(s), GRAPH_CODE[check_graph(graph)]), s, p, o, np.asarray(scores, dtype=np.float64), src)
        target = ox.NamedNode(str(graph_iri(graph)))
        if quads is None:
            terms = self.vocab.term
            quads = [ox.Quad(to_ox(terms(a)), to_ox(terms(b)), to_ox(terms(c)), target) for a, b, c in zip(s[new], p[new], o[new])]
        else:
            quads = [ox.Quad(q.subject, q.predicate, q.object, target) for q, fresh in zip(quads, new) if fresh]
        self._backend_add(quads)
        self.commit()
        return int(new.sum())

    def clear(self, graph: str) -> int:
        """Remove every triple of ``graph``; returns how many were removed."""
        self._check_writable()
        mask = self.table.select(g=GRAPH_CODE[check_graph(graph)])
        n = int(mask.sum())
        self.table.remove(mask)
        if self._ox is not None:
            self._ox.remove_graph(ox.NamedNode(str(graph_iri(graph))))
        else:
            self._sparql_update(f"DROP SILENT GRAPH <{graph_iri(graph)}>")
        self.commit()
        return n

    def remove_rows(self, mask: np.ndarray) -> None:
        """Remove the table rows selected by ``mask`` (bool, ``(n,)``) from table and backend."""
        self._check_writable()
        idx = np.nonzero(mask)[0]
        terms = self.vocab.term
        quads = [
            ox.Quad(to_ox(terms(self.table.s[i])), to_ox(terms(self.table.p[i])), to_ox(terms(self.table.o[i])),
                    ox.NamedNode(str(graph_iri(GRAPHS[self.table.g[i]]))))
            for i in idx
        ]
        self.table.remove(mask)
        if self._ox is not None:
            for q in quads:
                self._ox.remove(q)
        else:
            for start in range(0, len(quads), 20_000):
                body = ox.serialize(quads[start:start + 20_000], format=ox.RdfFormat.N_QUADS).decode("utf-8")
                self._sparql_update(f"DELETE DATA {{ {_nquads_to_graph_blocks(body)} }}")
        self.commit()

    def _backend_add(self, quads: list[ox.Quad]) -> None:
        if not quads:
            return
        if self._ox is not None:
            self._ox.bulk_extend(quads)
            return
        # INSERT DATA in N-Triples syntax, in batches: one HTTP request per 20,000 triples.
        graphs: dict[str, list[ox.Triple]] = {}
        for q in quads:
            graphs.setdefault(q.graph_name.value, []).append(ox.Triple(q.subject, q.predicate, q.object))
        for giri, triples in graphs.items():
            for start in range(0, len(triples), 20_000):
                body = ox.serialize(triples[start:start + 20_000], format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
                self._sparql_update(f"INSERT DATA {{ GRAPH <{giri}> {{\n{body}}} }}")

    def _sparql_update(self, update: str) -> None:
        import urllib.error
        import urllib.request

        assert self._remote is not None
        req = urllib.request.Request(
            self._remote.update_endpoint,
            data=update.encode("utf-8"),
            headers={"Content-Type": "application/sparql-update"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise StoreError(f"the SPARQL endpoint refused the update ({exc.code}): {detail}") from None
        except OSError as exc:
            raise StoreError(f"cannot reach SPARQL endpoint {self._remote.update_endpoint}: {exc}") from None

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"knowledge base {self.path} is open read-only")

    def commit(self) -> None:
        """Persist the vocabulary, the sources and the id table next to the RDF store."""
        if self.path is None or self.read_only:
            return
        self.vocab.save()
        path = self.path / "sources.jsonl"
        written = _count_lines(path)
        if written < len(self.sources):
            with open(path, "a", encoding="utf-8") as fh:
                for src in self.sources[written:]:
                    fh.write(json.dumps(asdict(src)) + "\n")
        self.table.write(self.path / "triples.npz")

    # -- reading ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.table)

    def count(self, graph: str | None = None) -> int:
        if graph is None:
            return len(self.table)
        return int(self.table.select(g=GRAPH_CODE[check_graph(graph)]).sum())

    def stats(self) -> dict[str, Any]:
        """Triples per graph and per predicate (predicate IRIs as strings), plus sizes."""
        t = self.table
        per_graph = {name: int(n) for name, n in zip(GRAPHS, np.bincount(t.g, minlength=len(GRAPHS)))}
        preds, counts = np.unique(t.p, return_counts=True)
        order = np.argsort(-counts, kind="stable")
        per_pred = {str(self.vocab.term(preds[i])): int(counts[i]) for i in order}
        return {
            "triples": len(t),
            "graphs": per_graph,
            "predicates": per_pred,
            "terms": len(self.vocab),
            "sources": len(self.sources),
        }

    def triples(self, graph: str | None = None) -> Iterator[tuple[Identifier, Identifier, Identifier, str]]:
        """Every triple with the name of its graph, as rdflib terms."""
        t = self.table
        mask = np.ones(len(t), dtype=bool) if graph is None else t.select(g=GRAPH_CODE[check_graph(graph)])
        term = self.vocab.term
        for g, s, p, o in zip(t.g[mask], t.s[mask], t.p[mask], t.o[mask]):
            yield term(s), term(p), term(o), GRAPHS[g]

    def provenance(self, s: Identifier, p: Identifier, o: Identifier) -> list[dict[str, Any]]:
        """Every stored copy of a triple: its graph, score and source description."""
        ids = [self.vocab.get(x) for x in (s, p, o)]
        if None in ids:
            return []
        t = self.table
        return [
            {"graph": GRAPHS[t.g[i]], "score": float(t.score[i]), "source": self.describe_source(t.src[i])}
            for i in sorted(t.rows_of(*ids))
        ]

    def export(
        self, out: str | os.PathLike[str], fmt: str, graph: str | None = None, prefixes: dict[str, str] | None = None
    ) -> int:
        """Write the store (or one graph) to a file; quad formats keep the graph names."""
        f = FORMATS.get(fmt.lower())
        if not isinstance(f, ox.RdfFormat):
            raise LoadError(f"cannot export as {fmt!r}; use turtle, ntriples, nquads, trig, rdfxml or jsonld")
        rows = list(self.triples(graph))
        if f.supports_datasets:
            quads = [ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.NamedNode(str(graph_iri(g)))) for s, p, o, g in rows]
        else:
            seen = {(s, p, o) for s, p, o, _ in rows}
            quads = [ox.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in seen]
        try:
            with open(out, "wb") as fh:
                ox.serialize(quads, fh, format=f, prefixes=prefixes or None)
        except OSError as exc:
            raise StoreError(f"cannot write {out}: {exc.strerror}") from None
        return len(quads)

    def close(self) -> None:
        """Persist and release the store (and its writer lock)."""
        if self._ox is not None:
            self.commit()
            if self.path is not None and not self.read_only:
                self._ox.flush()
            del self.dataset
            self._ox = None


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def _nquads_to_graph_blocks(nquads: str) -> str:
    """Turn N-Quads lines into ``GRAPH <g> { s p o . }`` blocks for SPARQL DELETE DATA."""
    blocks = []
    for line in nquads.splitlines():
        line = line.strip()
        if not line:
            continue
        body, _, graph = line[:-1].rstrip().rpartition(" ")
        blocks.append(f"GRAPH {graph} {{ {body} . }}")
    return "\n".join(blocks)
