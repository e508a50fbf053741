"""Differential test: nesy's model equals clingo's on hundreds of random stratified programs.

Each seeded program has a random EDB over integer constants, 2-4 derived predicates on
up to three levels (recursion within a level, negation only of lower levels), joins,
repeated and anonymous variables, constants, comparisons, guarded arithmetic, counts and
``rdf:type(X, C)`` atoms with a variable class. nesy runs it with the ``boolean`` and
the ``maxprod`` semirings and goal-directed (one query per program); clingo gets the same
program as ASP text.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import clingo
import numpy as np
import pytest
from program_gen import CLASSES, Gen, py_of, stratified, term_of, weighted
from rdflib import RDF, Literal
from reasoner_dsl import EX

from nesy.engine.reasoner import Reasoner
from nesy.rules.ast import Aggregate, Assignment, Atom, BinOp, Comparison, Query, Rule, Var
from nesy.store.vocab import Vocab

N_PROGRAMS = 520


# -- clingo side ---------------------------------------------------------------------------
def _c_term(t: object) -> str:
    if isinstance(t, Var):
        return "_" if t.anonymous else t.name
    if isinstance(t, Literal):
        return str(t.toPython())
    return str(t)[len(str(EX)):]


def _c_expr(e: object) -> str:
    if isinstance(e, BinOp):
        return f"({_c_expr(e.left)}{e.op}{_c_expr(e.right)})"
    return _c_term(e)


def _c_atom(a: Atom) -> str:
    neg = "not " if a.negated else ""
    if a.predicate == RDF.type:
        return f"{neg}type({_c_term(a.args[0])},{_c_term(a.args[1])})"
    name = str(a.predicate)[len(str(EX)):]
    if name in CLASSES and len(a.args) == 1:
        return f"{neg}type({_c_term(a.args[0])},{name})"
    return f"{neg}{name}({','.join(_c_term(t) for t in a.args)})"


def _c_lit(lit: object) -> str:
    if isinstance(lit, Atom):
        return _c_atom(lit)
    if isinstance(lit, Comparison):
        op = "=" if lit.op == "==" else lit.op
        return f"{_c_expr(lit.left)}{op}{_c_expr(lit.right)}"
    if isinstance(lit, Assignment):
        return f"{lit.var.name}={_c_expr(lit.expr)}"
    assert isinstance(lit, Aggregate)
    inner = ",".join(_c_lit(b) for b in lit.body)
    return f"{lit.var.name}=#count{{{','.join(_c_term(t) for t in lit.terms)}:{inner}}}"


def to_asp(rules: list[Rule], facts: dict[str, set[tuple[int, ...]]]) -> str:
    lines = []
    for p, rows in facts.items():
        for row in sorted(rows):
            lines.append(_c_atom(Atom(EX[p], tuple(term_of(v) for v in row))) + ".")
    for rule in rules:
        lines.append(f"{_c_atom(rule.head)} :- {', '.join(_c_lit(b) for b in rule.body)}.")
    return "\n".join(lines)


def clingo_model(text: str, idb: dict[str, int]) -> set[tuple]:
    ctl = clingo.Control(["--warn=none"])
    ctl.add("base", [], text)
    ctl.ground([("base", [])])
    models = []
    ctl.solve(on_model=lambda m: models.append(m.symbols(atoms=True)))
    assert len(models) == 1, "a stratified program has exactly one answer set"
    out = set()
    for s in models[0]:
        args = tuple(a.number if a.type == clingo.SymbolType.Number else a.name for a in s.arguments)
        if s.name == "type":
            if args[1] in idb:
                out.add((args[1], args[:1]))
        elif s.name in idb:
            out.add((s.name, args))
    return out


# -- nesy side --------------------------------------------------------------------------------
def nesy_reasoner(rules: list[Rule], facts: dict[str, set[tuple[int, ...]]], semiring: str) -> Reasoner:
    vocab = Vocab()
    r = Reasoner(vocab, semiring=semiring)
    for p, rows in facts.items():
        ids = np.array([[vocab.id(term_of(v)) for v in row] for row in sorted(rows)], dtype=np.int64)
        r.add_edb(vocab.id(EX[p]), ids)
    r.add_rules(rules)
    return r


def nesy_model(r: Reasoner, idb: dict[str, int]) -> set[tuple]:
    r.materialize()
    out = set()
    for p in idb:
        rows, _ = r.derived(r.vocab.id(EX[p]), include_inputs=True)
        for row in rows.tolist():
            out.add((p, tuple(py_of(r.vocab.term(i)) for i in row)))
    return out


def _programs() -> list[tuple[int, Gen, list[Rule], dict]]:
    return stratified(0, N_PROGRAMS)


PROGRAMS = _programs()


@pytest.mark.parametrize("chunk", range(8))
def test_nesy_matches_clingo(chunk: int) -> None:
    """Boolean and maxprod models equal clingo's answer set, fact for fact."""
    for seed, g, rules, facts in PROGRAMS[chunk::8]:
        want = clingo_model(to_asp(rules, facts), g.compare)
        got = nesy_model(nesy_reasoner(rules, facts, "boolean"), g.compare)
        assert got == want, f"seed {seed}: boolean model differs\n{to_asp(rules, facts)}\n" \
                            f"missing {sorted(want - got)[:5]} extra {sorted(got - want)[:5]}"
        got_mp = nesy_model(nesy_reasoner(rules, facts, "maxprod"), g.compare)
        assert got_mp == want, f"seed {seed}: maxprod model differs\n{to_asp(rules, facts)}"


