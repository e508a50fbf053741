"""Text documents for extraction: read files safely and cut them into bounded sentences.

A document is one ``.txt``/``.md`` file (id: the path as given), or one non-blank line of
it with ``lines=True`` (id: ``path:LINE``). Bytes are decoded as UTF-8, UTF-8 with a BOM,
or UTF-16/UTF-32 with a BOM; anything else (a NUL byte without a BOM, an invalid UTF-8
sequence) is a :class:`~nesy.errors.TextError` that names the file, line and byte offset.

Markdown markup (headings, list markers, emphasis, link targets, code) is blanked out
character for character, so every sentence's ``start`` is still an offset into the
document text as read. Sentences are found paragraph by paragraph, in blocks of bounded
size, and a "sentence" longer than :data:`MAX_SENTENCE` characters (a 1 MB line without a
full stop) is cut at whitespace: the work stays linear in the length of the text.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nesy.errors import TextError
from nesy.text.extract import Sentence, split_sentences

#: File suffixes read as documents (a directory contributes its files with these).
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
#: Longest sentence handed to an extractor, in characters; longer ones are cut at whitespace.
MAX_SENTENCE = 1000
#: Largest piece of a paragraph given to the sentence splitter at once, in characters.
_BLOCK = 20_000
_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
# Markdown: markers at the start of a line, inline markup, link targets, HTML comments.
_MD_LINE = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]|>[ \t]?|[-*+][ \t]|\d{1,9}[.)][ \t])", re.M)
_MD_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~).*?(?:^[ \t]{0,3}\1[^\n]*$|\Z)", re.M | re.S)
_MD_INLINE = re.compile(r"`[^`\n]*`|<!--.{0,4000}?-->|\]\([^)\n]*\)|\*\*|__|[*\[\]]", re.S)


@dataclass(frozen=True)
class Document:
    """One document to extract from.

    Attributes:
        id: ``path`` as given, or ``path:LINE`` (1-based) for a line of a file.
        path: The file it was read from.
        text: The decoded text (for a line: that line, without its newline).
        markdown: Read as Markdown (``.md``/``.markdown``): markup is not prose.
    """

    id: str
    path: Path
    text: str
    markdown: bool = False


def decode(data: bytes, name: str) -> str:
    """Text of a file's bytes: UTF-8, or UTF-8/UTF-16/UTF-32 with a byte-order mark.

    Raises:
        TextError: A NUL byte in a file without a BOM (binary), or bytes that are not valid
            in the encoding; the message names the file, line and byte offset.
    """
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), None)
    if encoding is None:
        nul = data.find(b"\x00")
        if nul >= 0:
            raise TextError(f"binary file (NUL byte at byte offset {nul}); extract reads text: UTF-8, "
                            "or UTF-16 with a byte-order mark", file=name)
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TextError(f"not valid {encoding.replace('-sig', '')} text: byte 0x{data[exc.start]:02x} at byte "
                        f"offset {exc.start} ({exc.reason}); save the file as UTF-8 (or UTF-16 with a "
                        "byte-order mark)", file=name, line=line) from None


def text_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files to read: each path, a directory's ``.txt``/``.md`` files (sorted, recursive),
    each file once in the order given. Missing paths are kept (reading reports them)."""
    out: dict[str, Path] = {}
    for p in paths:
        path = Path(p)
        found = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES) \
            if path.is_dir() else [path]
        for f in found:
            out.setdefault(str(f), f)
    return list(out.values())


def read_documents(path: str | os.PathLike[str], *, lines: bool = False) -> list[Document]:
    """The documents of one file: the whole file, or each non-blank line with ``lines``.

    An empty (or blank) file gives no document.

    Raises:
        TextError: Missing or unreadable file, not a ``.txt``/``.md`` file, binary, or bad bytes.
    """
    p = Path(path)
    name = str(path)
    if p.suffix.lower() not in TEXT_SUFFIXES:
        raise TextError(f"not a text document (expected {', '.join(TEXT_SUFFIXES)}); load RDF data with "
                        "`nesy load`", file=name)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise TextError(f"cannot read: {exc.strerror or exc}", file=name) from None
    text = decode(data, name)
    markdown = p.suffix.lower() in (".md", ".markdown")
    if not lines:
        return [Document(name, p, text, markdown)] if text.strip() else []
    return [Document(f"{name}:{i}", p, line, markdown)
            for i, line in enumerate(text.splitlines(), 1) if line.strip()]


def prose(text: str, markdown: bool) -> str:
    """``text`` with Markdown markup replaced by spaces (same length, so offsets hold)."""
    if not markdown:
        return text

    def blank(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    text = _MD_FENCE.sub(blank, text)
    text = _MD_LINE.sub(blank, text)
    return _MD_INLINE.sub(blank, text)


def sentences(doc: Document) -> list[Sentence]:
    """The sentences of a document, numbered from 0, with offsets into ``doc.text``.

    Paragraphs (blank-line separated) never share a sentence; so do Markdown headings and
    list items. A sentence's text is the document slice with Markdown markup blanked.
    """
    text = prose(doc.text, doc.markdown)
    spans: list[tuple[int, int]] = []
    for lo, hi in _paragraphs(doc.text, doc.markdown):
        for blo, bhi in _blocks(text, lo, hi):
            for a, b in split_sentences(text[blo:bhi]):
                spans.extend(_bounded(text, blo + a, blo + b))
    out = []
    for a, b in spans:
        a, b = _trim(text, a, b)
        if b > a:
            out.append(Sentence(doc.id, len(out), text[a:b], a))
    return out


def _paragraphs(text: str, markdown: bool) -> list[tuple[int, int]]:
    """Char spans of the paragraphs of the text as read (in Markdown, each heading, quote
    or list-item line also starts a paragraph, and code blocks are left out)."""
    cuts = [m.span() for m in _PARAGRAPH.finditer(text)]
    if markdown:
        cuts += [(m.start(), m.start()) for m in _MD_LINE.finditer(text)]
        cuts += [m.span() for m in _MD_FENCE.finditer(text)]
    out, pos = [], 0
    for a, b in sorted(cuts):
        if a > pos:
            out.append((pos, a))
        pos = max(pos, b)
    if pos < len(text):
        out.append((pos, len(text)))
    return out


def _blocks(text: str, lo: int, hi: int) -> Iterable[tuple[int, int]]:
    """``[lo, hi)`` in pieces of at most :data:`_BLOCK` chars, cut after a full stop or at
    whitespace where possible, so the sentence splitter never sees a huge input."""
    while hi - lo > _BLOCK:
        cut = _cut(text, lo, lo + _BLOCK, (". ", "! ", "? ", "\n", " "))
        yield lo, cut
        lo = cut
    if hi > lo:
        yield lo, hi


def _bounded(text: str, a: int, b: int) -> Iterable[tuple[int, int]]:
    """A sentence span, cut at whitespace into pieces of at most :data:`MAX_SENTENCE` chars."""
    while b - a > MAX_SENTENCE:
        cut = _cut(text, a, a + MAX_SENTENCE, (" ", "\n", "\t"))
        yield a, cut
        a = cut
    yield a, b


def _cut(text: str, lo: int, hi: int, seps: Sequence[str]) -> int:
    """The last position in ``(lo + (hi-lo)//2, hi]`` just after one of ``seps`` (tried in
    order), else ``hi``: pieces stay between half and all of the limit."""
    floor = lo + (hi - lo) // 2
    for sep in seps:
        i = text.rfind(sep, floor, hi)
        if i >= 0:
            return i + len(sep)
    return hi


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
