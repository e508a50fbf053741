"""The reader's pieces without a model: BIO decoding, tagged spans to mentions, merging,
gold spans, and literals read the way WebNLG writes them."""

from __future__ import annotations

import numpy as np

from nesy.text.mentions import Found, Gazetteer, literal_of, name_variants, new_entity_name
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
    # "The rocker Antares was launched. It ...": a lower-case span is no referent while a name is.
    tagged = [Found(4, 10, "rocker", [("?rocker", 0.5)], "nil"), Found(11, 18, "Antares", [("?Antares", 0.5)], "nil")]
    got = merge_mentions(tagged, [Found(34, 36, "It", [], "pronoun")])
    assert got[-1].candidates == [("?Antares", 0.5)]
    assert merge_mentions(tagged[:1], [Found(34, 36, "It", [], "pronoun")])[-1].candidates == [("?rocker", 0.5)]


def test_merge_drops_a_lone_lower_case_word_the_tagger_left_out() -> None:
    # "... is located in the country.": training learned "country" for Country music.
    tagged = [Found(0, 9, "3Arena", [("?3Arena", 0.5)], "nil")]
    rule = [Found(27, 34, "country", [("<x:Country_music>", 1.0)]),
            Found(40, 58, "four-stroke engine", [("<x:Four-stroke_engine>", 1.0)]),
            Found(60, 67, "Ireland", [("<x:Ireland>", 1.0)])]
    assert [f.text for f in merge_mentions(tagged, rule)] == ["3Arena", "four-stroke engine", "Ireland"]
    # The tagger's own lower-case mention stays.
    assert [f.text for f in merge_mentions([*tagged, rule[0]], [])] == ["3Arena", "country"]


def test_gold_mentions_align_names_and_literals() -> None:
    e = Example("The Alhambra is 63 metres long and was built by Humphrys.",
                (("Alhambra", "length", "63.0"), ("Alhambra", "builder", "Humphrys")))
    triples = [("<x:Alhambra>", "p:length", f'"63.0"^^<{XSD}decimal>'), ("<x:Alhambra>", "p:builder", "<x:Humphrys>")]
    got = gold_mentions(e, triples)
    assert [(f.text, f.kind) for f in got] == [("Alhambra", "entity"), ("63", "literal"), ("Humphrys", "entity")]


def _span(text: str, words: str) -> tuple[int, int]:
    return text.index(words), text.index(words) + len(words)


def test_snap_spans_make_cut_names_whole_and_trim_edge_words() -> None:
    from nesy.text.reader_model import snap_spans

    text = "The Mason School of Business is in Alan B Miller Hall, owned by Live Nation Entertainment on December 2008."
    tagged = [_span(text, "Mason School"), _span(text, "Alan"), _span(text, "B Miller Hall"),
              _span(text, "Live Nation"), _span(text, "on December 2008")]
    got = [text[a:b] for a, b in snap_spans(text, tagged)]
    assert got == ["Mason School of Business", "Alan B Miller Hall", "Live Nation Entertainment", "December 2008"]
    lower = "It has a four-stroke engine and a floor area of 500."
    assert [lower[a:b] for a, b in snap_spans(lower, [_span(lower, "four-stroke engine"), _span(lower, "floor area of")])] \
        == ["four-stroke engine", "floor area"]
    date = "It was christened on the 4th April 2004."
    assert [date[a:b] for a, b in snap_spans(date, [_span(date, "4th"), _span(date, "April 2004")])] == ["4th April 2004"]
    assert snap_spans("in the", [(0, 6)]) == [(3, 6)]  # edge words only: one is kept (extraction drops it)
    cut = "A four-stroke engine and a mid-size body."
    assert [cut[a:b] for a, b in snap_spans(cut, [_span(cut, "four"), _span(cut, "stroke engine"), _span(cut, "mid")])] \
        == ["four-stroke engine", "mid-size"]  # a hyphenated word is never cut
    over = "The engine power AIDAluna and the ARA Veinticinco de Mayo (V-2) sail; a mid-size car too."
    tagged = [_span(over, "engine power AIDAluna"), _span(over, "ARA Veinticinco de Mayo (V-2"), _span(over, "mid-size car")]
    # Lower-case words before a name are not part of it; a bracket opened is closed.
    assert [over[a:b] for a, b in snap_spans(over, tagged)] == ["AIDAluna", "ARA Veinticinco de Mayo (V-2)", "mid-size car"]
    # A tagged span that runs over a full stop into the next sentence is two.
    two = "The capital is Washington DC. 250 Delaware Avenue is there, built by Caterpillar Inc. The end."
    tagged = [(two.index("Washington"), two.index(" is there")), (two.index("Caterpillar"), two.index(" end"))]
    assert [two[a:b] for a, b in snap_spans(two, tagged)] == ["Washington DC", "250 Delaware Avenue",
                                                               "Caterpillar Inc."]
    title = "Led by Queen Elizabeth II, the Asilomar Conference Grounds' gate."
    tagged = [_span(title, "Queen Elizabeth II"), _span(title, "Asilomar Conference Grounds' ")]
    assert [title[a:b] for a, b in snap_spans(title, tagged)] == ["Elizabeth II", "Asilomar Conference Grounds"]


