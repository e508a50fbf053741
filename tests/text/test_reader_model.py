"""The reader's pieces without a model: BIO decoding, tagged spans to mentions, merging,
gold spans, and literals read the way WebNLG writes them."""

from __future__ import annotations

import numpy as np

from nesy.text.mentions import Found, Gazetteer, literal_of, name_variants
from nesy.text.reader_fit import gold_mentions
from nesy.text.reader_model import B_TAG, I_TAG, O_TAG, decode_tags, merge_mentions, span_mention
from nesy.text.webnlg import Example

XSD = "http://www.w3.org/2001/XMLSchema#"


def test_literals_read_whole_spans() -> None:
    assert literal_of("28 metres") == (f'"28.0"^^<{XSD}decimal>', 1.0)
    assert literal_of("12 May 2008") == (f'"2008-05-12"^^<{XSD}date>', 1.0)
    assert literal_of("23") == (f'"23"^^<{XSD}integer>', 1.0)
    assert literal_of("Paris") is None
    assert literal_of("23 Paris Street") is None
    assert "28" in name_variants("28.0 (metres)")


def test_decode_tags_whole_words_and_punctuation() -> None:
    text = "Zed Quinnberg lives in Lisbon."
    # [CLS] Zed Quinn ##berg lives in Lisbon . [SEP]
    off = np.array([(0, 0), (0, 3), (4, 9), (9, 13), (14, 19), (20, 22), (23, 29), (29, 30), (0, 0)])
    tags = np.array([O_TAG, B_TAG, I_TAG, O_TAG, O_TAG, O_TAG, B_TAG, I_TAG, O_TAG])
    # A word piece follows its word; a full stop does only when tagged.
    assert decode_tags(text, tags, off) == [(0, 13), (23, 30)]
    tags2 = np.array([O_TAG, I_TAG, O_TAG, I_TAG, O_TAG, O_TAG, B_TAG, O_TAG, O_TAG])
    assert decode_tags(text, tags2, off) == [(0, 3), (23, 29)]


def test_span_mentions_link_read_literals_or_name_new_entities() -> None:
    gaz = Gazetteer()
    gaz.add("Abilene", "<http://x/Abilene,_Texas>")
    text = "The Abilene airport is 28 metres high, near Big Spring."
    m = span_mention(text, 0, 11, gaz)  # "The Abilene": the article goes
    assert (m.text, m.candidates[0][0], m.kind) == ("Abilene", "<http://x/Abilene,_Texas>", "entity")
    m = span_mention(text, 23, 32, gaz)
    assert m.kind == "literal" and m.candidates[0][0] == f'"28.0"^^<{XSD}decimal>'
    m = span_mention(text, 44, 55, gaz)  # "Big Spring." : the full stop goes
    assert (m.text, m.candidates, m.kind) == ("Big Spring", [("?Big Spring", 0.5)], "nil")
    assert span_mention("It is here.", 0, 2, gaz) is None  # a pronoun is not a tagged name


def test_merge_keeps_tagged_spans_and_resolves_pronouns() -> None:
    tagged = [Found(0, 20, "American Motors Corp", [("?American Motors Corp", 0.5)], "nil")]
    rule = [Found(0, 8, "American", [("<x:American>", 1.0)]), Found(22, 24, "It", [("<x:American>", 1.0)], "pronoun"),
            Found(30, 35, "Eagle", [("<x:Eagle>", 1.0)])]
    got = merge_mentions(tagged, rule)
    assert [f.text for f in got] == ["American Motors Corp", "It", "Eagle"]
    assert got[1].candidates == tagged[0].candidates  # the pronoun stands for the first entity


def test_gold_mentions_align_names_and_literals() -> None:
    e = Example("The Alhambra is 63 metres long and was built by Humphrys.",
                (("Alhambra", "length", "63.0"), ("Alhambra", "builder", "Humphrys")))
    triples = [("<x:Alhambra>", "p:length", f'"63.0"^^<{XSD}decimal>'), ("<x:Alhambra>", "p:builder", "<x:Humphrys>")]
    got = gold_mentions(e, triples)
    assert [(f.text, f.kind) for f in got] == [("Alhambra", "entity"), ("63", "literal"), ("Humphrys", "entity")]
