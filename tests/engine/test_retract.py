"""Retraction, case by case: what a removed input fact takes with it, and what stays."""

from __future__ import annotations

import numpy as np
import pytest
from rdflib import Literal
from reasoner_dsl import EX, PREFIXES, program, query

from nesy.engine.limits import Limits
from nesy.engine.reasoner import Reasoner
from nesy.errors import LimitExceeded
from nesy.store.vocab import Vocab


def _reasoner(rules: str, semiring: str = "maxprod") -> Reasoner:
    r = Reasoner(Vocab(), semiring=semiring, describe_source=lambda i: {"id": i})
    r.prefixes.update(PREFIXES)
    r.add_program(program(rules))
    return r


def _ids(r: Reasoner, rows: list[tuple]) -> np.ndarray:
    return np.array([[r.vocab.id(EX[a]) for a in row] for row in rows], dtype=np.int64)


def _add(r: Reasoner, pred: str, rows: list[tuple], scores: list[float] | None = None,
         sources: list[int] | None = None, kind: str = "asserted") -> None:
    r.add_edb(r.vocab.id(EX[pred]), _ids(r, rows), None if scores is None else np.array(scores),
              None if sources is None else np.array(sources), kind)


def _remove(r: Reasoner, pred: str, rows: list[tuple], **which: object) -> dict:
    return r.remove_edb(r.vocab.id(EX[pred]), _ids(r, rows), **which)


def _facts(r: Reasoner, pred: str) -> dict[tuple, float]:
    r.materialize()
    rows, scores = r.derived(r.vocab.id(EX[pred]), include_inputs=True)
    out = {}
    for row, s in zip(rows.tolist(), scores.tolist(), strict=True):
        terms = [r.vocab.term(i) for i in row]
        out[tuple(t.toPython() if isinstance(t, Literal) else str(t)[len(str(EX)):] for t in terms)] = s
    return out


@pytest.mark.parametrize(("semiring", "before", "after"), [
    ("boolean", 1.0, 1.0), ("maxprod", 0.9, 0.5), ("noisyor", 1 - 0.1 * 0.5, 0.5)])
def test_a_fact_with_two_supports_stays(semiring: str, before: float, after: float) -> None:
    r = _reasoner("p(X) :- a(X)\n0.5 :: p(X) :- b(X)", semiring)
    _add(r, "a", [("x",), ("y",)], [0.9, 0.9])
    _add(r, "b", [("x",)])
    assert _facts(r, "p")["x",] == pytest.approx(before)
    stats = _remove(r, "a", [("x",)])
    assert stats["incremental"] and stats["removed"] == 1
    assert _facts(r, "p") == pytest.approx({("x",): after, ("y",): 0.9 if semiring != "boolean" else 1.0})


def test_a_support_that_was_not_the_best_changes_nothing() -> None:
    """maxprod: removing a weaker derivation's premise affects only that input fact."""
    r = _reasoner("p(X) :- a(X)\n0.5 :: p(X) :- b(X)\nq(X) :- p(X)")
    _add(r, "a", [("x",)], [0.9])
    _add(r, "b", [("x",)])
    _facts(r, "q")
    stats = _remove(r, "b", [("x",)])
    assert stats["affected"] == 1 and stats["dropped"] == 0 and stats["strata"] == 0
    assert _facts(r, "q") == {("x",): pytest.approx(0.9)}


def test_a_chain_collapses() -> None:
    r = _reasoner("p1(X) :- a(X)\np2(X) :- p1(X)\n0.8 :: p3(X) :- p2(X), a(X)")
    _add(r, "a", [("x",), ("y",)])
    _facts(r, "p3")
    stats = _remove(r, "a", [("x",)])
    assert stats["dropped"] == 3  # p1(x), p2(x), p3(x)
    for pred in ("p1", "p2"):
        assert _facts(r, pred) == {("y",): 1.0}
    assert _facts(r, "p3") == {("y",): pytest.approx(0.8)}
    assert _facts(r, "a") == {("y",): 1.0}


CLOSURE = "tc(X, Y) :- e(X, Y)\n0.9 :: tc(X, Z) :- tc(X, Y), e(Y, Z)"


