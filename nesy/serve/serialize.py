"""SPARQL results as the negotiated format, with nesy's scores and proof links as an extension clients ignore.

The W3C formats come from :func:`nesy.store.results.write_results`. What the server adds:

- **SPARQL JSON**: one top-level member before ``results``,
  ``"nesy": {"scores": [s0, s1, ...], "proofs": [[link, ...], ...]}``: the score of
  ``results.bindings[i]`` and the links to the proofs of the derived triples that row
  matched (``/api/explain?atom=...``; an empty list when it matched none). Standard
  readers (SPARQLWrapper, rdflib, Oxigraph, Jena) skip unknown members.
- **SPARQL XML**: the attribute ``nesy:score`` of each ``<result>``.
- **CSV and TSV**: a ``score`` column only when the request asks (``scores=true``), since a
  plain CSV reader would take it for a variable.
- **CONSTRUCT / DESCRIBE**: Turtle, N-Triples, JSON-LD or RDF/XML, without scores (RDF has
  no place for them; ask for the triples as a SELECT to get scores).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pyoxigraph as ox
from rdflib import URIRef

from nesy.store.results import json_term, table_of, write_results
from nesy.store.terms import to_ox

#: Where a row's proof link points.
EXPLAIN_PATH = "/api/explain"
_OX_FORMATS = {"jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML}


def atom_text(kb: Any, s: Any, p: Any, o: Any) -> str:
    """A triple as a rule-language atom (``fam:parent(fam:ann, fam:bob)``), as ``kb.shorten`` writes terms."""
    return f"{kb.shorten(p)}({kb.shorten(s)}, {kb.shorten(o)})"


#: ASCII characters a URL query value keeps as they are (RFC 3986 unreserved); the rest as %XX.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPES = {code: f"%{code:02X}" for code in range(128) if chr(code) not in _UNRESERVED}


def quote(text: str) -> str:
    """``text`` percent-encoded for a URL query value (as ``urllib.parse.quote(text, safe="")``, faster)."""
    return text.translate(_ESCAPES) if text.isascii() else urllib.parse.quote(text, safe="")


class Linker:
    """Proof links of derived triples, each term shortened and quoted once per result
    (a result repeats its predicates and classes on every row)."""

    def __init__(self, kb: Any) -> None:
        self.kb = kb
        self._quoted: dict[Any, str] = {}

    def _term(self, term: Any) -> str:
        text = self._quoted.get(term)
        if text is None:
            # An IRI as <IRI> (what the rule parser reads back); other terms as kb.shorten writes them.
            written = f"<{term}>" if isinstance(term, URIRef) else self.kb.shorten(term)
            text = self._quoted[term] = quote(written)
        return text

    def link(self, s: Any, p: Any, o: Any) -> str:
        """The link to the proof of one derived triple (``/api/explain?atom=p(s, o)``)."""
        return f"{EXPLAIN_PATH}?atom={self._term(p)}%28{self._term(s)}%2C%20{self._term(o)}%29"

    def row(self, row: Any) -> list[str]:
        """Proof links of the derived (``inferred``) triples one SELECT row matched."""
        return [self.link(s, p, o) for s, p, o, graph in row.matched if graph == "inferred"]


def select_json(kb: Any, result: Any, *, proofs: bool) -> str:
    """A SELECT result as SPARQL 1.1 JSON with the ``nesy`` member (scores, and proof links
    when ``proofs``) before ``results``."""
    table = table_of(result)
    extension: dict[str, Any] = {"scores": table.scores}
    if proofs:
        linker = Linker(kb)
        extension["proofs"] = [linker.row(row) for row in result.rows]
    doc = {"head": {"vars": table.variables}, "nesy": extension,
           "results": {"bindings": [{v: json_term(t) for v, t in row.items() if v in table.variables}
                                    for row in table.rows]}}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def triples_text(triples: list[Any], fmt: str, prefixes: dict[str, str] | None = None) -> str:
    """Oxigraph triples in an RDF format (``turtle``, ``ntriples``, ``jsonld``, ``rdfxml``)."""
    if fmt == "turtle":
        return ox.serialize(triples, format=ox.RdfFormat.TURTLE, **({"prefixes": prefixes} if prefixes else {})
                            ).decode("utf-8")
    return ox.serialize(triples, format=_OX_FORMATS.get(fmt, ox.RdfFormat.N_TRIPLES)).decode("utf-8")


def graph_text(kb: Any, result: Any, fmt: str) -> str:
    """The triples of a CONSTRUCT or DESCRIBE result in an RDF format."""
    if fmt in _OX_FORMATS:
        return triples_text([ox.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o, _ in result.triples], fmt)
    return write_results(result, fmt, prefixes=kb.prefixes)


def result_text(kb: Any, result: Any, fmt: str, *, scores: bool, proofs: bool, csv_scores: bool) -> str:
    """``result`` (a :class:`~nesy.store.sparql.SparqlResult`) written as ``fmt``.

    Args:
        scores: Add the scores in JSON and XML (the ``nesy`` member, the ``nesy:score`` attribute).
        proofs: Add the proof links in JSON (with ``scores``).
        csv_scores: Add the ``score`` column in CSV and TSV.
    """
    if result.form in ("CONSTRUCT", "DESCRIBE"):
        return graph_text(kb, result, fmt)
    if fmt == "sparql-json" and result.form == "SELECT" and scores:
        return select_json(kb, result, proofs=proofs)
    if fmt in ("csv", "tsv"):
        return write_results(result, fmt, scores=csv_scores)
    return write_results(result, fmt, scores=scores)


__all__ = ["EXPLAIN_PATH", "Linker", "atom_text", "graph_text", "quote", "result_text", "select_json", "triples_text"]
