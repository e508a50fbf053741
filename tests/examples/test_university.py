"""The university ontology example (examples/university/): OWL 2 RL entailments with W3C
rule names in their proofs, nesy rules on top of them, and an inconsistency."""

from __future__ import annotations

from pathlib import Path

import pytest

import nesy

UNI = Path(__file__).resolve().parents[2] / "examples" / "university"


@pytest.fixture(scope="module")
def uni_kb() -> nesy.KnowledgeBase:
    kb = nesy.KnowledgeBase()
    assert kb.load_ontology(UNI / "university.ttl")["violations"] == 0
    assert kb.load_ontology(UNI / "people.ttl")["violations"] == 0
    kb.add_rules(UNI / "university.rules")
    return kb


def answers(kb: nesy.KnowledgeBase, query: str, var: str = "X") -> dict[str, str | None]:
    """``{binding of var: label of the rule of its proof (None for a stored fact)}``."""
    return {kb.shorten(a.bindings[var]): a.proof.rule.label if a.proof.rule else None
            for a in kb.ask("?- " + query + ".")}


#: A label, None for a stored fact, or a set of labels where two derivations are equally
#: good (the proof shown is then one of them).
Expected = dict[str, "str | None | frozenset[str]"]
EITHER_DOM_SCO = frozenset({"prp-dom", "cax-sco"})


@pytest.mark.parametrize(("query", "expected"), [
    # owl:TransitiveProperty
    ("uni:subOrganizationOf(uni:aiLab, X)", {"uni:cs": None, "uni:engineering": "prp-trp", "uni:tech": "prp-trp"}),
    # owl:inverseOf, both directions
    ("uni:taughtBy(uni:db201, X)", {"uni:bob": "prp-inv2"}),
    ("uni:teaches(X, uni:ml301)", {"uni:frank": "prp-inv1"}),
    ("uni:advisedBy(uni:carol, X)", {"uni:alice": "prp-inv2"}),
    # owl:propertyChainAxiom (takesCourse o taughtBy)
    ("uni:hasTeacher(uni:carol, X)", {"uni:alice": "prp-spo2", "uni:bob": "prp-spo2"}),
    ("uni:hasTeacher(uni:dan, X)", {"uni:bob": "prp-spo2", "uni:frank": "prp-spo2"}),
    # rdfs:domain / rdfs:range / rdfs:subClassOf
    ("uni:Course(X)", {"uni:ai101": "prp-rng", "uni:db201": "prp-rng", "uni:ml301": "prp-rng"}),
    ("uni:GraduateStudent(X)", {"uni:carol": "prp-rng", "uni:erin": None, "uni:gina": None}),
    ("uni:Student(X)", {"uni:carol": EITHER_DOM_SCO, "uni:dan": "prp-dom", "uni:erin": "cax-sco",
                        "uni:gina": "cax-sco"}),
    ("uni:Faculty(X)", {"uni:alice": EITHER_DOM_SCO, "uni:bob": "prp-dom", "uni:frank": "prp-dom"}),
    ("uni:University(X)", {"uni:tech": None}),
])
def test_owl_entailments(uni_kb: nesy.KnowledgeBase, query: str, expected: Expected) -> None:
    got = answers(uni_kb, query)
    assert set(got) == set(expected)
    for who, label in expected.items():
        assert got[who] in label if isinstance(label, frozenset) else got[who] == label, (who, got[who])


def test_people_and_teachers(uni_kb: nesy.KnowledgeBase) -> None:
    assert set(answers(uni_kb, "uni:Person(X)")) == {"uni:alice", "uni:bob", "uni:carol", "uni:dan", "uni:erin", "uni:frank", "uni:gina"}
    # Teacher = teaches some Course (an equivalentClass to a someValuesFrom restriction)
    assert set(answers(uni_kb, "uni:Teacher(X)")) == {"uni:alice", "uni:bob", "uni:frank"}
    assert not answers(uni_kb, "uni:Course(X), uni:Person(X)")


def test_rules_on_top_of_owl(uni_kb: nesy.KnowledgeBase) -> None:
    # affiliatedWith needs the transitive closure of subOrganizationOf
    assert answers(uni_kb, "uni:affiliatedWith(X, uni:tech)") == dict.fromkeys(
        ["uni:alice", "uni:bob", "uni:carol", "uni:erin"], "affiliated")
    assert set(answers(uni_kb, "uni:colleague(uni:carol, X)")) == {"uni:alice"}
    loads = {uni_kb.shorten(a.bindings["X"]): int(a.bindings["N"]) for a in uni_kb.ask("?- uni:courseLoad(X, N).")}
    assert loads == {"uni:carol": 2, "uni:dan": 2, "uni:erin": 0, "uni:gina": 0}
    [sup] = uni_kb.ask("?- uni:supervisedBy(X, P).")
    assert (uni_kb.shorten(sup.bindings["X"]), uni_kb.shorten(sup.bindings["P"])) == ("uni:carol", "uni:alice")
    assert sup.score == pytest.approx(0.9)
    assert not uni_kb.violations()


def test_proofs_name_w3c_rules(uni_kb: nesy.KnowledgeBase) -> None:
    def rules_in(atom: str) -> str:
        return uni_kb.why(atom).to_text(uni_kb.prefixes)

    affiliated = rules_in("uni:affiliatedWith(uni:carol, uni:tech)")
    assert "rule affiliated" in affiliated and "rule prp-trp" in affiliated
    teacher = rules_in("uni:hasTeacher(uni:carol, uni:bob)")
    assert "rule prp-spo2" in teacher and "rule prp-inv2" in teacher
    assert "rule prp-inv1" in rules_in("uni:teaches(uni:frank, uni:ml301)")  # stated as taughtBy
    supervised = rules_in("uni:supervisedBy(uni:carol, uni:alice)")
    assert all(f"rule {r}" in supervised for r in ("supervisor", "prp-inv2", "prp-spo2"))
    gina = rules_in("uni:Person(uni:gina)")  # gina is known only as a GraduateStudent
    assert "rule cax-sco" in gina and "rule scm-sco" in gina  # GraduateStudent ⊑ Student ⊑ Person


def test_inconsistent_data_is_reported(tmp_path: Path) -> None:
    kb = nesy.KnowledgeBase()
    kb.load_ontology(UNI / "university.ttl")
    kb.load_ontology(UNI / "people.ttl")
    info = kb.load_ontology(UNI / "inconsistent.ttl")
    assert info["violations"] == 1
    [v] = kb.violations()
    assert v.rule.label == "cax-dw"
    assert {k: kb.shorten(x) for k, x in v.bindings.items()} == {
        "C1": "uni:Course", "C2": "uni:Person", "X": "uni:alice"}
    proof = v.proof.to_text(kb.prefixes)
    assert "rule prp-rng" in proof  # alice is a Course by the range of takesCourse
