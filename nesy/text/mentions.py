"""Mention finding: the one longest-match finder over a KB's names, and extraction's gazetteer.

:func:`find_spans` is the mention finder every part of nesy uses: it looks up runs of
:func:`~nesy.text.tokens.tokens` in a table of names and keeps the longest, non-overlapping
matches. Its users differ only in options: entity linking (:mod:`nesy.text.linking`) takes
the leftmost-longest match and drops the word "the"; QA topic finding
(:meth:`nesy.qa.graph.QAGraph.find_mentions`) ranks every match (a name written exactly as
in the KB first) with ``prefer``; extraction adds literals, new entities and pronouns.

For extraction a :class:`Gazetteer` maps folded word sequences (``abilene regional
airport``) to the terms they name, with counts. It is filled from a knowledge base (labels
and IRI local names, literal values) and, in training, from the spans :func:`align` finds
for the reference subjects and objects in the texts (so ``Abilene`` → ``Abilene,_Texas`` is
learned). :meth:`Gazetteer.find` scans a text longest match first and, as options, adds
dates and numbers that no surface form covers, capitalised names as new entities, and
pronouns (``it``, ``its``, ``he``...) that stand for the text's first entity.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar
from urllib.parse import unquote

from nesy.text.tokens import Token, fold, tokens

V = TypeVar("V")
MAX_WORDS = 10
STOP = frozenset("the a an of in on at to for and or by with from is was are be its it his her their".split())
PRONOUNS = frozenset("it its he his she her they their them".split())
#: Capitalised words that start a sentence and are no name of their own ("There are 22
#: floors in ...", "This building ..."): a name never is one of these alone.
NOT_NAMES = frozenset("there this these those that however although though both while when where which who "
                      "whose also after before during since because another other each some many most here then "
                      "thus today currently originally formerly additionally furthermore moreover despite".split())
_LONE_NOT_NAMES = frozenset((w,) for w in NOT_NAMES)
#: Words that make a part of a place's name, not a place of their own ("West Texas").
_DIRECTIONS = frozenset("north south east west northern southern eastern western central upper lower greater new".split())
#: Short words an acronym may spell ("US" / "us"), besides :data:`STOP` and :data:`PRONOUNS`.
_WORDS = STOP | PRONOUNS | frozenset("us we me my am as so no do go up if he oh ok hi".split())
MONTHS = ("january february march april may june july august september october november "
          "december").split()
# A month's name, or its abbreviation with or without a full stop ("Dec. 18, 2009", "5 Sept 1977").
_M = "|".join(m.capitalize() for m in MONTHS) + r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b\.?"
_DATES = (re.compile(rf"\b({_M})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b"),
          re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_M}),?\s+(\d{{4}})\b"),
          # 2009-03-22, 2009/03/22
          re.compile(r"(?<![\d/.-])(\d{4})([-/])(\d{1,2})\2(\d{1,2})\b(?![/.-]\d)"),
          # 8/31/2004 (month first, as in the US) or 31/8/2004 (a first number over 12 is the day);
          # 31.08.2004 (day first, as in much of Europe)
          re.compile(r"(?<![\d/.])(\d{1,2})([/.])(\d{1,2})\2(\d{4})\b(?![/.]\d)"))


def month_number(name: str) -> int:
    """1-12 for a month's name or abbreviation (``"Sept."`` → 9)."""
    return [m[:3] for m in MONTHS].index(name.lower()[:3]) + 1
