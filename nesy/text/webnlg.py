"""Labelled text-to-triple examples: read WebNLG XML and JSONL, map names to RDF terms.

An :class:`Example` is a text and the triples it states, as the strings the file gives
(WebNLG: ``Abilene_Regional_Airport | cityServed | Abilene,_Texas``). Two input formats:

* WebNLG XML (``.xml``): every ``<entry>``'s ``<modifiedtripleset>`` (``<mtriple>``
  ``subject | predicate | object``) with each of its ``<lex>`` texts, one example per text;
* JSONL (``.jsonl``/``.json``): one object a line, ``{"text": "...", "triples": [[s, p, o], ...]}``.

:func:`name_to_term` / :func:`term_to_name` map these names to RDF terms and back, and
:func:`normalise_triple` is the comparison key of the benchmark (WebNLG 2020 style).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from rdflib import Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Identifier

from nesy.errors import TextError

Triple = tuple[str, str, str]


@dataclass(frozen=True)
class Example:
    """One labelled text.

    Attributes:
        text: The text.
        triples: The triples it states, as names (``Abilene,_Texas``) or full IRIs.
        source: ``file:line`` (JSONL) or ``file#eid/lid`` (WebNLG) it came from.
    """

    text: str
    triples: tuple[Triple, ...]
    source: str = ""


def read_examples(paths: str | Path | Iterable[str | Path]) -> list[Example]:
    """Examples from WebNLG XML files, JSONL files, or directories of them (recursively).

    Raises:
        TextError: A missing file, malformed XML or JSON, or a record without text and
            triples; the message names the file and line.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    out: list[Example] = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".xml", ".jsonl", ".json"))
        elif path.is_file():
            files = [path]
        else:
            raise TextError("no such examples file or directory", file=str(path))
        for f in files:
            out.extend(read_webnlg(f) if f.suffix.lower() == ".xml" else read_jsonl(f))
    return out


def _split_triple(raw: str, where: str, line: int | None) -> Triple:
    parts = [p.strip() for p in raw.split(" | ")]
    if len(parts) != 3 or not all(parts):
        raise TextError(f"a triple must be 'subject | predicate | object', got {raw.strip()!r}",
                        file=where, line=line)
    return parts[0], parts[1], parts[2]


def read_webnlg(path: str | Path) -> list[Example]:
    """The examples of one WebNLG XML file: one per ``<lex>`` of every ``<entry>``."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, col = exc.position
        raise TextError(f"malformed WebNLG XML: {exc.msg if hasattr(exc, 'msg') else exc}",
                        file=str(path), line=line, column=col + 1) from None
    except OSError as exc:
        raise TextError(f"cannot read examples: {exc.strerror or exc}", file=str(path)) from None
    out = []
    for entry in root.iter("entry"):
        eid = entry.get("eid", "?")
        triples = tuple(_split_triple(m.text or "", str(path), None) for m in entry.iter("mtriple"))
        if not triples:
            raise TextError(f"entry {eid} has no <mtriple>", file=str(path))
        for lex in entry.iter("lex"):
            text = " ".join((lex.text or "").split())
            if text and lex.get("lang", "en") == "en":
                out.append(Example(text, triples, f"{path}#{eid}/{lex.get('lid', '?')}"))
    return out


def read_jsonl(path: str | Path) -> list[Example]:
    """The examples of a JSONL file: ``{"text": str, "triples": [[s, p, o], ...]}`` a line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TextError(f"cannot read examples: {exc}", file=str(path)) from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TextError(f"not a JSON object: {exc.msg}", file=str(path), line=n, column=exc.colno,
                            excerpt=line) from None
        ok = (isinstance(rec, dict) and isinstance(rec.get("text"), str) and rec["text"].strip()
              and isinstance(rec.get("triples"), list)
              and all(isinstance(t, list | tuple) and len(t) == 3 and all(isinstance(x, str) and x for x in t)
                      for t in rec["triples"]))
        if not ok:
            raise TextError('expected {"text": "...", "triples": [["subject", "predicate", "object"], ...]}',
                            file=str(path), line=n, excerpt=line)
        out.append(Example(rec["text"], tuple(tuple(t) for t in rec["triples"]), f"{path}:{n}"))
    return out


# -- names <-> RDF terms ---------------------------------------------------------------
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SAFE = "!$&'()*+,;=:@-._~%"


def name_to_term(name: str, namespace: str, *, predicate: bool = False) -> Identifier:
    """An RDF term for a name: a full IRI stays one; ``"quoted"``, numbers and ISO dates
    become literals (objects only); anything else is an IRI in ``namespace``."""
    name = name.strip()
    if re.match(r"^[a-z][a-z0-9+.-]*://", name) or name.startswith("urn:"):
        return URIRef(name)
    if name.startswith("<") and name.endswith(">"):
        return URIRef(name[1:-1])
    if not predicate:
        if len(name) >= 2 and name[0] == name[-1] == '"':
            return Literal(name[1:-1])
        if _NUMBER.match(name):
            return Literal(name, datatype=XSD.integer if name.lstrip("+-").isdigit() else XSD.decimal)
        if _DATE.match(name):
            return Literal(name, datatype=XSD.date)
    return URIRef(namespace + quote(name.replace(" ", "_"), safe=_SAFE))


def term_to_name(term: Identifier, namespace: str | None = None) -> str:
    """The name :func:`name_to_term` made ``term`` from (a literal: its lexical form, quoted
    when it would not read back as a literal); IRIs outside ``namespace`` stay whole."""
    if isinstance(term, Literal):
        text = str(term)
        back = name_to_term(text, "")
        return text if isinstance(back, Literal) and back.datatype == term.datatype else f'"{text}"'
    s = str(term)
    if namespace and s.startswith(namespace):
        return unquote(s[len(namespace):])
    return s


def n3_name(n3: str, namespace: str | None = None) -> str:
    """The name of a term given as n3 text (as extraction keeps them), or of a predicate IRI:
    a new entity ``?text`` is its text, anything else :func:`term_to_name` of the term."""
    from rdflib.util import from_n3

    if n3.startswith("?"):
        return n3[1:]
    if not n3.startswith(("<", '"')):
        return term_to_name(URIRef(n3), namespace)
    return term_to_name(from_n3(n3), namespace)


_CAMEL = re.compile(r"([a-z])([A-Z])")
_PAREN = re.compile(r"^(.*?)\s\((.*?)\)$")


def normalise_name(name: str, *, object_: bool = False) -> str:
    """The WebNLG 2020 evaluation's form of one element: camelCase split into words,
    underscores to spaces, double quotes removed, lower case, spaces collapsed; an
    object's trailing ``(parenthetical)`` is dropped."""
    text = _CAMEL.sub(r"\1 \2", name).replace("_", " ").replace('"', "")
    text = " ".join(text.lower().split())
    if object_:
        m = _PAREN.match(text)
        if m:
            text = m.group(1)
    return text


def normalise_triple(triple: Triple) -> Triple:
    """The comparison key of a triple: :func:`normalise_name` of each element."""
    s, p, o = triple
    return normalise_name(s), normalise_name(p), normalise_name(o, object_=True)
