"""The reader trains end to end on a tiny generated set: encoder weights change, the model
is saved as safetensors + JSON (no pickle) and reloads, and it extracts a trained relation
between names it never saw; a bad option is a TextError. Batching texts by length at
extraction changes no extraction, and the int8-quantised encoder still extracts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS

from nesy import KnowledgeBase
from nesy.errors import TextError
from nesy.text.extract import Example, Sentence, get_extractor, train_extractor
from nesy.text.extract_train import DEFAULTS, check_config, load_model

EX = "http://example.org/reader/"
LABELS = {"birthPlace": "was born in", "employer": "works for"}
PEOPLE = ["Alice Martin", "Bob Stone", "Carol White", "Dave Brown", "Erin Black", "Frank Green"]
THINGS = {"birthPlace": ["Paris", "Rome", "Oslo", "Vienna"], "employer": ["Acme", "Initech", "Globex", "Hooli"]}
FAST = {"model": "reader", "epochs": 3, "lr": 3e-3, "encoder_lr": 2e-4, "hidden": 32, "out": 16, "batch": 8,
        "tune_layers": 1, "max_tokens": 24, "holdout": 0.0, "seed": 0}


def _kb() -> KnowledgeBase:
    kb = KnowledgeBase(default_namespace=EX)
    for prop, label in LABELS.items():
        kb.add(URIRef(EX + prop), RDF.type, RDF.Property)
        kb.add(URIRef(EX + prop), RDFS.label, Literal(label))
    return kb


def _examples(n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        prop = list(LABELS)[i % 2]
        s, o = rng.choice(PEOPLE), rng.choice(THINGS[prop])
        out.append(Example(f"{s} {LABELS[prop]} {o}.", ((s.replace(" ", "_"), prop, o),)))
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[KnowledgeBase, Path, dict]:
    kb, out = _kb(), tmp_path_factory.mktemp("reader") / "model"
    epochs: list[dict] = []
    metrics = train_extractor(kb, _examples(40, 0), config=FAST, out=out, valid=_examples(8, 1),
                              on_epoch=epochs.append)
    return kb, out, {"metrics": metrics, "epochs": epochs}


def test_reader_trains_saves_safetensors_and_reports_epochs(trained: tuple[KnowledgeBase, Path, dict]) -> None:
    _, out, got = trained
    assert sorted(p.name for p in out.iterdir()) == ["config.toml", "model.json", "model.safetensors"]
    doc = json.loads((out / "model.json").read_text())
    assert doc["model"] == "reader" and doc["reader"]["tune_layers"] == 1 and doc["reader"]["label_overlap"] == 2.0
    assert doc["config"]["one_per_object"] is True  # "auto": no training text states two triples with one object
    assert [e["epoch"] for e in got["epochs"]][0] == 1 and "valid_f1" in got["epochs"][0]
    assert got["metrics"]["valid_f1"] > 0.5


def test_reader_extracts_after_reload(trained: tuple[KnowledgeBase, Path, dict]) -> None:
    kb, out, _ = trained
    extractor = get_extractor(kb, model_dir=out)
    assert extractor.name == "reader"
    found = extractor.extract([Sentence("t", 0, "Zed Quinn works for Acme.", 0)], kb)
    best = max(found, key=lambda x: x.confidence)
    assert (best.predicate, best.object.text) == (URIRef(EX + "employer"), "Acme")


def test_decoding_adds_the_object_words_share_and_a_model_saved_without_it_has_none(
        trained: tuple[KnowledgeBase, Path, dict]) -> None:
    from nesy.text.label_words import object_overlap

    kb, out, _ = trained
    extractor = get_extractor(kb, model_dir=out)
    assert extractor.model.config["object_overlap"] == DEFAULTS["object_overlap"] == 2.0
    texts = ["Mia Long, who was born in Oslo, works for Globex.", "Zed Quinn works for Acme."]
    _, feats = extractor.analyse(texts)
    with torch.inference_mode():
        with_it, _ = extractor.decode(texts, feats)
        near = object_overlap(texts, feats, extractor.words)
        del extractor.model.config["object_overlap"]  # as model.json reads before 2026-12-07
        without, _ = extractor.decode(texts, feats)
    assert near.shape == with_it.shape and float(near.max()) > 0  # "works for" before the employer
    assert torch.allclose(with_it - without, 2.0 * near, atol=1e-5)


def _extractions(extractor: object, kb: KnowledgeBase, texts: list[str]) -> dict[tuple, float]:
    got = extractor.extract([Sentence(f"d{i}", 0, t, 0) for i, t in enumerate(texts)], kb)  # type: ignore[attr-defined]
    return {(x.sentence.doc, x.subject.text, str(x.predicate), x.object.text): x.confidence for x in got}


def test_reader_batches_by_length_without_changing_extractions(trained: tuple[KnowledgeBase, Path, dict]) -> None:
    kb, out, _ = trained
    texts = ["Zed Quinn works for Acme.", "Mia Long, who was born in the old harbour town of Oslo, works for Globex.",
             "Ann Lee was born in Rome.", "It is here.", "Bob Stone works for Hooli and was born in Vienna."]
    extractor = get_extractor(kb, model_dir=out)
    extractor.budget = 10**6  # one padded batch of every text (as before 2026-12-05)
    whole = _extractions(extractor, kb, texts)
    extractor.budget = 1  # one text a batch
    single = _extractions(extractor, kb, texts)
    extractor.budget = 64
    mixed = _extractions(extractor, kb, texts)
    assert whole and set(whole) == set(single) == set(mixed)
    assert max(abs(whole[k] - single[k]) + abs(whole[k] - mixed[k]) for k in whole) < 1e-4


def test_quantized_reader_extracts(trained: tuple[KnowledgeBase, Path, dict]) -> None:
    from nesy.text.extract_pipeline import make_extractor

    kb, out, _ = trained
    model = load_model(out)
    model.config["quantize"] = True
    extractor = make_extractor(kb, model)
    assert "quantized" in type(extractor.net.encoder.encoder.layer[0].output.dense).__module__
    found = extractor.extract([Sentence("t", 0, "Zed Quinn works for Acme.", 0)], kb)
    assert max(found, key=lambda x: x.confidence).predicate == URIRef(EX + "employer")


def test_the_unseen_bonus_is_chosen_saved_and_raises_only_untrained_predicates(
        trained: tuple[KnowledgeBase, Path, dict], tmp_path: Path) -> None:
    from nesy.text.extract_model import add_unseen
    from nesy.text.extract_pipeline import make_extractor
    from nesy.text.extract_train import save_model
    from nesy.text.reader_fit import UNSEEN_BONUSES

    kb, out, got = trained
    # Every predicate of this store was trained: no bonus to choose, 0 is kept.
    assert got["metrics"]["unseen_bonus"] == 0.0 and json.loads((out / "model.json").read_text())["unseen_bonus"] == 0.0
    assert got["metrics"]["valid_f1_by_bonus"] == {"0.0": got["metrics"]["valid_f1"]}
    assert min(UNSEEN_BONUSES) > 0.0 and len(UNSEEN_BONUSES) > 1  # with untrained predicates, never 0
    x = torch.zeros(2, 5)
    assert add_unseen(x, 3, 1.5).tolist() == [[0, 0, 0, 1.5, 1.5]] * 2 and add_unseen(x, 3, 0.0) is x
    wider = _kb()
    wider.add(URIRef(EX + "mayorOf"), RDF.type, RDF.Property)
    wider.add(URIRef(EX + "mayorOf"), RDFS.label, Literal("is the mayor of"))
    text = [Sentence("t", 0, "Zed Quinn is the mayor of Lisbon and works for Acme.", 0)]
    model = load_model(out)
    before = {(x.object.text, str(x.predicate)): x.confidence for x in make_extractor(wider, model).extract(text, wider)}
    model.unseen_bonus = 50.0
    save_model(model, tmp_path / "m")
    assert load_model(tmp_path / "m").unseen_bonus == 50.0
    after = get_extractor(wider, model_dir=tmp_path / "m").extract(text, wider)
    assert {str(x.predicate) for x in after} == {EX + "mayorOf"}  # each pair's best is now the untrained one
    assert all(x.confidence > before.get((x.object.text, str(x.predicate)), 0.0) for x in after)


def test_the_reader_is_the_default_model_and_the_store_prior_picks_the_head() -> None:
    cfg = check_config({})
    assert cfg["model"] == "reader"
    assert (cfg["epochs"], cfg["batch"], cfg["lr"], cfg["encoder_lr"], cfg["tune_layers"], cfg["max_tokens"],
            cfg["max_examples"], cfg["quantize"], cfg["tag_weight"]) == (2, 16, 1e-3, 1e-4, 6, 96, 4000, False, 3.0)
    head = check_config({"use_prior": True})
    assert head["model"] == "head" and head["use_prior"] is True
    assert (head["epochs"], head["batch"], head["lr"], head["max_examples"]) == (
        DEFAULTS["epochs"], DEFAULTS["batch"], DEFAULTS["lr"], None)  # the head keeps its own
    assert check_config({"model": "reader", "epochs": 5})["epochs"] == 5  # given options win


def test_reader_options_are_checked() -> None:
    with pytest.raises(TextError, match="use_prior"):
        train_extractor(_kb(), _examples(4, 0), config={**FAST, "use_prior": True})
    with pytest.raises(TextError, match="unknown extractor model"):
        train_extractor(_kb(), _examples(4, 0), config={**FAST, "model": "bert"})
    with pytest.raises(TextError, match="one_per_object"):
        train_extractor(_kb(), _examples(4, 0), config={**FAST, "one_per_object": "sometimes"})
    for bad in ({"label_overlap": True}, {"label_overlap": -1}, {"object_overlap": -2}, {"object_overlap": "2"},
                {"tagged_negatives": "4"}, {"tagged_negatives": 2.5},
                {"repeat_penalty": -0.5}, {"repeat_penalty": float("nan")}, {"repeat_penalty": "1"}):
        with pytest.raises(TextError, match="must be a number of at least 0"):
            train_extractor(_kb(), _examples(4, 0), config={**FAST, **bad})
    for key in ("refit", "rescore", "quantize", "pairs_nil"):  # a TOML string is not a switch
        with pytest.raises(TextError, match=f"{key} must be true or false, got 'yes'"):
            train_extractor(_kb(), _examples(4, 0), config={**FAST, key: "yes"})


def test_the_rescorer_is_fitted_saved_applied_and_checked(trained: tuple[KnowledgeBase, Path, dict],
                                                          tmp_path: Path) -> None:
    from nesy.text.extract_pipeline import make_extractor
    from nesy.text.extract_train import save_model
    from nesy.text.rescore import FEATURES

    kb, out, _ = trained
    doc = json.loads((out / "model.json").read_text())
    assert doc["config"]["rescore"] is True and doc["rescorer"]["features"] == list(FEATURES)
    assert len(doc["rescorer"]["weights"]) == len(FEATURES)
    text = [Sentence("t", 0, "Zed Quinn works for Acme.", 0)]
    model = load_model(out)
    assert model.rescorer == doc["rescorer"] and make_extractor(kb, model).extract(text, kb)
    model.rescorer = {**doc["rescorer"], "weights": [0.0] * len(FEATURES), "bias": -100.0}
    assert make_extractor(kb, model).extract(text, kb) == []  # every candidate re-scored far below the threshold
    model.rescorer = {**doc["rescorer"], "weights": [float("nan")] * len(FEATURES)}
    with pytest.raises(TextError, match="JSON"):
        save_model(model, tmp_path / "nan")  # never written
    for bad in ({"weights": [1.0]}, {"bias": "high"}, {"weights": [True] * len(FEATURES)}, {"features": ["logit"]}):
        model.rescorer = {**doc["rescorer"], **bad}
        save_model(model, tmp_path / "bad")
        with pytest.raises(TextError, match="re-scorer"):
            load_model(tmp_path / "bad")


def test_losses_count_each_reference_triple_where_the_reader_loses_it(trained: tuple[KnowledgeBase, Path, dict]) -> None:
    from nesy.text.losses import STAGES, reader_losses, table

    kb, out, _ = trained
    extractor = get_extractor(kb, model_dir=out)
    texts = ["Zed Quinn works for Acme.", "Nothing here."]
    keys = [{("zed quinn", "employer", "acme"), ("zed quinn", "birth place", "acme"), ("zed quinn", "employer", "umbrella")},
            {("mia long", "employer", "globex")}]
    got = reader_losses(extractor, texts, keys, EX, batch=1)
    # What the extractor itself keeps (confidence >= 0.5, as the benchmark scores) is what is counted extracted.
    kept = {(x.subject.text, x.predicate, x.object.text) for x in
            extractor.extract([Sentence("t", 0, texts[0], 0)], kb) if x.confidence >= 0.5}
    assert (("Zed Quinn", URIRef(EX + "employer"), "Acme") in kept) == (got.stages["extracted"] == 1)
    assert got.texts == 2 and sum(got.stages.values()) == 4 and set(got.stages) <= set(STAGES)
    # The reader ranks employer first for the pair (the extraction test above), so the other comes second.
    assert got.stages["another predicate first (2nd)"] == 1
    assert got.confusions == {("birth place", "employer"): 1} and got.first[True, False] == 1
    assert got.stages["object not found"] == 1 and got.stages["neither name found"] == 1
    assert got.names == {"not in the text": 3}  # umbrella, mia long, globex
    assert "| another predicate first (2nd) | 1 | 25.0% |" in table(got)


def test_a_missing_name_is_told_apart_from_a_name_found_longer_or_shorter() -> None:
    from nesy.text.losses import name_reason

    assert name_reason("chicago", {"chicago, illinois"}, "It is in Chicago, Illinois.") == "found longer"
    assert name_reason("v12 engine", {"v12"}, "It has a V12  engine.") == "found shorter"
    assert name_reason("rome", {"paris"}, "From Rome to Paris.") == "in the text, not found"
    assert name_reason("antares (rocket)", {"antares"}, "The Antares rocket.") == "not in the text"


def test_a_false_triple_is_told_apart_by_what_it_got_wrong() -> None:
    from nesy.text.losses import FALSE_KINDS, false_kind, false_table

    want = {("3arena", "owner", "live nation"), ("3arena", "location", "thames, new zealand")}
    cases = {("3arena", "operator", "live nation"): "another predicate",
             ("live nation", "owner", "3arena"): "subject and object reversed",
             ("live nation", "location", "thames, new zealand"): "two reference names, unrelated",
             ("3arena", "location", "thames"): "one name cut or grown",
             ("3arena", "architect", "populous"): "one name not in the reference",
             ("3arena at north wall", "location", "thames"): "both names wrong, one cut or grown",
             ("dublin", "country", "ireland"): "neither name in the reference"}
    assert {false_kind(t, want) for t in cases} == set(FALSE_KINDS)
    assert all(false_kind(t, want) == kind for t, kind in cases.items())
    table = false_table([set(cases) | want], [want])
    assert table.startswith("9 triples extracted, 7 not in the reference")
    assert all(f"| {kind} | 1 | 14.3% |" in table for kind in FALSE_KINDS)
