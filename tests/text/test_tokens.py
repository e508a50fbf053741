"""The one tokeniser and mention finder: spans slice back to their words, the longest match
wins, mentions never overlap (property-based, with hypothesis), and the normal form."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nesy.text.mentions import Gazetteer, find_spans
from nesy.text.tokens import Token, fold, name_key, tokens

WORDS = ["Aarhus", "airport", "the", "Bank", "of", "West", "Café", "cafe", "Zürich", "27th", "3,500.0",
         "New", "York", "City", "it", "x_y", "ÉCOLE", "1990s"]
SEPARATORS = [" ", "  ", ", ", ". ", "-", "_", " (", ") ", "! ", "\n"]

texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=14).map(
    lambda parts: "".join(w + s for w, s in parts))
names = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join), max_size=10)


def test_normal_form() -> None:
    assert [t.word for t in tokens("The_Hague-city! Zürich, 3,500.0 and 27th")] == [
        "the", "hague", "city", "zurich", "3500", "and", "27"]
    assert tokens("Café au lait") == [Token("cafe", 0, 4), Token("au", 5, 7), Token("lait", 8, 12)]
    assert name_key("the Bank of the West", drop={"the"}) == ("bank", "of", "west")
    assert fold("ÉCOLE") == "ecole" and fold("1990s") == "1990s"


@settings(max_examples=200, deadline=None)
@given(texts)
def test_token_spans_slice_back_to_their_words(text: str) -> None:
    toks = tokens(text)
    assert all(fold(text[t.start:t.end]) == t.word and t.word for t in toks)
    assert all(a.end <= b.start for a, b in zip(toks, toks[1:]))


@settings(max_examples=200, deadline=None)
@given(texts, names)
def test_leftmost_longest_matches(text: str, known: list[str]) -> None:
    table = {name_key(n): n for n in known}
    toks = tokens(text)
    spans = find_spans(toks, table.get, max_words=4)
    # each span slices back to a known name and names its tokens
    for s in spans:
        assert name_key(text[s.start:s.end]) == tuple(t.word for t in toks[s.first:s.stop])
        assert table[name_key(text[s.start:s.end])] == s.value
    # in text order, never overlapping
    assert all(a.stop <= b.first for a, b in zip(spans, spans[1:]))
    # longest match wins: no known name starts where a span starts and is longer
    for s in spans:
        assert not any(tuple(t.word for t in toks[s.first:s.first + n]) in table
                       for n in range(s.stop - s.first + 1, min(4, len(toks) - s.first) + 1))
    # maximal: every occurrence of a known name overlaps a chosen span
    covered = {i for s in spans for i in range(s.first, s.stop)}
    for i in range(len(toks)):
        for n in range(1, min(4, len(toks) - i) + 1):
            if tuple(t.word for t in toks[i:i + n]) in table:
                assert covered & set(range(i, i + n))


@settings(max_examples=200, deadline=None)
@given(texts, names)
def test_ranked_matches_never_overlap_and_best_first(text: str, known: list[str]) -> None:
    table = {name_key(n): n for n in known}
    toks = tokens(text)
    spans = find_spans(toks, table.get, max_words=4, prefer=lambda s: (s.first - s.stop, s.start))
    taken: set[int] = set()
    for s in spans:
        assert not taken & set(range(s.first, s.stop))
        taken |= set(range(s.first, s.stop))
    assert [s.stop - s.first for s in spans] == sorted((s.stop - s.first for s in spans), reverse=True)
    if spans:  # the longest match anywhere is taken first
        assert spans[0].stop - spans[0].first == max(
            n for i in range(len(toks)) for n in range(1, min(4, len(toks) - i) + 1)
            if tuple(t.word for t in toks[i:i + n]) in table)


@settings(max_examples=100, deadline=None)
@given(texts, names)
def test_gazetteer_mentions_slice_back_and_never_overlap(text: str, known: list[str]) -> None:
    gaz = Gazetteer()
    for i, n in enumerate(known):
        gaz.add(n, f"<urn:t{i}>")
    found = gaz.find(text)
    assert all(text[f.start:f.end] == f.text and f.text for f in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:]))
    plain = gaz.find(text, literals=False, new_entities=False, pronouns=False)
    assert all(f.kind == "entity" for f in plain)
    assert [(f.start, f.end) for f in plain] == [(f.start, f.end) for f in found if f.kind == "entity"]
