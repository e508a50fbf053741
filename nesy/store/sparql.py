"""SPARQL over the store, with a confidence for every result row and its explanation.

Queries run on Oxigraph (natively, or through a remote endpoint) over the union of the
provenance graphs — ``asserted``, ``extracted`` and ``inferred``, plus ``predicted``
when asked — so predicates that rules define are queried like stored ones. A row's
confidence is the product of the scores of the stored triples it matched: each triple
pattern of the query, instantiated with the row's bindings, that is in the store.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyoxigraph as ox
from rdflib import BNode, Variable
from rdflib.term import Identifier

from nesy.errors import QueryError
from nesy.store.graphs import GRAPH_CODE, GRAPHS, graph_iri
from nesy.store.store import Store
from nesy.store.terms import from_ox

_KEYWORD = re.compile(r"^\s*(?:(?:PREFIX|BASE)\b[^\n]*\n\s*)*(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.I)
_SERVICE = re.compile(r"\bSERVICE\b", re.I)


def is_sparql(text: str) -> bool:
    """Whether ``text`` reads as a SPARQL query (it starts with a query form or a prologue)."""
    return bool(re.match(r"^\s*(PREFIX|BASE|SELECT|ASK|CONSTRUCT|DESCRIBE)\b", text, re.I))


TriplePattern = tuple[Any, Any, Any]


@dataclass
class SparqlRow:
    """One solution of a SELECT query.

    Attributes:
        bindings: Variable name -> rdflib term (unbound variables are absent).
        score: Product of the scores of the stored triples the row matched (1.0 if none).
        matched: Those triples, each ``(s, p, o, graph)``.
    """

    bindings: dict[str, Identifier]
    score: float
    matched: list[tuple[Identifier, Identifier, Identifier, str]] = field(default_factory=list)
    explain: Callable[[], list[Any]] | None = field(default=None, repr=False, compare=False)

    @property
    def proofs(self) -> list[Any]:
        """Proofs of the derived (``inferred``) triples this row depends on."""
        return self.explain() if self.explain is not None else []

    def __getitem__(self, name: str) -> Identifier:
        return self.bindings[name]


@dataclass
class SparqlResult:
    """The result of a SPARQL query.

    Attributes:
        form: ``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``.
        variables: Projected variable names (SELECT).
        rows: Solutions (SELECT).
        boolean: The answer (ASK).
        triples: Result triples with their best stored score, ``(s, p, o, score)`` (CONSTRUCT/DESCRIBE).
    """

    form: str
    variables: list[str] = field(default_factory=list)
    rows: list[SparqlRow] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple[Identifier, Identifier, Identifier, float]] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows if self.form == "SELECT" else self.triples)

    def __len__(self) -> int:
        return len(self.rows) if self.form == "SELECT" else len(self.triples)


@functools.lru_cache(maxsize=256)
def triple_patterns(query: str, prefixes: tuple[tuple[str, str], ...]) -> tuple[TriplePattern, ...]:
    """Every triple pattern of a query's basic graph patterns, as rdflib terms/Variables."""
    from rdflib.plugins.sparql import prepareQuery

    try:
        q = prepareQuery(query, initNs=dict(prefixes))
    except Exception:  # rdflib's parser differs from Oxigraph's on corner cases: no scores then
        return ()
    found: list[TriplePattern] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if getattr(node, "name", None) == "BGP":
                found.extend(tuple(t) for t in node.get("triples", []))
            for v in node.values():
                walk(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v)

    walk(q.algebra)
    return tuple(found)


