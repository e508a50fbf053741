"""The predicates' label words in a text: the share of each label's words in the text and just before an object.

A relation is often written with its label's own words (``has a floor count of 45``). Two
signals of that, each ``(pairs, predicates)``: the share of a label's words anywhere in the
pair's text (:func:`pair_overlap`, an input of the reader's scorer) and among the few words
written just before the pair's object (:func:`object_overlap`, added at decoding), which
tells ``floor count`` from ``floor area`` where the text has both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nesy.text.extract_model import TextFeatures
from nesy.text.mentions import STOP

if TYPE_CHECKING:
    import torch

_WORD = re.compile(r"[\w'’]+")
#: How many words before an object :func:`object_overlap` reads.
OBJECT_WORDS = 4
#: Words whose stem is not that of the label they write (``built`` for ``builder``, ``born``
#: for ``birth place``, ``tall`` for ``height``): irregular verbs and the adjectives of
#: measures. At decoding a text's word adds the label's stem to its own; training reads the
#: words as they are. (Validation half, 2026-12-07: 0.345 → 0.356, and 0.334 → 0.352 on the
#: other half; a reader trained with them too came out weaker, 0.339; docs/text.md.)
IRREGULAR = {"born": "birth", "died": "death", "dies": "death", "built": "build", "owned": "owner",
             "owns": "owner", "led": "leade", "leads": "leade", "tall": "heigh", "high": "heigh",
             "long": "lengt", "wide": "width", "flew": "fligh", "flown": "fligh", "made": "manuf",
             "sold": "sales", "won": "award"}


#: Endings :func:`root` takes off, longest first.
SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ers", "er", "ors", "or", "ed", "es", "s", "e")


def root(word: str) -> str:
    """``word`` without the first ending of :data:`SUFFIXES` that leaves three letters, cut to
    five: ``opened`` and ``opening``, ``beds`` and ``bed``, ``hosted`` and ``host`` meet where
    their first five letters do not."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[:-len(suffix)][:5]
    return word[:5]


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOP and not w.isdigit()]


def stems(text: str, irregular: bool = False, roots: dict[str, frozenset[str]] | None = None) -> frozenset[str]:
    """The content words of ``text`` cut to their first five letters (``manufactured`` and
    ``manufacturer`` meet), stop words and numbers left out. With ``irregular`` (decoding) an
    :data:`IRREGULAR` word adds the stem of its label's word (``built`` meets ``builder``), and
    a word whose :func:`root` is in ``roots`` the label stems of that root (``beds`` meets
    ``bed count``)."""
    words = _content_words(text)
    extra = [s for w in words for s in (roots or {}).get(root(w), ())] + [IRREGULAR[w] for w in words
                                                                          if w in IRREGULAR]
    return frozenset([w[:5] for w in words] + (extra if irregular else []))


@dataclass
class LabelWords:
    """The predicates' label words: ``index`` maps a stem (:func:`stems`) to a row of
    ``matrix`` ``(V, P)``, whose column ``p`` is 1/|words of label p| on those words' rows;
    ``roots`` maps a label word's :func:`root` to the stems of the label words that have it."""

    index: dict[str, int]
    matrix: torch.Tensor
    roots: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, labels: list[str]) -> LabelWords:
        """The label words of the label texts ``labels`` (one per predicate)."""
        import torch

        words = [stems(t) for t in labels]
        index = {w: i for i, w in enumerate(sorted(set().union(*words)))}
        matrix = torch.zeros(len(index), len(labels))
        for p, ws in enumerate(words):
            for w in ws:
                matrix[index[w], p] = 1.0 / len(ws)
        roots: dict[str, set[str]] = {}
        for w in {w for t in labels for w in _content_words(t)}:
            roots.setdefault(root(w), set()).add(w[:5])
        return cls(index, matrix, {r: frozenset(ws) for r, ws in roots.items()})

    def columns(self, cols: list[int]) -> LabelWords:
        """Only the predicates ``cols``, in that order."""
        return LabelWords(self.index, self.matrix[:, cols], self.roots)

    def shares(self, texts: list[str], irregular: bool = True) -> torch.Tensor:
        """``(n, P)`` the share of each label's words that each of ``texts`` has (``irregular``:
        :func:`stems`)."""
        import torch

        have = torch.zeros(len(texts), len(self.index))
        for i, text in enumerate(texts):
            rows = [self.index[w] for w in stems(text, irregular, self.roots) if w in self.index]
            have[i, rows] = 1.0
        return have @ self.matrix


def pair_overlap(texts: list[str], feats: list[TextFeatures], labels: LabelWords,
                 irregular: bool = True) -> torch.Tensor:
    """``(M, P)`` for the pairs of ``feats`` (stacked in order, ``M`` in all): the share of
    each label's words in the pair's text. A label whose words the text lacks (``runway
    length`` for a ship, ``creator of dish`` for a car) is less likely its relation, seen in
    training or not. (The share near the pair as well, a second feature, did worse: validation
    half 0.261 against 0.278, 2026-12-05.) Training passes ``irregular=False`` (:data:`IRREGULAR`)."""
    import torch

    rows = [labels.shares([text], irregular).expand(len(f.pairs), -1) for text, f in zip(texts, feats, strict=True)
            if len(f.pairs)]
    return torch.cat(rows) if rows else torch.zeros(0, labels.matrix.shape[1])


_NUMBER_TYPES = ("XMLSchema#integer>", "XMLSchema#decimal>")
_COUNTED = re.compile(r"[-+]?\d[\d,.]*\s*([^\W\d_]+)")


def _counted(text: str, start: int, term: str) -> list[str]:
    """The word just after a number object, what it counts or measures (``floors`` of ``23
    floors``, ``students`` of ``20,000 students``); none for any other object. Validation
    half, 2026-12-07, two saved readers decoded again: 0.3585 → 0.3592 and 0.3419 → 0.3437."""
    if not term.endswith(_NUMBER_TYPES):
        return []
    m = _COUNTED.match(text, start)
    return [m.group(1)] if m else []


def object_overlap(texts: list[str], feats: list[TextFeatures], labels: LabelWords,
                   words: int = OBJECT_WORDS) -> torch.Tensor:
    """``(M, P)`` for the pairs of ``feats`` (stacked in order): the share of each label's
    words among the ``words`` words written just before the pair's object (``a floor count
    of`` before ``45``), with the word after a number object (:func:`_counted`). The whole text's share (:func:`pair_overlap`) cannot tell two labels
    apart when the text has both (``a floor area of 111,484 square metres and a floor count
    of 45``); the object's own lead-in can (validation half, 2026-12-07: docs/text.md)."""
    import torch

    rows = []
    for text, f in zip(texts, feats, strict=True):
        if not len(f.pairs):
            continue
        leads = [" ".join(_WORD.findall(text[max(0, a - 120):a])[-words:] + _counted(text, a, term))
                 for a, term in zip(f.starts.tolist(), f.terms, strict=True)]
        rows.append(labels.shares(leads)[torch.from_numpy(f.pairs[:, 1])])
    return torch.cat(rows) if rows else torch.zeros(0, labels.matrix.shape[1])
