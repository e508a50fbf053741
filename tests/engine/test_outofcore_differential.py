"""Differential tests of the out-of-core engines: the clingo programs on DuckDB and Spark.

The random stratified programs of :mod:`program_gen` (joins, constants, negation,
comparisons, arithmetic, counts, ``rdf:type`` with a variable class) run on the ``duckdb``
engine (every other one of the 520: all of them pass, half keeps the suite's time) and the ``spark`` engine (a seeded sample: every Spark statement
writes Parquet), with the ``boolean`` and ``maxprod`` semirings. Models must equal clingo's
answer set fact for fact; weighted ``maxprod`` scores must equal the memory engine's; and
proofs rebuilt from the engine's model must pass :func:`check_proof`.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from program_gen import py_of, term_of, weighted
from rdflib import RDF
from reasoner_dsl import EX
from test_clingo_differential import PROGRAMS, clingo_model, to_asp

from nesy.engine.outofcore.driver import OutOfCore
from nesy.engine.proofs import check_proof
from nesy.engine.reasoner import Reasoner
from nesy.store.vocab import Vocab

#: Programs of the sample the Spark engine runs (a few seconds each on local[2]).
SPARK_PROGRAMS = 6


def _load(engines: list, vocab: Vocab, facts: dict, scored: dict | None = None) -> dict:
    """Give every engine the same facts; returns ``{(pred, id row): score}``."""
    inputs = {}
    for p, rows in facts.items():
        items = sorted(scored[p].items()) if scored else [(row, 1.0) for row in sorted(rows)]
        ids = np.array([[vocab.id(term_of(v)) for v in row] for row, _ in items], dtype=np.int64)
        scores = np.array([s for _, s in items])
        for e in engines:
            e.add_edb(vocab.id(EX[p]), ids, scores)
        inputs.update({(p, tuple(r)): s for r, s in zip(ids.tolist(), scores.tolist(), strict=True)})
    return inputs


def _model(engine: OutOfCore | Reasoner, vocab: Vocab, preds: dict) -> dict[tuple, float]:
    out = {}
    for p in preds:
        rows, scores = engine.derived(vocab.id(EX[p]), include_inputs=True)
        for row, s in zip(rows.tolist(), scores.tolist(), strict=True):
            out[(p, tuple(py_of(vocab.term(i)) for i in row))] = s
    return out


def _matches_clingo(executor: object, programs: list) -> None:
    for seed, g, rules, facts in programs:
        want = clingo_model(to_asp(rules, facts), g.compare)
        for semiring in ("boolean", "maxprod"):
            vocab = Vocab()
            ooc = OutOfCore(vocab, engine=executor, semiring=semiring)
            _load([ooc], vocab, facts)
            ooc.add_rules(rules)
            ooc.materialize()
            got = set(_model(ooc, vocab, g.compare))
            assert got == want, f"seed {seed}: {semiring} model on {ooc.ex.name} differs\n{to_asp(rules, facts)}\n" \
                                f"missing {list(want - got)[:5]} extra {list(got - want)[:5]}"


def _scores_and_proofs(executor: object, programs: list, proofs_per_pred: int = 2) -> None:
    """Weighted maxprod: the engine's scores equal the memory engine's, and rebuilt proofs check."""
    for seed, g, rules, facts in programs:
        rules, scored = weighted(seed, rules, facts)
        vocab = Vocab()
        mem, ooc = Reasoner(vocab), OutOfCore(vocab, engine=executor)
        inputs = _load([mem, ooc], vocab, facts, scored)
        for e in (mem, ooc):
            e.add_rules(rules)
        ooc.materialize()
        want, got = _model(mem, vocab, g.compare), _model(ooc, vocab, g.compare)
        assert got.keys() == want.keys(), f"seed {seed}"
        for k, s in want.items():
            assert got[k] == pytest.approx(s, rel=1e-12), f"seed {seed}: {k}"

        def lookup(pred: object, args: tuple, inputs: dict = inputs, vocab: Vocab = vocab) -> float | None:
            if pred == RDF.type:
                pred, args = args[1], args[:1]
            return inputs.get((str(pred)[len(str(EX)):], tuple(vocab.get(a) for a in args)))

        rng = random.Random(seed)
        for p in g.compare:
            rows, scores = ooc.derived(vocab.id(EX[p]))
            for j in rng.sample(range(len(rows)), min(proofs_per_pred, len(rows))):
                proof = ooc.why(vocab.id(EX[p]), tuple(rows[j].tolist()))
                check = check_proof(proof, mem.rules, lookup, model_contains=mem.model_contains)
                assert check.ok, f"seed {seed}: proof of {p}{tuple(rows[j])}: {check.problems}"
                assert proof.score == pytest.approx(scores[j], rel=1e-9), f"seed {seed}"


@pytest.fixture(scope="module")
def duckdb_executor():
    from nesy.engine.outofcore.executor import DuckDBExecutor

    ex = DuckDBExecutor()
    yield ex
    ex.close()


@pytest.mark.parametrize("chunk", range(4))
def test_duckdb_matches_clingo(duckdb_executor: object, chunk: int) -> None:
    """Every other generated program (260): the DuckDB engine's boolean and maxprod models are clingo's."""
    _matches_clingo(duckdb_executor, PROGRAMS[chunk::8])


@pytest.mark.parametrize("chunk", range(2))
def test_duckdb_scores_and_proofs(duckdb_executor: object, chunk: int) -> None:
    """Weighted programs: maxprod scores equal the memory engine's; proofs from the model check."""
    _scores_and_proofs(duckdb_executor, PROGRAMS[chunk * 3 + 1::12])


def test_spark_matches_clingo(spark_executor: object) -> None:
    """A seeded sample of the programs: the Spark engine's boolean and maxprod models are clingo's."""
    sample = random.Random(20).sample(PROGRAMS, SPARK_PROGRAMS)
    _matches_clingo(spark_executor, sample)


def test_spark_scores_and_proofs(spark_executor: object) -> None:
    """Weighted maxprod on Spark: scores equal the memory engine's; proofs from its model check."""
    _scores_and_proofs(spark_executor, random.Random(21).sample(PROGRAMS, SPARK_PROGRAMS // 2), 1)
