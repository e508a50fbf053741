"""Link prediction through the knowledge base: train, evaluate, predict, `~p(X, Y)` proofs,
resume with new entities, and the bad inputs that must leave everything as it was."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")

import nesy  # noqa: E402
from nesy.errors import NesyError  # noqa: E402

NS = "http://t.org/"
FAST = {"model": "complex", "dim": 16, "epochs": 40, "eval_every": 10, "batch_size": 256, "device": "cpu"}


def _write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``likes`` at random, ``likedBy`` its inverse; some ``likedBy`` held out for testing:
    their ``likes`` twin is in training, so a model that learns the inverse ranks them high."""
    rng = random.Random(0)
    ents = [f"e{i}" for i in range(40)]
    likes = sorted({(a, rng.choice(ents)) for a in ents for _ in range(2)})
    train = [(a, "likes", b) for a, b in likes]
    inverse = [(b, "likedBy", a) for a, b in likes]
    rng.shuffle(inverse)
    test, rest = inverse[:15], inverse[15:]
    d = tmp_path_factory.mktemp("kge")
    return {"train": _write(d / "train.tsv", train + rest[:-10]), "valid": _write(d / "valid.tsv", rest[-10:]),
            "test": _write(d / "test.tsv", test), "dir": d}


@pytest.fixture(scope="module")
def trained(split: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("kb") / "kb"
    with nesy.KnowledgeBase(path) as kb:
        kb.load(split["train"], namespace=NS)
        summary = kb.train(valid=split["valid"], progress=False, **FAST)
        assert summary["checkpoint"] and Path(summary["checkpoint"], "model.safetensors").exists()
        assert summary["relations"] == 2 and summary["valid"] == 10
    return path


def test_evaluation_beats_random_ranking(trained: Path, split: dict[str, Path]) -> None:
    with nesy.KnowledgeBase(trained) as kb:
        m = kb.evaluate(split["test"])
    assert m["triples"] == 15 and m["skipped"] == 0 and m["n"] == 30 and m["tie_rule"] == "realistic"
    # Random ranking among 40 entities: expected MRR about 0.11.
    assert m["mrr"] > 0.4, m
    assert m["optimistic_mrr"] >= m["mrr"]


def test_neural_atom_proof_names_model_score_and_checkpoint(trained: Path) -> None:
    with nesy.KnowledgeBase(trained) as kb:
        kb.bind("t", NS)
        kb.add_rules("t:admirer(X, Y) :- ~t:likedBy(X, Y).")
        answers = kb.ask("?- t:admirer(t:e1, Y).")
        assert answers, "the predictor proposes no likedBy candidates above 0.5"
        leaf = next(n for n in answers[0].proof.walk() if n.kind == "predicted")
        assert leaf.source["model"] == "complex" and leaf.source["checkpoint"].endswith("models/complex")
        assert 0.5 <= leaf.score <= 1.0 and answers[0].score == pytest.approx(leaf.score)
        assert "predicted" in str(answers[0].proof) and "model=complex" in str(answers[0].proof)
        ranked = kb.predict("t:e1", "t:likedBy", 3)
        assert len(ranked) == 3 and ranked[0][1] >= ranked[1][1] >= ranked[2][1]


def test_predict_links_fills_the_predicted_graph(trained: Path, tmp_path: Path) -> None:
    copy = tmp_path / "kb"
    shutil.copytree(trained, copy)
    with nesy.KnowledgeBase(copy) as kb:
        r = kb.predict_links(relation=f"<{NS}likedBy>", threshold=0.5, k=3)
        assert r["added"] > 0 and kb.stats()["graphs"]["predicted"] == r["added"]
        s, p, o, _ = next(iter(kb.triples("predicted")))
        [copy_info] = kb.provenance(s, p, o)
        assert copy_info["source"]["model"] == "complex" and 0.5 <= copy_info["score"] <= 1
        again = kb.predict_links(relation=f"<{NS}likedBy>", threshold=0.5, k=3)  # replaces, not adds
        assert kb.stats()["graphs"]["predicted"] == again["added"] == r["added"]
        rows = kb.sparql(f"SELECT ?s WHERE {{ ?s <{NS}likedBy> ?o }}", predicted=True)
        assert len(rows) > len(kb.sparql(f"SELECT ?s WHERE {{ ?s <{NS}likedBy> ?o }}"))
        with pytest.raises(NesyError, match="not trained on relation"):
            kb.predict_links(relation=f"<{NS}nope>")


def test_resume_gives_new_entities_a_vector(trained: Path, tmp_path: Path) -> None:
    copy = tmp_path / "kb"
    shutil.copytree(trained, copy)
    more = _write(tmp_path / "more.tsv", [("newcomer", "likes", "e3"), ("e3", "likedBy", "newcomer")])
    with nesy.KnowledgeBase(copy) as kb:
        kb.load(more, namespace=NS)
        r = kb.train(resume=True, progress=False, epochs=2, eval_every=1)
        assert r["new_entities"] == 1 and r["entities"] == 41
        assert len(kb.predict(f"<{NS}newcomer>", f"<{NS}likes>", 5)) == 5
        meta = json.loads((copy / "models" / "complex" / "model.json").read_text())
        assert len(meta["meta"]["entity_ids"]) == 41


def test_bad_inputs_change_nothing(trained: Path, tmp_path: Path, split: dict[str, Path]) -> None:
    with pytest.raises(NesyError, match="no triples between entities"):
        nesy.KnowledgeBase().train(progress=False)
    with pytest.raises(NesyError, match="no link predictor trained"):
        nesy.KnowledgeBase().predict("<urn:a>", "<urn:b>")
    copy = tmp_path / "kb"
    shutil.copytree(trained, copy)
    weights = copy / "models" / "complex" / "model.safetensors"
    before = weights.read_bytes()
    with nesy.KnowledgeBase(copy) as kb:
        with pytest.raises(NesyError, match="train config"):
            kb.train(progress=False, dim=-3)
        with pytest.raises(NesyError, match="unknown relation|not trained"):
            kb.predict("<urn:x>", f"<{NS}unknown>")
    assert weights.read_bytes() == before
    # A checkpoint from another knowledge base (another vocabulary) is refused.
    other = tmp_path / "other"
    with nesy.KnowledgeBase(other) as kb:
        kb.load(_write(tmp_path / "x.tsv", [("b", "likes", "a"), ("a", "likes", "c")]), namespace=NS)
    shutil.copytree(copy / "models", other / "models")
    cfg = json.loads((other / "kb.json").read_text())
    (other / "kb.json").write_text(json.dumps({**cfg, "link_predictor": "complex"}))
    with nesy.KnowledgeBase(other) as kb, pytest.raises(NesyError, match="another knowledge base"):
        kb.predict(f"<{NS}a>", f"<{NS}likes>")
    # A corrupt weights file is an error naming it, not a crash.
    weights.write_bytes(b"\x00" * 64)
    with nesy.KnowledgeBase(copy) as kb, pytest.raises(NesyError, match="model.safetensors|weights"):
        kb.predict(f"<{NS}e1>", f"<{NS}likes>")
