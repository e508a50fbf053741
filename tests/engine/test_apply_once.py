"""Rule files marked ``# nesy:apply once``: each rule's body reads the input facts only (stored
facts and rule-file facts), so recursion is not followed, derived facts are not read, and the
answers equal one application of every rule to the inputs (checked against a naive join)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import URIRef

import nesy
from nesy.engine.outofcore.driver import OutOfCore
from nesy.errors import RuleError
from nesy.rules.parser import parse_program
from nesy.store.vocab import Vocab

E = "http://e.org/"
ONCE = "# nesy:learned\n# nesy:apply once\n@prefix : <http://e.org/> .\n"


def _pairs(kb: nesy.KnowledgeBase, pred: str) -> dict[tuple[str, str], float]:
    return {(str(a.bindings["X"])[len(E):], str(a.bindings["Y"])[len(E):]): a.score
            for a in kb.ask(f"?- <{E}{pred}>(X, Y).")}


def test_pragmas_are_read_from_the_leading_comments() -> None:
    program = parse_program("# nesy:learned - by hand\n\n# a comment\n# nesy:apply once\n"
                            "# nesy:semiring noisyor-rules\np(a).\n# nesy:apply never\n")
    assert program.applied_once and program.pragma("semiring") == "noisyor-rules"
    assert not parse_program("p(a).\n# nesy:apply once\n").applied_once  # only the leading block


def test_recursion_is_not_followed_and_derived_facts_are_not_read() -> None:
    kb = nesy.KnowledgeBase()
    kb.add_rules("@prefix : <http://e.org/> .\n:e(:a, :b). :e(:b, :c). :e(:c, :d).\n"
                 ":f(X, Y) :- :e(X, Y).\n")  # a user rule: f is derived, not stored
    kb.add_rules(ONCE + "0.9 :: :path(X, Y) :- :e(X, Y).\n0.5 :: :path(X, Z) :- :path(X, Y), :e(Y, Z).\n"
                 "0.7 :: :g(X, Y) :- :f(X, Y).\n")
    assert _pairs(kb, "path") == {("a", "b"): 0.9, ("b", "c"): 0.9, ("c", "d"): 0.9}
    assert _pairs(kb, "g") == {}
    for answer in kb.ask(f"?- <{E}path>(X, Y)."):
        assert answer.proof.kind == "learned" and kb.check_proof(answer.proof)
    # The same rules without the mark reach the fixpoint.
    plain = nesy.KnowledgeBase()
    plain.add_rules("@prefix : <http://e.org/> .\n:e(:a, :b). :e(:b, :c). :e(:c, :d).\n"
                    "0.9 :: :path(X, Y) :- :e(X, Y).\n0.5 :: :path(X, Z) :- :path(X, Y), :e(Y, Z).\n")
    assert len(_pairs(plain, "path")) == 6


def test_stored_facts_of_the_head_are_read_and_updates_are_followed() -> None:
    kb = nesy.KnowledgeBase()
    e, path = URIRef(E + "e"), URIRef(E + "path")
    kb.add(URIRef(E + "a"), e, URIRef(E + "b"))
    kb.add(URIRef(E + "b"), e, URIRef(E + "c"))
    kb.add(URIRef(E + "a"), path, URIRef(E + "b"))
    kb.add_rules(ONCE + "0.5 :: :path(X, Z) :- :path(X, Y), :e(Y, Z).\n")
    assert _pairs(kb, "path") == {("a", "b"): 1.0, ("a", "c"): 0.5}
    kb.add(URIRef(E + "c"), e, URIRef(E + "d"))
    kb.add(URIRef(E + "a"), path, URIRef(E + "c"))  # now stored: it is read, (a, d) follows
    assert _pairs(kb, "path") == {("a", "b"): 1.0, ("a", "c"): 1.0, ("a", "d"): 0.5}
    [answer] = kb.ask(f"?- <{E}path>(<{E}a>, <{E}d>).")  # bound: the magic-sets rewriting
    assert answer.score == 0.5 and kb.check_proof(answer.proof)
    assert {p.fact.predicate for p in answer.proof.premises} == {path, e}
    assert all(p.kind == "asserted" for p in answer.proof.premises)


def test_the_out_of_core_engines_refuse_with_a_message() -> None:
    program = parse_program(ONCE + ":path(X, Z) :- :path(X, Y), :e(Y, Z).\n")
    with pytest.raises(RuleError, match="apply once"):
        OutOfCore(Vocab(), engine="duckdb").add_program(program)


NODES = "abcde"
edges = st.sets(st.tuples(st.sampled_from("pq"), st.sampled_from(NODES), st.sampled_from(NODES)), max_size=14)
bodies = st.lists(st.lists(st.tuples(st.sampled_from("pqr"), st.booleans()), min_size=1, max_size=3),
                  min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(edges, bodies)
def test_answers_are_one_application_of_each_rule(facts: set, rules: list) -> None:
    """Chain rules ``r(X, Y) :- a1, ..., an`` (each atom forwards or inverted), r also stored:
    the boolean model of r equals one naive join of every rule over the input facts."""
    stored = set(facts) | {("r", "a", "b")}
    text = "".join(f":{p}(:{s}, :{o}).\n" for p, s, o in sorted(stored))
    for body in rules:
        names = [f"V{i}" for i in range(len(body) + 1)]
        atoms = [f":{p}({names[i]}, {names[i + 1]})" if fwd else f":{p}({names[i + 1]}, {names[i]})"
                 for i, (p, fwd) in enumerate(body)]
        text += f":r(V0, {names[-1]}) :- {', '.join(atoms)}.\n"
    kb = nesy.KnowledgeBase()
    kb.semiring = "boolean"
    kb.add_rules(ONCE + text)
    want = {("a", "b")}
    for body in rules:
        for path in itertools.product(NODES, repeat=len(body) + 1):
            if all(((p, path[i], path[i + 1]) if fwd else (p, path[i + 1], path[i])) in stored
                   for i, (p, fwd) in enumerate(body)):
                want.add((path[0], path[-1]))
    assert set(_pairs(kb, "r")) == want
