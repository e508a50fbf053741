"""Reading text documents: encodings, binary and empty files, Markdown, and very long lines."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nesy.errors import TextError
from nesy.text.documents import (
    MAX_SENTENCE,
    Document,
    decode,
    prose,
    read_documents,
    sentences,
    text_files,
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32"])
def test_decode_utf8_and_byte_order_marks(encoding: str) -> None:
    text = "Zoë lives in Kraków — 3.5 km away."
    assert decode(text.encode(encoding), "f.txt") == text


def test_utf16_without_a_bom_is_binary_and_bad_bytes_name_line_and_offset() -> None:
    with pytest.raises(TextError, match=r"^f\.txt: binary file \(NUL byte at byte offset 1\)"):
        decode("Hi".encode("utf-16-le"), "f.txt")
    with pytest.raises(TextError, match=r"^f\.txt:3: not valid utf-8 text: byte 0xe9 at byte offset 11"):
        decode(b"one\ntwo\ncaf\xe9\n", "f.txt")
    # A BOM that promises UTF-16 but an odd number of bytes follows.
    with pytest.raises(TextError, match="not valid utf-16 text"):
        decode(b"\xff\xfeA\x00B", "g.txt")


def test_read_documents_whole_file_lines_and_empty(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("First line.\n\n  \nThird line.\n", encoding="utf-8")
    [doc] = read_documents(f)
    assert doc.id == str(f) and doc.text.startswith("First") and not doc.markdown
    docs = read_documents(f, lines=True)
    assert [(d.id, d.text) for d in docs] == [(f"{f}:1", "First line."), (f"{f}:4", "Third line.")]
    (tmp_path / "e.md").write_text("\n \n")
    assert read_documents(tmp_path / "e.md") == []


def test_read_documents_refuses_other_files(tmp_path: Path) -> None:
    (tmp_path / "x.ttl").write_text("<a> <b> <c> .")
    with pytest.raises(TextError, match=r"x\.ttl: not a text document"):
        read_documents(tmp_path / "x.ttl")
    with pytest.raises(TextError, match=r"nope\.txt: cannot read"):
        read_documents(tmp_path / "nope.txt")


def test_text_files_expands_directories_once_in_order(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("d/b.txt", "d/a.md", "d/sub/c.txt", "d/skip.ttl"):
        (tmp_path / name).write_text("x")
    found = text_files([tmp_path / "d" / "b.txt", tmp_path / "d"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["d/b.txt", "d/a.md", "d/sub/c.txt"]


def test_sentences_carry_offsets_into_the_document() -> None:
    text = "Dr. Smith works for Acme Inc. in 2020.  He earns 3.5 million.\n\nNew paragraph here"
    doc = Document("d", Path("d.txt"), text)
    got = sentences(doc)
    assert [s.index for s in got] == [0, 1, 2]
    for s in got:
        assert text[s.start:s.start + len(s.text)] == s.text
    assert got[0].text == "Dr. Smith works for Acme Inc. in 2020."
    assert got[2].text == "New paragraph here"


def test_markdown_markup_is_blanked_without_moving_offsets() -> None:
    text = "# Heading\n\nAlice **works** for [Acme](http://acme.example).\n\n```\ncode. More code.\n```\n- item one\n"
    assert len(prose(text, True)) == len(text)
    got = sentences(Document("n.md", Path("n.md"), text, markdown=True))
    assert [" ".join(s.text.split()) for s in got] == ["Heading", "Alice works for Acme .", "item one"]
    for s in got:
        assert prose(text, True)[s.start:s.start + len(s.text)] == s.text


@pytest.mark.parametrize("filler", ["word ", "x"])
def test_a_megabyte_line_is_cut_into_bounded_sentences_in_linear_time(filler: str) -> None:
    text = filler * (1_000_000 // len(filler))
    start = time.perf_counter()
    got = sentences(Document("big", Path("big.txt"), text))
    assert time.perf_counter() - start < 5
    assert len(got) >= 1000 and max(len(s.text) for s in got) <= MAX_SENTENCE
    assert "".join(s.text for s in got).replace(" ", "") == text.replace(" ", "")
