"""The rule file of DESIGN.md parses and runs on the family data."""

from __future__ import annotations

from pathlib import Path

import pytest

from nesy.errors import NoLinkPredictorError
from nesy.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
DESIGN_RULES = ROOT / "tests" / "rules" / "golden" / "design_example.rules"


def test_design_example_runs() -> None:
    kb = KnowledgeBase()
    kb.load(ROOT / "examples" / "family" / "family.ttl")
    program = kb.add_rules(DESIGN_RULES)
    assert len(program.rules) >= 9 and program.queries
    # Its own query, answered goal-directed (the neural rule is not needed for it).
    answers = kb.ask(program.queries[0])
    assert {kb.shorten(a.bindings["Who"]) for a in answers} == {"fam:cid", "fam:cora", "fam:dan"}
    for a in answers:
        assert kb.check_proof(a.proof).ok
    # Weighted facts, aggregates and arithmetic run too.
    kids = {kb.shorten(a.bindings["X"]): int(a.bindings["N"]) for a in kb.ask("?- fam:kids(X, N).")}
    assert kids["fam:ann"] == 2 and kids["fam:cid"] == 1 and "fam:dan" not in kids  # Person = has a child
    income = {kb.shorten(a.bindings["X"]): int(a.bindings["S"]) for a in kb.ask("?- fam:income(X, S).")}
    assert income["fam:bob"] == 41000 and income["fam:ann"] == 0  # sum over no job is 0
    # The neural atom ~fam:worksWith needs a link predictor: a clear error, not a crash.
    with pytest.raises(NoLinkPredictorError, match="no link predictor"):
        kb.ask("?- fam:colleague(fam:ann, Y).")
