"""SPARQL over the KB: rule-derived predicates, per-row confidence, explanations, safety."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nesy.errors import QueryError
from nesy.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
FAMILY = ROOT / "examples" / "family"


@pytest.fixture(scope="module")
def kb(family_kb: KnowledgeBase) -> KnowledgeBase:
    return family_kb


@pytest.mark.parametrize(
    ("rule_query", "sparql"),
    [
        ("?- fam:grandparent(X, Y).", "SELECT ?X ?Y WHERE { ?X fam:grandparent ?Y }"),
        ("?- fam:ancestor(fam:ann, Y).", "SELECT ?Y WHERE { fam:ann fam:ancestor ?Y }"),
        ("?- fam:livesIn(X, Y).", "SELECT ?X ?Y WHERE { ?X fam:livesIn ?Y }"),
        ("?- fam:Childless(X).", "SELECT ?X WHERE { ?X a fam:Childless }"),
        ("?- fam:ancestor(X, fam:eve), fam:Adult(X).", "SELECT ?X WHERE { ?X fam:ancestor fam:eve ; a fam:Adult }"),
    ],
)
def test_sparql_over_derived_predicates_equals_rule_query(kb: KnowledgeBase, rule_query: str, sparql: str) -> None:
    by_rules = {(tuple(sorted(a.bindings.items())), round(a.score, 9)) for a in kb.ask(rule_query)}
    by_sparql = {(tuple(sorted(r.bindings.items())), round(r.score, 9)) for r in kb.sparql(sparql).rows}
    assert by_sparql == by_rules and by_rules


def test_rows_explain_with_proofs_of_derived_triples(kb: KnowledgeBase) -> None:
    [row] = kb.sparql("SELECT ?c WHERE { fam:bob fam:livesIn ?c }").rows
    assert row.score == pytest.approx(0.8)
    [proof] = row.proofs
    assert proof.rule.label == "lives"
    assert kb.check_proof(proof).ok
    [asserted] = kb.sparql("SELECT ?c WHERE { fam:ann fam:livesIn ?c }").rows
    assert asserted.score == 1.0 and asserted.proofs == []


def test_other_forms_and_errors(kb: KnowledgeBase) -> None:
    assert kb.sparql("ASK { fam:ann fam:grandparent fam:cid }").boolean is True
    triples = kb.sparql("CONSTRUCT { ?a fam:gp ?b } WHERE { ?a fam:grandparent ?b }").triples
    assert len(triples) == 8
    with pytest.raises(QueryError, match="SERVICE is disabled"):
        kb.sparql("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
    with pytest.raises(QueryError, match="syntax error"):
        kb.sparql("SELECT * WHERE { ?s ?p }")
    with pytest.raises(QueryError, match="not a SPARQL query"):
        kb.sparql("INSERT DATA { <a:b> <a:c> <a:d> }")


def test_new_rules_are_visible_to_sparql_without_an_explicit_materialize(tmp_path: Path) -> None:
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.load(FAMILY / "family.ttl")
        kb.add_rules("@prefix fam: <http://example.org/family#> .\nfam:child(Y, X) :- fam:parent(X, Y).")
        assert len(kb.sparql("SELECT ?x WHERE { fam:cid fam:child ?x }").rows) == 2


def test_cli_query_json_has_score_and_proof_tree(tmp_path: Path) -> None:
    kb_dir = str(tmp_path / "kb")
    nesy = [sys.executable, "-m", "nesy"]
    subprocess.run([*nesy, "init", kb_dir], check=True, capture_output=True)
    subprocess.run([*nesy, "load", kb_dir, str(FAMILY / "family.ttl")], check=True, capture_output=True)
    subprocess.run([*nesy, "rules", kb_dir, str(FAMILY / "family.rules")], check=True, capture_output=True)
    out = subprocess.run([*nesy, "query", kb_dir, "?- fam:livesIn(X, fam:leeds).", "--format", "json", "--explain"],
                         check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)
    assert [r["bindings"]["X"] for r in rows] == ["fam:bea", "fam:bob"]
    for r in rows:
        assert 0 < r["score"] <= 1 and r["proof"]["kind"] in ("asserted", "derived")
    derived = rows[1]["proof"]
    assert derived["rule"]["label"] == "lives" and len(derived["premises"]) == 2
    out = subprocess.run([*nesy, "query", kb_dir, "SELECT ?x WHERE { ?x fam:livesIn fam:leeds }", "--format", "json",
                          "--explain"], check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)
    assert sorted(r["bindings"]["x"] for r in rows) == ["fam:bea", "fam:bob"]
    assert any(r["proofs"] and r["proofs"][0]["rule"]["label"] == "lives" for r in rows)


# -- exact terms, base IRIs, errors, result formats (issue 16) -------------------------
EXACT = """@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:a ex:f "1E0"^^xsd:float ; ex:d "2.50"^^xsd:decimal ; ex:s "x" ; ex:l "y"@en-GB .
"""


@pytest.fixture(scope="module")
def exact_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    path = tmp_path_factory.mktemp("exact") / "exact.ttl"
    path.write_text(EXACT, encoding="utf-8")
    kb = KnowledgeBase()
    kb.load(path, score=0.5)
    return kb


def test_result_terms_are_oxigraphs_not_renormalised(exact_kb: KnowledgeBase) -> None:
    import pyoxigraph as ox

    from nesy.store.terms import to_ox

    query = ("PREFIX ex: <http://example.org/> SELECT ?f ?d ?s ?l ?tz ?sum WHERE { ex:a ex:f ?f ; ex:d ?d ; ex:s ?s ; "
             'ex:l ?l BIND(TIMEZONE("2011-01-10T14:45:13Z"^^xsd:dateTime) AS ?tz) BIND(?d + 1 AS ?sum) }')
    [row] = exact_kb.sparql(query).rows
    plain = ox.Store()
    plain.load(EXACT, format=ox.RdfFormat.TURTLE)
    [sol] = plain.query(query, prefixes={"xsd": "http://www.w3.org/2001/XMLSchema#"})
    # Computed values and strings are Oxigraph's; stored literals come back as the file
    # wrote them, where plain pyoxigraph gives its canonical "1" and "2.5".
    assert {v: to_ox(t) for v, t in row.bindings.items() if v not in ("f", "d")} == \
        {v: sol[v] for v in row.bindings if v not in ("f", "d")}
    assert (sol["f"].value, sol["d"].value) == ("1", "2.5")
    assert str(row["f"]) == "1E0" and str(row["d"]) == "2.50"
    assert str(row["tz"]) == "PT0S" and str(row["sum"]) == "3.5"  # rdflib would write P0D
    # The stored triples are still found for the score, though the vocabulary keys on rdflib's forms.
    assert row.score == pytest.approx(0.5 ** 4) and len(row.matched) == 4


def test_base_iri_for_relative_iris(exact_kb: KnowledgeBase) -> None:
    rows = exact_kb.sparql("SELECT ?f WHERE { <a> <f> ?f }", base="http://example.org/").rows
    assert [str(r["f"]) for r in rows] == ["1E0"]
    assert exact_kb.sparql("BASE <http://example.org/> ASK { <a> <s> \"x\" }").boolean is True
    with pytest.raises(QueryError, match="relative IRI <f> needs a base IRI") as err:
        exact_kb.sparql("SELECT ?f WHERE {\n  ?a <f> ?f }")
    assert (err.value.line, err.value.column) == (2, 6)
    with pytest.raises(QueryError, match="not an absolute IRI"):
        exact_kb.sparql("ASK {}", base="relative/")


def test_query_form_comes_from_the_parser(exact_kb: KnowledgeBase) -> None:
    described = exact_kb.sparql("# what is known of a\nDESCRIBE <http://example.org/a>")
    assert described.form == "DESCRIBE" and len(described.triples) == 4
    assert exact_kb.sparql("PREFIX ex: <http://example.org/> ASK { ex:a ex:s 'x' }").form == "ASK"


def test_w3c_result_writers(exact_kb: KnowledgeBase) -> None:
    import io

    import pyoxigraph as ox
    from rdflib.query import Result

    from nesy.store.results import write_results

    result = exact_kb.sparql("PREFIX ex: <http://example.org/> SELECT ?score ?l WHERE { ex:a ex:f ?score ; ex:l ?l }")
    out = write_results(result, "csv")
    assert out == "score,l,score_\r\n1E0,y,0.25\r\n"  # RFC 4180 line ends; the extra column is renamed
    tsv = write_results(result, "tsv")
    assert tsv.splitlines() == ["?score\t?l\t?score_",
                                '"1E0"^^<http://www.w3.org/2001/XMLSchema#float>\t"y"@en-gb\t0.25E0']
    [sol] = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    assert sol["score_"] == ox.Literal("0.25E0", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#double"))
    xml = write_results(result, "sparql-xml")
    assert 'nesy:score="0.25"' in xml and 'xml:lang="en-gb"' in xml
    [(f, lang)] = Result.parse(io.StringIO(xml), format="xml")  # rdflib's reader normalises "1E0" to "1.0"
    assert f.datatype == result.rows[0]["score"].datatype and f.value == 1 and lang == result.rows[0]["l"]
    assert write_results(exact_kb.sparql("ASK {}"), "sparql-xml").count("<boolean>true</boolean>") == 1
    assert write_results(exact_kb.sparql("ASK {}"), "tsv") == "true\n"
    with pytest.raises(QueryError, match="CONSTRUCT and DESCRIBE"):
        write_results(result, "ntriples")
