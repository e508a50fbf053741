"""Term conversion between Oxigraph (``pyoxigraph``) and rdflib.

Two directions from Oxigraph: :func:`from_ox` gives the term the vocabulary keys on
(rdflib's canonical form: ``"01"^^xsd:integer`` becomes ``"1"``, so the stored id table
and the rules see one term per value, as they always have), and :func:`exact_from_ox`
gives the term exactly as Oxigraph holds it (the lexical form as stored or computed), which
is what query results show.
"""

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


def exact_from_ox(term: Any) -> Identifier:
    """An rdflib term for an Oxigraph term with the literal's lexical form kept as it is
    (``"01"^^xsd:integer`` stays ``"01"``, ``"PT0S"^^xsd:dayTimeDuration`` stays ``"PT0S"``);
    ``to_ox`` of it gives the same Oxigraph term back."""
    if isinstance(term, ox.Literal) and not term.language:
        dt = term.datatype.value
        if dt != XSD_STRING:
            return Literal(term.value, datatype=URIRef(dt), normalize=False)
    return from_ox(term)


def vocab_key(term: Identifier) -> Identifier:
    """The form of an exact term the vocabulary knows it by (rdflib's canonical literal)."""
    if isinstance(term, Literal) and term.datatype is not None and str(term.datatype) != TRIPLE_TERM:
        return Literal(str(term), datatype=term.datatype)
    return term


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


__all__ = ["exact_from_ox", "from_ox", "to_ox", "vocab_key"]
