"""SPARQL over the store, with a confidence for every result row and its explanation.

Queries run on Oxigraph (natively, or through a remote endpoint) over the union of the
provenance graphs — ``asserted``, ``extracted`` and ``inferred``, plus ``predicted``
when asked — so predicates that rules define are queried like stored ones. A row's
confidence is the product of the scores of the stored triples it matched: each triple
pattern of the query, instantiated with the row's bindings, that is in the store.

Result terms are Oxigraph's, with their lexical forms (:func:`~nesy.store.terms.exact_from_ox`);
the query form is the one Oxigraph's parser found (the kind of result it returns). The
W3C result formats are in :mod:`nesy.store.results`; ``docs/sparql.md`` is the user's guide.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyoxigraph as ox
from rdflib import BNode, Literal, Variable
from rdflib.term import Identifier

from nesy.store import dataset
from nesy.store.sparql_run import DEFAULT_MAX_ROWS, QueryText, evaluate
from nesy.store.sparql_text import (
    UPDATE_WORDS,
    check_base,
    check_no_service,
    check_query_shape,
    form_of,
    is_sparql,
    refuse_update,
)
from nesy.store.store import Store
from nesy.store.terms import exact_from_ox, vocab_key

TriplePattern = tuple[Any, Any, Any]


@dataclass
class SparqlRow:
    """One solution of a SELECT query.

    Attributes:
        bindings: Variable name -> rdflib term, with the lexical form Oxigraph gave
            (unbound variables are absent).
        score: Product of the scores of the stored triples the row matched (1.0 if none).
        matched: Those triples, each ``(s, p, o, graph)``.
    """

    bindings: dict[str, Identifier]
    score: float
    matched: list[tuple[Identifier, Identifier, Identifier, str]] = field(default_factory=list)
    explain: Callable[..., list[Any]] | None = field(default=None, repr=False, compare=False)

    @property
    def proofs(self) -> list[Any]:
        """Proofs of the derived (``inferred``) triples this row depends on."""
        return self.explain() if self.explain is not None else []

    def proof_dicts(self, ser: Any) -> list[dict[str, Any]]:
        """:attr:`proofs` as dicts, written by ``ser`` (a
        :class:`~nesy.engine.proofjson.ProofSerializer` the rows of a result share) from
        the reasoner's records where it can, without building the proofs."""
        return self.explain(ser) if self.explain is not None else []

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
def triple_patterns(query: str, prefixes: tuple[tuple[str, str], ...],
                    base: str | None = None) -> tuple[TriplePattern, ...]:
    """Every triple pattern of a query's basic graph patterns, as rdflib terms/Variables."""
    from pyparsing import ParserElement
    from rdflib.plugins.sparql import prepareQuery

    try:
        q = prepareQuery(query, initNs=dict(prefixes), base=base)
    except Exception:  # rdflib's parser differs from Oxigraph's on corner cases: no scores then
        return ()
    finally:
        # With packrat parsing on (matplotlib turns it on for the whole process), pyparsing
        # keeps the parse's exceptions, whose frames reach up to the caller's open store:
        # its writer lock would then outlive kb.close().
        ParserElement.reset_cache()
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


def value_key(term: Identifier) -> tuple[str, Any] | None:
    """``(datatype, value)`` of a typed literal rdflib can read (None otherwise)."""
    if not isinstance(term, Literal) or term.datatype is None or term.language:
        return None
    value = term.value
    try:
        hash(value)
    except TypeError:
        return None
    return None if value is None else (str(term.datatype), value)


#: Per vocabulary: its size and last term when indexed (a rolled-back write can shrink and
#: regrow it), and ``(datatype, value) -> id`` of its typed literals.
_VALUE_INDEX: weakref.WeakKeyDictionary[Any, tuple[tuple[int, Any], dict[tuple[str, Any], int]]] = \
    weakref.WeakKeyDictionary()


