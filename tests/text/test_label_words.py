"""Label words: the share of a predicate's label words in a pair's text and just before its object."""

from __future__ import annotations

import numpy as np

from nesy.text.extract_model import TextFeatures
from nesy.text.label_words import (
    OBJECT_WORDS,
    LabelWords,
    object_overlap,
    pair_overlap,
    root,
    stems,
)


def test_pair_overlap_is_the_share_of_label_words_in_the_text() -> None:
    assert stems("The runway length of 3 metres") == {"runwa", "lengt", "metre"}
    words = LabelWords.of(["runway length", "manufacturer", "creator of dish", "the"])
    texts = ["The AIDA is 252 m in length and was manufactured by Meyer Werft.", "Nothing here."]
    feats = [TextFeatures(None, np.zeros((3, 2)), ["a", "b", "c"], [0, 1, 2], np.array([[0, 1], [0, 2]])),
             TextFeatures(None, np.zeros((0, 2)), [], [], np.zeros((0, 2), dtype=np.int64))]
    got = pair_overlap(texts, feats, words)
    assert got.shape == (2, 4) and got[0].tolist() == got[1].tolist() == [0.5, 1.0, 0.0, 0.0]
    assert pair_overlap(texts[1:], feats[1:], words.columns([1, 0])).shape == (0, 2)


def _feats(starts: list[int], pairs: list[tuple[int, int]]) -> TextFeatures:
    n = len(starts)
    return TextFeatures(None, np.zeros((n, 2), dtype=np.int64), [f"?{i}" for i in range(n)], list(range(n)),
                        np.array(pairs, dtype=np.int64).reshape(-1, 2), np.array(starts, dtype=np.int64))


def test_object_overlap_tells_two_labels_apart_that_the_whole_text_has() -> None:
    text = "200 Public Square has a floor area of 111,484 square metres and a floor count of 45."
    words = LabelWords.of(["floor area", "floor count", "architect"])
    feats = [_feats([0, text.index("111,484"), text.index("45")], [(0, 1), (0, 2), (1, 0)])]
    # The whole text has every word of both floor labels: the same share for both pairs.
    assert pair_overlap([text], feats, words).tolist() == [[1.0, 1.0, 0.0]] * 3
    near = object_overlap([text], feats, words)
    assert OBJECT_WORDS == 4 and near.shape == (3, 3)
    assert near[0].tolist() == [1.0, 0.5, 0.0]  # "a floor area of" 111,484
    assert near[1].tolist() == [0.5, 1.0, 0.0]  # "a floor count of" 45
    assert near[2].tolist() == [0.0, 0.0, 0.0]  # nothing is written before the text's first word
    # Only the last words before the object count, however long the text before it is.
    far = "The floor area is large. " + "Then it rained for a long time at " + "Oslo"
    got = object_overlap([far], [_feats([0, far.index("Oslo")], [(0, 1)])], words, words=4)
    assert got.tolist() == [[0.0, 0.0, 0.0]]
    assert object_overlap([far], [_feats([0, far.index("Oslo")], [])], words).shape == (0, 3)


def test_irregular_words_meet_their_labels() -> None:
    assert stems("It was built by Alstom", irregular=True) == {"built", "build", "alsto"}
    assert stems("It was built by Alstom") == {"built", "alsto"}  # as training reads it
    words = LabelWords.of(["builder", "building type", "height", "birth place"])
    assert words.shares(["was built by"]).tolist() == [[1.0, 0.5, 0.0, 0.0]]
    assert words.shares(["is 30 metres tall"]).tolist() == [[0.0, 0.0, 1.0, 0.0]]
    assert words.shares(["was born in"]).tolist() == [[0.0, 0.0, 0.0, 0.5]]
    assert words.shares(["was born in"], irregular=False).tolist() == [[0.0, 0.0, 0.0, 0.0]]


def test_words_meet_labels_that_share_their_root() -> None:
    assert root("opened") == root("opening") == "open" and root("beds") == root("bed") == "bed"
    assert root("hosted") == root("host") and root("uses") == "use" and root("sea") == "sea"
    words = LabelWords.of(["bed count", "opening date", "floor count"])
    assert words.roots["open"] == {"openi"} and words.roots["count"] == {"count"}
    assert stems("It opened in 1990", irregular=True, roots=words.roots) == {"opene", "openi"}
    assert words.shares(["Ampara Hospital has 476 beds."]).tolist() == [[0.5, 0.0, 0.0]]
    assert words.shares(["It opened in 1990."]).tolist() == [[0.0, 0.5, 0.0]]
    # As training reads them: only the first five letters.
    assert words.shares(["Ampara Hospital has 476 beds.", "It opened."], irregular=False).tolist() == [[0.0] * 3] * 2
    assert words.columns([1]).shares(["It opened."]).tolist() == [[0.5]]


def test_a_number_object_adds_the_word_after_it() -> None:
    # "23 floors": the label's word follows the number, which no lead-in has.
    text = "103 Colmore Row is a building with 23 floors and 2,000 members in 1990."
    words = LabelWords.of(["floor count", "number of members", "opening year"])
    integer = '"{}"^^<http://www.w3.org/2001/XMLSchema#integer>'
    feats = _feats([0, text.index("23"), text.index("2,000"), text.index("1990")], [(0, 1), (0, 2), (0, 3)])
    feats.terms[1:] = [integer.format(23), integer.format(2000), "?1990"]  # the last is a name, not a number
    got = object_overlap([text], [feats], words)
    assert got[0].tolist() == [0.5, 0.0, 0.0]  # "a building with" 23 "floors"
    assert got[1].tolist() == [0.5, 0.5, 0.0]  # "with 23 floors and" 2,000 "members"
    assert got[2].tolist() == [0.0, 0.5, 0.0]  # "2 000 members in" 1990: no word after a name