def test_lists_of_places_are_cut_where_the_last_part_is_known() -> None:
    from nesy.text.reader_model import split_lists

    gaz = Gazetteer()
    gaz.add("Australia", "<x:Australia>")
    gaz.add("Kourou, French Guiana", "<x:Kourou>")
    gaz.add("Virginia", "<x:Virginia>")
    text = "It is in Perth, Australia, in Kourou, French Guiana, at 101 Ukrop Way, Virginia and in Asherton, Texas."
    spans = [_span(text, "Perth, Australia"), _span(text, "Kourou, French Guiana"),
             _span(text, "101 Ukrop Way, Virginia"), _span(text, "Asherton, Texas")]
    got = [text[a:b] for a, b in split_lists(text, spans, gaz)]
    # Known as a whole, or its last part unknown: one name.
    assert got == ["Perth", "Australia", "Kourou, French Guiana", "101 Ukrop Way", "Virginia", "Asherton, Texas"]
    # A known name ends in ", Virginia": a town written before it is one name with it.
    gaz.add("Peoria, Virginia", "<http://ex.org/Peoria%2C_Virginia>")
    assert gaz.suffixes() == {("virginia",)}
    got = [text[a:b] for a, b in split_lists(text, spans, gaz)]
    assert got == ["Perth", "Australia", "Kourou, French Guiana", "101 Ukrop Way, Virginia", "Asherton, Texas"]
    # Tagged apart, an unknown town and such a place are joined; a known one is not.
    gaz.add("Perth", "<x:Perth>")
    text = "Groton, Virginia and Perth, Virginia."
    spans = [_span(text, "Groton"), _span(text, "Virginia"), _span(text, "Perth"), (text.rindex("Virginia"), len(text) - 1)]
    assert [text[a:b] for a, b in split_lists(text, spans, gaz)] == ["Groton, Virginia", "Perth", "Virginia"]
    # A town known by its name alone is a place of its own before such a place.
    text = "Perth, Virginia and Akron, Virginia."
    spans = [_span(text, "Perth, Virginia"), _span(text, "Akron, Virginia")]
    assert [text[a:b] for a, b in split_lists(text, spans, gaz)] == ["Perth", "Virginia", "Akron, Virginia"]


def test_a_span_that_starts_with_a_number_reads_it_with_the_unit_after_it() -> None:
    from nesy.text.mentions import leading_literal

    text = "It is 45000 millimetres long, has 476 beds and 30843.8 square metres; the 1955 Dodge came on 8/31/2004."
    assert leading_literal(text, *_span(text, "45000")) == (f'"45000.0"^^<{XSD}decimal>', 1.0)
    assert leading_literal(text, *_span(text, "476 beds")) == (f'"476"^^<{XSD}integer>', 1.0)
    assert leading_literal(text, *_span(text, "30843.8 square")) == (f'"30843.8"^^<{XSD}decimal>', 1.0)
    assert leading_literal(text, *_span(text, "1955 Dodge")) is None  # a name
    glued = "A 8.3m beam, 252m long."  # a unit glued to the number: never "8" of "8.3m"
    assert leading_literal(glued, *_span(glued, "8.3m")) == (f'"8.3"^^<{XSD}decimal>', 1.0)
    assert leading_literal(glued, *_span(glued, "252m")) == (f'"252.0"^^<{XSD}decimal>', 1.0)
    assert literal_of("8/31/2004") == (f'"2004-08-31"^^<{XSD}date>', 1.0)  # month first
    assert literal_of("31/8/2004") == (f'"2004-08-31"^^<{XSD}date>', 1.0)  # a first number over 12 is the day
    assert literal_of("13/13/2004") is None
    gaz = Gazetteer()
    gaz.add("1913", '"1913-01-01"^^<http://www.w3.org/2001/XMLSchema#date>')  # a stored literal aligned to "1913"
    year = "Built in 1913."
    assert span_mention(year, *_span(year, "1913"), gaz).candidates == [(f'"1913"^^<{XSD}integer>', 1.0)]


