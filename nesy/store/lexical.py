"""Lexical forms Oxigraph does not keep: a file's ``"01"^^xsd:integer`` is stored as ``"1"``.

Oxigraph stores numbers, booleans, dates and durations by value, so a literal written in a
non-canonical form comes back from it canonical. nesy keeps, for each loaded triple whose
object literal would change, the form the file used (in the file's source record), and
SPARQL results give that form back for a variable bound by a stored triple.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyoxigraph as ox

#: Datatypes Oxigraph keeps as written (no value form to canonicalise).
_AS_WRITTEN = {
    "http://www.w3.org/2001/XMLSchema#string",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString",
}
#: At most this many forms are kept per file (a file of millions of "1.50" keeps the first).
MAX_FORMS = 100_000
_PROBE = ox.NamedNode("urn:nesy:lexical")


def triple_key(s: Any, p: Any, o: Any) -> str:
    """The key of a triple in the record: its terms in N-Triples (Oxigraph's or rdflib's ``n3()``)."""
    return " ".join(t.n3() if hasattr(t, "n3") else str(t) for t in (s, p, o))


def changed_forms(terms: list[Any], index: np.ndarray) -> dict[str, str]:
    """``{triple key with the canonical literal: the file's lexical form}`` for every triple
    (``index``: int64 ``(n, 3)`` positions in ``terms``) whose object literal Oxigraph
    would store in another form."""
    at = [i for i, t in enumerate(terms)
          if isinstance(t, ox.Literal) and not t.language and t.datatype.value not in _AS_WRITTEN]
    if not at:
        return {}
    probe = ox.Store()  # in memory: Oxigraph's own canonical form, whatever the datatype
    probe.extend([ox.Quad(ox.NamedNode(f"urn:nesy:lexical:{i}"), _PROBE, terms[i]) for i in at])
    canonical: dict[int, ox.Literal] = {}
    for quad in probe:
        i = int(quad.subject.value.rsplit(":", 1)[1])
        if quad.object.value != terms[i].value:
            canonical[i] = quad.object
    if not canonical:
        return {}
    out: dict[str, str] = {}
    rows = np.nonzero(np.isin(index[:, 2], np.fromiter(canonical, dtype=np.int64)))[0]
    for r in rows[:MAX_FORMS]:
        s, p, o = (int(x) for x in index[r])
        out[triple_key(terms[s], terms[p], canonical[o])] = terms[o].value
    return out


__all__ = ["MAX_FORMS", "changed_forms", "triple_key"]
