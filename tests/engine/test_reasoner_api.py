"""The Reasoner API as the knowledge base uses it: inputs, rdf:type, incremental updates,
limits, neural atoms, constraints and errors."""

from __future__ import annotations

import numpy as np
import pytest
from rdflib import RDF
from reasoner_dsl import EX, PREFIXES, atom, program, query, rule

from nesy.engine.proofs import check_proof, term_text
from nesy.engine.reasoner import Reasoner
from nesy.errors import (
    LimitExceeded,
    NesyError,
    NoLinkPredictorError,
    QueryError,
    RuleError,
    StratificationError,
)
from nesy.store.vocab import Vocab


def _ids(v: Vocab, *names: str) -> list[int]:
    return [v.id(EX[n]) for n in names]


def _set(r: Reasoner, q: str) -> set[tuple[str, ...]]:
    qq = query(q)
    names = [x.name for x in qq.variables()]
    return {tuple(term_text(a.bindings[n], PREFIXES) for n in names) for a in r.ask(qq)}


def test_rdf_type_inputs_unary_heads_and_derived() -> None:
    v = Vocab()
    r = Reasoner(v)
    t = v.id(RDF.type)
    ann, bob, student, person, agent = _ids(v, "ann", "bob", "Student", "Person", "Agent")
    r.add_edb(t, np.array([[ann, student], [bob, person]]))
    r.add_edb(v.id(EX.subClassOf), np.array([[person, agent]]))
    r.add_rules([rule("Person(X) :- Student(X)"),
                 rule("rdf:type(X, C) :- rdf:type(X, D), subClassOf(D, C)")])
    r.materialize()
    rows, scores = r.derived(t)
    got = {(v.term(s), v.term(c)) for s, c in rows.tolist()}
    assert got == {(EX.ann, EX.Person), (EX.ann, EX.Agent), (EX.bob, EX.Agent)}
    assert np.all(scores == 1.0)
    assert len(r.derived(t, include_inputs=True)[0]) == 5
    assert _set(r, "Agent(X)") == {("ex:ann",), ("ex:bob",)}
    assert _set(r, "rdf:type(ann, C)") == {("ex:Student",), ("ex:Person",), ("ex:Agent",)}
    proof = r.proof(t, (ann, agent))
    assert proof.fact.render(PREFIXES) == "ex:Agent(ex:ann)"
    assert check_proof(proof, r.rules, r.input_score)


def test_derived_excludes_inputs_and_returns_scores() -> None:
    v = Vocab()
    r = Reasoner(v)
    r.add_program(program("0.5 :: e(a, b)\ne(b, c)\np(X, Y) :- e(X, Y)\np(a, b)"))
    rows, scores = r.derived(v.id(EX.p))
    assert [tuple(v.terms(x)) for x in rows.tolist()] == [(EX.b, EX.c)]
    assert scores.tolist() == [1.0]
    rows, scores = r.derived(v.id(EX.p), include_inputs=True)
    assert len(rows) == 2


def test_incremental_facts_monotone_and_through_negation() -> None:
    v = Vocab()
    r = Reasoner(v)
    r.add_program(program("""
    e(a, b)
    node(a)
    node(b)
    node(c)
    node(d)
    path(X, Y) :- e(X, Y)
    path(X, Z) :- path(X, Y), e(Y, Z)
    unreached(X) :- node(X), not path(a, X)
    """))
    r.materialize()
    assert _set(r, "unreached(X)") == {("ex:a",), ("ex:c",), ("ex:d",)}
    e = v.id(EX.e)
    r.add_edb(e, np.array([_ids(v, "b", "c")]))
    assert not r._main.fresh()
    r.materialize()
    assert _set(r, "path(a, X)") == {("ex:b",), ("ex:c",)}
    assert _set(r, "unreached(X)") == {("ex:a",), ("ex:d",)}
    r.add_edb(e, np.array([_ids(v, "c", "a")]))
    r.materialize()
    assert _set(r, "unreached(X)") == {("ex:d",)}
    for a in r.ask(query("path(X, Y)")):
        assert check_proof(a.proof, r.rules, r.input_score, model_contains=r.model_contains)


