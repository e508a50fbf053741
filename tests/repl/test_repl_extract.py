"""The shell's :extract command: text in, facts with their sentence out, errors as messages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nesy.kb import KnowledgeBase

# pytest imports tests with --import-mode=importlib: the plugin's folder goes on the path here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from extract_plugin import register  # noqa: E402
from session_capture import Captured  # noqa: E402

DATA = """@prefix ex: <http://example.org/text#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:worksFor rdfs:label "works for" .
ex:basedIn rdfs:label "is based in" .
ex:alice rdfs:label "Alice Martin" .
ex:acme rdfs:label "Acme" ; ex:basedIn ex:lyon .
"""


@pytest.fixture
def s(tmp_path: Path) -> Captured:
    (tmp_path / "data.ttl").write_text(DATA)
    kb = KnowledgeBase()
    register(kb.registry)
    session = Captured(kb, width=250)
    assert "added" in session.run(f":load {tmp_path / 'data.ttl'}")
    session.run("@prefix ex: <http://example.org/text#> .")
    session.run("[worksIn] ex:worksIn(X, C) :- ex:worksFor(X, O), ex:basedIn(O, C).")
    return session


def test_extract_then_why_quotes_the_sentence(s: Captured, tmp_path: Path) -> None:
    doc = tmp_path / "news.txt"
    doc.write_text("Some news. Alice Martin works for Acme.")
    out = s.run(f":extract {doc} extractor=regex min=0.5")
    assert "1 document, 2 sentences: 1 triple added to extracted, 0 new entities (regex" in out
    assert "ex:lyon" in s.run("?- ex:worksIn(ex:alice, C).")
    proof = s.run(":why 1")
    assert f'extracted from {doc}, sentence 2, chars 11–38: "Alice Martin works for Acme."' in proof
    assert "asserted" in proof and "ex:basedIn(ex:acme, ex:lyon)" in proof


def test_extract_lines_option(s: Captured, tmp_path: Path) -> None:
    doc = tmp_path / "rows.txt"
    doc.write_text("Nothing here.\nAlice Martin works for Acme.\n")
    assert "2 documents" in s.run(f":extract {doc} --lines extractor=regex")
    [copy] = [c for subj, p, o, g in s.kb.triples("extracted") for c in s.kb.provenance(subj, p, o)]
    assert copy["source"]["document"] == f"{doc}:2"


def test_extract_errors_are_messages_and_the_session_goes_on(s: Captured, tmp_path: Path) -> None:
    assert ":extract needs text files" in s.run(":extract")
    assert ":extract needs text files" in s.run(":extract a.txt bogus=1")
    assert "min= takes a number" in s.run(":extract a.txt min=high")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02")
    (tmp_path / "ok.txt").write_text("Alice Martin works for Acme.")
    out = s.run(f":extract {tmp_path / 'bin.txt'} {tmp_path / 'ok.txt'} extractor=regex")
    assert f"{tmp_path / 'bin.txt'}: binary file (NUL byte at byte offset 0)" in out
    assert "1 triple added" in out and "1 document failed" in out
    assert "unknown extractor 'nope'" in s.run(f":extract {tmp_path / 'ok.txt'} extractor=nope")
    assert ":extract FILE..." in s.run(":help extract")
    assert "yes" in s.run("?- ex:worksFor(ex:alice, ex:acme).")
