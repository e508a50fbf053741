"""The default rule learner: mined path rules weighted for noisy-or over rules; inductive use
through the CLI (rules learned on one graph rank the links of a graph with other entities,
GraIL's sampled protocol); the reasoner's answers carry the scores `nesy eval` ranks by."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

import nesy  # noqa: E402
from nesy.rulelearn.kbeval import RuleScorer, rules_from_file  # noqa: E402
from nesy.rulelearn.mine import mine_bodies  # noqa: E402
from nesy.rulelearn.pathlearn import SEMIRING, learn_paths  # noqa: E402

NS = "http://kin.org/"


def _world(prefix: str, families: int, seed: int) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Three-generation families: parent and sibling facts, and the grandparent links that
    follow (grandparent(X, Z) :- parent(X, Y), parent(Y, Z)); entities named ``prefix``N."""
    rng = random.Random(seed)
    facts, derived, n = [], [], 0

    def new() -> str:
        nonlocal n
        n += 1
        return f"{prefix}{n}"

    for _ in range(families):
        grand = [new(), new()]
        kids = [new() for _ in range(rng.randint(2, 3))]
        for k in kids:
            facts += [(g, "parent", k) for g in grand]
            facts += [(k, "sibling", o) for o in kids if o != k]
            for c in [new() for _ in range(rng.randint(1, 3))]:
                facts.append((k, "parent", c))
                derived += [(g, "grandparent", c) for g in grand]
    return facts, derived


def _tsv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _nesy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_mining_finds_the_generating_body() -> None:
    facts, derived = _world("e", 12, 0)
    names = sorted({x for h, _, t in facts + derived for x in (h, t)})
    ent = {e: i for i, e in enumerate(names)}
    rel = {"parent": 0, "sibling": 1, "grandparent": 2}
    ids = np.array([[ent[h], rel[r], ent[t]] for h, r, t in facts], dtype=np.int64)
    queries = np.array([[ent[h], rel[r], ent[t]] for h, r, t in derived], dtype=np.int64)
    bodies = mine_bodies([(ids, queries)], len(names), 3, max_len=3)
    assert bodies[2][0] == (0, 0)  # parent(X, Y1), parent(Y1, Z) connects every pair
    assert all(b != (2,) for b in bodies[2])  # never the head itself
    result = learn_paths(np.concatenate([ids, queries]), queries, len(names), 3, [2])
    best = max(result.rules, key=lambda r: r.weight)
    assert best.body == (0, 0) and best.weight > 0.5
    # A body that also reaches wrong candidates (a sibling's grandchildren are cousins' too,
    # but also the grandparent's own grandchildren) gets less weight than the right one.
    assert all(r.weight <= best.weight for r in result.rules)


@pytest.fixture(scope="module")
def inductive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Graph A (learn on it) and graph B (entities all new), as KB directories, and B's test file."""
    d = tmp_path_factory.mktemp("inductive")
    a_facts, a_derived = _world("a", 30, 1)
    b_facts, b_derived = _world("b", 20, 2)
    rng = random.Random(3)
    rng.shuffle(b_derived)
    test = b_derived[:40]
    for name, rows in (("A", a_facts + a_derived), ("B", b_facts + b_derived[40:])):
        assert _nesy("init", str(d / name), "--namespace", NS).returncode == 0
        assert _nesy("load", str(d / name), str(_tsv(d / f"{name}.tsv", rows))).returncode == 0
    return d / "A", d / "B", _tsv(d / "test.tsv", test)


def test_rules_learned_on_one_graph_rank_links_of_another(inductive: tuple[Path, Path, Path], tmp_path: Path) -> None:
    a, b, test = inductive
    out = tmp_path / "r.rules"
    r = _nesy("learn", str(a), "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# nesy:learned") and f"# nesy:semiring {SEMIRING}" in text
    r = _nesy("eval", str(b), "--test", str(test), "--rules", str(out), "--negatives", "50", "--seed", "1",
              "--format", "json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert {"mrr", "hits@1", "hits@3", "hits@10"} <= set(m)
    assert m["n"] == 80 and m["semiring"] == SEMIRING
    assert m["hits@10"] >= 0.95 and m["mrr"] >= 0.8, m
    # The same rules against every entity of B (full filtered ranking) still rank well; a
    # rule file with a wrong rule does not.
    full = json.loads(_nesy("eval", str(b), "--test", str(test), "--rules", str(out), "--format", "json").stdout)
    assert full["mrr"] >= 0.6, full
    wrong = tmp_path / "wrong.rules"
    wrong.write_text(f"@prefix k: <{NS}> .\n0.9 :: k:grandparent(X, Z) :- k:sibling(X, Z).\n", encoding="utf-8")
    bad = json.loads(_nesy("eval", str(b), "--test", str(test), "--rules", str(wrong), "--negatives", "50",
                           "--format", "json").stdout)
    assert bad["hits@10"] < 0.5, bad
    r = _nesy("eval", str(b), "--test", str(test), "--rules", str(out), "--negatives", "0")
    assert r.returncode != 0 and "negatives" in r.stderr and "Traceback" not in r.stderr


def test_answers_carry_the_scores_eval_ranks_by(inductive: tuple[Path, Path, Path], tmp_path: Path) -> None:
    a, b, _ = inductive
    out = tmp_path / "r.rules"
    with nesy.KnowledgeBase(a) as kb:
        kb.learn(out=out, min_confidence=0.05, progress=False)
    text = out.read_text(encoding="utf-8")
    assert "# nesy:apply once" in text
    # Rules that read their own head (grandparent :- grandparent, sibling) are kept: applied
    # once, the reasoner's answers are what eval ranks by.
    recursive = [ln for ln in text.splitlines() if ":-" in ln
                 and ln.split(":-")[0].split("::")[-1].split("(")[0].strip() in ln.split(":-")[1]]
    assert recursive
    from nesy.linkpred.predictor import KGData

    with nesy.KnowledgeBase(b) as kb:
        data = KGData.from_kb(kb)
        rules = rules_from_file(kb, out, data)
        kb.semiring = SEMIRING
        kb.add_rules(out)
        scorer = RuleScorer(rules, data, aggregate=SEMIRING)
        index = {str(t): i for i, t in enumerate(kb.vocab.terms(data.entity_ids))}
        checked = 0
        import torch

        for r, rel in enumerate(kb.vocab.terms(data.relation_ids)):
            learned = [x for x in kb.ask(f"?- <{rel}>(X, Y).") if x.proof.kind == "learned"]
            for ans in learned[:40]:
                x, y = str(ans.bindings["X"]), str(ans.bindings["Y"])
                row = scorer.score_t(torch.tensor([index[x]]), torch.tensor([r]))[0]
                assert row[index[y]].item() == pytest.approx(ans.score, rel=1e-5), (rel, x, y)
                assert kb.check_proof(ans.proof)
                checked += 1
        assert checked >= 60