# A capitalised name: words that start with a capital ("Aarhus Airport", "Frederick of Hesse");
# a house number or year just before it ("103 Colmore Row", "1955 Dodge"), a word that mixes
# digits and a capital ("3Arena", "RS-3"), a short number inside it ("Launch Pad 0"), initials
# ("Douglas R. Oberhelman") and a closing abbreviation ("Caterpillar Inc.") included; a
# possessive ends it ("Italy's Gruppo Bertone" is two names).
_W = r"(?:[\w-]|['’](?=\w)(?!s\b))*"
# After a full stop, a word that starts sentences begins the next one, not more of the name
# ("in the U.S. The ship", "Honda Co. It has").
_NOT_STARTER = r"(?!(?:The|A|An|It|Its|He|His|She|Her|They|Their|This|These|That|Those|There|In|On|At)\b(?!\.))"
_INITIAL = rf"[A-Z]\.(?=\s+{_NOT_STARTER}[A-Z])"
_DOTTED = r"(?:[A-Z]\.){2,}"  # "U.S.", "D.C.": one word
ABBREVIATIONS = ("Inc", "Ltd", "Co", "Corp", "Jr", "Sr", "St")
_CAP = re.compile(rf"\b(?:(?<![\d.,])\d{{1,4}}\s+(?=[A-Z]))?(?:{_DOTTED}|{_INITIAL}|(?:[A-Z]|\d+[A-Z]){_W})"
                  rf"(?:(?:(?<!\.)\s+|(?<=\.)\s+{_NOT_STARTER})(?:(?:of|de|du|la|le|van|von|der|del|da)\s+)?"
                  rf"(?:(?:{'|'.join(ABBREVIATIONS)})\.|{_DOTTED}|{_INITIAL}|[A-Z]{_W}|\d{{1,3}}\b(?![.,]\d)|\d{_W}[A-Za-z]{_W}))*")
#: What a capitalised name does not start with: a capitalised stop word ("In Japan") or a
#: person's title before at least two more names ("President Barack Obama", not "King County").
NAME_LEAD = re.compile(r"(?:(?:The|In|On|At|From|By|With|For|Its|His|Her|Their|Both|Although|While|When|Since|"
                       r"After|Before|During|Despite|Whereas)\s+"
                   r"|(?:President|Queen|King|Emperor|Empress|Pope|Prime Minister|Chancellor|Senator|Governor"
                   r"|Mayor|Sir|Dr\.?|Mr\.?|Mrs\.?|Ms\.?)\s+(?=\S+\s+\S))")
#: Units after a number that make it a measured quantity (a decimal), not a count.
_UNIT = re.compile(r"\s*(?:square\s+|cubic\s+)?(?:(?:kilo|centi|milli)?met(?:re|er)s?|km|cm|mms?|m|inch(?:es)?|"
                   r"feet|foot|ft|miles?|tonnes?|tons?|(?:kilo)?grams?|kg|g|pounds?|lbs?|litres?|liters?|"
                   r"kilowatts?|kw|horsepower|hp|degrees?|°[cf]?|hectares?|acres?|km2|sq\s*km)\b", re.I)
# A number: not a part of a longer one ("8" of "8.3m"), and followed by no letter unless a
# short unit is glued to it ("8.3m", "252m", "45kg").
_NUM = re.compile(r"(?<![\w.])[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?:(?![\w]|\.\d)|(?=(?:mm|cm|km|m|kg|ft|lbs?|kw|hp)\b))")


class Span(NamedTuple, Generic[V]):
    """A match of :func:`find_spans`: chars ``text[start:end]``, tokens ``first:stop``, and
    what the table gave for its words."""

    start: int
    end: int
    first: int
    stop: int
    value: V


def find_spans(toks: Sequence[Token], lookup: Callable[[tuple[str, ...]], V | None], *, max_words: int,
               accept: Callable[[Span[V]], bool] | None = None,
               prefer: Callable[[Span[V]], Any] | None = None) -> list[Span[V]]:
    """Runs of at most ``max_words`` consecutive tokens whose words ``lookup`` knows (a value
    other than ``None``) and ``accept`` lets through, none overlapping.

    By default the match is leftmost-longest: scanning left to right, the longest match
    starting at a token wins, and the spans come in text order. With ``prefer`` every match
    is ranked by ``prefer(span)`` (smallest first) and taken in that order unless it
    overlaps one taken before; the spans come in that order."""
    words = [t.word for t in toks]
    found: list[Span[V]] = []
    free = 0  # leftmost-longest: the first token no chosen span covers
    for i in range(len(toks)):
        if prefer is None and i < free:
            continue
        for n in range(min(max_words, len(toks) - i), 0, -1):
            value = lookup(tuple(words[i:i + n]))
            if value is None:
                continue
            span = Span(toks[i].start, toks[i + n - 1].end, i, i + n, value)
            if accept is None or accept(span):
                found.append(span)
                if prefer is None:  # a shorter match here, or one starting inside, never wins
                    free = i + n
                    break
    if prefer is None:
        return found
    taken = [False] * len(toks)
    out = []
    for span in sorted(found, key=prefer):
        if not any(taken[span.first:span.stop]):
            taken[span.first:span.stop] = [True] * (span.stop - span.first)
            out.append(span)
    return out


