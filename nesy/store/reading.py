"""Reading a store: counts and statistics, its triples as rdflib terms, source records and
a triple's provenance, and export to a file (the read side of :class:`~nesy.store.store.Store`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyoxigraph as ox
from rdflib.term import Identifier

from nesy.errors import LoadError, StoreError
from nesy.store.formats import FORMATS
from nesy.store.graphs import GRAPH_CODE, GRAPHS, check_graph, graph_iri
from nesy.store.lexical import triple_key
from nesy.store.sources import Source
from nesy.store.terms import to_ox
from nesy.store.triples import TripleTable
from nesy.store.vocab import Vocab


class StoreReading:
    """What reads the id table, the vocabulary and the sources without changing them;
    :class:`~nesy.store.store.Store` adds the writes."""

    vocab: Vocab
    table: TripleTable
    sources: list[Source]
    #: Source id -> its description (filled on first use).
    _described: dict[int, dict[str, Any]]

    def source(self, i: int) -> Source:
        """Source record ``i``."""
        return self.sources[int(i)]

    def describe_source(self, i: int) -> dict[str, Any]:
        """``source(i).describe()``, computed once per source (proofs ask for it per leaf)."""
        i = int(i)
        cached = self._described.get(i)
        if cached is None:
            cached = self._described[i] = self.sources[i].describe()
        return dict(cached)

    def lexical_form(self, s: Identifier, p: Identifier, o: Identifier) -> tuple[str, int] | None:
        """The lexical form a loaded file gave the literal ``o`` of the triple, when Oxigraph
        keeps another (``"01"`` for its ``"1"^^xsd:integer``), and the id of that file's
        source record; ``None`` when no file recorded one."""
        sources = self.sources
        stamp = (len(sources), id(sources[-1]) if sources else 0)
        cached = self.__dict__.get("_lexical_forms")
        if cached is None or cached[0] != stamp:
            forms: dict[str, tuple[str, int]] = {}
            for src in sources:
                forms.update((k, (v, src.id)) for k, v in src.extra.get("lexical", {}).items())
            cached = self.__dict__["_lexical_forms"] = (stamp, forms)
        return cached[1].get(triple_key(s, p, o)) if cached[1] else None

    def __len__(self) -> int:
        return len(self.table)

    def count(self, graph: str | None = None) -> int:
        """How many triples the store (or one graph) holds."""
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


__all__ = ["StoreReading"]
