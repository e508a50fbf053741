"""Extraction: sentence splitting, mentions, the zero-shot and trained extractors, distant supervision."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef
from rdflib.namespace import RDFS, XSD

from nesy import KnowledgeBase
from nesy.errors import PluginError, TextError
from nesy.text.extract import (
    Example,
    Extraction,
    Sentence,
    distant_examples,
    get_extractor,
    register_extractor,
    split_sentences,
    train_extractor,
)
from nesy.text.mentions import Gazetteer, align

NS = "http://example.org/t#"
T = {n: URIRef(NS + n) for n in "alice bob carol paris rome acme initech berlin gina france bornIn worksFor "
     "locatedIn".split()}


def sentences(text: str, doc: str = "doc") -> list[Sentence]:
    return [Sentence(doc, i, text[a:b], a) for i, (a, b) in enumerate(split_sentences(text))]


def test_split_sentences_abbreviations_decimals_exact_spans() -> None:
    text = ("Dr. Smith flew to the U.S. Army base at 3.5 p.m. on Monday!  Was it late? "
            "J. R. R. Tolkien wrote it (e.g. The Hobbit). \"Yes,\" she said.\n\nNew paragraph")
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == [
        "Dr. Smith flew to the U.S. Army base at 3.5 p.m. on Monday!",
        "Was it late?",
        "J. R. R. Tolkien wrote it (e.g. The Hobbit).",
        "\"Yes,\" she said.",
        "New paragraph"]
    assert split_sentences("  ") == []
    assert split_sentences(" One.  Two. ") == [(1, 5), (7, 11)]


def test_abbreviations_that_close_a_sentence() -> None:
    text = "She moved to the U.S. He stayed in the U.S. Army. We met at 5 p.m. The bar was shut. Fruit etc. Then more."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "She moved to the U.S.", "He stayed in the U.S. Army.", "We met at 5 p.m.", "The bar was shut.",
        "Fruit etc.", "Then more."]
    # So does any dotted abbreviation of two or more letters, before a word that starts sentences.
    text = "The capital is Washington, D.C. The mayor lives in Washington, D.C. Heights. It is U.S.A. Today."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "The capital is Washington, D.C.", "The mayor lives in Washington, D.C. Heights.", "It is U.S.A. Today."]
    # Titles and initials never close one, whatever follows.
    assert len(split_sentences("Ask Dr. He at 5. Prof. The Ninth spoke.")) == 2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab A.!?\n\"'()") + ["U.S.", "p.m.", "Dr.", " He", " The"]),
                max_size=40).map("".join))
def test_spans_are_ordered_trimmed_and_cover_every_word(text: str) -> None:
    spans = split_sentences(text)
    assert all(a < b for a, b in spans) and all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))
    assert all(text[a:b] == text[a:b].strip() for a, b in spans)
    def squeeze(t: str) -> str:
        return t.replace(" ", "").replace("\n", "")

    assert squeeze("".join(text[a:b] for a, b in spans)) == squeeze(text)


def test_a_long_paragraph_splits_in_linear_time() -> None:
    import time

    # 200,000 characters took 16.7 s when every full stop copied the rest of the text.
    for text in ("word. " * 33_334, "." * 200_000, "a" * 200_000 + ". B", "U.S. " * 40_000):
        start = time.perf_counter()
        split_sentences(text)
        assert time.perf_counter() - start < 2.0


def test_gazetteer_and_alignment() -> None:
    gaz = Gazetteer()
    gaz.add("Abilene Regional Airport", "<x:airport>")
    gaz.add("Abilene", "<x:abilene>")
    text = "The Abilene regional airport serves Abilene. It opened on March 27th, 1946 with 3,500 seats."
    found = gaz.find(text)
    kinds = [(f.text, f.kind, f.candidates[0][0]) for f in found]
    assert kinds[:3] == [("Abilene regional airport", "entity", "<x:airport>"), ("Abilene", "entity", "<x:abilene>"),
                         ("It", "pronoun", "<x:airport>")]
    assert ("March 27th, 1946", "literal", f'"1946-03-27"^^<{XSD.date}>') in kinds
    assert ("3,500", "literal", f'"3500"^^<{XSD.integer}>') in kinds
    assert align("Served by Abilene regional airport.", "Abilene_Regional_Airport") == (10, 34)
    assert align("It is in Abilene, which is in Texas.", "Abilene,_Texas") == (9, 16)
    assert align("born on 27 March 1946", '"1946-03-27"') == (8, 21)


@pytest.fixture
def kb() -> KnowledgeBase:
    kb = KnowledgeBase(default_namespace=NS)
    kb.add(T["bornIn"], RDFS.label, Literal("born in"))
    kb.add(T["worksFor"], RDFS.label, Literal("works for"))
    for s, p, o in [("alice", "worksFor", "acme"), ("bob", "bornIn", "rome"), ("carol", "worksFor", "initech"),
                    ("paris", "locatedIn", "france"), ("berlin", "locatedIn", "france")]:
        kb.add(T[s], T[p], T[o])
    return kb


def test_zero_shot_finds_obvious_relation_from_labels(kb: KnowledgeBase) -> None:
    ext = get_extractor(kb)
    assert ext.name == "zero-shot"
    text = "Alice lives well. Alice was born in Paris."
    got = ext.extract(sentences(text), kb)
    assert all(isinstance(x, Extraction) and 0 < x.confidence <= 1 for x in got)
    best = max((x for x in got if x.subject.term == T["alice"] and x.object.term == T["paris"]),
               key=lambda x: x.confidence)
    assert best.predicate == T["bornIn"] and best.confidence >= 0.5
    assert best.sentence.index == 1 and best.sentence.text == "Alice was born in Paris."
    assert best.sentence.text[best.object.start:best.object.end] == "Paris"
    assert best.sentence.start + best.subject.start == text.index("Alice was")
    # a stored fact mentioned again is believed; a new name is a NIL mention
    stored = [x for x in ext.extract(sentences("Bob, who was born in Rome, met Zed Quux."), kb)
              if x.predicate == T["bornIn"] and x.subject.term == T["bob"]]
    assert stored and stored[0].object.term == T["rome"] and stored[0].confidence > 0.9
    nil = [x for x in ext.extract(sentences("Zed Quux works for Acme."), kb) if x.predicate == T["worksFor"]]
    assert nil and nil[0].subject.term is None and nil[0].subject.text == "Zed Quux"


def test_distant_examples(kb: KnowledgeBase) -> None:
    got = distant_examples(kb, [Sentence("d", 0, "Bob grew up in Rome.", 0), "Nothing to see here.",
                                "Paris is in France, like Berlin."])
    assert [e.text for e in got] == ["Bob grew up in Rome.", "Paris is in France, like Berlin."]
    assert got[0].triples == ((NS + "bob", NS + "bornIn", NS + "rome"),)
    assert set(got[1].triples) == {(NS + "paris", NS + "locatedIn", NS + "france"),
                                   (NS + "berlin", NS + "locatedIn", NS + "france")}


EXAMPLES = [Example(t, (tr,)) for t, tr in [
    ("Alice was born in Paris.", ("alice", "bornIn", "paris")),
    ("Bob was born in Rome.", ("bob", "bornIn", "rome")),
    ("Carol was born in Berlin.", ("carol", "bornIn", "berlin")),
    ("Alice works for Acme.", ("alice", "worksFor", "acme")),
    ("Carol works for Initech.", ("carol", "worksFor", "initech")),
    ("Bob works for Acme.", ("bob", "worksFor", "acme")),
    ("Paris is located in France.", ("paris", "locatedIn", "france")),
    ("Berlin is located in France.", ("berlin", "locatedIn", "france")),
]]


def test_train_extract_save_reload(kb: KnowledgeBase, tmp_path: Path) -> None:
    config = {"model": "head", "epochs": 150, "lr": 3e-3, "hidden": 64, "out": 32, "use_prior": False}
    metrics = train_extractor(kb, EXAMPLES, config=config, out=tmp_path / "ext")
    assert metrics["examples"] == 8 and metrics["triples_reachable"] == 1.0
    assert {p.name for p in (tmp_path / "ext").iterdir()} == {"model.json", "model.safetensors", "config.toml"}
    ext = get_extractor(kb, model_dir=tmp_path / "ext")
    assert ext.name == "trained"
    new = sentences("Later, Gina was born in Berlin.")
    got = ext.extract(new, kb)
    best = max(got, key=lambda x: x.confidence)
    assert (best.subject.text, best.subject.term, best.predicate, best.object.term) == (
        "Gina", None, T["bornIn"], T["berlin"])
    assert best.confidence >= 0.5
    again = get_extractor(kb, model_dir=tmp_path / "ext").extract(new, kb)  # a fresh load
    assert [(x.predicate, x.object.term, round(x.confidence, 5)) for x in again] == \
        [(x.predicate, x.object.term, round(x.confidence, 5)) for x in got]


def test_in_memory_kb_keeps_its_model_and_bad_models(kb: KnowledgeBase, tmp_path: Path) -> None:
    train_extractor(kb, EXAMPLES[:2], config={"model": "head", "epochs": 1, "hidden": 16, "out": 8})
    assert get_extractor(kb).name == "trained"
    with pytest.raises(TextError, match="no trained extractor"):
        get_extractor(KnowledgeBase(), "trained")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.json").write_text("{}", encoding="utf-8")
    with pytest.raises(TextError, match="extractor model file model.safetensors is missing"):
        get_extractor(kb, model_dir=tmp_path / "m")
    with pytest.raises(TextError, match="unknown extractor training option"):
        train_extractor(kb, EXAMPLES, config={"epoch": 3})
    with pytest.raises(PluginError, match="unknown extractor 'nope'"):
        get_extractor(kb, "nope")


def test_plugin_extractor(kb: KnowledgeBase) -> None:
    class Fixed:
        name = "fixed"

        def extract(self, sents: list[Sentence], kb: KnowledgeBase) -> list[Extraction]:
            return []

    kb.registry.add("extractor", "mine", lambda kb: Fixed())
    assert get_extractor(kb, "mine").name == "fixed"
    register_extractor("fixed-global", lambda kb: Fixed())
    assert get_extractor(kb, "fixed-global").extract([], kb) == []
