"""Semirings by name, their combinations, and stratification of compiled rules."""

from __future__ import annotations

import numpy as np
import pytest
from reasoner_dsl import EX, rule

from nesy.engine.compile import Compiler
from nesy.engine.semirings import SEMIRINGS, get_semiring
from nesy.engine.stratify import stratify
from nesy.errors import NesyError, StratificationError
from nesy.plugins.registry import default_registry
from nesy.store.vocab import Vocab


def test_registry_and_names() -> None:
    assert set(SEMIRINGS) == {"boolean", "maxprod", "noisyor", "noisyor-rules", "topk"}
    assert get_semiring("topk").k == 3 and get_semiring("topk:5").k == 5
    assert get_semiring("topk:5").name == "topk:5"
    with pytest.raises(NesyError, match="Did you mean noisyor"):
        get_semiring("noisy")
    with pytest.raises(NesyError):
        get_semiring("topk:x")


def test_combinations() -> None:
    s = np.array([0.5, 0.4, 0.9])
    g = np.array([0, 0, 1])
    mp, no, bo = get_semiring("maxprod"), get_semiring("noisyor"), get_semiring("boolean")
    assert mp.conjoin(0.5, [s, s]).tolist() == pytest.approx([0.125, 0.08, 0.405])
    assert bo.conjoin(0.5, [s]) is None
    assert mp.disjoin(s, g, 2).tolist() == [0.5, 0.9]
    assert no.disjoin(s, g, 2).tolist() == pytest.approx([0.7, 0.9])
    assert bo.disjoin(s, g, 2).tolist() == [1.0, 1.0]
    assert mp.improved(np.array([0.5, 0.6]), np.array([0.5, 0.5])).tolist() == [False, True]
    assert not bo.improved(np.array([1.0]), np.array([0.5])).any()
    assert bo.fact_score(0.3) == 1.0 and mp.fact_score(0.3) == 0.3


def _strata(*texts: str) -> list:
    v = Vocab()
    c = Compiler(v, default_registry())
    rules = [c.rule(rule(t), i) for i, t in enumerate(texts)]
    names = {("p", v.id(EX[n]), 1): n for n in "pqrs"}

    def namer(key: tuple) -> str:
        return "rdf:type" if key[0] == "T" else str(v.term(key[1])).rsplit("/", 1)[-1]

    return stratify(rules, namer), v, names


def test_strata_order_and_recursion() -> None:
    strata, v, _ = _strata("q(X, Y) :- e(X, Y)", "q(X, Z) :- q(X, Y), e(Y, Z)",
                           "r(X, Y) :- d(X, Y), not q(X, Y)", "s(X, N) :- d(X, _), N = count { Y : r(X, Y) }")
    order = [[str(v.term(k[1])).rsplit("/", 1)[-1] for k in st.nodes] for st in strata]
    assert order == [["q"], ["r"], ["s"]]
    assert [st.recursive for st in strata] == [True, False, False]
    assert strata[1].strict_reads == {("p", v.id(EX.q), 2)}


def test_negative_cycle_is_named() -> None:
    with pytest.raises(StratificationError, match=r"p -> not q -> r -> p"):
        _strata("p(X) :- d(X), not q(X)", "q(X) :- r(X)", "r(X) :- p(X)")


def test_classes_are_separate_but_variable_class_depends_on_all() -> None:
    strata, _, _ = _strata("A(X) :- P(X), not B(X)", "B(X) :- Q(X)")
    assert len(strata) == 2
    with pytest.raises(StratificationError):
        _strata("A(X) :- P(X), not B(X)", "B(X) :- Q(X)", "rdf:type(X, C) :- rdf:type(X, D), sub(D, C)")
    # A variable-class body atom alone is fine below a negation of a class it does not define.
    strata, _, _ = _strata("A(X) :- P(X), not B(X)", "all(X, C) :- rdf:type(X, C)")
    assert len(strata) == 2
