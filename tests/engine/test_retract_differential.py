"""Differential test: retraction keeps the model a fresh evaluation would compute.

Random stratified programs (:mod:`program_gen`, as in the clingo differential) with
weighted rules and scored facts, some stored twice (an ``asserted`` and an ``extracted``
copy with another score). Each program runs under ``boolean``, ``maxprod`` and
``noisyor``; then random steps remove copies (:meth:`Reasoner.remove_edb`, so a fact
may go or only lose its better copy) or add removed ones back (:meth:`Reasoner.add_edb`),
and after every step the kept model must equal, fact for fact and score for score, a new
reasoner's model of the copies that remain.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from program_gen import Gen, py_of, stratified, term_of, weighted
from reasoner_dsl import EX

from nesy.engine.reasoner import Reasoner
from nesy.store.vocab import Vocab

N_PROGRAMS = 56
STEPS = 4
SEMIRINGS = ("boolean", "maxprod", "noisyor")
#: noisy-or scores are a fixpoint iterated to 1e-9: two evaluations agree to about that.
TOLERANCE = {"boolean": 0.0, "maxprod": 1e-9, "noisyor": 1e-6}

Copies = dict[tuple[str, tuple], dict[str, float]]


def _programs() -> list[tuple[int, Gen, list, Copies]]:
    out = []
    # Other seeds than the clingo differential's; the weights and copies come from the next seed.
    for used, g, rules, facts in stratified(10_000, N_PROGRAMS):
        seed = used + 1
        rules, scored = weighted(seed, rules, facts)
        rng = random.Random(seed)
        copies: Copies = {}
        for p, rows in scored.items():
            for row, score in rows.items():
                copies[(p, row)] = {"asserted": score}
                if rng.random() < 0.3:
                    copies[(p, row)]["extracted"] = rng.choice([1.0, 0.9, 0.4, 0.2])
        out.append((used, g, rules, copies))
    return out


PROGRAMS = _programs()


def _ids(r: Reasoner, row: tuple) -> list[int]:
    return [r.vocab.id(term_of(v)) for v in row]


def _add(r: Reasoner, copies: list[tuple[str, tuple, str, float]]) -> None:
    for p, row, kind, score in copies:
        r.add_edb(r.vocab.id(EX[p]), np.array([_ids(r, row)], dtype=np.int64), np.array([score]), kind=kind)


def _model(r: Reasoner, preds: list[str]) -> dict[tuple, float]:
    r.materialize()
    out = {}
    for p in preds:
        rows, scores = r.derived(r.vocab.id(EX[p]), include_inputs=True)
        for row, s in zip(rows.tolist(), scores.tolist(), strict=True):
            out[(p, tuple(py_of(r.vocab.term(i)) for i in row))] = s
    return out


def _fresh(rules: list, copies: Copies, semiring: str, preds: list[str]) -> dict[tuple, float]:
    r = Reasoner(Vocab(), semiring=semiring)
    _add(r, [(p, row, kind, s) for (p, row), kinds in sorted(copies.items()) for kind, s in kinds.items()])
    r.add_rules(rules)
    return _model(r, preds)


def _step(r: Reasoner, rng: random.Random, copies: Copies, gone: list) -> str:
    """One random change to ``r`` and ``copies``: remove copies, or add removed ones back."""
    if gone and rng.random() < 0.35:
        back = [gone.pop(rng.randrange(len(gone))) for _ in range(rng.randint(1, len(gone)))]
        for p, row, kind, score in back:
            copies.setdefault((p, row), {})[kind] = score
        _add(r, back)
        return f"add back {back}"
    live = [(p, row, kind) for (p, row), kinds in sorted(copies.items()) for kind in sorted(kinds)]
    if not live:
        return "nothing left"
    chosen = rng.sample(live, rng.randint(1, max(1, len(live) // 5)))
    batch = []
    for p, row, kind in chosen:
        gone.append((p, row, kind, copies[(p, row)].pop(kind)))
        if not copies[(p, row)]:
            del copies[(p, row)]
        batch.append((r.vocab.id(EX[p]), np.array([_ids(r, row)], dtype=np.int64), None, kind))
    if rng.random() < 0.5:
        r.remove_edbs(batch)
    else:
        for item in batch:
            r.remove_edb(*item[:2], kind=item[3])
    return f"remove {chosen}"


@pytest.mark.parametrize("chunk", range(4))
def test_retraction_matches_fresh_evaluation(chunk: int) -> None:
    """After every removal and re-insertion: the same facts and scores as from scratch."""
    for seed, g, rules, start in PROGRAMS[chunk::4]:
        preds = sorted(set(g.arity) | ({"sub"} if g.generic else set()))
        for semiring in SEMIRINGS:
            rng = random.Random(seed * 7 + len(semiring))
            copies = {k: dict(v) for k, v in start.items()}
            r = Reasoner(Vocab(), semiring=semiring)
            _add(r, [(p, row, kind, s) for (p, row), kinds in sorted(copies.items()) for kind, s in kinds.items()])
            r.add_rules(rules)
            r.materialize()
            gone: list = []
            for step in range(STEPS):
                what = _step(r, rng, copies, gone)
                got, want = _model(r, preds), _fresh(rules, copies, semiring, preds)
                where = f"seed {seed} {semiring} step {step}: {what}"
                assert got.keys() == want.keys(), f"{where}: missing {sorted(want.keys() - got.keys())[:5]} " \
                                                  f"extra {sorted(got.keys() - want.keys())[:5]}"
                for k, s in want.items():
                    assert got[k] == pytest.approx(s, abs=TOLERANCE[semiring], rel=0), f"{where}: score of {k}"