def test_capitalised_names_keep_initials_abbreviations_and_stop_at_possessives() -> None:
    from nesy.text.mentions import capitalised_names

    text = "Caterpillar Inc. is run by Douglas R. Oberhelman; Italy's Gruppo Bertone is near Launch Pad 0."
    assert [text[a:b] for a, b in capitalised_names(text)] == [
        "Caterpillar Inc.", "Douglas R. Oberhelman", "Italy", "Gruppo Bertone", "Launch Pad 0"]
    # A capitalised stop word or a person's title does not start a name; a bare apostrophe does not end one.
    text = "In Japan, Queen Elizabeth II met President Barack Obama at Asilomar Conference Grounds' gate in King County."
    assert [text[a:b] for a, b in capitalised_names(text)] == [
        "Japan", "Elizabeth II", "Barack Obama", "Asilomar Conference Grounds", "King County"]
    # A dotted abbreviation is one word, and a name does not run on into the next sentence.
    text = "It was built in the U.S. The AIDAluna, by Honda Co. It is in Washington, D.C. Its road is U.S. Route 83."
    assert [text[a:b] for a, b in capitalised_names(text)] == [
        "U.S.", "AIDAluna", "Honda Co.", "Washington", "D.C.", "U.S. Route 83"]
    # A word that starts a sentence is no name alone, nor the start of one ("Both X and Y").
    text = "There are 22 floors in 320 South Boston Building. Both Addis Ababa Stadium and City Hall are old."
    assert [text[a:b] for a, b in capitalised_names(text)] == [
        "320 South Boston Building", "Addis Ababa Stadium", "City Hall"]
    text = "J. A. Smith met Robert M. A. Jones in the U.S. A new ship waited."  # an initial "A." is no article
    assert [text[a:b] for a, b in capitalised_names(text)] == ["J. A. Smith", "Robert M. A. Jones", "U.S."]
    gaz = Gazetteer()
    assert span_mention("Caterpillar Inc. is", 0, 16, gaz).text == "Caterpillar Inc."  # the abbreviation keeps its full stop
    assert span_mention("Built in Paris.", 9, 15, gaz).text == "Paris"
    # A new entity is named the way encyclopaedias write names: initials and "Inc." with their full stops.
    hall = "Alan B Miller Hall was built by Robert A M Stern and Caterpillar Inc for A Rosa Luna."
    got = [span_mention(hall, *_span(hall, n), gaz).candidates for n in
           ("Alan B Miller Hall", "Robert A M Stern", "Caterpillar Inc", "A Rosa Luna")]
    assert got == [[("?Alan B. Miller Hall", 0.5)], [("?Robert A. M. Stern", 0.5)], [("?Caterpillar Inc.", 0.5)],
                   [("?A Rosa Luna", 0.5)]]
    assert new_entity_name("Robert A.M. Stern") == "Robert A. M. Stern"


def test_a_new_name_gets_the_comma_of_known_x_b_names() -> None:
    gaz = Gazetteer()
    for name in ("Albany,_New_York", "Troy,_New_York", "Austin,_Texas", "Waco,_Texas", "Sammy_Davis,_Jr.",
                 "Martin_Luther_King,_Jr.", "Perth,_Australia"):
        gaz.add(name.replace("_", " "), f"<x:{name}>")
    assert gaz.suffixes() == {("new", "york"), ("texas",), ("jr",), ("australia",)}
    assert gaz.suffixes(least=2) == {("new", "york"), ("texas",), ("jr",)}
    text = "It is in Buffalo New York and Erie County New York, near Asherton Texas and West Texas, run by Cyrus Vance Jr."
    names = [f.candidates[0][0] for f in gaz.find(text, names_first=True) if f.kind == "nil"]
    assert names == ["?Buffalo, New York", "?Erie County, New York", "?Asherton, Texas", "?West Texas",
                     "?Cyrus Vance, Jr."]
    # One known name does not make a convention; a comma written stays; a name alone stays.
    assert [gaz.new_name(n) for n in ("Canning Vale Australia", "Troy, New York", "Texas", "University of Texas")] == [
        "Canning Vale Australia", "Troy, New York", "Texas", "University of Texas"]
    assert span_mention(text, *_span(text, "Buffalo New York"), gaz).candidates == [("?Buffalo, New York", 0.5)]


