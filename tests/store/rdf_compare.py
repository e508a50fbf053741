"""Comparing RDF graphs in the W3C suites' way."""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import Graph, Literal
from rdflib.term import Node


def lower_langs(triples: Iterable[tuple[Node, Node, Node]]) -> Graph:
    """An rdflib graph of ``triples`` with language tags lower-cased: they are
    case-insensitive (RDF 1.1 §3.3), and parsers differ in the case they keep."""
    g = Graph()
    for s, p, o in triples:
        if isinstance(o, Literal) and o.language:
            o = Literal(str(o), lang=o.language.lower())
        g.add((s, p, o))
    return g
