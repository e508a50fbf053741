"""Graph codes of one store and the Oxigraph graphs they live in (users' named graphs included).

:class:`GraphNames` is the store's registry: codes ``0..4`` are the provenance graphs, each
user's named graph gets the next code, in the order graphs were first used, and keeps it
(codes are positions in the ``g`` column, so a dropped graph keeps its code and comes back
under it). The registry is part of the committed state: the manifest lists it
(``user_graphs``), so a crash before the commit forgets a graph created meanwhile, together
with its rows.

Where each code lives in Oxigraph: the ``asserted`` data is Oxigraph's default graph (what
SPARQL Update's default graph is), the other provenance graphs are ``urn:nesy:graph:<kind>``,
and a user's graph is the named graph of its IRI. KBs written before user graphs kept the
asserted data in ``urn:nesy:graph:asserted``; such a KB is read that way until its first
writable open moves the data (see :meth:`nesy.store.store.Store`).

:class:`GraphReading` gives the store's counts, statistics, triples and provenance with a
user's graph named by its IRI.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyoxigraph as ox
from rdflib.term import Identifier

from nesy.errors import StoreError
from nesy.namespaces import GRAPH_NS
from nesy.store.graphs import GRAPH_CODE, GRAPHS, USER_CODE_BASE, check_graph
from nesy.store.reading import StoreReading

#: Where the asserted data lived before user graphs: an Oxigraph named graph.
LEGACY_ASSERTED = ox.NamedNode(GRAPH_NS + "asserted")


class GraphNames:
    """The graph codes of one store, their names and their Oxigraph graphs.

    Args:
        asserted_default: The asserted data is Oxigraph's default graph (else
            ``urn:nesy:graph:asserted``: a remote endpoint, or a KB not migrated yet).

    Attributes:
        user: The IRIs of users' named graphs; graph code ``USER_CODE_BASE + i`` is ``user[i]``.
        live: Per user graph, whether it exists (``DROP GRAPH`` ends it, a write revives it;
            an empty graph that exists is still one of the query's named graphs).
    """

    def __init__(self, *, asserted_default: bool = True) -> None:
        self.asserted_default = asserted_default
        self.user: list[str] = []
        self.live: list[bool] = []
        self._codes: dict[str, int] = {}

    # -- the committed state ----------------------------------------------------------
    @classmethod
    def from_manifest(cls, manifest: dict[str, Any] | None) -> GraphNames:
        """The registry a manifest committed (a manifest from before user graphs: none, and
        the asserted data still in its named graph)."""
        body = manifest or {}
        names = cls(asserted_default=body.get("asserted_graph") == "default")
        for entry in body.get("user_graphs") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("iri"), str):
                raise StoreError(f"manifest lists a user graph it cannot read: {entry!r}")
            names.add(entry["iri"], live=bool(entry.get("live", True)))
        return names

    def to_manifest(self) -> dict[str, Any]:
        """The manifest entries that record this registry."""
        return {"asserted_graph": "default" if self.asserted_default else "named",
                "user_graphs": [{"iri": iri, "live": live} for iri, live in zip(self.user, self.live)]}

    def mark(self) -> tuple[int, tuple[bool, ...]]:
        """Where the registry stands now (give it to :meth:`restore`)."""
        return len(self.user), tuple(self.live)

    def restore(self, mark: tuple[int, tuple[bool, ...]]) -> None:
        """Forget the graphs registered since ``mark`` and the liveness changes."""
        n, live = mark
        for iri in self.user[n:]:
            del self._codes[iri]
        del self.user[n:]
        self.live = list(live)

    # -- names and codes --------------------------------------------------------------
    def __len__(self) -> int:
        """How many codes there are (provenance graphs and users' graphs)."""
        return USER_CODE_BASE + len(self.user)

    def add(self, iri: str, *, live: bool = True) -> int:
        """Register a user's graph (or find it); returns its code."""
        code = self._codes.get(iri)
        if code is None:
            code = self._codes[iri] = USER_CODE_BASE + len(self.user)
            self.user.append(iri)
            self.live.append(live)
        return code

    def find(self, name: str) -> int | None:
        """The code of graph ``name`` (a provenance name or a user graph's IRI), or ``None``."""
        name = check_graph(name)
        return GRAPH_CODE[name] if name in GRAPH_CODE else self._codes.get(name)

    def code(self, name: str, *, create: bool = False) -> int:
        """The code of graph ``name``; ``create``: register a user's graph seen first here."""
        found = self.find(name)
        if found is not None:
            if create and found >= USER_CODE_BASE:
                self.live[found - USER_CODE_BASE] = True
            return found
        if not create:
            raise StoreError(f"no graph {name} in this knowledge base (its named graphs are: "
                             f"{', '.join(self.user) or 'none'})")
        return self.add(check_graph(name))

    def name(self, code: int) -> str:
        """A provenance graph's name or a user graph's IRI."""
        code = int(code)
        return GRAPHS[code] if code < USER_CODE_BASE else self.user[code - USER_CODE_BASE]

    def user_codes(self, *, live_only: bool = True) -> list[int]:
        """Codes of users' graphs (those that exist, unless ``live_only`` is off)."""
        return [USER_CODE_BASE + i for i, live in enumerate(self.live) if live or not live_only]

    def is_live(self, code: int) -> bool:
        return code < USER_CODE_BASE or self.live[code - USER_CODE_BASE]

    def set_live(self, code: int, live: bool) -> None:
        if code >= USER_CODE_BASE:
            self.live[code - USER_CODE_BASE] = live

    # -- Oxigraph graphs --------------------------------------------------------------
    def target(self, code: int) -> ox.DefaultGraph | ox.NamedNode:
        """The Oxigraph graph the rows of ``code`` live in."""
        code = int(code)
        if code == GRAPH_CODE["asserted"] and self.asserted_default:
            return ox.DefaultGraph()
        if code < USER_CODE_BASE:
            return ox.NamedNode(GRAPH_NS + GRAPHS[code])
        return ox.NamedNode(self.user[code - USER_CODE_BASE])

    def aliases(self, code: int) -> list[ox.NamedNode]:
        """Other Oxigraph graphs that must hold nothing of ``code``: the asserted data's old
        named graph, once it moved to the default graph (a quad there is a stray one)."""
        return [LEGACY_ASSERTED] if code == GRAPH_CODE["asserted"] and self.asserted_default else []

    def code_of_target(self, graph: Any) -> int | None:
        """The code whose rows Oxigraph graph ``graph`` holds (``None``: a graph nesy does not track)."""
        if isinstance(graph, ox.DefaultGraph):
            return GRAPH_CODE["asserted"] if self.asserted_default else None
        if not isinstance(graph, ox.NamedNode):
            return None
        iri = graph.value
        if iri.startswith(GRAPH_NS):
            kind = iri[len(GRAPH_NS):]
            if kind == "asserted" and self.asserted_default:
                return None
            return GRAPH_CODE.get(kind)
        return self._codes.get(iri)

    def tracked(self) -> set[Any]:
        """Every Oxigraph graph name nesy keeps in step with the table (and the aliases)."""
        out: set[Any] = {self.target(c) for c in range(len(self))}
        out.update(a for c in range(USER_CODE_BASE) for a in self.aliases(c))
        return out


class GraphReading(StoreReading):
    """Counts, statistics, triples and provenance with users' graphs named by their IRIs
    (the store's read side for graph codes beyond the provenance graphs)."""

    graphs: GraphNames

    def graph_code(self, graph: str) -> int:
        """The code of ``graph`` (a provenance name, or a user graph's IRI this store has)."""
        return self.graphs.code(graph)

    def graph_name(self, code: int) -> str:
        """The name of graph code ``code``: a provenance graph's name or a user graph's IRI."""
        return self.graphs.name(code)

    def count(self, graph: str | None = None) -> int:
        """How many triples the store (or one graph) holds."""
        if graph is None:
            return len(self.table)
        code = self.graphs.find(graph)
        return 0 if code is None else int(self.table.select(g=code).sum())

    def stats(self) -> dict[str, Any]:
        """Triples per graph (users' graphs by IRI, the provenance graphs always listed) and
        per predicate (predicate IRIs as strings), plus sizes."""
        t = self.table
        counts = np.bincount(t.g, minlength=len(self.graphs))
        per_graph = {self.graphs.name(c): int(n) for c, n in enumerate(counts)
                     if c < USER_CODE_BASE or n or self.graphs.is_live(c)}
        preds, pcounts = np.unique(t.p, return_counts=True)
        order = np.argsort(-pcounts, kind="stable")
        per_pred = {str(self.vocab.term(preds[i])): int(pcounts[i]) for i in order}
        return {"triples": len(t), "graphs": per_graph, "predicates": per_pred,
                "terms": len(self.vocab), "sources": len(self.sources)}

    def triples(self, graph: str | None = None) -> Iterator[tuple[Identifier, Identifier, Identifier, str]]:
        """Every triple with the name of its graph (a user's graph: its IRI), as rdflib terms."""
        t = self.table
        if graph is None:
            mask = np.ones(len(t), dtype=bool)
        else:
            code = self.graphs.find(graph)
            mask = t.select(g=code) if code is not None else np.zeros(len(t), dtype=bool)
        term, name = self.vocab.term, self.graphs.name
        for g, s, p, o in zip(t.g[mask], t.s[mask], t.p[mask], t.o[mask]):
            yield term(s), term(p), term(o), name(g)

    def provenance(self, s: Identifier, p: Identifier, o: Identifier) -> list[dict[str, Any]]:
        """Every stored copy of a triple: its graph, score and source description."""
        ids = [self.vocab.get(x) for x in (s, p, o)]
        if None in ids:
            return []
        t = self.table
        return [{"graph": self.graphs.name(t.g[i]), "score": float(t.score[i]),
                 "source": self.describe_source(t.src[i])} for i in sorted(t.rows_of(*ids))]


__all__ = ["LEGACY_ASSERTED", "GraphNames", "GraphReading"]