@pytest.mark.parametrize("chunk", range(4))
def test_goal_directed_matches_model(chunk: int) -> None:
    """A goal-directed query (magic sets) finds exactly the model's matching facts."""
    for seed, g, rules, facts in PROGRAMS[chunk::8]:
        want = clingo_model(to_asp(rules, facts), g.idb)
        rng = random.Random(seed)
        pred = rng.choice(list(g.idb))
        const = rng.randrange(g.n)
        r = nesy_reasoner(rules, facts, "maxprod")
        args = (Literal(const), Var("A")) if g.idb[pred] == 2 else (Literal(const),)
        answers = r.ask(Query((Atom(EX[pred], args),)), goal_directed=True)
        assert r.last_ask["goal_directed"]
        got = {(const, py_of(a.bindings["A"])) if "A" in a.bindings else (const,) for a in answers}
        expect = {args_ for p, args_ in want if p == pred and args_[0] == const}
        assert got == expect, f"seed {seed}: ask {pred}({const}, A) differs\n{to_asp(rules, facts)}"


@pytest.mark.parametrize("chunk", range(4))
def test_incremental_matches_clingo(chunk: int) -> None:
    """Facts and rules added in batches, materialising in between, end in clingo's model."""
    for seed, g, rules, facts in PROGRAMS[chunk::8]:
        want = clingo_model(to_asp(rules, facts), g.compare)
        rng = random.Random(seed)
        vocab = Vocab()
        r = Reasoner(vocab, semiring=rng.choice(["boolean", "maxprod"]))
        cut = rng.randint(0, len(rules))
        r.add_rules(rules[:cut])
        batches: list[list] = [[], [], []]
        for p, rows in facts.items():
            for row in sorted(rows):
                batches[rng.randrange(3)].append((p, row))
        for i, batch in enumerate(batches):
            for p, row in batch:
                r.add_edb(vocab.id(EX[p]), np.array([[vocab.id(term_of(v)) for v in row]], dtype=np.int64))
            r.materialize()
            if i == 1:
                r.add_rules(rules[cut:])
        got = nesy_model(r, g.compare)
        assert got == want, f"seed {seed}: incremental model differs (cut {cut})\n{to_asp(rules, facts)}\n" \
                            f"missing {sorted(want - got)[:5]} extra {sorted(got - want)[:5]}"


def _scores(r: Reasoner, idb: dict[str, int]) -> dict[tuple, float]:
    r.materialize()
    out = {}
    for p in idb:
        rows, scores = r.derived(r.vocab.id(EX[p]), include_inputs=True)
        for row, s in zip(rows.tolist(), scores.tolist(), strict=True):
            out[(p, tuple(py_of(r.vocab.term(i)) for i in row))] = s
    return out


def _load(r: Reasoner, scored: dict, rows_filter: Callable | None = None) -> None:
    for p, rows in scored.items():
        items = [(row, s) for row, s in rows.items() if rows_filter is None or rows_filter(p, row)]
        if items:
            ids = np.array([[r.vocab.id(term_of(v)) for v in row] for row, _ in items], dtype=np.int64)
            r.add_edb(r.vocab.id(EX[p]), ids, np.array([s for _, s in items]))


@pytest.mark.parametrize("chunk", range(4))
def test_maxprod_scores_agree_across_evaluation_modes(chunk: int) -> None:
    """Best-proof scores: from scratch = incremental = goal-directed; proofs check."""
    from nesy.engine.proofs import check_proof

    for seed, g, rules, facts in PROGRAMS[chunk + 1::8]:
        rules, scored = weighted(seed, rules, facts)
        scratch = Reasoner(Vocab())
        _load(scratch, scored)
        scratch.add_rules(rules)
        want = _scores(scratch, g.compare)
        inc = Reasoner(Vocab())
        inc.add_rules(rules)
        _load(inc, scored, lambda p, row: hash((p, row)) % 2 == 0)
        inc.materialize()
        _load(inc, scored, lambda p, row: hash((p, row)) % 2 == 1)
        got = _scores(inc, g.compare)
        assert got.keys() == want.keys(), f"seed {seed}"
        for k, s in want.items():
            assert got[k] == pytest.approx(s), f"seed {seed}: {k}"
        pred = random.Random(seed).choice(list(g.idb))
        goal = Reasoner(Vocab())
        _load(goal, scored)
        goal.add_rules(rules)
        args = tuple(Var(f"A{i}") for i in range(g.idb[pred]))
        answers = goal.ask(Query((Atom(EX[pred], args),)), goal_directed=True)
        assert {(pred, tuple(py_of(a[v.name]) for v in args)): a.score for a in answers} == \
            pytest.approx({k: s for k, s in want.items() if k[0] == pred}), f"seed {seed}"
        for a in answers[:5]:
            assert check_proof(a.proof, goal.rules, goal.input_score, model_contains=scratch.model_contains), seed