def key_of(text: str) -> tuple[str, ...]:
    """The gazetteer key of a surface form: its folded words, a leading ``the`` dropped."""
    words = [t.word for t in tokens(text)]
    while words and words[0] == "the":
        words = words[1:]
    return tuple(words)


#: A middle initial written without its full stop ("Alan B Miller Hall", "Robert A M Stern"),
#: initials run together ("Robert A.M. Stern"), and a company's closing abbreviation ("Caterpillar Inc").
_BARE_INITIAL = re.compile(r"(?<=[A-Za-z][a-z]\s|[A-Z]\.\s)([A-Z])(?=\s+[A-Z])")
_RUN_INITIALS = re.compile(r"\b([A-Z])\.(?=[A-Z]\.)")
_BARE_SUFFIX = re.compile(r"\b(Inc|Ltd|Corp|Jr|Sr)$")


def new_entity_name(surface: str) -> str:
    """The name of a new entity written ``surface`` in a text, as encyclopaedias write names:
    initials with full stops and a space between them, ``Inc.`` and ``Jr.`` with theirs
    ("Alan B Miller Hall" → "Alan B. Miller Hall", "Robert A.M. Stern" → "Robert A. M.
    Stern"). The validation texts wrote 10% of the missed names this way (2026-12-05)."""
    name = _RUN_INITIALS.sub(r"\1. ", surface)
    for _ in range(2):  # "A M" → "A. M" → "A. M."
        name = _BARE_INITIAL.sub(r"\1.", name)
    return _BARE_SUFFIX.sub(r"\1.", name)


def name_variants(name: str) -> list[str]:
    """Surface forms a reference name may take in text, most literal first:
    ``Abilene,_Texas`` → ``Abilene, Texas``, ``Abilene`` (not a quoted string's first comma part);
    ``"1946-03-27"`` → ``March 27 1946``...;
    a name of two to four capitalised words also by its initials (``United_States`` → ``US``,
    ``U.S.``), and a dotted abbreviation without its dots (``Washington,_D.C.`` → ``Washington, DC``)."""
    base = name.replace("_", " ").strip().strip('"').strip()
    out = [base]
    m = re.match(r"^(.*?)\s*\((.*?)\)$", base)
    if m:
        out.append(m.group(1))
    # A string literal's first comma part is a list's first item ("Paris, New York or Hong Kong",
    # "Ground almond, jam, butter, eggs"), not the place or thing the literal names.
    if "," in out[-1] and not name.strip().startswith('"'):
        out.append(out[-1].split(",")[0])
    if re.fullmatch(r"[-+]?\d+\.0", out[-1]):  # "28.0 (metres)" is written "28 metres"
        out.append(out[-1][:-2])
    words = base.split()
    if 2 <= len(words) <= 4 and all(w[:1].isupper() and w.isalpha() for w in words):  # "US", "U.S."
        acronym = "".join(w[0] for w in words)
        # Surface forms are folded to lower case: an acronym that is also a word ("US" / "us")
        # is kept with its dots only.
        out += [".".join(acronym) + "."] if acronym.lower() in _WORDS else [acronym, ".".join(acronym) + "."]
    if re.search(r"[A-Za-z]\.[A-Za-z]", base):  # "Washington, D.C." is also written "Washington, DC"
        out.append(base.replace(".", ""))
    d = re.match(r"^(\d{4})-(\d{2})-(\d{2})$", base)
    if d and 1 <= int(d.group(2)) <= 12:
        y, mo, day = d.group(1), MONTHS[int(d.group(2)) - 1], str(int(d.group(3)))
        out += [f"{mo} {day} {y}", f"{day} {mo} {y}", f"{day} of {mo} {y}"]
        for short in [mo[:3]] + ["sept"] * (mo == "september"):  # "Dec. 18, 2009", "5 Sept 1977"
            out += [f"{short} {day} {y}", f"{day} {short} {y}"]
    return [v for v in dict.fromkeys(out) if v]


@dataclass
class Found:
    """A mention candidate: char span, its text, candidate terms (n3 text, probability), kind."""

    start: int
    end: int
    text: str
    candidates: list[tuple[str, float]]
    kind: str = "entity"  # entity | literal | pronoun | nil (a new entity: term "?" + text)


