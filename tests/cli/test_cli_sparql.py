"""``nesy query`` with SPARQL as a subprocess: LUBM query files as shipped, W3C result formats read back, base IRIs, exact terms."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.query import Result

ROOT = Path(__file__).resolve().parents[2]
NESY = [sys.executable, "-m", "nesy"]
UB = "http://www.lehigh.edu/~zhp2/2004/0401/univ-bench.owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
#: The published answer counts of the 14 LUBM queries on LUBM(1) (also in benchmarks/owl.py).
LUBM_REFERENCE_ROWS = {
    "q1": 4, "q2": 0, "q3": 6, "q4": 34, "q5": 719, "q6": 7790, "q7": 67,
    "q8": 7790, "q9": 208, "q10": 4, "q11": 224, "q12": 15, "q13": 1, "q14": 5916,
}
DATA = """@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:ann ex:knows ex:bob ; ex:age "01"^^xsd:integer ; ex:height "1E0"^^xsd:float ;
    ex:name "Ann, \\"the first\\"\\tA."@en .
ex:bob ex:knows ex:cid ; ex:name "Bob" .
ex:cid ex:service ex:ann .
"""


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NESY, *args], capture_output=True, text=True, timeout=300, input=stdin)


def ok(*args: str, stdin: str | None = None) -> str:
    out = run(*args, stdin=stdin)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    return out.stdout


def _lubm() -> Path:
    return Path(os.environ.get("NESY_DATA", ROOT.parent / "shared" / "data")) / "owl" / "lubm"


@pytest.fixture(scope="module")
def lubm_kb(tmp_path_factory: pytest.TempPathFactory) -> str:
    """LUBM(1) (15 data files, about 100,000 triples) with the OWL 2 RL closure of univ-bench."""
    lubm = _lubm()
    files = sorted(str(p) for p in (lubm / "lubm1").glob("University0_*.owl"))
    if len(files) != 15 or not (lubm / "univ-bench.ttl").is_file():
        pytest.skip(f"LUBM(1) not found under {lubm} (set NESY_DATA)")
    kb = str(tmp_path_factory.mktemp("lubm") / "kb")
    ok("init", kb)
    ok("load", kb, *files)
    ok("load", kb, "--ontology", str(lubm / "univ-bench.ttl"))
    return kb


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("small")
    (tmp / "data.ttl").write_text(DATA, encoding="utf-8")
    kb = str(tmp / "kb")
    ok("init", kb)
    ok("load", kb, str(tmp / "data.ttl"))
    return kb


@pytest.mark.parametrize("name", sorted(LUBM_REFERENCE_ROWS, key=lambda q: int(q[1:])))
def test_lubm_query_files_as_shipped_give_the_reference_answers(lubm_kb: str, name: str) -> None:
    text = (_lubm() / "queries" / f"{name}.rq").read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), "the shipped files begin with comments"
    rows = list(csv.reader(io.StringIO(ok("query", lubm_kb, text, "--format", "csv", "--no-scores"))))
    assert len(rows) - 1 == LUBM_REFERENCE_ROWS[name], f"{name}: {len(rows) - 1} rows"


def test_lubm_q1_names_the_graduate_students_and_reads_from_standard_input(lubm_kb: str) -> None:
    text = (_lubm() / "queries" / "q1.rq").read_text(encoding="utf-8")
    out = ok("query", lubm_kb, "-", "--format", "tsv", stdin=text)
    parsed = ox.parse_query_results(out, format=ox.QueryResultsFormat.TSV)
    assert [v.value for v in parsed.variables] == ["X", "score"]
    found = sorted(row["X"].value for row in parsed)
    assert len(found) == 4 and all("GraduateStudent" in x for x in found), found


def test_sparql_json_reads_back_with_rdflib(lubm_kb: str) -> None:
    text = (_lubm() / "queries" / "q3.rq").read_text(encoding="utf-8")
    out = ok("query", lubm_kb, text, "--format", "sparql-json")
    result = Result.parse(io.StringIO(out), format="json")
    assert [str(v) for v in result.vars] == ["X"]
    rows = [row[0] for row in result]
    assert len(rows) == 6 and all(isinstance(x, URIRef) and "Publication" in x for x in rows), rows
    assert json.loads(out)["nesy"]["scores"] == [1.0] * 6  # the documented extension member


def test_every_results_format_reads_back_as_the_same_rows(small_kb: str) -> None:
    query = 'PREFIX ex: <http://example.org/> SELECT ?s ?name ?b WHERE { ?s ex:name ?name OPTIONAL { ?s ex:knows ?b } }'
    expected = {(URIRef("http://example.org/ann"), Literal('Ann, "the first"\tA.', lang="en"),
                 URIRef("http://example.org/bob")),
                (URIRef("http://example.org/bob"), Literal("Bob"), URIRef("http://example.org/cid"))}
    for fmt, parser in (("sparql-json", "json"), ("sparql-xml", "xml"), ("tsv", "tsv")):
        out = ok("query", small_kb, query, "--format", fmt)
        rows = {tuple(r)[:3] for r in Result.parse(io.StringIO(out), format=parser)}
        assert rows == expected, fmt
        ox_format = {"sparql-json": ox.QueryResultsFormat.JSON, "sparql-xml": ox.QueryResultsFormat.XML,
                     "tsv": ox.QueryResultsFormat.TSV}[fmt]
        assert len(list(ox.parse_query_results(out, format=ox_format))) == 2, fmt
    out = ok("query", small_kb, query, "--format", "csv")
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["s", "name", "b", "score"]
    assert sorted(table[1:]) == [["http://example.org/ann", 'Ann, "the first"\tA.', "http://example.org/bob", "1.0"],
                                 ["http://example.org/bob", "Bob", "http://example.org/cid", "1.0"]]
    assert "nesy:score=\"1.0\"" in ok("query", small_kb, query, "--format", "sparql-xml")
    assert "score" not in ok("query", small_kb, query, "--format", "sparql-json", "--no-scores")


def test_one_line_prologue_and_a_variable_named_service(small_kb: str) -> None:
    out = ok("query", small_kb, "PREFIX ex: <http://example.org/> SELECT ?s WHERE { ?s ex:knows ?o }",
             "--format", "csv", "--no-scores")
    assert sorted(out.split()) == ["http://example.org/ann", "http://example.org/bob", "s"]
    out = ok("query", small_kb, "SELECT ?service WHERE { ?service <http://example.org/service> ?o }",
             "--format", "csv", "--no-scores")
    assert out.split() == ["service", "http://example.org/cid"]
    refused = run("query", small_kb, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    assert refused.returncode == 1 and "SERVICE is disabled" in refused.stderr


def test_literals_come_back_as_the_file_wrote_them(small_kb: str) -> None:
    """A stored literal comes back in the lexical form of the file it was loaded from:
    ``"01"^^xsd:integer`` and ``"1E0"^^xsd:float``, which Oxigraph (plain pyoxigraph too)
    keeps and returns as ``"1"``; not re-normalised by rdflib either (it writes ``"1.0"``).
    A computed value has Oxigraph's form: ``?age + 0`` is ``"1"``, ``TIMEZONE()`` of a UTC
    time ``"PT0S"`` (rdflib: ``"P0D"``)."""
    query = ('PREFIX ex: <http://example.org/> SELECT ?age ?height ?tz ?sum WHERE { ex:ann ex:age ?age ; '
             'ex:height ?height FILTER(?age = 1) BIND(TIMEZONE("2011-01-10T14:45:13Z"^^xsd:dateTime) AS ?tz) '
             'BIND(?age + 0 AS ?sum) }')
    [row] = json.loads(ok("query", small_kb, query, "--format", "sparql-json"))["results"]["bindings"]
    got = {k: (v["value"], v["datatype"]) for k, v in row.items()}
    assert got == {"age": ("01", XSD + "integer"), "height": ("1E0", XSD + "float"),
                   "tz": ("PT0S", XSD + "dayTimeDuration"), "sum": ("1", XSD + "integer")}
    plain = ox.Store()
    plain.load(DATA, format=ox.RdfFormat.TURTLE)
    [sol] = list(plain.query(query.replace("SELECT", f"PREFIX xsd: <{XSD}> SELECT", 1)))
    assert (sol["age"].value, sol["height"].value) == ("1", "1")  # what nesy gave before
    construct = ok("query", small_kb, "PREFIX ex: <http://example.org/> CONSTRUCT { ?s ex:age ?a } "
                   "WHERE { ?s ex:age ?a }", "--format", "ntriples")
    assert f'"01"^^<{XSD}integer>' in construct


def test_relative_iris_resolve_against_base(small_kb: str) -> None:
    query = "SELECT ?o WHERE { <ann> <knows> ?o }"
    out = ok("query", small_kb, query, "--base", "http://example.org/", "--format", "csv", "--no-scores")
    assert out.split() == ["o", "http://example.org/bob"]
    missing = run("query", small_kb, query)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "relative IRI <ann> needs a base IRI" in missing.stderr and "--base" in missing.stderr
    assert "1:19" in missing.stderr  # where the relative IRI is
    bad = run("query", small_kb, query, "--base", "not a base")
    assert bad.returncode == 1 and "not an absolute IRI" in bad.stderr


def test_construct_as_turtle_and_ntriples(small_kb: str) -> None:
    query = "PREFIX ex: <http://example.org/> CONSTRUCT { ?b ex:knownBy ?a } WHERE { ?a ex:knows ?b }"
    expected = Graph().parse(data="@prefix ex: <http://example.org/> . ex:bob ex:knownBy ex:ann . "
                                  "ex:cid ex:knownBy ex:bob .", format="turtle")
    turtle = ok("query", small_kb, query, "--format", "turtle")
    assert "@prefix ex: <http://example.org/>" in turtle
    assert isomorphic(Graph().parse(data=turtle, format="turtle"), expected)
    assert isomorphic(Graph().parse(data=ok("query", small_kb, query, "--format", "ntriples"), format="nt"), expected)
    wrong = run("query", small_kb, "SELECT * WHERE { ?s ?p ?o }", "--format", "turtle")
    assert wrong.returncode == 1 and "CONSTRUCT and DESCRIBE" in wrong.stderr


def test_ask_and_rule_answers_in_w3c_formats(small_kb: str) -> None:
    assert ok("query", small_kb, "ASK { ?s ?p ?o }", "--format", "sparql-json").strip() == \
        '{"head": {}, "boolean": true}'
    out = ok("query", small_kb, "?- <http://example.org/knows>(X, Y).", "--format", "sparql-json")
    result = Result.parse(io.StringIO(out), format="json")
    assert len(list(result)) == 2 and [str(v) for v in result.vars] == ["X", "Y"]
