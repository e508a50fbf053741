"""The vocabulary file reads back exactly the terms it was written from."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import BNode, Literal, URIRef
from rdflib.util import from_n3

from nesy.errors import StoreError
from nesy.store.vocab import Vocab, term_line

_iri_chars = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='<>"{}|^`\\ ')
_iris = st.text(_iri_chars, min_size=1, max_size=30).map(lambda s: URIRef("http://x.org/" + s))
_literals = st.one_of(
    st.text(max_size=20).map(Literal),
    st.integers().map(Literal),
    st.tuples(st.text(max_size=10), st.sampled_from(["en", "de-ch"])).map(lambda t: Literal(t[0], lang=t[1])),
)
_terms = st.lists(st.one_of(_iris, _literals, st.just(BNode("b0"))), unique=True, max_size=30)


@settings(max_examples=200, deadline=None)
@given(_terms)
def test_written_terms_read_back_as_from_n3_reads_them(terms: list) -> None:
    vocab = Vocab()
    for t in terms:
        vocab.id(t)
    data = vocab.encode(0)
    back = Vocab.from_bytes(data)
    lines = data.decode("utf-8").split("\n")[:-1]
    assert [back.term(i) for i in range(len(back))] == [from_n3(line) for line in lines]
    assert [back.term(i) for i in range(len(back))] == terms


def test_an_iri_with_escapes_is_decoded_as_from_n3_decodes_it() -> None:
    line = "<http://x.org/caf\\u00E9>"
    assert Vocab.from_bytes((line + "\n").encode()).term(0) == from_n3(line) == URIRef("http://x.org/café")


def test_bad_utf8_names_its_line(tmp_path) -> None:
    data = term_line(URIRef("http://x.org/a")).encode() + b"\n<http://x.org/\xff>\n"
    with pytest.raises(StoreError) as err:
        Vocab.from_bytes(data, tmp_path / "vocab.nt")
    assert err.value.line == 2


def test_a_term_given_twice_is_a_damaged_file() -> None:
    with pytest.raises(StoreError, match="damaged"):
        Vocab.from_bytes(b"<http://x.org/a>\n<http://x.org/a>\n")