def test_incremental_score_improvement_propagates() -> None:
    v = Vocab()
    r = Reasoner(v)
    r.add_program(program("0.5 :: e(a, b)\ne(b, c)\np(X, Y) :- e(X, Y)\np(X, Z) :- p(X, Y), e(Y, Z)"))
    r.materialize()
    assert {a.score for a in r.ask(query("p(a, X)"))} == {0.5}
    r.add_edb(v.id(EX.e), np.array([_ids(v, "a", "b")]), np.array([0.9]))
    r.materialize()
    assert [round(a.score, 6) for a in r.ask(query("p(a, X)"))] == [0.9, 0.9]


def test_incremental_rules() -> None:
    v = Vocab()
    r = Reasoner(v)
    r.add_program(program("e(a, b)\ne(b, c)\np(X, Y) :- e(X, Y)"))
    r.materialize()
    r.add_rules([rule("p(X, Z) :- p(X, Y), e(Y, Z)"), rule("q(X) :- p(X, _), not p(_, X)")])
    r.materialize()
    assert _set(r, "p(a, X)") == {("ex:b",), ("ex:c",)}
    assert _set(r, "q(X)") == {("ex:a",)}


def test_aggregate_recomputed_incrementally() -> None:
    v = Vocab()
    r = Reasoner(v)
    r.add_program(program("e(a, b)\nn(a)\ncnt(X, N) :- n(X), N = count { Y : e(X, Y) }"))
    r.materialize()
    assert _set(r, "cnt(a, N)") == {("1",)}
    r.add_edb(v.id(EX.e), np.array([_ids(v, "a", "c")]))
    r.materialize()
    assert _set(r, "cnt(a, N)") == {("2",)}


def test_limit_on_facts_and_state_stays_usable() -> None:
    v = Vocab()
    r = Reasoner(v, max_facts=500)
    r.add_program(program("n(0)\nother(a)\n[count_up] next(Y) :- n(X), Y = X + 1\nn(Y) :- next(Y)"))
    with pytest.raises(LimitExceeded) as err:
        r.materialize()
    assert "count_up" in str(err.value) or "ex:n" in str(err.value)
    assert _set(r, "other(X)") == {("ex:a",)}
    with pytest.raises(LimitExceeded):
        r.materialize()


def test_limit_on_iterations() -> None:
    r = Reasoner(Vocab(), max_iterations=20)
    r.add_program(program("n(0)\nn(Y) :- n(X), Y = X + 1"))
    with pytest.raises(LimitExceeded, match="ex:n"):
        r.materialize()


def test_neural_atoms() -> None:
    v = Vocab()
    r = Reasoner(v)
    r.add_program(program("person(ann)\nperson(bob)\nfriend(X, Y) :- person(X), ~knows(X, Y)"))
    with pytest.raises(NoLinkPredictorError, match="nesy train"):
        r.materialize()
    calls = []

    def predictor(pred: int, heads: np.ndarray | None, tails: np.ndarray | None) -> tuple:
        calls.append((v.term(pred), None if heads is None else sorted(v.terms(heads))))
        ann, bob, cid = _ids(v, "ann", "bob", "cid")
        return np.array([[ann, bob], [bob, cid]]), np.array([0.8, 0.3])

    r.link_predictor = predictor
    answers = r.ask(query("friend(X, Y)"))
    got = {(term_text(a["X"], PREFIXES), term_text(a["Y"], PREFIXES), a.score) for a in answers}
    assert got == {("ex:ann", "ex:bob", 0.8), ("ex:bob", "ex:cid", 0.3)}
    assert calls[0] == (EX.knows, [EX.ann, EX.bob])
    kinds = {n.kind for n in answers[0].proof.walk()}
    assert "predicted" in kinds
    assert check_proof(answers[0].proof, r.rules, r.input_score)


def test_constraints_report_violations_with_proofs() -> None:
    r = Reasoner(Vocab())
    r.add_program(program("""
    parent(a, b)
    parent(b, a)
    0.5 :: parent(c, c)
    anc(X, Y) :- parent(X, Y)
    anc(X, Z) :- anc(X, Y), parent(Y, Z)
    [no_cycles] false :- anc(X, X)
    """))
    vs = r.violations()
    assert [(v.rule.label, term_text(v.bindings["X"], PREFIXES), v.score) for v in vs] == [
        ("no_cycles", "ex:a", 1.0), ("no_cycles", "ex:b", 1.0), ("no_cycles", "ex:c", 0.5)]
    assert vs[0].proof.kind == "violation"
    assert vs[0].proof.premises[0].fact.render(PREFIXES) == "ex:anc(ex:a, ex:a)"


