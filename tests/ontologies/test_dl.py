"""The owlready2 bridge: HermiT/Pellet classification as dl-reasoner facts, OWL/XML input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nesy
from nesy.errors import NesyError

owlready2 = pytest.importorskip("owlready2")

EX = "http://e.org/uni#"
# Needs OWL 2 DL beyond RL: an existential on the right of an equivalence
# (Teacher == Person and some teaches Course) classifies ann as a Teacher.
TBOX = f"""@prefix ex: <{EX}> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Person a owl:Class . ex:Course a owl:Class . ex:teaches a owl:ObjectProperty .
ex:Teacher a owl:Class ; owl:equivalentClass [ a owl:Class ; owl:intersectionOf (
    ex:Person [ a owl:Restriction ; owl:onProperty ex:teaches ; owl:someValuesFrom ex:Course ] ) ] .
ex:ann a ex:Person, owl:NamedIndividual ; ex:teaches ex:logic .
ex:logic a ex:Course, owl:NamedIndividual .
"""
OWLXML = f"""<?xml version="1.0"?>
<Ontology xmlns="http://www.w3.org/2002/07/owl#" ontologyIRI="http://e.org/uni">
  <Declaration><Class IRI="{EX}Student"/></Declaration>
  <Declaration><Class IRI="{EX}Person"/></Declaration>
  <SubClassOf><Class IRI="{EX}Student"/><Class IRI="{EX}Person"/></SubClassOf>
  <ClassAssertion><Class IRI="{EX}Student"/><NamedIndividual IRI="{EX}bob"/></ClassAssertion>
</Ontology>
"""


@pytest.fixture
def uni(tmp_path: Path) -> Path:
    path = tmp_path / "uni.ttl"
    path.write_text(TBOX, encoding="utf-8")
    return path


def test_hermit_entailment_is_a_dl_reasoner_fact_with_a_proof(uni: Path) -> None:
    kb = nesy.KnowledgeBase()
    kb.load(uni)
    assert not kb.ask(f"?- rdf:type(<{EX}ann>, <{EX}Teacher>).")  # no rule draws it
    report = kb.classify("hermit")
    assert report["consistent"] and report["added"] >= 1 and report["unsatisfiable"] == []
    [answer] = kb.ask(f"?- rdf:type(<{EX}ann>, <{EX}Teacher>).")
    assert answer.proof.kind == "dl-reasoner"
    assert "HermiT" in str(answer.proof)
    assert kb.stats()["graphs"]["dl-reasoner"] == report["added"]
    again = kb.classify("hermit")  # idempotent: nothing new the second time
    assert again["added"] == 0


def test_pellet_and_unsatisfiable_classes(tmp_path: Path, uni: Path) -> None:
    extra = tmp_path / "unsat.ttl"
    extra.write_text(f"""@prefix ex: <{EX}> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Robot a owl:Class ; owl:disjointWith ex:Person . ex:Android a owl:Class ;
    rdfs:subClassOf ex:Robot, ex:Person .
""", encoding="utf-8")
    kb = nesy.KnowledgeBase()
    kb.load(uni)
    kb.load(extra)
    report = kb.classify("pellet")
    assert report["consistent"] and report["unsatisfiable"] == [f"{EX}Android"]
    assert kb.ask(f"?- rdf:type(<{EX}ann>, <{EX}Teacher>).")


def test_inconsistent_kb_stores_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(f"""@prefix ex: <{EX}> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
ex:A a owl:Class ; owl:disjointWith ex:B . ex:B a owl:Class .
ex:x a ex:A, ex:B, owl:NamedIndividual .
""", encoding="utf-8")
    kb = nesy.KnowledgeBase()
    kb.load(bad)
    before = len(kb)
    report = kb.classify("hermit")
    assert report["consistent"] is False and report["added"] == 0 and len(kb) == before


def test_missing_java_is_a_clear_message(uni: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(owlready2, "JAVA_EXE", "/nonexistent/java")
    kb = nesy.KnowledgeBase()
    kb.load(uni)
    with pytest.raises(NesyError, match="Java 17"):
        kb.classify("hermit")
    with pytest.raises(NesyError, match="unknown DL reasoner"):
        kb.classify("fact++")


def test_owlxml_loads_through_owlready2(tmp_path: Path) -> None:
    path = tmp_path / "uni.owl"
    path.write_text(OWLXML, encoding="utf-8")
    kb = nesy.KnowledgeBase()
    report = kb.load(path)
    assert report.format == "owlxml"
    assert kb.ask(f"?- rdfs:subClassOf(<{EX}Student>, <{EX}Person>).")
    info = kb.load_ontology(path)  # and the RL pack reasons over it
    assert info["violations"] == 0
    assert kb.ask(f"?- rdf:type(<{EX}bob>, <{EX}Person>).")


def test_bad_owlxml_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.owl"
    path.write_text('<?xml version="1.0"?>\n<Ontology xmlns="http://www.w3.org/2002/07/owl#">\n<SubClassOf>',
                    encoding="utf-8")
    kb = nesy.KnowledgeBase()
    with pytest.raises(nesy.NesyError, match="bad.owl"):
        kb.load(path)
    assert len(kb) == 0


def test_cli_classify(uni: Path, tmp_path: Path) -> None:
    kb = str(tmp_path / "kb")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True, timeout=300)

    assert run("init", kb).returncode == 0
    assert run("load", kb, str(uni)).returncode == 0
    done = run("classify", kb, "--reasoner", "hermit")
    assert done.returncode == 0, done.stderr
    assert "new triples in the dl-reasoner graph" in done.stdout
    out = run("query", kb, f"?- rdf:type(<{EX}ann>, <{EX}Teacher>).", "--explain")
    assert out.returncode == 0 and "dl-reasoner" in out.stdout
