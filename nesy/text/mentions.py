"""Mention finding for extraction: a gazetteer of surface forms, literal detectors, alignment.

A :class:`Gazetteer` maps normalised word sequences (``abilene regional airport``) to the
terms they name, with counts. It is filled from a knowledge base (labels and IRI local
names, literal values) and, in training, from the spans :func:`align` finds for the
reference subjects and objects in the texts (so ``Abilene`` → ``Abilene,_Texas`` is
learned). :meth:`Gazetteer.find` scans a text longest match first, adds dates and numbers
that no surface form covers, capitalised names as new entities, and pronouns (``it``, ``its``, ``he``...) that stand for the
text's first entity.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_WORDS = 10
STOP = frozenset("the a an of in on at to for and or by with from is was are be its it his her their".split())
PRONOUNS = frozenset("it its he his she her they their them".split())
MONTHS = ("january february march april may june july august september october november "
          "december").split()
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|\w+")
_ORD = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_M = "|".join(m.capitalize() for m in MONTHS)
_DATES = (re.compile(rf"\b({_M})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b"),
          re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_M}),?\s+(\d{{4}})\b"),
          re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"))
_CAP = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:(?:of|de|du|la|le|van|von|der|del|da)\s+)?[A-Z][\w'’-]*)*")
_NUM = re.compile(r"(?<![\w.])[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")


def fold(word: str) -> str:
    """Case- and accent-folded word; numbers lose thousands commas, ordinal suffixes and a
    zero fraction (``3,500.0`` → ``3500``, ``27th`` → ``27``)."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(c for c in word if not unicodedata.combining(c))
    m = _ORD.match(word)
    if m:
        return m.group(1)
    if word[:1].isdigit():
        word = word.replace(",", "")
        if re.fullmatch(r"\d+\.0+", word):
            word = word.split(".")[0]
    return word


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Folded words of ``text`` with their character spans."""
    return [(fold(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def key_of(text: str) -> tuple[str, ...]:
    """The gazetteer key of a surface form: its folded words, a leading ``the`` dropped."""
    words = [w for w, _, _ in tokens(text)]
    while words and words[0] == "the":
        words = words[1:]
    return tuple(words)


def name_variants(name: str) -> list[str]:
    """Surface forms a reference name may take in text, most literal first:
    ``Abilene,_Texas`` → ``Abilene, Texas``, ``Abilene``; ``"1946-03-27"`` → ``March 27 1946``..."""
    base = name.replace("_", " ").strip().strip('"').strip()
    out = [base]
    m = re.match(r"^(.*?)\s*\((.*?)\)$", base)
    if m:
        out.append(m.group(1))
    if "," in out[-1]:
        out.append(out[-1].split(",")[0])
    d = re.match(r"^(\d{4})-(\d{2})-(\d{2})$", base)
    if d and 1 <= int(d.group(2)) <= 12:
        y, mo, day = d.group(1), MONTHS[int(d.group(2)) - 1], str(int(d.group(3)))
        out += [f"{mo} {day} {y}", f"{day} {mo} {y}", f"{day} of {mo} {y}"]
    return [v for v in dict.fromkeys(out) if v]


@dataclass
class Found:
    """A mention candidate: char span, its text, candidate terms (n3 text, probability), kind."""

    start: int
    end: int
    text: str
    candidates: list[tuple[str, float]]
    kind: str = "entity"  # entity | literal | pronoun | nil (a new entity: term "?" + text)


@dataclass
class Gazetteer:
    """Surface form key → {term (n3 text): count}."""

    table: dict[tuple[str, ...], Counter[str]] = field(default_factory=dict)

    def add(self, surface: str, term: str, count: int = 1) -> None:
        key = key_of(surface)
        if key and len(key) <= MAX_WORDS and not all(w in STOP for w in key):
            self.table.setdefault(key, Counter())[term] += count

    def merge(self, other: Gazetteer) -> Gazetteer:
        out = Gazetteer({k: Counter(v) for k, v in self.table.items()})
        for k, v in other.table.items():
            out.table.setdefault(k, Counter()).update(v)
        return out

    def to_json(self) -> list[list]:
        return [[" ".join(k), dict(v)] for k, v in self.table.items()]

    @classmethod
    def from_json(cls, rows: Iterable[list]) -> Gazetteer:
        return cls({tuple(k.split(" ")): Counter(v) for k, v in rows})

    def find(self, text: str, k: int = 2) -> list[Found]:
        """Mentions in ``text``, left to right, longest surface form first, no overlaps;
        each with its ``k`` most frequent terms. Dates and numbers no surface form covers
        become literal mentions; pronouns stand for the first entity mention's terms."""
        toks = tokens(text)
        found: list[Found] = []
        taken = [False] * len(toks)
        i = 0
        while i < len(toks):
            for n in range(min(MAX_WORDS, len(toks) - i), 0, -1):
                hit = self.table.get(tuple(w for w, _, _ in toks[i:i + n]))
                if hit and not (n == 1 and toks[i][0] in PRONOUNS):
                    total = sum(hit.values())
                    cands = [(t, c / total) for t, c in hit.most_common(k)]
                    s, e = toks[i][1], toks[i + n - 1][2]
                    found.append(Found(s, e, text[s:e], cands))
                    taken[i:i + n] = [True] * n
                    i += n
                    break
            else:
                i += 1
        spans = [(f.start, f.end) for f in found]
        for lit in literal_mentions(text):
            if not any(lit.start < e and s < lit.end for s, e in spans):
                found.append(lit)
                spans.append((lit.start, lit.end))
        for m in _CAP.finditer(text):
            key = key_of(m.group())
            if key and not all(w in STOP or w in MONTHS for w in key) and \
                    not any(m.start() < e and s < m.end() for s, e in spans):
                found.append(Found(m.start(), m.end(), m.group(), [("?" + m.group(), 0.5)], "nil"))
                spans.append((m.start(), m.end()))
        found.sort(key=lambda f: f.start)
        first = next((f for f in found if f.kind in ("entity", "nil")), None)
        if first is not None:
            for j, (w, s, e) in enumerate(toks):
                if w in PRONOUNS and not taken[j] and s > first.start and not any(a <= s < b for a, b in spans):
                    found.append(Found(s, e, text[s:e], first.candidates, "pronoun"))
            found.sort(key=lambda f: f.start)
        return found


