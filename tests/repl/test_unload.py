"""The shell's :unload: list the rule sets, remove one, and what it derived goes with it."""

from __future__ import annotations

import sys
from pathlib import Path

from nesy.kb import KnowledgeBase

# pytest imports tests with --import-mode=importlib: the capture helper's folder goes on the path here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from session_capture import Captured  # noqa: E402

FAMILY = Path(__file__).resolve().parents[2] / "examples" / "family"


def test_unload_lists_and_removes_a_rule_set(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    s = Captured(kb)
    assert "no rule sets yet" in s.run(":unload")
    s.run(f":load {FAMILY / 'family.ttl'} {FAMILY / 'family.rules'}")
    s.run("@prefix fam: <http://example.org/family#> .")
    s.run("fam:elder(X) :- fam:grandparent(X, Y).")
    listing = s.run(":unload")
    assert "family: 10 rules, derived" in listing and "session-2: 1 rule, derived, typed" in listing
    assert "fam:abe" in s.run("?- fam:elder(X).")
    assert "removed rule set family: 10 rules, 0 facts" in s.run(":unload family")
    assert [r["name"] for r in kb.rule_sets()] == ["session", "session-2"]
    assert "fam:abe" not in s.run("?- fam:elder(X).")  # grandparent came from the removed set
    assert "no rule set named 'nope'" in s.run(":unload nope")
    kb.close()
