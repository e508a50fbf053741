"""The data of text extraction: sentences, mentions, extracted triples, the Extractor protocol.

Also where a text is cut into sentences (:func:`split_sentences`). Every extraction
module builds on this one, and it imports none of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rdflib import URIRef
from rdflib.term import Identifier

if TYPE_CHECKING:
    from nesy.kbview import KBView


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document: its id, 0-based number, text and char offset in the document."""

    doc: str
    index: int
    text: str
    start: int


@dataclass(frozen=True)
class Mention:
    """A span of :attr:`Sentence.text` (char offsets) and the term it names: an entity IRI,
    a Literal, or None for a new entity (NIL) that the caller mints."""

    text: str
    start: int
    end: int
    term: Identifier | None
    score: float


@dataclass(frozen=True)
class Extraction:
    """One extracted triple with where it was read. ``confidence`` is in (0, 1]."""

    sentence: Sentence
    subject: Mention
    predicate: URIRef
    object: Mention
    confidence: float
    extractor: str


class Extractor(Protocol):
    """What ``kb.extract`` runs: named, and mapping sentences to extractions."""

    name: str

    def extract(self, sentences: Sequence[Sentence], kb: KBView) -> list[Extraction]: ...


# -- sentence splitting ---------------------------------------------------------------
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft no nos vs etc e.g i.e cf al inc ltd co corp dept est fig approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec gen col lt sgt capt rev hon gov pres sen rep u.s u.k "
    "a.m p.m ph.d b.a m.a b.sc op vol pp ed eds".split())
_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|\n\s*\n")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Char spans ``(start, end)`` of the sentences of ``text``, whitespace trimmed.

    A sentence ends at ``.``, ``!`` or ``?`` (with any closing quotes or brackets) followed
    by white space and an upper-case letter, digit, quote or bracket, and always at a blank
    line. A full stop after a known abbreviation (``Dr.``, ``e.g.``, ``U.S.``), an initial
    (``J. R. R. Tolkien``) or inside a number (``3.5``) does not end one.
    """
    cuts = [0]
    for m in _END.finditer(text):
        end = m.end()
        if m.group().strip():
            nxt = text[end:].lstrip()
            if not nxt or not (nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in "\"'“‘(["):
                continue
            if m.group().rstrip("\"'”’)]") == ".":
                word = re.search(r"(\S*)$", text[:m.start()]).group(1).lstrip("\"'“‘([").lower()
                if word in ABBREVIATIONS or re.fullmatch(r"[a-z]|([a-z]\.)+[a-z]", word):
                    continue
        cuts.append(end)
    cuts.append(len(text))
    spans = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        s, e = a + lead, a + len(seg.rstrip())
        if e > s:
            spans.append((s, e))
    return spans


__all__ = ["ABBREVIATIONS", "Extraction", "Extractor", "Mention", "Sentence", "split_sentences"]
