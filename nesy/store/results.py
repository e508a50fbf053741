"""Query results in the W3C formats (SPARQL JSON, XML, CSV, TSV) and as RDF (Turtle, N-Triples), with nesy's scores.

What each format holds (``docs/sparql.md`` has examples):

- ``sparql-json``: `SPARQL 1.1 Query Results JSON <https://www.w3.org/TR/sparql11-results-json/>`_.
  Scores go in one extension member at the top level, ``"nesy": {"scores": [...]}``, the
  score of ``results.bindings[i]`` at position ``i``, written before ``results`` (rdflib's
  and Oxigraph's readers ignore it there; Oxigraph's refuses members after the bindings).
- ``sparql-xml``: `SPARQL Query Results XML <https://www.w3.org/TR/rdf-sparql-XMLres/>`_.
  A row's score is the attribute ``nesy:score`` of its ``<result>`` element (namespace
  ``https://w3id.org/nesy#``), which readers that do not know it ignore.
- ``csv`` and ``tsv``: `SPARQL 1.1 Query Results CSV and TSV <https://www.w3.org/TR/sparql11-results-csv-tsv/>`_,
  with one more column, ``score`` (``score_`` when a variable is already called ``score``):
  a plain number in CSV, an ``xsd:double`` (``0.8E0``) in TSV.
- ``turtle`` and ``ntriples``: the triples of a CONSTRUCT or DESCRIBE result (no scores:
  RDF has no place for them; use a results format for those).

``scores=False`` leaves the scores out (plain W3C files). ASK gives the boolean (``true``
or ``false`` alone in CSV and TSV, as Oxigraph writes it). A CONSTRUCT or DESCRIBE result
written in a results format is a table of the variables ``subject``, ``predicate`` and
``object``. Terms are written exactly as the result holds them (see
:func:`nesy.store.terms.exact_from_ox`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from nesy.errors import QueryError
from nesy.namespaces import NESY_NS
from nesy.store.terms import to_ox

#: Formats of SELECT and ASK results (and CONSTRUCT/DESCRIBE as a three-column table).
RESULT_FORMATS = ("sparql-json", "sparql-xml", "csv", "tsv")
#: Formats of CONSTRUCT and DESCRIBE results.
GRAPH_FORMATS = ("turtle", "ntriples")
#: Every format :func:`write_results` writes.
FORMATS = RESULT_FORMATS + GRAPH_FORMATS

SPARQL_RESULTS_NS = "http://www.w3.org/2005/sparql-results#"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
GRAPH_VARIABLES = ["subject", "predicate", "object"]


@dataclass
class Table:
    """A result as the formats see it: variables, rows of Oxigraph terms, scores, or a boolean."""

    variables: list[str]
    rows: list[dict[str, Any]]
    scores: list[float]
    boolean: bool | None = None
    graph: bool = False


def table_of(result: Any) -> Table:
    """The :class:`Table` of a :class:`~nesy.store.sparql.SparqlResult` or of rule answers
    (a list of :class:`~nesy.engine.answers.Answer`: its variables, scores, no proofs)."""
    form = getattr(result, "form", "SELECT")
    if form == "ASK":
        return Table([], [], [], boolean=bool(result.boolean))
    if form in ("CONSTRUCT", "DESCRIBE"):
        rows = [dict(zip(GRAPH_VARIABLES, (to_ox(s), to_ox(p), to_ox(o)))) for s, p, o, _ in result.triples]
        return Table(list(GRAPH_VARIABLES), rows, [t[3] for t in result.triples], graph=True)
    items = list(result.rows if hasattr(result, "rows") else result)
    variables = list(result.variables) if hasattr(result, "variables") else (list(items[0].bindings) if items else [])
    rows = [{v: to_ox(t) for v, t in a.bindings.items()} for a in items]
    return Table(variables, rows, [float(a.score) for a in items])


def write_results(result: Any, fmt: str, *, scores: bool = True, prefixes: dict[str, str] | None = None) -> str:
    """``result`` (a SPARQL result or rule answers) written in ``fmt`` (one of :data:`FORMATS`).

    Args:
        result: What :meth:`KnowledgeBase.sparql` or :meth:`KnowledgeBase.ask` returned.
        fmt: ``sparql-json``, ``sparql-xml``, ``csv``, ``tsv``, ``turtle`` or ``ntriples``.
        scores: Add the rows' scores (see the module docstring for where).
        prefixes: Prefixes for Turtle.

    Raises:
        QueryError: an unknown format, or an RDF format for a result that has no triples.
    """
    if fmt not in FORMATS:
        raise QueryError(f"unknown result format {fmt!r}; the formats are {', '.join(FORMATS)}")
    table = table_of(result)
    if fmt in GRAPH_FORMATS:
        if not table.graph:
            raise QueryError(f"{fmt} writes the triples of CONSTRUCT and DESCRIBE results; for SELECT, ASK "
                             f"and rule answers use {', '.join(RESULT_FORMATS)}")
        triples = [ox.Triple(r["subject"], r["predicate"], r["object"]) for r in table.rows]
        rdf = ox.RdfFormat.TURTLE if fmt == "turtle" else ox.RdfFormat.N_TRIPLES
        extra = {"prefixes": prefixes} if fmt == "turtle" and prefixes else {}
        return ox.serialize(triples, format=rdf, **extra).decode("utf-8")
    writer = {"sparql-json": to_json, "sparql-xml": to_xml, "csv": to_csv, "tsv": to_tsv}[fmt]
    return writer(table, scores=scores)


def score_column(variables: list[str]) -> str:
    """The name of the extra score column: ``score``, or with ``_`` added until no variable has it."""
    name = "score"
    while name in variables:
        name += "_"
    return name


# -- JSON -------------------------------------------------------------------------------
def json_term(term: Any) -> dict[str, Any]:
    """One RDF term in the SPARQL JSON results shape."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": json_term(term.subject),
                                            "predicate": json_term(term.predicate),
                                            "object": json_term(term.object)}}
    out: dict[str, Any] = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        out["datatype"] = term.datatype.value
    return out


