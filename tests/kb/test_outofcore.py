"""``kb.materialize(engine=...)``, ``nesy materialize --engine``: a KB's rules on DuckDB and Spark.

The inferred graph an out-of-core engine stores equals the memory engine's (triples and
scores), ``kb.why`` of a fact it derived rebuilds a proof that ``kb.check_proof`` accepts,
and what those engines cannot run is refused with a message saying so.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from nesy import KnowledgeBase, NesyError
from nesy.store.graphs import GRAPH_CODE

EX = "http://example.org/fam#"

RULES = f"""
@prefix : <{EX}> .
:ancestor(X, Y) :- :parent(X, Y).
0.9 :: :ancestor(X, Z) :- :ancestor(X, Y), :parent(Y, Z).
0.8 :: :sibling(X, Y) :- :parent(P, X), :parent(P, Y), X != Y.
:Root(X) :- :Person(X), not :hasParent(X).
:hasParent(X) :- :parent(_, X).
:big(X, N) :- :Person(X), N = count {{ C : :parent(X, C) }}, N >= 2.
:next(X, M) :- :big(X, N), M = N + 1.
"""


def _data(n: int = 40, seed: int = 3) -> str:
    """A seeded forest of ``n`` people as Turtle, some links uncertain (scored)."""
    rng = random.Random(seed)
    lines = [f"@prefix : <{EX}> ."]
    for i in range(n):
        lines.append(f":p{i} a :Person .")
        if i > 2:
            lines.append(f":p{rng.randrange(i)} :parent :p{i} .")
    return "\n".join(lines) + "\n"


def _kb(tmp_path: Path, name: str) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path / name)
    data = tmp_path / "fam.ttl"
    data.write_text(_data())
    kb.load(data)
    kb.add_rules(RULES)
    return kb


def _inferred(kb: KnowledgeBase) -> dict[tuple, float]:
    t = kb.store.table
    rows = (t.g == GRAPH_CODE["inferred"]).nonzero()[0]
    term = kb.vocab.term
    return {(term(t.s[r]), term(t.p[r]), term(t.o[r])): float(t.score[r]) for r in rows}


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_engine_stores_the_memory_engines_model_and_proves_it(tmp_path: Path, engine: str, request) -> None:
    """Same inferred triples and scores as the memory engine; proofs of derived facts check."""
    if engine == "spark":
        request.getfixturevalue("spark_session")  # the one JVM of the test run
    mem = _kb(tmp_path, "mem")
    mem.materialize()
    want = _inferred(mem)
    mem.close()
    kb = _kb(tmp_path, engine)
    steps: list[dict] = []
    stats = kb.materialize(engine=engine, progress=steps.append)
    got = _inferred(kb)
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(s) for k, s in want.items())
    assert stats["engine"] == engine and stats["stored"] == len(want)
    assert steps and all({"stratum", "round", "new"} <= set(s) for s in steps)
    # Proofs of facts the engine derived, rebuilt from its model: recursion, negation, aggregate.
    for atom in [":ancestor(:p0, X)", ":Root(X)", ":next(X, M)"]:
        answers = kb.ask(f"?- {atom}.")
        assert answers, atom
        a = answers[-1]
        ground = atom
        for v, term in a.bindings.items():
            ground = ground.replace(v, kb.shorten(term) if hasattr(kb, "shorten") else term.n3())
        proof = kb.why(ground)
        assert kb.check_proof(proof).ok, (ground, kb.check_proof(proof).problems)
        assert proof.score == pytest.approx(a.score)
    kb.close()


def test_spark_derived_fact_has_a_checked_proof(tmp_path: Path, spark_session) -> None:
    """Done-when of the scale issue: a fact the Spark engine derived, proved by ``kb.why``."""
    kb = _kb(tmp_path, "spark-why")
    kb.materialize(engine="spark")
    proof = kb.why(":ancestor(:p0, :p3)") if kb.ask("?- :ancestor(:p0, :p3).") else \
        kb.why(f":ancestor({kb.shorten(kb.ask('?- :ancestor(X, Y).')[0]['X'])}, "
               f"{kb.shorten(kb.ask('?- :ancestor(X, Y).')[0]['Y'])})")
    assert proof.kind == "derived"
    assert kb.check_proof(proof).ok
    kb.close()


def test_refusals_say_what_to_do(tmp_path: Path) -> None:
    """noisyor, neural atoms and unknown engines are refused with a message, nothing stored."""
    kb = _kb(tmp_path, "refuse")
    with pytest.raises(NesyError, match="dukdb|engine"):
        kb.materialize(engine="dukdb")
    kb.semiring = "noisyor"
    with pytest.raises(NesyError, match="memory engine"):
        kb.materialize(engine="duckdb")
    kb.semiring = "maxprod"
    kb.add_rules(f"@prefix : <{EX}> .\n:likely(X, Y) :- ~:parent(X, Y).\n")
    with pytest.raises(NesyError, match="memory engine"):
        kb.materialize(engine="duckdb")
    assert not _inferred(kb)
    kb.close()


def test_cli_materialize_engine(tmp_path: Path) -> None:
    """``nesy materialize DIR --engine duckdb`` reports rounds and stores the model."""
    kb = _kb(tmp_path, "cli")
    kb.close()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "nesy", "materialize", str(tmp_path / "cli"), "--engine", "duckdb"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "on duckdb" in out.stdout and "round 1" in out.stderr
    kb = KnowledgeBase(tmp_path / "cli")
    assert len(_inferred(kb)) > 0
    kb.close()
