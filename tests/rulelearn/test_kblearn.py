"""Rule learning through the knowledge base: `kb.learn` writes a rule file that, loaded back,
answers with `learned` proofs `check_proof` accepts; user rules inside; rule-file ranking."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

pytest.importorskip("torch")

import nesy  # noqa: E402
from nesy.errors import NesyError  # noqa: E402

NS = "http://kin.org/"
FAST = {"epochs": 15, "batch_size": 64, "lr": 0.05, "patience": 15, "device": "cpu"}


def _families(seed: int = 0, count: int = 14) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Base facts (parent, brother) and derived ones from two known rules:
    grandparent(X, Z) :- parent(X, Y), parent(Y, Z).   uncle(X, Z) :- brother(X, Y), parent(Y, Z)."""
    rng = random.Random(seed)
    base, derived = [], []
    n = 0
    for _ in range(count):
        g = [f"p{n}", f"p{n + 1}"]
        n += 2
        kids = [f"p{n + i}" for i in range(rng.randint(2, 4))]
        n += len(kids)
        male = {k: rng.random() < 0.5 for k in kids}
        children = {}
        for k in kids:
            base += [(x, "parent", k) for x in g]
            base += [(k, "brother", o) for o in kids if o != k and male[k]]
            children[k] = [f"p{n + i}" for i in range(rng.randint(0, 2))]
            n += len(children[k])
            base += [(k, "parent", c) for c in children[k]]
            derived += [(x, "grandparent", c) for x in g for c in children[k]]
        derived += [(k, "uncle", c) for k in kids if male[k] for o in kids if o != k for c in children[o]]
    return base, derived


def _tsv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> tuple[nesy.KnowledgeBase, dict, Path, Path]:
    import torch

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("learn")
    base, derived = _families()
    kb = nesy.KnowledgeBase(default_namespace=NS)
    kb.load(_tsv(d / "facts.tsv", base))
    kb.bind("kin", NS)
    train, test = derived[::2], derived[1::2]
    kb.add_rules("kin:grandparent(X, Z) :- kin:parent(X, Y), kin:parent(Y, Z).\n"  # a right chain rule
                 "kin:uncle(X, Z) :- kin:brother(X, Y), kin:brother(Y, Z), kin:parent(Z, X).\n")  # not a chain
    out = d / "learned.rules"
    report = kb.learn(out=out, train=_tsv(d / "train.tsv", train), top=5, progress=False, **FAST)
    return kb, report, out, _tsv(d / "test.tsv", test)


def test_learned_file_holds_the_generating_rules(learned: tuple) -> None:
    kb, report, out, _ = learned
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# nesy:learned") and report["count"] > 0
    heads = {}
    for line in text.splitlines():
        m = re.match(r"([0-9.]+) :: kin:(\w+)\(X, Z\) :- (.*)\.  #", line)
        if m:
            heads.setdefault(m.group(2), []).append(m.group(3))
    assert "kin:parent(X, Y1), kin:parent(Y1, Z)" in heads["grandparent"][:3], heads["grandparent"]
    assert "kin:brother(X, Y1), kin:parent(Y1, Z)" in heads["uncle"][:3], heads["uncle"]
    [(user_text, weight, verdict)] = report["user_rules"]
    assert "grandparent" in user_text and verdict == "kept" and weight >= 0.5
    [(skipped, why)] = report["not_chain"]
    assert "uncle" in skipped and "chain" in why


def test_learned_rules_answer_with_checked_learned_proofs(learned: tuple) -> None:
    _, _, out, _ = learned
    base, _ = _families()
    kb = nesy.KnowledgeBase(default_namespace=NS)
    kb.load(_tsv(out.parent / "facts2.tsv", base))
    kb.add_rules(out)
    answers = kb.ask(f"?- <{NS}uncle>(X, Y).", limit=5)
    assert answers
    for a in answers:
        assert a.proof.kind == "learned" and 0 < a.score <= 1
        assert kb.check_proof(a.proof)


def test_rule_file_ranking_beats_random(learned: tuple) -> None:
    kb, _, out, test = learned
    m = kb.evaluate(test, rules=out)
    assert m["rules"] > 0 and m["tie_rule"] == "realistic"
    assert m["mrr"] > 0.5 and m["optimistic_mrr"] >= m["mrr"]


def test_bad_input(learned: tuple, tmp_path: Path) -> None:
    kb, _, _, _ = learned
    with pytest.raises(NesyError, match="unknown relation"):
        kb.learn(relations=["kin:nosuch"], progress=False, **FAST)
    with pytest.raises(NesyError, match="max_len"):
        kb.learn(progress=False, max_len=9)
    with pytest.raises(NesyError, match="no training triples"):
        kb.learn(relations=["kin:parent"], train=_tsv(tmp_path / "t.tsv", [("p0", "brother", "p1")]),
                 progress=False, **FAST)