def to_json(table: Table, *, scores: bool = True) -> str:
    """SPARQL 1.1 Query Results JSON, scores in the top-level member ``nesy.scores``."""
    if table.boolean is not None:
        return json.dumps({"head": {}, "boolean": table.boolean}, ensure_ascii=False) + "\n"
    doc: dict[str, Any] = {"head": {"vars": table.variables}}
    if scores:
        # Before "results": Oxigraph's streaming reader refuses members after the bindings.
        doc["nesy"] = {"scores": table.scores}
    doc["results"] = {"bindings": [{v: json_term(t) for v, t in row.items() if v in table.variables}
                                   for row in table.rows]}
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


# -- XML --------------------------------------------------------------------------------
def _xml_term(term: Any) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        parts = "".join(f"<{part}>{_xml_term(getattr(term, part))}</{part}>"
                        for part in ("subject", "predicate", "object"))
        return f"<triple>{parts}</triple>"
    if term.language:
        attr = f" xml:lang={quoteattr(term.language)}"
    elif term.datatype.value != XSD_STRING:
        attr = f" datatype={quoteattr(term.datatype.value)}"
    else:
        attr = ""
    return f"<literal{attr}>{escape(term.value)}</literal>"


def to_xml(table: Table, *, scores: bool = True) -> str:
    """SPARQL Query Results XML, a row's score in the attribute ``nesy:score`` of ``<result>``."""
    nesy = f" xmlns:nesy={quoteattr(NESY_NS)}" if scores and table.boolean is None else ""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sparql xmlns="{SPARQL_RESULTS_NS}"{nesy}>']
    if table.boolean is not None:
        out += ["<head/>", f"<boolean>{'true' if table.boolean else 'false'}</boolean>", "</sparql>"]
        return "\n".join(out) + "\n"
    out.append("<head>" + "".join(f"<variable name={quoteattr(v)}/>" for v in table.variables) + "</head>")
    out.append("<results>")
    for row, score in zip(table.rows, table.scores):
        attr = f' nesy:score="{float(score)!r}"' if scores else ""
        bindings = "".join(f"<binding name={quoteattr(v)}>{_xml_term(row[v])}</binding>"
                           for v in table.variables if row.get(v) is not None)
        out.append(f"<result{attr}>{bindings}</result>")
    out += ["</results>", "</sparql>"]
    return "\n".join(out) + "\n"


# -- CSV and TSV ------------------------------------------------------------------------
def csv_value(term: Any) -> str:
    """A term as the CSV format writes it: IRIs and literals by their text, blank nodes as ``_:label``."""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Triple):
        return tsv_value(term)
    return str(term.value)


def tsv_value(term: Any) -> str:
    """A term as the TSV format writes it: in SPARQL/Turtle syntax (N-Triples escapes, so no tab or newline)."""
    if isinstance(term, ox.Triple):
        return f"<<( {tsv_value(term.subject)} {tsv_value(term.predicate)} {tsv_value(term.object)} )>>"
    return str(term)


def _double(score: float) -> str:
    text = repr(float(score))
    return text if "e" in text or "E" in text else text + "E0"


def to_csv(table: Table, *, scores: bool = True) -> str:
    """SPARQL 1.1 CSV (RFC 4180, CRLF line ends), with a ``score`` column."""
    if table.boolean is not None:
        return ("true" if table.boolean else "false") + "\r\n"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(table.variables + ([score_column(table.variables)] if scores else []))
    for row, score in zip(table.rows, table.scores):
        cells = ["" if row.get(v) is None else csv_value(row[v]) for v in table.variables]
        w.writerow(cells + ([repr(float(score))] if scores else []))
    return buf.getvalue()


def to_tsv(table: Table, *, scores: bool = True) -> str:
    """SPARQL 1.1 TSV, with a ``?score`` column of ``xsd:double`` values."""
    if table.boolean is not None:
        return ("true" if table.boolean else "false") + "\n"
    names = table.variables + ([score_column(table.variables)] if scores else [])
    lines = ["\t".join(f"?{n}" for n in names)]
    for row, score in zip(table.rows, table.scores):
        cells = ["" if row.get(v) is None else tsv_value(row[v]) for v in table.variables]
        lines.append("\t".join(cells + ([_double(score)] if scores else [])))
    return "\n".join(lines) + "\n"


__all__ = ["FORMATS", "GRAPH_FORMATS", "RESULT_FORMATS", "Table", "json_term", "score_column", "table_of",
           "to_csv", "to_json", "to_tsv", "to_xml", "write_results"]
