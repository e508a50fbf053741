"""The provenance graphs: their names, their codes in the triple table, and their IRIs."""

from __future__ import annotations

from rdflib import URIRef

from nesy.errors import StoreError
from nesy.namespaces import GRAPH_NS

#: The provenance graphs, in code order (the ``g`` column of the triple table).
# Codes are positions: append new graphs at the end, so stored triple tables stay valid.
GRAPHS = ("asserted", "extracted", "inferred", "predicted", "dl-reasoner")
GRAPH_CODE = {name: i for i, name in enumerate(GRAPHS)}


def check_graph(name: str) -> str:
    """Validate a provenance-graph name, with a message listing the valid ones."""
    if name not in GRAPH_CODE:
        raise StoreError(f"unknown graph {name!r}; the graphs are {', '.join(GRAPHS)}")
    return name


def graph_iri(name: str) -> URIRef:
    """The IRI of provenance graph ``name`` (``urn:nesy:graph:asserted`` ...)."""
    return URIRef(GRAPH_NS + check_graph(name))


__all__ = ["GRAPHS", "GRAPH_CODE", "GRAPH_NS", "check_graph", "graph_iri"]