def test_a_tagged_x_comma_b_is_x_when_the_store_names_x_alone() -> None:
    gaz = Gazetteer()
    gaz.add("Chicago", "<x:Chicago>")
    gaz.add("Buffalo", "<x:Buffalo,_New_York>")  # known by "Buffalo", named "Buffalo, New York"
    gaz.add("Troy, New York", "<x:Troy,_New_York>")
    assert gaz.named("Chicago") and gaz.named("Troy, New York")
    assert not gaz.named("Buffalo") and not gaz.named("Peoria")
    text = "It is in Chicago, Illinois and Buffalo, Erie County and Peoria, Illinois, not Troy, New York."
    got = {n: span_mention(text, *_span(text, n), gaz) for n in
           ("Chicago, Illinois", "Buffalo, Erie County", "Peoria, Illinois", "Troy, New York")}
    assert (got["Chicago, Illinois"].text, got["Chicago, Illinois"].candidates) == ("Chicago", [("<x:Chicago>", 1.0)])
    assert got["Buffalo, Erie County"].candidates == [("?Buffalo, Erie County", 0.5)]  # "Buffalo" names another
    assert got["Peoria, Illinois"].candidates == [("?Peoria, Illinois", 0.5)]  # a new place stays whole
    assert got["Troy, New York"].candidates == [("<x:Troy,_New_York>", 1.0)]  # a known whole stays whole


def test_an_acronym_is_known_by_its_dotted_form() -> None:
    gaz = Gazetteer()
    gaz.add("U.S.", "<x:United_States>")
    text = "ALV X-1 hails from the US, as do we."
    assert [(f.text, f.candidates[0][0]) for f in gaz.find(text, names_first=True)] == [
        ("ALV X-1", "?ALV X-1"), ("US", "<x:United_States>")]  # a rule mention too, not only a tagged one
    assert span_mention(text, *_span(text, "US"), gaz).candidates == [("<x:United_States>", 1.0)]
    assert gaz.lookup("us") is None and gaz.lookup("NASA") is None


def test_names_first_prefers_a_longer_capitalised_name_to_known_parts() -> None:
    gaz = Gazetteer()
    gaz.add("Lockheed", "<x:Lockheed>")
    gaz.add("Martin", "<x:Martin>")
    gaz.add("Bethesda", "<x:Bethesda>")
    text = "Atlas II was built by Lockheed Martin in Bethesda."
    assert [f.text for f in gaz.find(text)] == ["Atlas II", "Lockheed", "Martin", "Bethesda"]
    got = gaz.find(text, names_first=True)
    assert [(f.text, f.kind) for f in got] == [("Atlas II", "nil"), ("Lockheed Martin", "nil"), ("Bethesda", "entity")]


def test_one_per_object_keeps_each_objects_best_subject() -> None:
    import torch

    from nesy.text.extract_model import (
        TextFeatures,
        object_ids,
        one_per_object,
        one_per_pair,
        repeats_objects,
    )

    def feats(n_mentions: int, pairs: list[tuple[int, int]]) -> TextFeatures:
        return TextFeatures(torch.zeros(1, 2), np.zeros((n_mentions, 2), dtype=np.int64), ["?"] * n_mentions,
                            list(range(n_mentions)), np.array(pairs, dtype=np.int64).reshape(-1, 2))

    a, b = feats(3, [(0, 2), (1, 2), (0, 1)]), feats(2, [(0, 1)])
    ids = object_ids([a, b])
    assert ids.tolist() == [2, 2, 1, 4]
    logits = one_per_pair(torch.tensor([[1.0, 3.0], [2.0, 0.0], [0.5, -1.0], [-2.0, -3.0]]))
    kept = one_per_object(logits, ids)
    assert torch.isfinite(kept).sum(1).tolist() == [1, 0, 1, 1]  # pair 1 loses object 2 to pair 0 (3.0 > 2.0)
    assert kept[0, 1] == 3.0 and kept[3, 0] == -2.0
    # Two candidate terms of one subject mention score the same: the first (most frequent) is kept.
    tie = one_per_object(torch.tensor([[1.0, float("-inf")], [1.0, float("-inf")]]), torch.tensor([0, 0]))
    assert torch.isfinite(tie).sum(1).tolist() == [1, 0]
    assert torch.isinf(one_per_object(torch.full((1, 2), float("-inf")), torch.tensor([0]))).all()
    assert not repeats_objects([[("a", "p", "x"), ("a", "q", "y")]] * 99 + [[("a", "p", "x"), ("b", "q", "x")]])
    assert repeats_objects([[("a", "p", "x"), ("b", "q", "x")]] * 3 + [[("a", "p", "y")]] * 97)