def _local_name(term: str) -> str:
    """The words of an IRI's last part (n3 text ``<…/Williamsburg,_Virginia>`` →
    ``Williamsburg, Virginia``); "" for a literal."""
    return unquote(re.split(r"[/#:]", term[1:-1])[-1]).replace("_", " ") if term[:1] == "<" else ""


@dataclass
class Gazetteer:
    """Surface form key → {term (n3 text): count}."""

    table: dict[tuple[str, ...], Counter[str]] = field(default_factory=dict)
    _suffixes: dict[tuple[str, ...], int] | None = field(default=None, init=False, repr=False, compare=False)

    def add(self, surface: str, term: str, count: int = 1) -> None:
        key = key_of(surface)
        if key and len(key) <= MAX_WORDS and not all(w in STOP for w in key):
            self.table.setdefault(key, Counter())[term] += count
            self._suffixes = None

    def suffixes(self, least: int = 1) -> set[tuple[str, ...]]:
        """The keys of the last parts of at least ``least`` known IRIs named "X, B"
        (``…/Williamsburg,_Virginia`` → ``("virginia",)``): a place that, written after a
        comma, is part of one name."""
        if self._suffixes is None:
            out: dict[tuple[str, ...], set[str]] = {}
            for terms in self.table.values():
                for term in terms:
                    local = _local_name(term)
                    if ", " in local:
                        out.setdefault(key_of(local.rsplit(", ", 1)[1]), set()).add(local)
            self._suffixes = {k: len(v) for k, v in out.items()}
        return {k for k, n in self._suffixes.items() if n >= least}

    def named(self, surface: str) -> bool:
        """Whether a known IRI is named ``surface`` itself (``…/Chicago`` for "Chicago"), not
        only known by it (``…/Buffalo,_New_York`` for "Buffalo")."""
        key = key_of(surface)
        return any(key_of(_local_name(t)) == key for t in self.lookup(surface) or ())

    def new_name(self, surface: str) -> str:
        """The name of a new entity written ``surface`` (:func:`new_entity_name`), with the
        comma a text left out before a last part that ends two or more known "X, B" names
        put back: "Buffalo New York" → ``Buffalo, New York`` as ``Albany,_New_York`` and
        ``Troy,_New_York`` are named, "Cyrus Vance Jr" → ``Cyrus Vance, Jr.``."""
        name = new_entity_name(surface)
        words = name.split(" ")
        if "," in name or len(words) < 2:
            return name
        ends = self.suffixes(least=2)
        for n in range(min(3, len(words) - 1), 0, -1):
            head = words[:-n]
            if key_of(" ".join(words[-n:])) in ends:
                named = head[-1][:1].isupper() or head[-1][:1].isdigit()
                if named and not (len(head) == 1 and head[0].lower() in _DIRECTIONS):  # "West Texas"
                    return " ".join(head) + ", " + " ".join(words[-n:])
                break
        return name

    def merge(self, other: Gazetteer) -> Gazetteer:
        out = Gazetteer({k: Counter(v) for k, v in self.table.items()})
        for k, v in other.table.items():
            out.table.setdefault(k, Counter()).update(v)
        return out

    def without(self, terms: set[str]) -> Gazetteer:
        """A copy that does not know ``terms`` (n3 texts) by any surface form."""
        table = {k: Counter({t: c for t, c in v.items() if t not in terms}) for k, v in self.table.items()}
        return Gazetteer({k: v for k, v in table.items() if v})

    def to_json(self) -> list[list]:
        return [[" ".join(k), dict(v)] for k, v in self.table.items()]

    @classmethod
    def from_json(cls, rows: Iterable[list]) -> Gazetteer:
        return cls({tuple(k.split(" ")): Counter(v) for k, v in rows})

    def lookup(self, surface: str) -> Counter[str] | None:
        """The terms of ``surface`` (their counts), or None; an acronym not known as written
        is looked up dotted ("US" is known as "U.S.", :func:`name_variants`, where "us"
        is a word)."""
        hit = self.table.get(key_of(surface))
        if not hit and surface.isalpha() and surface.isupper() and 2 <= len(surface) <= 5:
            hit = self.table.get(key_of(".".join(surface) + "."))
        return hit or None

    def find(self, text: str, k: int = 2, *, literals: bool = True, new_entities: bool = True,
             pronouns: bool = True, names_first: bool = False) -> list[Found]:
        """Mentions in ``text`` in text order, longest surface form first, no overlaps; each
        with its ``k`` most frequent terms. Options add what no surface form covers:
        ``literals`` dates and numbers, ``new_entities`` capitalised names (kind ``nil``),
        ``pronouns`` words that stand for the first entity mention's terms; with
        ``names_first`` a known surface form inside a longer capitalised name is not a
        mention ("Lockheed Martin" is one new entity, not the known "Lockheed" and "Martin")."""
        toks = tokens(text)
        names = capitalised_names(text) if names_first and new_entities else []

        def not_pronoun(span: Span[Counter[str]]) -> bool:
            return not (span.stop - span.first == 1 and toks[span.first].word in PRONOUNS)

        lits = literal_mentions(text) if literals else []
        dates = [f for f in lits if f.candidates[0][0].endswith("#date>")]

        def accept(span: Span[Counter[str]]) -> bool:
            # A date is read whole: a surface form that cuts one ("October 2014") is not a mention.
            cuts = any(d.start < span.end and span.start < d.end and not (span.start <= d.start and d.end <= span.end)
                       for d in dates)
            inside = any(c <= span.start and span.end <= d and d - c > span.end - span.start for c, d in names)
            return not_pronoun(span) and not cuts and not inside

        matches = find_spans(toks, self.table.get, max_words=MAX_WORDS, accept=accept)
        found = []
        for m in matches:
            total = sum(m.value.values())
            cands = [(t, c / total) for t, c in m.value.most_common(k)]
            found.append(Found(m.start, m.end, text[m.start:m.end], cands))
        spans = [(f.start, f.end) for f in found]
        # Dates, then names (so "RS-3" is not the number -3), then the numbers left.
        numbers = [f for f in lits if f not in dates]
        extra = dates + (_new_entities(text, self) if new_entities else []) + numbers
        for f in extra:
            if not any(f.start < e and s < f.end for s, e in spans):
                hit = self.lookup(f.text) if f.kind == "nil" else None  # "from the US"
                if hit:
                    f = Found(f.start, f.end, f.text, [(t, c / sum(hit.values())) for t, c in hit.most_common(k)])
                found.append(f)
                spans.append((f.start, f.end))
        found.sort(key=lambda f: f.start)
        first = next((f for f in found if f.kind in ("entity", "nil")), None)
        if pronouns and first is not None:
            taken = {i for m in matches for i in range(m.first, m.stop)}
            for j, (w, s, e) in enumerate(toks):
                if w in PRONOUNS and j not in taken and s > first.start and not any(a <= s < b for a, b in spans):
                    found.append(Found(s, e, text[s:e], first.candidates, "pronoun"))
            found.sort(key=lambda f: f.start)
        return found


