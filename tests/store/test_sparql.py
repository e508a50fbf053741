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