def _closure(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    out = set(edges)
    while True:
        more = {(x, z) for x, y in out for y2, z in edges if y == y2} - out
        if not more:
            return out
        out |= more


@pytest.mark.parametrize("semiring", ["boolean", "maxprod", "noisyor"])
def test_recursion_through_a_cycle_is_taken_back(semiring: str) -> None:
    """Facts that held each other up around a cycle go once the cycle's entry goes."""
    edges = {("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("x", "a")}
    r = _reasoner(CLOSURE, semiring)
    _add(r, "e", sorted(edges))
    assert set(_facts(r, "tc")) == _closure(edges)
    for gone in [("c", "a"), ("x", "a"), ("b", "c")]:
        _remove(r, "e", [gone])
        edges.discard(gone)
        fresh = _reasoner(CLOSURE, semiring)
        _add(fresh, "e", sorted(edges))
        want = _facts(fresh, "tc")
        assert set(want) == _closure(edges)
        assert _facts(r, "tc") == pytest.approx(want, abs=1e-6)
    _add(r, "e", [("b", "c"), ("c", "a")])  # and back
    assert set(_facts(r, "tc")) == _closure(edges | {("b", "c"), ("c", "a")})


def test_negation_flips() -> None:
    r = _reasoner("lonely(X) :- person(X), not friend(X, _)\nhappy(X) :- person(X), not lonely(X)")
    _add(r, "person", [("ann",), ("bob",)])
    _add(r, "friend", [("ann", "bob"), ("ann", "cid")])
    assert _facts(r, "lonely") == {("bob",): 1.0}
    _remove(r, "friend", [("ann", "bob")])
    assert _facts(r, "lonely") == {("bob",): 1.0} and _facts(r, "happy") == {("ann",): 1.0}
    stats = _remove(r, "friend", [("ann", "cid")])
    assert stats["recomputed"] >= 1
    assert _facts(r, "lonely") == {("ann",): 1.0, ("bob",): 1.0} and _facts(r, "happy") == {}
    _add(r, "friend", [("ann", "bob")])
    assert _facts(r, "lonely") == {("bob",): 1.0} and _facts(r, "happy") == {("ann",): 1.0}


def test_counts_change() -> None:
    r = _reasoner("n(X, N) :- person(X), N = count { Y : friend(X, Y) }\nbusy(X) :- n(X, N), N >= 2")
    _add(r, "person", [("ann",)])
    _add(r, "friend", [("ann", "bob"), ("ann", "cid")])
    assert _facts(r, "n") == {("ann", 2): 1.0} and _facts(r, "busy") == {("ann",): 1.0}
    _remove(r, "friend", [("ann", "bob")])
    assert _facts(r, "n") == {("ann", 1): 1.0} and _facts(r, "busy") == {}
    _remove(r, "friend", [("ann", "cid")])
    assert _facts(r, "n") == {("ann", 0): 1.0}


def _leaves(r: Reasoner, pred: str) -> set[tuple]:
    """``(fact text, kind, source id)`` of every leaf of every proof of ``pred``'s facts."""
    rows, _ = r.derived(r.vocab.id(EX[pred]))
    out = set()
    for row in rows.tolist():
        for leaf in r.proof(r.vocab.id(EX[pred]), tuple(row)).leaves():
            out.add((leaf.fact.render(PREFIXES), leaf.kind, leaf.source.get("id")))
    return out


def test_proofs_cite_only_remaining_facts() -> None:
    r = _reasoner("[gp] grandparent(X, Z) :- parent(X, Y), parent(Y, Z)\n"
                  "[anc] ancestor(X, Y) :- parent(X, Y)\n[anc2] ancestor(X, Z) :- parent(X, Y), ancestor(Y, Z)")
    _add(r, "parent", [("ann", "bob"), ("bob", "cid"), ("cid", "dan")], [0.9, 0.8, 0.7], [1, 2, 3])
    _add(r, "parent", [("bob", "cid")], [0.6], [7], kind="extracted")
    _facts(r, "ancestor")
    assert ("ex:parent(ex:bob, ex:cid)", "asserted", 2) in _leaves(r, "ancestor")
    [answer] = r.ask(query("grandparent(ann, Z)"))  # its proof is built later, from the model of now
    _remove(r, "parent", [("bob", "cid")], sources=np.array([2]), kind="asserted")
    leaves = _leaves(r, "ancestor") | _leaves(r, "grandparent")
    assert ("ex:parent(ex:bob, ex:cid)", "extracted", 7) in leaves
    assert all(src != 2 for _, _, src in leaves)
    assert _facts(r, "grandparent") == pytest.approx({("ann", "cid"): 0.9 * 0.6, ("bob", "dan"): 0.6 * 0.7})
    # An answer given before the removal keeps the proof it had.
    assert answer.score == pytest.approx(0.9 * 0.8)
    assert ("ex:parent(ex:bob, ex:cid)", "asserted", 2) in {
        (leaf.fact.render(PREFIXES), leaf.kind, leaf.source.get("id")) for leaf in answer.proof.leaves()}
    _remove(r, "parent", [("bob", "cid")])
    assert _facts(r, "grandparent") == {} and set(_facts(r, "ancestor")) == {("ann", "bob"), ("cid", "dan")}
    assert all("ex:bob, ex:cid" not in text for text, _, _ in _leaves(r, "ancestor"))


def test_a_copy_is_removed_by_kind_and_source() -> None:
    r = _reasoner("q(X) :- p(X)")
    _add(r, "p", [("x",)], [0.9], [1])
    _add(r, "p", [("x",)], [0.4], [2], kind="extracted")
    assert _remove(r, "p", [("x",)], kind="extracted", sources=np.array([1]))["removed"] == 0
    assert _remove(r, "p", [("x",)], kind="asserted", sources=np.array([1]))["removed"] == 1
    assert _facts(r, "q") == {("x",): pytest.approx(0.4)}
    [leaf] = r.proof(r.vocab.id(EX.q), (r.vocab.id(EX.x),)).leaves()
    assert (leaf.kind, leaf.source) == ("extracted", {"id": 2})
    assert _remove(r, "p", [("x",)])["removed"] == 1  # no kind, no source: every copy
    assert _facts(r, "q") == {} and _facts(r, "p") == {}


def test_removal_before_a_model_and_with_additions_pending() -> None:
    r = _reasoner(CLOSURE)
    _add(r, "e", [("a", "b"), ("b", "c")])
    assert _remove(r, "e", [("a", "b")])["incremental"] is False  # nothing derived yet
    assert set(_facts(r, "tc")) == {("b", "c")}
    _add(r, "e", [("c", "d"), ("a", "b")])  # pending: not evaluated yet
    stats = _remove(r, "e", [("b", "c")])
    assert stats["incremental"]
    assert set(_facts(r, "tc")) == {("c", "d"), ("a", "b")}


def test_limits_apply_and_a_stopped_retraction_drops_the_model() -> None:
    chain = [(f"n{i}", f"n{i + 1}") for i in range(20)]
    r = _reasoner(CLOSURE)
    _add(r, "e", [*chain, ("n0", "m"), ("m", "n1")])
    _facts(r, "tc")
    with r.limited("test", max_iterations=3), pytest.raises(LimitExceeded):
        _remove(r, "e", [("n0", "n1")])  # n0's 19 facts come back one round at a time
    fresh = _reasoner(CLOSURE)
    _add(fresh, "e", [*chain[1:], ("n0", "m"), ("m", "n1")])
    assert _facts(r, "tc") == pytest.approx(_facts(fresh, "tc"))
    r.limits = Limits(max_facts=5)
    with pytest.raises(LimitExceeded):
        _remove(r, "e", [("m", "n1")])
    r.limits = Limits()
    assert set(_facts(r, "tc")) == _closure(set(chain[1:]) | {("n0", "m")})


def test_topk_alternatives_forget_removed_facts() -> None:
    r = _reasoner("p(X) :- a(X)\n0.9 :: p(X) :- b(X)\n0.8 :: p(X) :- c(X)", "topk:3")
    for pred, src in (("a", 1), ("b", 2), ("c", 3)):
        _add(r, pred, [("x",)], sources=[src])
    pid, x = r.vocab.id(EX.p), (r.vocab.id(EX.x),)
    r.materialize()
    assert len(r.proofs(pid, x)) == 3
    _remove(r, "a", [("x",)])
    proofs = r.proofs(pid, x)
    assert [p.score for p in proofs] == pytest.approx([0.9, 0.8])
    assert {leaf.source["id"] for p in proofs for leaf in p.leaves()} == {2, 3}