class Sparql:
    """Runs SPARQL against a :class:`Store` and scores the results.

    Args:
        store: The store.
        prefixes: Prefixes usable in queries without declaring them.
        prove: ``(s, p, o) -> Proof`` for derived triples (the reasoner's ``why``).
    """

    def __init__(self, store: Store, prefixes: dict[str, str], prove: Callable[[tuple[Any, Any, Any]], Any] | None = None) -> None:
        self.store = store
        self.prefixes = prefixes
        self.prove = prove

    def run(self, query: str, *, predicted: bool = False, graph: str | None = None, allow_service: bool = False) -> SparqlResult:
        """Run ``query``.

        Args:
            query: A SPARQL 1.1 SELECT, ASK, CONSTRUCT or DESCRIBE query.
            predicted: Include the ``predicted`` graph in the default graph.
            graph: Query one provenance graph only.
            allow_service: Permit ``SERVICE`` (federated queries reach the network).
        """
        form = self._form(query)
        if _SERVICE.search(_strip_strings(query)) and not allow_service:
            raise QueryError("SERVICE is disabled: federated queries reach other servers; "
                             "enable them with allow_service=True (--allow-service)")
        names = [graph] if graph else [g for g in GRAPHS if g != "predicted" or predicted]
        raw = self._execute(query, names, allow_service)
        if form == "ASK":
            return SparqlResult(form, boolean=bool(raw))
        if form in ("CONSTRUCT", "DESCRIBE"):
            triples = [tuple(from_ox(t) for t in (tr.subject, tr.predicate, tr.object)) for tr in raw]
            scores, graphs = self._best(triples, names)  # type: ignore[arg-type]
            return SparqlResult(form, triples=[(s, p, o, float(sc) if g >= 0 else 1.0)
                                               for (s, p, o), sc, g in zip(triples, scores, graphs)])
        variables = [v.value for v in raw.variables]
        patterns = triple_patterns(query, tuple(sorted(self.prefixes.items())))
        solutions = []
        for sol in raw:
            bindings = {}
            for v in variables:
                t = sol[v]
                if t is not None:
                    bindings[v] = from_ox(t)
            solutions.append(bindings)
        return SparqlResult(form, variables=variables, rows=self._score_rows(solutions, patterns, names))

    @staticmethod
    def _form(query: str) -> str:
        m = _KEYWORD.match(_strip_comments(query))
        if m is None:
            raise QueryError("not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE (after any PREFIX lines)")
        return m.group(1).upper()

    def _execute(self, query: str, names: list[str], allow_service: bool) -> Any:
        store = self.store
        graphs = [ox.NamedNode(str(graph_iri(n))) for n in names]
        try:
            native = store.backend.native
            if native is not None:
                return native.query(query, prefixes=self.prefixes, default_graph=graphs)
            return self._remote(query, graphs)
        except SyntaxError as exc:
            raise QueryError(f"SPARQL syntax error: {exc}", line=getattr(exc, "lineno", None),
                             column=getattr(exc, "offset", None)) from None
        except OSError as exc:
            raise QueryError(f"SPARQL query failed: {exc}") from None

    def _remote(self, query: str, graphs: list[ox.NamedNode]) -> Any:
        """Run on a remote endpoint, with the union of ``graphs`` as default graph (protocol
        parameter ``default-graph-uri``), parsing results with Oxigraph."""
        import urllib.parse
        import urllib.request

        prologue = "".join(f"PREFIX {k}: <{v}>\n" for k, v in self.prefixes.items() if f"{k}:" in query)
        params = [("query", prologue + query)] + [("default-graph-uri", g.value) for g in graphs]
        form = self._form(query)
        accept = "application/sparql-results+json" if form in ("SELECT", "ASK") else "application/n-triples"
        req = urllib.request.Request(self.store.endpoint, data=urllib.parse.urlencode(params).encode(),
                                     headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=300) as resp:
            data = resp.read()
        if form in ("SELECT", "ASK"):
            return ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
        return (ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES))

    def _ids(self, triples: list[tuple[Identifier, Identifier, Identifier]]) -> tuple[np.ndarray, ...]:
        get = self.store.vocab.get
        cols = [[-1 if (i := get(t[k])) is None else i for t in triples] for k in range(3)]
        return tuple(np.asarray(c, dtype=np.int64) for c in cols)

    def _best(self, triples: list[tuple[Identifier, Identifier, Identifier]], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Best stored score and graph code (-1: not stored) of each triple, in one lookup."""
        return self.store.table.best(*self._ids(triples), [GRAPH_CODE[n] for n in names])

    def _score_rows(self, solutions: list[dict[str, Identifier]], patterns: tuple[TriplePattern, ...],
                    names: list[str]) -> list[SparqlRow]:
        """Score every row: the triple patterns instantiated by the row's bindings, looked
        up in the store all at once."""
        per_row: list[list[tuple[Identifier, Identifier, Identifier]]] = []
        for bindings in solutions:
            grounds: list[tuple[Identifier, Identifier, Identifier]] = []
            for pat in patterns:
                ground = tuple(bindings.get(str(x)) if isinstance(x, Variable) else x for x in pat)
                if any(x is None or isinstance(x, BNode) for x in ground) or ground in grounds:
                    continue
                grounds.append(ground)  # type: ignore[arg-type]
            per_row.append(grounds)
        flat = [g for grounds in per_row for g in grounds]
        scores, graphs = self._best(flat, names)
        rows, at = [], 0
        prove = self.prove
        for bindings, grounds in zip(solutions, per_row):
            sc, gr = scores[at:at + len(grounds)], graphs[at:at + len(grounds)]
            at += len(grounds)
            hit = gr >= 0
            matched = [(*g, GRAPHS[int(c)]) for g, c, h in zip(grounds, gr, hit) if h]
            derived = [m[:3] for m in matched if m[3] == "inferred"]
            explain = (lambda d=derived: [prove(t) for t in d]) if prove is not None else None
            rows.append(SparqlRow(bindings, float(np.prod(sc[hit])) if hit.any() else 1.0, matched, explain))
        return rows


def _strip_comments(query: str) -> str:
    return "\n".join(line for line in query.splitlines() if not line.lstrip().startswith("#"))


def _strip_strings(query: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|<[^>\s]*>', '""', query)


__all__ = ["Sparql", "SparqlResult", "SparqlRow", "is_sparql"]