def literal_mentions(text: str) -> list[Found]:
    """Dates (as ``"YYYY-MM-DD"``^^xsd:date) and numbers (xsd:decimal/integer) in ``text``."""
    out: list[Found] = []
    for rx in _DATES:
        for m in rx.finditer(text):
            g = m.groups()
            if rx is _DATES[2]:
                y, mo, d = g
            elif rx is _DATES[0]:
                y, mo, d = g[2], f"{MONTHS.index(g[0].lower()) + 1:02d}", f"{int(g[1]):02d}"
            else:
                y, mo, d = g[2], f"{MONTHS.index(g[1].lower()) + 1:02d}", f"{int(g[0]):02d}"
            if not any(m.start() < f.end and f.start < m.end() for f in out):
                lit = f'"{y}-{mo}-{d}"^^<http://www.w3.org/2001/XMLSchema#date>'
                out.append(Found(m.start(), m.end(), m.group(), [(lit, 1.0)], "literal"))
    for m in _NUM.finditer(text):
        if not any(m.start() < f.end and f.start < m.end() for f in out):
            num = m.group().replace(",", "")
            dt = "integer" if re.fullmatch(r"[-+]?\d+", num) else "decimal"
            lit = f'"{num}"^^<http://www.w3.org/2001/XMLSchema#{dt}>'
            out.append(Found(m.start(), m.end(), m.group(), [(lit, 1.0)], "literal"))
    return out


def align(text: str, name: str, toks: list[tuple[str, int, int]] | None = None) -> tuple[int, int] | None:
    """The char span of ``text`` that best matches reference ``name``: an exact word match
    of one of its :func:`name_variants`, else the word n-gram with the best word-overlap F1
    (words equal on their first 4 letters count; F1 ≥ 0.5, one non-stop word shared)."""
    toks = toks if toks is not None else tokens(text)
    words = [w for w, _, _ in toks]
    for variant in name_variants(name):
        key = key_of(variant)
        n = len(key)
        for i in range(len(words) - n + 1):
            if n and tuple(words[i:i + n]) == key:
                return toks[i][1], toks[i + n - 1][2]
    ref = [w for w in key_of(name_variants(name)[0]) if w not in STOP]
    if not ref:
        return None
    best, span = 0.0, None
    for i in range(len(words)):
        if words[i] in STOP:
            continue
        for n in range(1, min(len(ref) + 2, len(words) - i) + 1):
            cand = [w for w in words[i:i + n] if w not in STOP]
            hit = sum(1 for w in cand if any(w == r or (len(w) >= 4 and w[:4] == r[:4]) for r in ref))
            if not hit or words[i + n - 1] in STOP:
                continue
            f1 = 2 * hit / (len(cand) + len(ref))
            if f1 > best + 1e-9:
                best, span = f1, (toks[i][1], toks[i + n - 1][2])
    return span if best >= 0.5 else None
