"""Which Oxigraph graphs make up a SPARQL query's dataset: its default graph and its named graphs.

The one place that maps nesy's graphs (provenance kinds, and users' own named graphs) to
the graph names Oxigraph stores quads under; :mod:`nesy.store.sparql` asks it, never
:mod:`nesy.store.graphs` directly.

The dataset of a query (SPARQL 1.1 §13):

- **default graph**: the union of the provenance kinds ``asserted`` (Oxigraph's default
  graph), ``extracted``, ``inferred`` and ``dl-reasoner``, plus ``predicted`` on request;
  ``graph="inferred"`` (any one provenance kind, or one user graph's IRI) narrows it to that
  graph. Users' named graphs are not in it (they are named graphs, as SPARQL has them),
  unless the KB sets ``"union_default_graph": true`` (like Jena's unionDefaultGraph).
- **named graphs**: the users' graphs that exist, by their IRIs; ``GRAPH ?g`` ranges over
  them, never over nesy's provenance graphs.
- a query's own ``FROM`` / ``FROM NAMED`` clauses replace both (:func:`query_dataset`):
  ``FROM <g>`` names a user graph or ``urn:nesy:graph:<kind>`` for a provenance kind.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import pyoxigraph as ox

from nesy.errors import QueryError
from nesy.namespaces import GRAPH_NS
from nesy.store.graphs import GRAPH_CODE, GRAPHS, check_graph
from nesy.store.sparql_text import tokenize


def provenances(*, predicted: bool, graph: str | None) -> list[str]:
    """The provenance kinds a query reads: ``graph`` alone, or every kind but
    ``predicted`` unless ``predicted``."""
    return [graph] if graph else [g for g in GRAPHS if g != "predicted" or predicted]


def _default_codes(store: Any, *, predicted: bool, graph: str | None) -> list[int]:
    names = store.graphs
    if graph:
        code = names.find(graph)
        return [code] if code is not None else []
    codes = [GRAPH_CODE[n] for n in provenances(predicted=predicted, graph=None)]
    if store.union_default_graph:
        codes += names.user_codes()
    return codes


def default_graph(store: Any, *, predicted: bool, graph: str | None) -> list[Any]:
    """The Oxigraph graph names whose union is the query's default graph."""
    if graph and store.graphs.find(graph) is None:
        return [ox.NamedNode(check_graph(graph))]  # a user graph this KB does not have: empty
    return [store.graphs.target(c) for c in _default_codes(store, predicted=predicted, graph=graph)]


def named_graphs(store: Any) -> list[Any]:
    """The Oxigraph graph names a query's ``GRAPH`` clauses may see: the users' graphs that exist."""
    return [store.graphs.target(c) for c in store.graphs.user_codes()]


def scored_codes(store: Any, *, predicted: bool, graph: str | None) -> list[int]:
    """Graph codes of the table rows that score a query's results: those of the default
    graph and of the named graphs."""
    codes = _default_codes(store, predicted=predicted, graph=graph)
    return codes + [c for c in store.graphs.user_codes() if c not in codes]


def code_name(store: Any, code: int) -> str:
    """The name a result's ``matched`` entry reports for a table graph code (a provenance
    graph's name, or a user graph's IRI)."""
    return str(store.graphs.name(int(code)))


def query_dataset(store: Any, query: str, prefixes: dict[str, str] | None = None, *, predicted: bool = False,
                  graph: str | None = None) -> tuple[list[Any], list[Any]]:
    """``(default graph, named graphs)`` for ``query``: its own ``FROM`` / ``FROM NAMED``
    clauses when it has any (Oxigraph's query API would otherwise override them), else
    :func:`default_graph` and :func:`named_graphs`.

    Raises:
        QueryError: ``FROM NAMED`` naming the asserted data, which is the default graph.
    """
    clauses = dataset_clauses(query, prefixes or {})
    if clauses is None:
        return default_graph(store, predicted=predicted, graph=graph), named_graphs(store)
    froms, named = clauses
    names = store.graphs
    default = []
    for iri in froms:
        code = names.code_of_target(ox.NamedNode(iri))
        if iri == GRAPH_NS + "asserted":
            code = GRAPH_CODE["asserted"]
        default.append(names.target(code) if code is not None else ox.NamedNode(iri))
    out_named = []
    for iri in named:
        if iri == GRAPH_NS + "asserted" and names.asserted_default:
            raise QueryError(f"FROM NAMED <{iri}>: the asserted data is the default graph and cannot be a "
                             "named graph; use FROM <urn:nesy:graph:asserted>")
        out_named.append(ox.NamedNode(iri))
    return default, out_named


def dataset_clauses(query: str, prefixes: dict[str, str]) -> tuple[list[str], list[str]] | None:
    """The IRIs of a query's ``FROM`` and ``FROM NAMED`` clauses (``None`` when it has none,
    or when one cannot be read here: Oxigraph then reads them, and reports errors)."""
    tokens = tokenize(query, strict=False)
    known = dict(prefixes)
    base: str | None = None
    froms: list[str] = []
    named: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        word = tok.text.upper() if tok.kind == "word" else ""
        if word == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
            base = _iri(tokens[i + 1].text, base)
        elif word == "PREFIX" and i + 2 < len(tokens) and tokens[i + 1].kind == "pname" and tokens[i + 2].kind == "iri":
            known[tokens[i + 1].text[:-1]] = _iri(tokens[i + 2].text, base)
        elif word == "FROM":
            is_named = i + 1 < len(tokens) and tokens[i + 1].kind == "word" and tokens[i + 1].text.upper() == "NAMED"
            j = i + 2 if is_named else i + 1
            iri = expand(tokens[j].text, tokens[j].kind, known, base) if j < len(tokens) else None
            if iri is None:
                return None
            (named if is_named else froms).append(iri)
            i = j
        i += 1
    return (froms, named) if froms or named else None


def expand(text: str, kind: str, prefixes: dict[str, str], base: str | None) -> str | None:
    """The IRI an ``<iri>`` or ``prefix:local`` token stands for (``None``: not one, or an
    unknown prefix)."""
    if kind == "iri":
        return _iri(text, base)
    if kind == "pname":
        prefix, _, local = text.partition(":")
        ns = prefixes.get(prefix)
        if ns is None:
            return None
        return ns + _unescape_local(local)
    return None


def _iri(token: str, base: str | None) -> str:
    iri = token[1:-1]
    return urljoin(base, iri) if base and ":" not in iri.split("/")[0] else iri


def _unescape_local(local: str) -> str:
    out, k = [], 0
    while k < len(local):
        if local[k] == "\\" and k + 1 < len(local):
            out.append(local[k + 1])
            k += 2
        else:
            out.append(local[k])
            k += 1
    return "".join(out)


__all__ = ["code_name", "dataset_clauses", "default_graph", "expand", "named_graphs", "provenances",
           "query_dataset", "scored_codes"]
