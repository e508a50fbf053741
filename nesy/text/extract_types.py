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
    a Literal, or None for a new entity (NIL) that the caller mints by :attr:`new_name`."""

    text: str
    start: int
    end: int
    term: Identifier | None
    score: float
    #: A new entity's name where it is not the span's text: a pronoun's referent ("It" → "AIDAluna").
    name: str = ""

    @property
    def new_name(self) -> str:
        """The name a new entity (``term`` None) is minted by."""
        return self.name or self.text


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
#: Abbreviations whose full stop never ends a sentence: a name or a number follows them.
TITLES = frozenset(
    "mr mrs ms dr prof sr jr st mt ft no nos vs cf al fig approx gen col lt sgt capt rev hon gov "
    "pres sen rep op vol pp ed eds e.g i.e".split())
#: Abbreviations that also end sentences ("... in the U.S. He ...", "... at 5 p.m. The ..."):
#: their full stop ends one when the next word is one that starts sentences, not a name.
ENDING = frozenset(
    "etc inc ltd co corp dept est jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k "
    "a.m p.m ph.d b.a m.a b.sc".split())
ABBREVIATIONS = TITLES | ENDING
#: Words that start sentences but are not names: after an ENDING abbreviation they mean a
#: new sentence began.
STARTERS = frozenset(
    "a an the this that these those he she it they we i you his her its their our my your "
    "there here in on at by for from with after before when while if but and so however then "
    "it's he's she's".split())
# A run of end marks (only from its start, and without backtracking, so a long run of dots
# costs its length once), closing quotes or brackets, then white space; or a blank line.
_END = re.compile(r"(?<![.!?])[.!?]++[\"'”’)\]]*+(?=\s)|\n\s*\n")
_OPENERS = "\"'“‘(["
# The first non-space character after a candidate, and the word that starts there.
_NEXT = re.compile(r"\s*+([\"'“‘(\[]*+)(\S?)(\w*)")
_INITIALS = re.compile(r"[a-z]|([a-z]\.)+[a-z]")
_DOTTED = re.compile(r"([a-z]\.)+[a-z]")


def _word_before(text: str, end: int) -> str:
    """The white-space-delimited word that ends at ``end``, lower case, opening quotes off."""
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:end].lstrip(_OPENERS).lower()


def _is_cut(text: str, m: re.Match[str]) -> bool:
    """Whether the sentence-ending candidate ``m`` ends a sentence (see :func:`split_sentences`)."""
    if not m.group().strip():
        return True  # a blank line
    nxt = _NEXT.match(text, m.end())
    assert nxt is not None  # every part of _NEXT may be empty
    opener, first, rest = nxt.groups()
    if not opener and not first:
        return False  # only white space follows: the text's own end closes the sentence
    if not opener and not (first.isupper() or first.isdigit()):
        return False
    if m.group().rstrip("\"'”’)]") != ".":
        return True
    word = _word_before(text, m.start())
    # A dotted abbreviation of two or more letters ("D.C.", "U.S.A.") is a place or a body's
    # name that may close a sentence, as ENDING's are; a single initial ("J.") does not.
    if word in ENDING or (word not in TITLES and _DOTTED.fullmatch(word)):
        return (first + rest).lower() in STARTERS
    return not (word in TITLES or _INITIALS.fullmatch(word))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Char spans ``(start, end)`` of the sentences of ``text``, whitespace trimmed.

    A sentence ends at ``.``, ``!`` or ``?`` (with any closing quotes or brackets) followed
    by white space and an upper-case letter, digit, quote or bracket, and always at a blank
    line. A full stop after a title (``Dr.``, ``e.g.``), an initial (``J. R. R. Tolkien``) or
    inside a number (``3.5``) does not end one; after an abbreviation that may close a
    sentence (``U.S.``, ``p.m.``, ``etc.``) it does when the next word is one that starts
    sentences (``The``, ``He``), not a name (``U.S. Army``). Linear in the text's length.
    """
    cuts = [0]
    cuts += [m.end() for m in _END.finditer(text) if _is_cut(text, m)]
    cuts.append(len(text))
    spans = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        s, e = a + lead, a + len(seg.rstrip())
        if e > s:
            spans.append((s, e))
    return spans


__all__ = ["ABBREVIATIONS", "ENDING", "STARTERS", "TITLES", "Extraction", "Extractor", "Mention", "Sentence", "split_sentences"]
