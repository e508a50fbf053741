"""Rule learning through the knowledge base: `kb.learn` writes a rule file that, loaded back,
answers with `learned` proofs `check_proof` accepts; user rules inside; rule-file ranking."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("torch")

from kin_data import families as _families  # noqa: E402
from kin_data import tsv as _tsv  # noqa: E402

import nesy  # noqa: E402
from nesy.errors import NesyError  # noqa: E402

NS = "http://kin.org/"
FAST = {"epochs": 15, "batch_size": 64, "lr": 0.05, "patience": 15, "device": "cpu"}


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
    report = kb.learn(out=out, train=_tsv(d / "train.tsv", train), top=5, progress=False, learner="neural-lp", **FAST)
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