def test_a_subjects_second_object_of_one_predicate_is_believed_less() -> None:
    import torch

    from nesy.text.extract_model import (
        TextFeatures,
        decode_logits,
        one_object_per_predicate,
        subject_ids,
    )

    def feats(terms: list[str], pairs: list[tuple[int, int]]) -> TextFeatures:
        return TextFeatures(torch.zeros(1, 2), np.zeros((len(terms), 2), dtype=np.int64), terms,
                            list(range(len(terms))), np.array(pairs, dtype=np.int64).reshape(-1, 2))

    # Text 0: "it" and "A" both stand for <x:A>; text 1 has its own <x:A>.
    a = feats(["<x:A>", "<x:B>", "<x:C>", "<x:A>"], [(0, 1), (3, 2), (1, 2)])
    b = feats(["<x:A>", "<x:D>"], [(0, 1)])
    ids = subject_ids([a, b])
    assert ids.tolist() == [0, 0, 1, 2]
    inf = float("-inf")
    logits = torch.tensor([[2.0, inf], [1.0, inf], [0.5, inf], [0.0, 3.0]])
    got = one_object_per_predicate(logits, ids, 1.0)
    # A's second object of predicate 0 loses a logit; B's and the other text's A keep theirs.
    assert got[:, 0].tolist() == [2.0, 0.0, 0.5, 0.0] and got[3, 1] == 3.0 and torch.isinf(got[0, 1])
    assert torch.equal(one_object_per_predicate(logits, ids, 0.0), logits)
    equal = torch.tensor([[1.0], [1.0]])  # two candidate terms of one object: neither is second
    assert torch.equal(one_object_per_predicate(equal, torch.tensor([0, 0]), 1.0), equal)
    # The reader's whole decoding: one predicate per pair, then the penalty.
    both = torch.tensor([[2.0, 1.0], [1.5, -1.0], [0.0, 0.5], [1.0, 0.0]])
    out = decode_logits(both, [a, b], 2, 0.0, {"one_per_object": False, "repeat_penalty": 2.0})
    assert out[0].tolist() == [2.0, inf] and out[1].tolist() == [-0.5, inf] and out[2].tolist() == [inf, 0.5]


def test_of_a_pair_read_both_ways_only_the_higher_direction_stays() -> None:
    import torch

    from nesy.text.extract_model import TextFeatures, one_direction
    from nesy.text.reader_fit import _scored

    def feats(n: int, pairs: list[tuple[int, int]]) -> TextFeatures:
        return TextFeatures(torch.zeros(1, 2), np.zeros((n, 2), dtype=np.int64), ["?"] * n, list(range(n)),
                            np.array(pairs, dtype=np.int64).reshape(-1, 2))

    inf = float("-inf")
    # Text 0: nodes 0 and 1 both ways, and 0 -> 2; text 1: 0 and 1 both ways with equal logits.
    a, b = feats(3, [(0, 1), (1, 0), (0, 2)]), feats(2, [(0, 1), (1, 0)])
    logits = torch.tensor([[2.0, inf], [1.0, 3.0], [0.5, inf], [1.0, inf], [1.0, inf]])
    got = one_direction(logits, [a, b])
    # Predicate 0: 0 -> 1 (2.0) beats 1 -> 0 (1.0); predicate 1 is read one way only; a tie keeps the first pair.
    assert got.tolist() == [[2.0, inf], [inf, 3.0], [0.5, inf], [1.0, inf], [inf, inf]]
    assert torch.equal(one_direction(torch.zeros(0, 2), []), torch.zeros(0, 2))
    # Validation decodes the same way over normalised triples, so the threshold is chosen for it.
    cands = [(0, ("a", "p", "b"), True, 2.0, None), (0, ("b", "p", "a"), False, 1.0, None),
             (0, ("b", "q", "a"), False, 0.5, None), (1, ("b", "p", "a"), True, 1.0, None)]
    assert sorted(_scored(cands, None)) == [(0.5, False), (1.0, True), (2.0, True)]


