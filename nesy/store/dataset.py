"""Which Oxigraph graphs make up a SPARQL query's dataset: its default graph and its named graphs.

The one place that maps nesy's graphs (provenance kinds, and users' own named graphs) to
the graph names Oxigraph stores quads under; :mod:`nesy.store.sparql` asks it, never
:mod:`nesy.store.graphs` directly.
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from nesy.store.graphs import GRAPH_CODE, GRAPHS, graph_iri


def provenances(*, predicted: bool, graph: str | None) -> list[str]:
    """The provenance kinds a query reads: ``graph`` alone, or every kind but
    ``predicted`` unless ``predicted``."""
    return [graph] if graph else [g for g in GRAPHS if g != "predicted" or predicted]


def default_graph(store: Any, *, predicted: bool, graph: str | None) -> list[Any]:
    """The Oxigraph graph names whose union is the query's default graph."""
    return [ox.NamedNode(str(graph_iri(n))) for n in provenances(predicted=predicted, graph=graph)]


def named_graphs(store: Any) -> list[Any]:
    """The Oxigraph graph names a query's ``GRAPH`` clauses may see (users' named graphs)."""
    return []


def scored_codes(store: Any, *, predicted: bool, graph: str | None) -> list[int]:
    """Graph codes of the table rows that score a query's results."""
    return [GRAPH_CODE[n] for n in provenances(predicted=predicted, graph=graph)]


def code_name(store: Any, code: int) -> str:
    """The name a result's ``matched`` entry reports for a table graph code."""
    return GRAPHS[int(code)]


__all__ = ["code_name", "default_graph", "named_graphs", "provenances", "scored_codes"]