def capitalised_names(text: str) -> list[tuple[int, int]]:
    """Char spans of the capitalised names in ``text`` (``Aarhus Airport``, ``Frederick of
    Hesse``, ``Mid-Atlantic Regional Spaceport Launch Pad 0``), a leading ``The`` left out."""
    out = []
    for m in _CAP.finditer(text):
        start, name = m.start(), m.group()
        # "The Alhambra" names the Alhambra, "In Japan" Japan, "Queen Elizabeth II" a person
        # whom a knowledge base names without the title.
        lead = NAME_LEAD.match(name)
        if lead and lead.end() < len(name):
            start, name = start + lead.end(), name[lead.end():]
        key = key_of(name)
        if key and not all(w in STOP or w in MONTHS for w in key) and key not in _LONE_NOT_NAMES:
            out.append((start, m.end()))
    return out


def _new_entities(text: str, gaz: Gazetteer) -> list[Found]:
    """Capitalised names as new entities, term ``?`` + text."""
    return [Found(a, b, text[a:b], [("?" + gaz.new_name(text[a:b]), 0.5)], "nil") for a, b in capitalised_names(text)]


def literal_mentions(text: str) -> list[Found]:
    """Dates (as ``"YYYY-MM-DD"``^^xsd:date) and numbers (xsd:decimal/integer) in ``text``."""
    out: list[Found] = []
    for rx in _DATES:
        for m in rx.finditer(text):
            g = m.groups()
            if rx is _DATES[2]:
                y, mo_n, d_n = g[0], int(g[2]), int(g[3])
            elif rx is _DATES[3]:
                first, second = int(g[0]), int(g[2])
                mo_n, d_n = (second, first) if first > 12 or g[1] == "." else (first, second)
                y = g[3]
            elif rx is _DATES[0]:
                y, mo_n, d_n = g[2], month_number(g[0]), int(g[1])
            else:
                y, mo_n, d_n = g[2], month_number(g[1]), int(g[0])
            if not (1 <= mo_n <= 12 and 1 <= d_n <= 31):
                continue
            mo, d = f"{mo_n:02d}", f"{d_n:02d}"
            if not any(m.start() < f.end and f.start < m.end() for f in out):
                lit = f'"{y}-{mo}-{d}"^^<http://www.w3.org/2001/XMLSchema#date>'
                out.append(Found(m.start(), m.end(), m.group(), [(lit, 1.0)], "literal"))
    for m in _NUM.finditer(text):
        if not any(m.start() < f.end and f.start < m.end() for f in out):
            num = m.group().replace(",", "")
            dt = "integer" if re.fullmatch(r"[-+]?\d+", num) else "decimal"
            if dt == "integer" and _UNIT.match(text, m.end()):  # a measured quantity: 28 metres → 28.0
                num, dt = num + ".0", "decimal"
            elif dt == "decimal":
                num = canonical_decimal(num)
            lit = f'"{num}"^^<http://www.w3.org/2001/XMLSchema#{dt}>'
            out.append(Found(m.start(), m.end(), m.group(), [(lit, 1.0)], "literal"))
    return out


