"""Term conversion between Oxigraph (``pyoxigraph``) and rdflib."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Identifier

from nesy.errors import StoreError
from nesy.namespaces import TRIPLE_TERM

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


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
        if dt == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(dt))
    if isinstance(term, ox.Triple):
        # RDF 1.2 triple terms have no rdflib counterpart; keep them as their N-Triples text.
        return Literal(str(term), datatype=URIRef(TRIPLE_TERM))
    raise StoreError(f"unsupported RDF term {term!r}")


def to_ox(term: Identifier) -> Any:
    """An Oxigraph term for an rdflib term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.datatype is not None and str(term.datatype) == TRIPLE_TERM:
            return next(iter(ox.parse(f"<urn:s> <urn:p> {term} .", format=ox.RdfFormat.N_TRIPLES))).object
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise StoreError(f"unsupported RDF term {term!r}")


__all__ = ["from_ox", "to_ox"]
