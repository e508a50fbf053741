"""The ``noisyor-rules`` semiring: noisy-or over the rules deriving a fact, each rule counted once
with its best derivation (``noisyor`` counts every derivation)."""

from __future__ import annotations

import pytest

import nesy

RULES = """@prefix : <http://t.org/> .
:p(:a, :b). :p(:a, :c). :q(:b, :d). :q(:c, :d). :s(:a, :d).
0.5 :: :r(X, Z) :- :p(X, Y), :q(Y, Z).
0.4 :: :r(X, Z) :- :s(X, Z).
"""


@pytest.mark.parametrize(("semiring", "expected"), [
    ("noisyor-rules", 1 - (1 - 0.5) * (1 - 0.4)),  # the chain rule counts once (two paths)
    ("noisyor", 1 - (1 - 0.5) ** 2 * (1 - 0.4)),  # every derivation counts
    ("maxprod", 0.5),
])
def test_rules_combine_once_each(semiring: str, expected: float) -> None:
    kb = nesy.KnowledgeBase(default_namespace="http://t.org/")
    kb.semiring = semiring
    kb.add_rules(RULES)
    [answer] = kb.ask("?- r(a, X).")
    assert answer.score == pytest.approx(expected)
    assert kb.check_proof(answer.proof)