def canonical_decimal(num: str) -> str:
    """The canonical xsd:decimal form of a decimal numeral with a point: no trailing zeros
    after the first fractional digit (``4387.00`` → ``4387.0``, ``3.50`` → ``3.5``), as a store
    writes it (WebNLG's references never keep more)."""
    whole, frac = num.split(".", 1)
    return f"{whole}.{frac.rstrip('0') or '0'}"


def literal_of(surface: str) -> tuple[str, float] | None:
    """The literal (n3 text, 1.0) a whole span reads as: a date, or a number with at most a
    unit after it (``28 metres`` → ``"28.0"^^xsd:decimal``); None for anything else."""
    surface = surface.strip()
    for f in literal_mentions(surface):
        rest = surface[f.end:]
        if f.start == 0 and (not rest.strip() or (f.kind == "literal" and _UNIT.fullmatch(rest))):
            return f.candidates[0]
    return None


def leading_literal(text: str, a: int, b: int) -> tuple[str, float] | None:
    """The literal (n3 text, 1.0) that chars ``[a, b)`` of ``text`` start with, read with the
    unit that follows the number in the text, when no capitalised word follows it inside the
    span: a tagger's span is often cut before the unit (``45000`` of "45000 millimetres") or
    runs past it into a noun (``476 beds``, ``30843.8 square``); ``1955 Dodge`` is a name."""
    found = sorted(literal_mentions(text[a:b + 40]), key=lambda f: f.start)
    if found and found[0].start == 0 and not any(c.isupper() for c in text[a + found[0].end:b]):
        return found[0].candidates[0]
    return None


def align(text: str, name: str, toks: Sequence[Token] | None = None) -> tuple[int, int] | None:
    """The char span of ``text`` that best matches reference ``name``: an exact word match
    of one of its :func:`name_variants`, else the word n-gram with the best word-overlap F1
    (words equal on their first 4 letters count; F1 ≥ 0.5, one non-stop word shared)."""
    date = re.fullmatch(r'"?(\d{4}-\d{2}-\d{2})"?', name.strip())
    if date:  # a date as the text writes it, whatever the form ("Dec. 18, 2009", "18.12.2009")
        for f in literal_mentions(text):
            if f.candidates[0][0].startswith(f'"{date.group(1)}"'):
                return f.start, f.end
    toks = toks if toks is not None else tokens(text)
    words = [t.word for t in toks]
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


__all__ = ["MAX_WORDS", "MONTHS", "NAME_LEAD", "PRONOUNS", "STOP", "Found", "Gazetteer", "Span", "align", "capitalised_names", "leading_literal",
           "find_spans", "fold",
           "key_of", "literal_mentions", "literal_of", "name_variants", "new_entity_name", "tokens"]