def test_names_are_also_known_by_their_initials_and_undotted() -> None:
    assert name_variants("United_Kingdom") == ["United Kingdom", "UK", "U.K."]
    assert name_variants("United_States") == ["United States", "U.S."]  # "US" folds to the word "us": dots only
    assert name_variants("Washington,_D.C.") == ["Washington, D.C.", "Washington", "Washington, DC"]
    assert name_variants("Abilene,_Texas") == ["Abilene, Texas", "Abilene"]  # no initials of a "city, state"
    assert name_variants("28.0 (metres)") == ["28.0 (metres)", "28.0", "28"]
    # A string's first comma part is a list's first item, not a name of the string.
    assert name_variants('"Paris, New York or Hong Kong"') == ["Paris, New York or Hong Kong"]
    gaz = Gazetteer()
    for v in name_variants("United_States"):
        gaz.add(v, "<x:United_States>")
    text = "It was built in the US for us."
    assert span_mention(text, 20, 22, gaz).candidates == [("<x:United_States>", 1.0)]  # a tagged "US"
    # The rule finder reads the capitalised "US" as the country (by its dotted form), never the word "us".
    assert [(f.text, f.kind) for f in gaz.find(text)] == [("US", "entity")]


def test_an_article_alone_is_no_mention_at_extraction_but_stays_a_negative_in_training() -> None:
    """A tagger that marks every word (its bias set so) makes "a" a span: extraction drops it
    (before 2026-12-07 it became the new entity `a`), training keeps it as a tagged negative."""
    import copy

    import torch

    from nesy.text.encoder import get_encoder
    from nesy.text.extract_train import check_config
    from nesy.text.reader_model import B_TAG, make_reader, read_batch, tokenize

    encoder = get_encoder(None)
    net = make_reader(copy.deepcopy(encoder.model), check_config({"model": "reader"})).eval()
    with torch.no_grad():
        net.tagger.weight.zero_()
        net.tagger.bias.copy_(torch.tensor([0.0, 0.0, 0.0]).index_fill_(0, torch.tensor([B_TAG]), 1.0))
    text = "Zed Quinn has a 1.2 l engine."
    enc, gaz = tokenize(encoder.tokenizer, [text], 32), Gazetteer()
    with torch.inference_mode():
        _, _, found = read_batch(net, enc, [text], gaz, [[]], True)
        words = {m.text for m in found[0]}
        assert "a" not in words and "Zed Quinn" in words
        gold = [[Found(0, 9, "Zed Quinn", [("?Zed Quinn", 1.0)], "nil")]]
        _, _, trained = read_batch(net, enc, [text], gaz, [[]], True, gold=gold, negatives=8)
    assert "a" in {m.text for m in trained[0]}


def _tiny(kind: str) -> object:
    """A randomly initialised two-layer transformers model of ``kind`` (no files needed)."""
    import transformers

    size = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 120}
    if kind == "distilbert":
        return transformers.DistilBertModel(transformers.DistilBertConfig(
            dim=32, n_heads=2, hidden_dim=64, n_layers=2, vocab_size=120))
    config = {"bert": transformers.BertConfig, "mpnet": transformers.MPNetConfig}[kind]
    return getattr(transformers, f"{config.__name__[:-6]}Model")(config(num_hidden_layers=2, **size))


def test_the_tuned_layers_over_the_fixed_ones_give_the_whole_encoder_s_states() -> None:
    """Training runs the fixed layers once (lower) and the tuned ones per step (upper); the two
    must give what one pass does, for BERT-style layers and for MPNet's (which take a
    position bias their stack computes: until 2026-12-07 an MPNet encoder failed here)."""
    import torch

    from nesy.text.reader_model import make_reader

    ids = torch.tensor([[1, 5, 9, 17, 2, 0], [1, 33, 2, 0, 0, 0]])
    mask = (ids != 0).long()
    for kind in ("bert", "mpnet"):
        torch.manual_seed(0)
        for tune in (1, 2):
            net = make_reader(_tiny(kind), {"hidden": 8, "out": 4, "dropout": 0.0, "tune_layers": tune}).eval()
            with torch.no_grad():
                whole, split = net.states(ids, mask), net.upper(net.lower(ids, mask), mask)
            assert torch.allclose(whole[mask.bool()], split[mask.bool()], atol=1e-5), (kind, tune)


def test_a_text_model_the_reader_cannot_tune_is_named_in_the_error() -> None:
    import pytest

    from nesy.errors import NesyError
    from nesy.text.reader_model import make_reader

    with pytest.raises(NesyError, match="cannot tune a 'distilbert' text model"):
        make_reader(_tiny("distilbert"), {"hidden": 8, "out": 4, "dropout": 0.0, "tune_layers": 1})