def test_unsafe_rules_are_rejected_atomically() -> None:
    r = Reasoner(Vocab())
    bad = [
        "p(X, Y) :- q(X)",
        "p(X) :- q(X), not r(Y)",
        "p(X) :- q(X), Y > 3",
        "p(_) :- q(X)",
        "p(X) :- X = Y + 1",
    ]
    for text in bad:
        with pytest.raises(RuleError):
            r.add_rules([rule("ok(X) :- q(X)"), rule(text)])
    assert r.rules == []
    with pytest.raises(RuleError, match="unsafe"):
        r.add_program(program("q(a)\np(X, Y) :- q(X)"))
    assert r.input_score(EX.q, (EX.a,)) is None


def test_stratification_error_names_the_cycle() -> None:
    r = Reasoner(Vocab())
    r.prefixes.update(PREFIXES)
    with pytest.raises(StratificationError, match=r"ex:p -> not ex:q -> ex:p"):
        r.add_rules([rule("p(X) :- d(X), not q(X)"), rule("q(X) :- p(X)")])
    with pytest.raises(StratificationError, match="aggregation"):
        r.add_rules([rule("c(X, N) :- d(X), N = count { Y : c(Y, _) }")])


def test_class_granularity_in_stratification() -> None:
    r = Reasoner(Vocab())
    r.add_program(program("""
    Person(ann)
    Person(bob)
    Minor(bob)
    Adult(X) :- Person(X), not Minor(X)
    """))
    assert _set(r, "Adult(X)") == {("ex:ann",)}


def test_bad_inputs() -> None:
    v = Vocab()
    r = Reasoner(v)
    with pytest.raises(NesyError):
        r.add_edb(v.id(EX.e), np.array([1, 2]))
    with pytest.raises(NesyError):
        r.add_edb(v.id(EX.e), np.array([[1, 2]]), np.array([1.5]))
    with pytest.raises(NesyError, match="maxprod"):
        Reasoner(v, semiring="maxprd")
    with pytest.raises(QueryError):
        r.proof(v.id(EX.e), (1, 2))


def test_topk_alternative_proofs() -> None:
    v = Vocab()
    r = Reasoner(v, semiring="topk:2")
    r.add_program(program("""
    0.9 :: e(a, b)
    0.8 :: f(a, b)
    0.7 :: g(a, b)
    p(X, Y) :- e(X, Y)
    p(X, Y) :- f(X, Y)
    p(X, Y) :- g(X, Y)
    """))
    proofs = r.proofs(v.id(EX.p), tuple(_ids(v, "a", "b")))
    assert [round(p.score, 6) for p in proofs] == [0.9, 0.8]
    for p in proofs:
        assert check_proof(p, r.rules, r.input_score, semiring="topk:2")


def test_why_not() -> None:
    r = Reasoner(Vocab())
    r.prefixes.update(PREFIXES)
    r.add_program(program("""
    parent(ann, bob)
    age(bob, 12)
    [gp] grandparent(X, Z) :- parent(X, Y), parent(Y, Z)
    [adult] adult(X) :- age(X, A), A >= 18
    [lonely] lonely(X) :- age(X, _), not parent(_, X)
    """))
    rep = r.why_not(atom("grandparent(ann, cid)"))
    assert not rep.holds
    assert [(x.rule, x.literal) for x in rep.reasons] == [("gp", "ex:parent(Y, Z)")]
    assert "ex:bob" in rep.reasons[0].message
    rep = r.why_not(atom("adult(bob)"))
    assert rep.reasons[0].literal == "A >= 18"
    rep = r.why_not(atom("lonely(bob)"))
    assert "fails" in rep.reasons[0].message
    rep = r.why_not(atom("sibling(ann, bob)"))
    assert rep.reasons == [] and "no rule" in rep.message
    rep = r.why_not(atom("parent(ann, bob)"))
    assert rep.holds and rep.score == 1.0
    assert isinstance(rep.lines(), list) and str(rep)


