"""The graphs of a store: nesy's provenance graphs and users' named graphs, their names and codes.

The ``g`` column of the triple table holds a graph code. Codes ``0..4`` are nesy's
provenance graphs (:data:`GRAPHS`); a user's named graph (``kb.load(f, graph=IRI)``, a
graph of a TriG or N-Quads file, ``INSERT DATA { GRAPH <g> {...} }``) gets the next free
code, kept per store by :class:`~nesy.store.usergraphs.GraphNames`. Rows of a user's graph
have the provenance ``asserted``: which graph a triple is in (what users query by name) and
where it came from (what proofs show) are two separate things.
"""

from __future__ import annotations

import re

import pyoxigraph as ox
from rdflib import URIRef

from nesy.errors import StoreError
from nesy.namespaces import GRAPH_NS

#: The provenance graphs, in code order (the ``g`` column of the triple table).
# Codes are positions: append new graphs at the end, so stored triple tables stay valid.
GRAPHS = ("asserted", "extracted", "inferred", "predicted", "dl-reasoner")
GRAPH_CODE = {name: i for i, name in enumerate(GRAPHS)}
#: The first code of users' named graphs (every smaller code is a provenance graph).
USER_CODE_BASE = len(GRAPHS)

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def check_graph(name: str) -> str:
    """A provenance graph's name or a user's named graph (an absolute IRI), normalised.

    ``urn:nesy:graph:<kind>`` (nesy's own IRI of a provenance graph) gives ``<kind>``; any
    other IRI under ``urn:nesy:graph:`` is reserved.

    Raises:
        StoreError: neither a provenance graph nor an absolute IRI (the message lists both).
    """
    if name in GRAPH_CODE:
        return name
    if isinstance(name, str) and name.startswith(GRAPH_NS):
        kind = name[len(GRAPH_NS):]
        if kind in GRAPH_CODE:
            return kind
        raise StoreError(f"graph IRI {name} is reserved: IRIs under {GRAPH_NS} name nesy's own graphs "
                         f"({', '.join(GRAPHS)})")
    if isinstance(name, str) and _SCHEME.match(name):
        try:
            ox.NamedNode(name)
        except ValueError as exc:
            raise StoreError(f"graph {name!r} is not a valid IRI ({exc})") from None
        return name
    raise StoreError(f"unknown graph {name!r}; the graphs are {', '.join(GRAPHS)}, or a named graph's "
                     "absolute IRI (such as http://example.org/g1)")


def is_user_graph(name: str) -> bool:
    """Whether ``name`` (checked) is a user's named graph rather than a provenance graph."""
    return check_graph(name) not in GRAPH_CODE


def graph_iri(name: str) -> URIRef:
    """The IRI that names graph ``name``: ``urn:nesy:graph:<kind>`` for a provenance graph
    (how exports in quad formats label it), the IRI itself for a user's named graph."""
    name = check_graph(name)
    return URIRef(GRAPH_NS + name) if name in GRAPH_CODE else URIRef(name)


def kind_of(code: int) -> str:
    """The provenance kind of the rows with graph code ``code`` (``asserted`` for users' graphs)."""
    code = int(code)
    return GRAPHS[code] if code < USER_CODE_BASE else "asserted"


__all__ = ["GRAPHS", "GRAPH_CODE", "GRAPH_NS", "USER_CODE_BASE", "check_graph", "graph_iri", "is_user_graph",
           "kind_of"]
