"""OWL/XML reading: an OWL/XML file as N-Triples, through owlready2's parser (the ``[dl]`` extra).

Only owlready2's OWL/XML-to-triples parser runs (an expat SAX parser; no DTDs or
external entities are fetched): no owlready2 ontology is loaded, so ``<Import>``
(``owl:imports``) becomes a triple like any other and is never followed, neither over
HTTP nor to a local file.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from nesy.errors import LoadError
from nesy.extras import missing_extra
from nesy.store.gz import GZIP_ERRORS, open_data

_POSITION = re.compile(r"line (\d+), column (\d+)")


def owlxml_to_ntriples(path: Path) -> bytes:
    """An OWL/XML file as N-Triples, through owlready2's parser.

    Raises:
        MissingExtraError: owlready2 is not installed (``pip install 'nesy[dl]'``).
        LoadError: the file is not valid OWL/XML (with line and column when known).
    """
    try:
        from owlready2 import owlxml_2_ntriples
    except ImportError as exc:  # pragma: no cover - the [dl] extra
        raise (missing_extra(exc) or LoadError(f"reading OWL/XML needs owlready2: {exc}", file=str(path))) from None
    triples: list[ox.Triple] = []
    blanks: dict[str, ox.BlankNode] = {}

    def node(text: str) -> Any:
        if text.startswith("_"):
            return blanks.setdefault(text, ox.BlankNode())
        return ox.NamedNode(text)

    def on_obj(s: str, p: str, o: str) -> None:
        triples.append(ox.Triple(node(s), ox.NamedNode(p), node(o)))

    def on_data(s: str, p: str, o: Any, d: Any) -> None:
        # owlready2 hands some values over as Python numbers or booleans.
        o = ("true" if o else "false") if isinstance(o, bool) else str(o)
        d = d if isinstance(d, str) else None
        if d and d.startswith("@"):
            lit = ox.Literal(o, language=d[1:])
        elif d:
            lit = ox.Literal(o, datatype=ox.NamedNode(d))
        else:
            lit = ox.Literal(o)
        triples.append(ox.Triple(node(s), ox.NamedNode(p), lit))

    try:
        # Unpacked before parsing, so a damaged .gz is told apart from bad OWL/XML.
        with open_data(path) as fh:
            data = fh.read()
    except GZIP_ERRORS as exc:
        raise LoadError(f"truncated or corrupt gzip file ({exc}); nothing was loaded", file=str(path)) from None
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror or exc}", file=str(path)) from None
    try:
        owlxml_2_ntriples.parse(io.BytesIO(data), on_prepare_obj=on_obj, on_prepare_data=on_data)
    except Exception as exc:  # owlready2 raises plain exceptions of several kinds on bad OWL/XML
        return _fail(path, exc)
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


def _fail(path: Path, exc: Exception) -> bytes:
    """Raise the LoadError for a parser failure, with owlready2's line and column."""
    m = _POSITION.search(str(exc))
    cause = exc.__cause__
    detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
    raise LoadError(f"invalid OWL/XML: {detail}", file=str(path),
                    line=int(m.group(1)) if m else None, column=int(m.group(2)) + 1 if m else None)


__all__ = ["owlxml_to_ntriples"]