def test_builtins_generate_bindings_and_nary_predicates() -> None:
    r = Reasoner(Vocab())
    r.add_program(program("""
    tags(a, "x y z")
    tag(X, T) :- tags(X, S), nesy:split(S, " ", T)
    pick(V) :- nesy:oneOf(V, "p q")
    triple(X, T, L) :- tag(X, T), nesy:strlen(T, L)
    quad(X, T, L, M) :- triple(X, T, L), M = L * 10
    """))
    assert _set(r, "tag(a, T)") == {('"x"',), ('"y"',), ('"z"',)}
    assert _set(r, "pick(V)") == {('"p"',), ('"q"',)}
    assert _set(r, "quad(a, T, L, M)") == {('"x"', "1", "10"), ('"y"', "1", "10"), ('"z"', "1", "10")}
    r.materialize()
    assert _set(r, "quad(X, \"y\", L, M)") == {("ex:a", "1", "10")}
    assert _set(r, "tag(X, T), nesy:contains(T, \"y\")") == {("ex:a", '"y"')}


def test_learned_rules_are_marked_in_proofs() -> None:
    r = Reasoner(Vocab())
    r.add_program(program("e(a, b)"))
    r.add_rules([rule("0.83 :: r(X, Y) :- e(X, Y)")], kind="learned")
    [a] = r.ask(query("r(a, Y)"))
    assert a.proof.kind == "learned" and a.score == pytest.approx(0.83)
    assert check_proof(a.proof, r.rules, r.input_score)


def test_query_with_only_filters_and_unknown_predicates() -> None:
    r = Reasoner(Vocab())
    assert len(r.ask(query("1 < 2"))) == 1
    assert r.ask(query("2 < 1")) == []
    assert r.ask(query("nothing(X)")) == []
    with pytest.raises(RuleError):
        r.ask(query("X < 2"))


def test_incremental_reset_of_variable_class_rules() -> None:
    v = Vocab()
    r = Reasoner(v)
    r.add_program(program("""
    sub(student, person)
    sub(person, agent)
    rdf:type(ann, student)
    rdf:type(bob, person)
    rdf:type(X, C) :- rdf:type(X, D), sub(D, C), not blocked(D, C)
    nonagent(X, yes) :- named(X, _), not agent(X)
    named(ann, "Ann")
    named(cid, "Cid")
    """))
    r.materialize()
    assert _set(r, "agent(X)") == {("ex:ann",), ("ex:bob",)}
    assert _set(r, "nonagent(X, Y)") == {("ex:cid", "ex:yes")}
    r.add_edb(v.id(EX.blocked), np.array([_ids(v, "person", "agent")]))
    r.materialize()
    assert _set(r, "agent(X)") == set()
    assert _set(r, "person(X)") == {("ex:ann",), ("ex:bob",)}
    assert _set(r, "nonagent(X, Y)") == {("ex:ann", "ex:yes"), ("ex:cid", "ex:yes")}
    r.add_edb(v.id(RDF.type), np.array([_ids(v, "cid", "agent")]))
    r.materialize()
    assert _set(r, "nonagent(X, Y)") == {("ex:ann", "ex:yes")}
    rows, _ = r.derived(v.id(RDF.type))
    assert {tuple(v.terms(x)) for x in rows.tolist()} == {(EX.ann, EX.person)}


def test_lazy_proofs_survive_later_recomputation() -> None:
    v = Vocab()
    r = Reasoner(v)
    r.add_program(program("e(a, b)\nn(a)\nn(b)\nsolo(X) :- n(X), not e(X, _)\nhas(X) :- e(X, _)"))
    r.materialize()
    [a] = r.ask(query("solo(X)"))
    [h] = r.ask(query("has(X)"))
    r.add_edb(v.id(EX.e), np.array([_ids(v, "b", "a")]))
    r.materialize()  # recomputes the negation stratum: new relation objects
    assert a.proof.fact.render(PREFIXES) == "ex:solo(ex:b)"
    assert h.proof.premises[0].fact.render(PREFIXES) == "ex:e(ex:a, ex:b)"
    assert r.ask(query("solo(X)")) == []
