"""LUBM: a proof of an OWL 2 RL entailment names the W3C rules along the way."""

from __future__ import annotations

from pathlib import Path

import nesy

UB = "http://www.lehigh.edu/~zhp2/2004/0401/univ-bench.owl#"


def test_graduate_student_is_a_student_by_w3c_rules(shared_data: Path) -> None:
    lubm = shared_data / "owl" / "lubm"
    kb = nesy.KnowledgeBase()
    kb.load_ontology(lubm / "univ-bench.ttl")
    kb.load(lubm / "lubm1" / "University0_0.owl")  # later data: reasoned over too
    student = "<http://www.Department0.University0.edu/GraduateStudent0>"
    assert kb.ask(f"?- <{UB}GraduateStudent>({student}).")
    proof = kb.why(f"<{UB}Student>({student})")
    rules = {n.rule.label for n in proof.walk() if n.rule is not None}
    # Student = Person and (takesCourse some Course): the intersection (cls-int1) of
    # GraduateStudent ⊑ Person (cax-sco) and the restriction, reached through
    # GraduateStudent ⊑ takesCourse some GraduateCourse ⊑ takesCourse some Course
    # (scm-svf1, scm-sco, cax-sco).
    assert {"cls-int1", "cax-sco", "scm-sco", "scm-svf1"} <= rules, rules
    assert proof.rule.label == "cls-int1"
    text = str(proof)
    assert "rule cls-int1" in text and "rule scm-svf1" in text and "University0_0.owl" in text
    assert kb.check_proof(proof)
