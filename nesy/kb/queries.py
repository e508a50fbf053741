"""QueryMethods: the KnowledgeBase's questions to the reasoner and the store (ask, why, SPARQL, proofs, names)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rdflib import BNode, Literal, URIRef
from rdflib.term import Identifier

from nesy.errors import QueryError
from nesy.kb import reasoning
from nesy.namespaces import DEFAULT_PREFIXES, TERM_PROBE

if TYPE_CHECKING:
    from nesy.engine.display import Answers
    from nesy.engine.proofs import Proof
    from nesy.kbview import KBView
    from nesy.rules.ast import Atom, Query
    from nesy.store.sparql import SparqlResult

    _Base = KBView
else:
    _Base = object


class QueryMethods(_Base):
    """Queries of :class:`nesy.kb.KnowledgeBase` (a mixin: the facade supplies the state)."""

    def ask(self, query: str | Query, *, limit: int | None = None, **limits: Any) -> Answers:
        """Answers of a rule query (``?- body.``, or just the body), best first, with proofs.

        Example: ``kb.ask("?- fam:grandparent(fam:ann, X).")``; each answer has
        ``bindings`` (variable name -> term), ``score`` and ``proof``. ``limits``
        (``timeout=``, ``max_facts=``, ``max_iterations=``, ``max_memory=``) override
        ``kb.limits`` for this call (:class:`~nesy.errors.LimitExceeded`,
        :class:`~nesy.errors.QueryTimeout` when one stops it; the KB stays as it was).
        """
        from nesy.engine.display import Answers
        from nesy.rules.parser import parse_query

        q = query if not isinstance(query, str) else parse_query(query, prefixes=self.prefixes,
                                                                 default_ns=self.default_namespace)
        from nesy.rules.printer import format_query

        with reasoning.limited(self, f"rule query {format_query(q, self.prefixes)}", limits) as r:
            found = r.ask(q, limit=limit)
        return Answers(found, self.prefixes, self.shorten, default_ns=self.default_namespace)

    def _atom(self, atom: str | Atom) -> Atom:
        from nesy.rules.parser import parse_atom

        return atom if not isinstance(atom, str) else parse_atom(atom, prefixes=self.prefixes,
                                                                default_ns=self.default_namespace)

    def why(self, atom: str | Atom, **limits: Any) -> Proof:
        """The best proof of a ground atom that holds (QueryError when it does not);
        ``limits`` as for :meth:`ask`."""
        from nesy.rules.ast import Var

        a = self._atom(atom)
        a = a.triple_form() if a.arity == 1 else a
        if any(isinstance(t, Var) for t in a.args):
            raise QueryError("`why` needs a ground atom; use ask() for a query with variables")
        ooc = getattr(self, "_outofcore", None)
        if ooc is not None and not self.config.get("inferred_stale", True):
            # The model an out-of-core engine computed: the proof fetches what it needs from there.
            return ooc.why(self.vocab.id(a.predicate), tuple(self.vocab.id(t) for t in a.args))
        with reasoning.limited(self, f"why {atom}", limits) as r:
            return r.proof(self.vocab.id(a.predicate), tuple(self.vocab.id(t) for t in a.args))

    def why_not(self, atom: str | Atom, **limits: Any) -> Any:
        """For an atom that does not hold: per rule that could derive it, the first body
        literal with no match; ``limits`` as for :meth:`ask`."""
        with reasoning.limited(self, f"why-not {atom}", limits) as r:
            return r.why_not(self._atom(atom))

    def prove_triple(self, triple: tuple[Identifier, Identifier, Identifier]) -> Proof:
        """The best proof of a triple that holds (stored, or derived by the rules)."""
        s, p, o = triple
        return self.reasoner.proof(self.vocab.id(p), (self.vocab.id(s), self.vocab.id(o)))

    def sparql(self, query: str, *, base: str | None = None, predicted: bool = False, graph: str | None = None,
               allow_service: bool = False, timeout: float | None = None,
               max_rows: int | None = None) -> SparqlResult:
        """Run a SPARQL 1.1 query; SELECT rows carry a ``score`` and their ``proofs``.

        The default graph is the union of ``asserted``, ``extracted`` and ``inferred``
        (``predicted`` too with ``predicted=True``); the KB's prefixes need no declaration.
        When rules changed since the last :meth:`materialize`, it runs first. Result terms
        are exactly as stored or computed (``"01"^^xsd:integer`` stays ``"01"``); see
        :mod:`nesy.store.results` for the W3C result formats and ``docs/sparql.md``.

        Args:
            query: SELECT, ASK, CONSTRUCT or DESCRIBE.
            base: Base IRI for the query's relative IRIs (default: none; a relative IRI is
                then a QueryError unless the query declares ``BASE``).
            predicted: Include link-predictor triples.
            graph: Query one provenance graph only.
            allow_service: Permit ``SERVICE`` clauses (off by default: no network at run time).
            timeout: Seconds the query may take; default: ``kb.limits.timeout`` (``kb.json``).
            max_rows: Result rows kept at most; default
                :data:`~nesy.store.sparql_run.DEFAULT_MAX_ROWS`.
        """
        from nesy.store.sparql import DEFAULT_MAX_ROWS, Sparql

        budget = self.limits.timeout if timeout is None else timeout
        started = time.monotonic()
        if self.rule_programs() and self.config.get("inferred_stale", True) and not self.store.read_only:
            # One deadline for the whole question: refreshing the inferred graph spends it too.
            self.materialize(**({"timeout": budget} if budget else {}))
        left = max(budget - (time.monotonic() - started), 0.001) if budget else budget
        # The prefixes every rule and printout knows (rdf, rdfs, owl, xsd, nesy), then the KB's own.
        prefixes = {**DEFAULT_PREFIXES, **self.prefixes}
        return Sparql(self.store, prefixes, self._triple_prover()).run(
            query, base=base, predicted=predicted, graph=graph, allow_service=allow_service, timeout=left,
            max_rows=DEFAULT_MAX_ROWS if max_rows is None else max_rows)

    def _triple_prover(self) -> Callable[[tuple[Identifier, Identifier, Identifier]], Proof]:
        """:meth:`prove_triple` for the rows of one SPARQL result: the triples located in
        bulk and proved by one builder (a :class:`~nesy.engine.prover.Prover`, made when
        the first proof is asked), so the sub-proofs rows share are built once."""
        state: dict[str, Any] = {}

        def ids(triple: tuple[Identifier, Identifier, Identifier]) -> tuple[int, tuple[int, int]]:
            s, p, o = triple
            return self.vocab.id(p), (self.vocab.id(s), self.vocab.id(o))

        def prover() -> Any:
            if "prover" not in state:
                state["prover"] = self.reasoner.prover()
            return state["prover"]

        def prove_triple(triple: tuple[Identifier, Identifier, Identifier]) -> Proof:
            return prover()(*ids(triple))

        def prefetch(triples: list[tuple[Identifier, Identifier, Identifier]]) -> None:
            prover().prefetch([ids(t) for t in triples])

        def write(triple: tuple[Identifier, Identifier, Identifier], ser: Any) -> dict[str, Any]:
            return prover().write(*ids(triple), ser)

        prove_triple.prefetch = prefetch  # type: ignore[attr-defined]
        prove_triple.write = write  # type: ignore[attr-defined]
        return prove_triple

    def check_proof(self, proof: Proof, *, extra_rules: Any = ()) -> Any:
        """Re-validate a proof step by step against the rules and the stored facts, without
        the reasoner's derivation records (see :func:`nesy.engine.proofs.check_proof`).
        ``extra_rules``: rules outside the KB the proof may use (a QA answer's chain rule)."""
        return reasoning.check_proof(self, proof, extra_rules)

    def violations(self) -> list[Any]:
        """Matches of the constraints (``false :- body``), each with its proof."""
        return self.reasoner.violations()

    def resolve_term(self, text: Identifier | str) -> Identifier:
        """A term written as in rules (``fam:ann``, ``<http://...>``, ``"lit"``) as rdflib."""
        if not isinstance(text, str) or isinstance(text, URIRef | Literal | BNode):
            return text
        return self._atom(f"<{TERM_PROBE}>({text})").args[0]

    def shorten(self, term: Identifier) -> str:
        """A term as users write it: a prefixed name where a known prefix fits."""
        from nesy.rules.printer import format_term

        return format_term(term, self.prefixes, self.default_namespace)


__all__ = ["QueryMethods"]
