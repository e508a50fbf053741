"""The one tokeniser of text: word tokens with character spans, in the normal form names are matched in.

Every part of nesy that compares text with the knowledge base's names (entity linking, QA
topic finding, extraction's gazetteer) splits both sides with :func:`tokens`, so a label
and a mention of it always give the same words. A word is a run of letters and digits:
underscores, hyphens and punctuation separate words (``Frederica_of_Mecklenburg-Strelitz``
is four words). Words are compared :func:`fold`-ed: case-folded, accents removed, and
numbers written one way (``3,500.0`` → ``3500``, ``27th`` → ``27``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from typing import NamedTuple

#: A word as a name writes it: letters and digits, nothing else (case kept; see :func:`tokens`).
WORD = re.compile(r"[^\W_]+")
# A number is one token, thousands commas and fraction included, when no letter follows it
# ("3,500.0", "27th"); "1990s" or "0abc" stay one plain word.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th)?(?![^\W_])|[^\W_]+")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_ZERO_FRACTION = re.compile(r"\d+\.0+")


class Token(NamedTuple):
    """One word of a text: its folded form and the char span ``text[start:end]`` it comes from."""

    word: str
    start: int
    end: int


def fold(word: str) -> str:
    """``word`` in the form it is matched in: case-folded, accents removed; a number loses its
    thousands commas, ordinal suffix and a zero fraction (``3,500.0`` → ``3500``, ``27th`` → ``27``)."""
    if word.isascii():
        word = word.lower()  # casefold() of ASCII; the common case, kept fast for large KBs
    else:
        word = unicodedata.normalize("NFKD", word.casefold())
        word = "".join(c for c in word if not unicodedata.combining(c))
    if word[:1].isdigit():
        m = _ORDINAL.match(word)
        if m:
            return m.group(1)
        word = word.replace(",", "")
        if _ZERO_FRACTION.fullmatch(word):
            word = word.split(".")[0]
    return word


def tokens(text: str, *, drop: Collection[str] = ()) -> list[Token]:
    """The folded words of ``text`` with their char spans, in text order; words in ``drop``
    (folded forms, e.g. ``{"the"}``) are left out."""
    out = []
    for m in _TOKEN.finditer(text):
        word = fold(m.group())
        if word and word not in drop:
            out.append(Token(word, m.start(), m.end()))
    return out


def name_key(text: str, *, drop: Collection[str] = ()) -> tuple[str, ...]:
    """The folded words of ``text`` as a tuple: the key a name is looked up by."""
    return tuple(t.word for t in tokens(text, drop=drop))


__all__ = ["WORD", "Token", "fold", "name_key", "tokens"]
