"""Where the RDF lives: Oxigraph on disk (with its writer lock) or in memory, or a remote
SPARQL 1.1 endpoint; both take the same writes so the :class:`~nesy.store.store.Store`
does not care which it has."""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset

from nesy.errors import StoreError

#: Triples per HTTP request when writing to a remote endpoint.
BATCH = 20_000
#: Seconds before a request to a remote endpoint gives up.
TIMEOUT = 300


class OxigraphBackend:
    """rdflib's Oxigraph store (``oxrdflib``) over a ``pyoxigraph.Store``; writes go straight
    to the ``pyoxigraph.Store`` (:attr:`native`) for bulk speed.

    Args:
        path: The KB directory (the database is its ``oxigraph`` folder); ``None``: in memory.
        read_only: Open without taking the writer lock.
    """

    endpoint: str | None = None

    def __init__(self, path: Path | None, read_only: bool = False) -> None:
        self.native: ox.Store | None = open_oxigraph(path, read_only) if path is not None else ox.Store()
        self._dataset: Dataset | None = None

    @property
    def dataset(self) -> Dataset | None:
        """The rdflib view, made on first use: importing oxrdflib (and with it rdflib's SPARQL
        parser) costs a one-shot ``nesy query`` more than its answer does."""
        if self._dataset is None and self.native is not None:
            from oxrdflib import OxigraphStore

            self._dataset = Dataset(store=OxigraphStore(store=self.native))
        return self._dataset

    def add(self, quads: list[ox.Quad]) -> None:
        if quads:
            self.native.bulk_extend(quads)  # type: ignore[union-attr]

    def remove(self, quads: list[ox.Quad]) -> None:
        for q in quads:
            self.native.remove(q)  # type: ignore[union-attr]

    def drop_graph(self, iri: str) -> None:
        self.native.remove_graph(ox.NamedNode(iri))  # type: ignore[union-attr]

    def flush(self) -> None:
        self.native.flush()  # type: ignore[union-attr]

    def close(self) -> None:
        """Drop every reference to the database, which releases its writer lock."""
        self._dataset = None
        self.native = None


def open_oxigraph(path: Path, read_only: bool) -> ox.Store:
    """The Oxigraph database of the KB directory ``path`` (created when missing), with a
    clear message when another process holds its writer lock."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create knowledge base directory {path}: {exc.strerror}") from exc
    if not os.access(path, os.W_OK) and not read_only:
        raise StoreError(f"knowledge base directory {path} is not writable")
    db = str(path / "oxigraph")
    try:
        return _open_native(db, read_only)
    except (OSError, RuntimeError) as exc:  # RocksDB reports damaged files as RuntimeError
        text = str(exc)
        if "lock" in text.lower():
            raise StoreError(
                f"knowledge base {path} is open in another process (its writer lock is "
                "held); close that process first, or open this one read-only"
            ) from None
        if isinstance(exc, RuntimeError) or "corrupt" in text.lower():
            raise StoreError(
                f"the RDF database of knowledge base {path} is damaged ({text.splitlines()[0][:200] if text else 'unreadable'}); "
                f"`nesy check-store {path} --repair` rebuilds it from the committed triples",
                file=db,
            ) from None
        raise StoreError(f"cannot open knowledge base {path}: {text}") from None


def _open_native(db: str, read_only: bool) -> ox.Store:
    """Open the Oxigraph database at ``db``. Its lock goes only when the last reference to
    a closed store does; one kept alive by a reference cycle in this process (a traceback's
    frames) is collected before the lock is reported as another process's."""
    try:
        return ox.Store.read_only(db) if read_only else ox.Store(db)
    except (OSError, RuntimeError) as exc:
        if "lock" not in str(exc).lower():
            raise
        import gc

        gc.collect()
        return ox.Store.read_only(db) if read_only else ox.Store(db)


class RemoteBackend:
    """Any SPARQL 1.1 endpoint: reads through rdflib's ``SPARQLUpdateStore``, writes as
    ``INSERT DATA`` / ``DELETE DATA`` requests in batches.

    Args:
        endpoint: The query endpoint URL.
        update_endpoint: The update endpoint URL (default: ``.../query`` -> ``.../update``).
    """

    native: ox.Store | None = None

    def __init__(self, endpoint: str, update_endpoint: str | None = None) -> None:
        from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore

        if update_endpoint is None:
            update_endpoint = endpoint[: -len("/query")] + "/update" if endpoint.endswith("/query") else endpoint
        self.endpoint = endpoint
        self.update_endpoint = update_endpoint
        remote = SPARQLUpdateStore(query_endpoint=endpoint, update_endpoint=update_endpoint, context_aware=True)
        self.dataset: Dataset | None = Dataset(store=remote)

    def add(self, quads: list[ox.Quad]) -> None:
        # INSERT DATA in N-Triples syntax, in batches: one HTTP request per BATCH triples.
        graphs: dict[str, list[ox.Triple]] = {}
        for q in quads:
            graphs.setdefault(q.graph_name.value, []).append(ox.Triple(q.subject, q.predicate, q.object))
        for giri, triples in graphs.items():
            for start in range(0, len(triples), BATCH):
                body = ox.serialize(triples[start:start + BATCH], format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
                self.update(f"INSERT DATA {{ GRAPH <{giri}> {{\n{body}}} }}")

    def remove(self, quads: list[ox.Quad]) -> None:
        for start in range(0, len(quads), BATCH):
            body = ox.serialize(quads[start:start + BATCH], format=ox.RdfFormat.N_QUADS).decode("utf-8")
            self.update(f"DELETE DATA {{ {nquads_to_graph_blocks(body)} }}")

    def drop_graph(self, iri: str) -> None:
        self.update(f"DROP SILENT GRAPH <{iri}>")

    def construct(self, query: str) -> bytes:
        """The N-Triples answer of a CONSTRUCT query."""
        req = urllib.request.Request(
            self.endpoint,
            data=urllib.parse.urlencode({"query": query}).encode("ascii"),
            headers={"Accept": "application/n-triples", "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                return resp.read()
        except OSError as exc:
            raise StoreError(f"cannot read from SPARQL endpoint {self.endpoint}: {exc}") from None

    def update(self, update: str) -> None:
        """Send a SPARQL Update request."""
        req = urllib.request.Request(
            self.update_endpoint,
            data=update.encode("utf-8"),
            headers={"Content-Type": "application/sparql-update"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise StoreError(f"the SPARQL endpoint refused the update ({exc.code}): {detail}") from None
        except OSError as exc:
            raise StoreError(f"cannot reach SPARQL endpoint {self.update_endpoint}: {exc}") from None

    def flush(self) -> None:
        """Nothing to do: the endpoint persists each update itself."""

    def close(self) -> None:
        """Nothing to release: every request has its own connection."""


def nquads_to_graph_blocks(nquads: str) -> str:
    """Turn N-Quads lines into ``GRAPH <g> { s p o . }`` blocks for SPARQL DELETE DATA."""
    blocks = []
    for line in nquads.splitlines():
        line = line.strip()
        if not line:
            continue
        body, _, graph = line[:-1].rstrip().rpartition(" ")
        blocks.append(f"GRAPH {graph} {{ {body} . }}")
    return "\n".join(blocks)


#: Either backend.
Backend = OxigraphBackend | RemoteBackend

__all__ = ["Backend", "OxigraphBackend", "RemoteBackend", "nquads_to_graph_blocks", "open_oxigraph"]