def value_index(vocab: Any) -> dict[tuple[str, Any], int]:
    """The vocabulary's typed literals by value, built when first needed and again when the
    vocabulary has grown (one pass over its literals)."""
    n = len(vocab)
    stamp = (n, vocab.term(n - 1) if n else None)
    cached = _VALUE_INDEX.get(vocab)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    index: dict[tuple[str, Any], int] = {}
    for i in np.nonzero(vocab.is_literal(np.arange(n)))[0].tolist():
        key = value_key(vocab.term(i))
        if key is not None:
            index.setdefault(key, i)
    _VALUE_INDEX[vocab] = (stamp, index)
    return index


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

    def run(self, query: str, *, base: str | None = None, predicted: bool = False, graph: str | None = None,
            allow_service: bool = False, timeout: float | None = None,
            max_rows: int | None = DEFAULT_MAX_ROWS) -> SparqlResult:
        """Run ``query``.

        Args:
            query: A SPARQL 1.1 SELECT, ASK, CONSTRUCT or DESCRIBE query.
            base: Base IRI that relative IRIs of the query resolve against (None: none, and
                a relative IRI is an error unless the query declares ``BASE``).
            predicted: Include the ``predicted`` graph in the default graph.
            graph: Query one provenance graph only.
            allow_service: Permit ``SERVICE`` (federated queries reach the network).
            timeout: Seconds the evaluation may take (None: no limit); see :mod:`nesy.store.sparql_run`.
            max_rows: Result rows (or triples) kept at most (None: no bound).

        Raises:
            QueryError: not a query (an Update, or not SPARQL), SERVICE when not allowed,
                a syntax error (line and column), a relative IRI without a base, an
                unknown function, a query too long or nested too deeply
                (:func:`~nesy.store.sparql_text.check_query_shape`), or a failure while evaluating.
            QueryTimeout: ``timeout`` passed.
            LimitExceeded: more than ``max_rows`` results.
        """
        check_query_shape(query)  # before any parser: deep nesting overflows Oxigraph's stack
        word = form_of(query)
        if word in UPDATE_WORDS:
            raise refuse_update(word)
        if not allow_service:
            check_no_service(query)
        if base is not None:
            check_base(base)
        codes = dataset.scored_codes(self.store, predicted=predicted, graph=graph)
        # The query's own FROM / FROM NAMED, else nesy's default graph and the users' named graphs;
        # a BASE line carries ``base`` to relative FROM IRIs.
        graphs, named = dataset.query_dataset(self.store, query if base is None else f"BASE <{base}>\n{query}",
                                              self.prefixes, predicted=predicted, graph=graph)
        native = self.store.backend.native
        if native is not None:
            def start() -> Any:
                return native.query(query, base_iri=base, prefixes=self.prefixes, default_graph=graphs,
                                    named_graphs=named)
        else:
            def start() -> Any:
                return self._remote(query, word, base, graphs, timeout)
        kind, raw = evaluate(start, timeout=timeout, max_rows=max_rows,
                             where=QueryText(query, base, dict(self.prefixes)))
        if kind == "ASK":
            return SparqlResult("ASK", boolean=bool(raw))
        if kind == "GRAPH":
            triples = [tuple(exact_from_ox(t) for t in tr) for tr in raw]
            scores, found = self._best(triples, codes)  # type: ignore[arg-type]
            triples = [self._as_written(t) if g >= 0 else t for t, g in zip(triples, found)]
            return SparqlResult("DESCRIBE" if word == "DESCRIBE" else "CONSTRUCT",
                                triples=[(s, p, o, float(sc) if g >= 0 else 1.0)
                                         for (s, p, o), sc, g in zip(triples, scores, found)])
        variables, solutions = raw
        rows = [{v: exact_from_ox(t) for v, t in zip(variables, sol) if t is not None} for sol in solutions]
        patterns = triple_patterns(query, tuple(sorted(self.prefixes.items())), base)
        return SparqlResult("SELECT", variables=variables, rows=self._score_rows(rows, patterns, codes))

    def _remote(self, query: str, word: str, base: str | None, graphs: list[ox.NamedNode],
                timeout: float | None) -> Any:
        """Run on a remote endpoint, with the union of ``graphs`` as default graph (protocol
        parameter ``default-graph-uri``), parsing results with Oxigraph."""
        import urllib.parse
        import urllib.request

        prologue = "".join(f"PREFIX {k}: <{v}>\n" for k, v in self.prefixes.items() if f"{k}:" in query)
        if base is not None:
            prologue = f"BASE <{base}>\n" + prologue
        params = [("query", prologue + query)] + [("default-graph-uri", g.value) for g in graphs]
        accept = "application/sparql-results+json" if word in ("SELECT", "ASK") else "application/n-triples"
        req = urllib.request.Request(self.store.endpoint, data=urllib.parse.urlencode(params).encode(),
                                     headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=timeout or 300) as resp:
            data = resp.read()
        if word in ("SELECT", "ASK"):
            return ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
        return (ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES))

    def _ids(self, triples: list[tuple[Identifier, Identifier, Identifier]]) -> tuple[np.ndarray, ...]:
        vocab = self.store.vocab
        vocab_get = vocab.get

        def get(term: Identifier) -> int | None:
            found = vocab_get(term)
            if found is not None or not isinstance(term, Literal):
                return found
            # Results hold Oxigraph's lexical forms ("2.5"); the vocabulary holds rdflib's
            # reading of the file ("2.50"): find the stored literal by its value.
            found = vocab_get(vocab_key(term))
            key = value_key(term)
            return found if found is not None or key is None else value_index(vocab).get(key)

        cols = [[-1 if (i := get(t[k])) is None else i for t in triples] for k in range(3)]
        return tuple(np.asarray(c, dtype=np.int64) for c in cols)

    def _best(self, triples: list[tuple[Identifier, Identifier, Identifier]], codes: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Best stored score and graph code (-1: not stored) of each triple, in one lookup."""
        return self.store.table.best(*self._ids(triples), codes)

    def _score_rows(self, solutions: list[dict[str, Identifier]], patterns: tuple[TriplePattern, ...],
                    codes: list[int]) -> list[SparqlRow]:
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
        scores, graphs = self._best(flat, codes)
        rows, at = [], 0
        prove = self.prove
        # The derived triples of every row, looked up together when the first row's proofs
        # are asked (a prover that can: ``prove.prefetch``), then proved one by one.
        pending: list[tuple[Identifier, Identifier, Identifier]] = []

        def explain(derived: list[tuple[Identifier, Identifier, Identifier]], ser: Any = None) -> list[Any]:
            if pending and hasattr(prove, "prefetch"):
                prove.prefetch(pending)  # type: ignore[union-attr]
                pending.clear()
            if ser is None:
                return [prove(t) for t in derived]  # type: ignore[misc]
            write = getattr(prove, "write", None)
            return [write(t, ser) for t in derived] if write is not None else ser.many([prove(t) for t in derived])  # type: ignore[misc]

        for bindings, grounds in zip(solutions, per_row):
            sc, gr = scores[at:at + len(grounds)], graphs[at:at + len(grounds)]
            at += len(grounds)
            hit = gr >= 0
            matched = [(*g, dataset.code_name(self.store, c)) for g, c, h in zip(grounds, gr, hit) if h]
            if matched:
                self._restore_forms(bindings, patterns, {m[:3] for m in matched})
            derived = [m[:3] for m in matched if m[3] == "inferred"]
            pending.extend(derived)
            why = (lambda ser=None, d=derived: explain(d, ser)) if prove is not None else None
            rows.append(SparqlRow(bindings, float(np.prod(sc[hit])) if hit.any() else 1.0, matched, why))
        return rows

    def _written_form(self, triple: tuple[Identifier, ...]) -> str | None:
        """The lexical form the file that holds this stored triple gave its literal object,
        when Oxigraph keeps another; the row must still come from that file (a triple
        removed, then written again by an update, has Oxigraph's form)."""
        found = self.store.lexical_form(*triple)
        if found is None:
            return None
        form, src = found
        s, p, o = (int(c[0]) for c in self._ids([triple]))  # type: ignore[list-item]
        if min(s, p, o) < 0:
            return None
        table = self.store.table
        return form if (table.src[table.rows_of(s, p, o)] == src).any() else None

    def _as_written(self, triple: tuple[Identifier, ...]) -> tuple[Identifier, ...]:
        """A stored triple with its literal object in the form its file wrote."""
        s, p, o = triple
        if isinstance(o, Literal) and o.datatype is not None:
            form = self._written_form(triple)
            if form is not None:
                return s, p, Literal(form, datatype=o.datatype, normalize=False)
        return triple

    def _restore_forms(self, bindings: dict[str, Identifier], patterns: tuple[TriplePattern, ...],
                       matched: set[tuple[Identifier, ...]]) -> None:
        """Give a variable bound to the literal object of a stored triple the lexical form
        its file wrote (``"01"``, which Oxigraph keeps as ``"1"``), in place."""
        for pat in patterns:
            var = pat[2]
            if not isinstance(var, Variable):
                continue
            value = bindings.get(str(var))
            if not isinstance(value, Literal) or value.datatype is None:
                continue
            ground = tuple(bindings.get(str(x)) if isinstance(x, Variable) else x for x in pat)
            if ground in matched:
                form = self._written_form(ground)
                if form is not None:
                    bindings[str(var)] = Literal(form, datatype=value.datatype, normalize=False)


__all__ = ["DEFAULT_MAX_ROWS", "Sparql", "SparqlResult", "SparqlRow", "is_sparql"]
