"""The reasoner: weighted Datalog over integer-encoded facts, with answers, proofs and why-not.

The knowledge base hands it input facts (:meth:`Reasoner.add_edb`, taken back with
:meth:`Reasoner.remove_edb`) and programs
(:meth:`Reasoner.add_program`); :meth:`Reasoner.materialize` computes the model
bottom-up (semi-naive, stratified, vectorised); :meth:`Reasoner.ask` answers a query
goal-directed (magic sets) unless the model is already up to date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rdflib import RDF
from rdflib.term import Identifier

from nesy.engine.answers import Answer, Violation, collect_answers
from nesy.engine.compile import TYPE_ANY, Compiler, CRule, Key
from nesy.engine.evaluator import Evaluator
from nesy.engine.explain import ProofBuilder, WhyNotReport, base_key, why_not
from nesy.engine.inputs import InputStore
from nesy.engine.limits import Limits, Watch
from nesy.engine.magic import goal_directed as _goal_directed
from nesy.engine.proofs import Proof, term_text
from nesy.engine.prover import Prover
from nesy.engine.retract import drop_inputs, plan_removals, retract
from nesy.engine.semirings import get_semiring
from nesy.engine.shared import Shared
from nesy.engine.stratify import TYPE_HEAD, stratify
from nesy.engine.table import group_rows
from nesy.errors import NesyError, QueryError
from nesy.plugins.registry import Registry, default_registry
from nesy.rules.ast import Atom, Program, Query, Rule
from nesy.rules.printer import format_literal, format_query

__all__ = ["Answer", "Reasoner", "Violation", "WhyNotReport"]


_DEFAULT_REGISTRY: Registry | None = None


def _default_registry() -> Registry:
    """One shared default registry: loading plugin entry points costs milliseconds."""
    global _DEFAULT_REGISTRY
    if _DEFAULT_REGISTRY is None:
        _DEFAULT_REGISTRY = default_registry()
    return _DEFAULT_REGISTRY


@dataclass
class _Pending:
    rules: list[CRule] = field(default_factory=list)
    facts: dict[Key, tuple[list, list, list]] = field(default_factory=dict)


class Reasoner:
    """Stratified, semi-naive weighted Datalog with provenance.

    Args:
        vocab: The shared vocabulary; predicates and constants are its ids.
        registry: Built-ins, operators, comparisons, aggregates (default: all plugins).
        semiring: ``maxprod`` (default), ``boolean``, ``noisyor``, ``topk`` / ``topk:K``.
        limits: Time, facts, rounds and memory budgets of each call (see
            :class:`~nesy.engine.limits.Limits`; :meth:`limited` overrides them per call).
        max_facts: Shorthand: stop with :class:`~nesy.errors.LimitExceeded` beyond this
            many derived facts (or join rows).
        max_iterations: ... or after this many rounds within one stratum.
        limits_source: Called at the start of each call for the limits (the KB's, which
            ``kb.json`` and the session may change at any time); wins over ``limits``.
        describe_source: ``source id -> dict`` describing an input fact's origin for proofs.
    """

    def __init__(
        self,
        vocab: object,
        *,
        registry: Registry | None = None,
        semiring: str = "maxprod",
        limits: Limits | None = None,
        max_facts: int | None = None,
        max_iterations: int | None = None,
        limits_source: Callable[[], Limits] | None = None,
        describe_source: Callable[[int], dict] | None = None,
    ) -> None:
        self.vocab = vocab
        self.registry = registry if registry is not None else _default_registry()
        sr = get_semiring(semiring, self.registry)
        self.semiring_name = sr.name
        self.prefixes: dict[str, str] = {"rdf": str(RDF), "xsd": "http://www.w3.org/2001/XMLSchema#"}
        limits = (limits or Limits()).override(max_facts=max_facts, max_iterations=max_iterations)
        self._shared = Shared(vocab, self.registry, sr, limits, self._name)
        self._limits_source = limits_source
        self._inputs = InputStore(self._shared, describe_source)
        self._compiler = Compiler(vocab, self.registry)
        self._rdf_type = vocab.id(RDF.type)
        self._rules: list[CRule] = []
        self._main = Evaluator(self._shared, self._inputs)
        #: How the last :meth:`ask` was evaluated: ``goal_directed``, ``derived_facts``.
        self.last_ask: dict = {}

    # -- settings ------------------------------------------------------------------------
    @property
    def link_predictor(self) -> Callable | None:
        """``fn(pred_id, heads|None, tails|None) -> (rows (m, 2) int64, scores (m,))`` for ``~p(X, Y)``."""
        return self._shared.link_predictor

    @link_predictor.setter
    def link_predictor(self, fn: Callable | None) -> None:
        self._shared.link_predictor = fn
        for rel in [r for k, r in self._main.own.items() if k[0] == "n"]:
            self._main.reset([rel.key], [])

    @property
    def limits(self) -> Limits:
        """The default budgets of each call (replace them whole: ``r.limits = Limits(...)``)."""
        return self._limits_source() if self._limits_source is not None else self._shared.limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        self._shared.limits = limits
        self._limits_source = None

    @contextmanager
    def limited(self, what: str, **overrides: Any) -> Iterator[Watch]:
        """Run the calls inside under these limits: :attr:`limits` with ``overrides``
        (``timeout``, ``max_facts``, ``max_iterations``, ``max_memory``; None: unchanged).

        Inside an outer ``limited`` block this one changes nothing (the outer budget goes
        on). When a limit stops the work, or it is interrupted, a model the evaluation may
        have left half-derived is dropped, so the next question starts clean.
        """
        if self._shared.watch is not None:
            yield self._shared.watch
            return
        watch = Watch(self.limits.override(**overrides), what)
        self._shared.watch = watch
        try:
            yield watch
        finally:
            self._shared.watch = None

    def _drop_model(self) -> None:
        """Forget every derived fact (after an interrupted run): back to the input facts."""
        self._main = Evaluator(self._shared, self._inputs)
        if self._rules:
            self._main.set_rules(self._rules, stratify(self._rules, self._name), [r.id for r in self._rules])

    @property
    def rules(self) -> list[Rule]:
        """The rules added so far (AST), constraints included."""
        return [r.source for r in self._rules if r.source is not None]

    def _name(self, key: Key) -> str:
        if key in (TYPE_ANY, TYPE_HEAD):
            return "rdf:type"
        if key[0] in ("ad", "edb", "mg"):
            return ("magic " if key[0] == "mg" else "") + self._name(key[1])
        name = term_text(self.vocab.term(key[1]), self.prefixes)
        return "~" + name if key[0] == "n" else name

    # -- input -----------------------------------------------------------------------------
    def _key_rows(self, pred: int, rows: np.ndarray) -> list[tuple[Key, np.ndarray, np.ndarray]]:
        """Split facts of ``pred`` by relation key: ``(key, rows, positions)``."""
        if rows.shape[1] == 2 and pred == self._rdf_type:
            return [(("c", c), rows[which, :1], which) for c, which in group_rows(rows[:, 1])]
        key = ("c", pred) if rows.shape[1] == 1 else ("p", pred, rows.shape[1])
        return [(key, rows, np.arange(len(rows)))]

    def add_edb(self, pred: int, rows: np.ndarray, scores: np.ndarray | None = None,
                sources: np.ndarray | None = None, kind: str = "asserted") -> None:
        """Add input facts.

        Args:
            pred: Predicate id (``vocab.id(IRI)``); ``rdf:type`` rows are ``(s, class)``.
            rows: int64 ``(n, arity)`` argument ids.
            scores: float64 ``(n,)`` in (0, 1]; default 1.0.
            sources: int64 ``(n,)`` ids handed to ``describe_source`` for proof leaves.
            kind: Proof kind of these facts: ``asserted``, ``extracted``, ``predicted``, ...
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.ndim != 2:
            raise NesyError(f"add_edb: rows must have shape (n, arity), got {rows.shape}")
        n = len(rows)
        scores = np.ones(n) if scores is None else np.asarray(scores, dtype=np.float64).reshape(-1)
        sources = np.full(n, -1, dtype=np.int64) if sources is None else np.asarray(sources, dtype=np.int64).reshape(-1)
        if len(scores) != n or len(sources) != n:
            raise NesyError("add_edb: rows, scores and sources must have the same length")
        if n and not (np.all(scores > 0) and np.all(scores <= 1)):
            raise NesyError("add_edb: scores must lie in (0, 1]")
        if not self._shared.semiring.tracks_scores:
            scores = np.ones(n)
        for key, krows, which in self._key_rows(pred, rows):
            self._add_inputs(key, krows, scores[which], sources[which], kind)

    def remove_edb(self, pred: int, rows: np.ndarray, sources: np.ndarray | None = None,
                   kind: str | None = None) -> dict:
        """Remove input facts (``pred``, ``rows`` as for :meth:`add_edb`): derived facts that
        lose all support go, the others are re-scored, incrementally (:mod:`nesy.engine.retract`).

        ``sources`` (int64 ``(n,)``) and ``kind`` pick the copy the row was added as (a fact
        stored twice keeps its other copy); with neither, every copy goes. Returns
        ``removed`` (copies), ``incremental`` and, when a model was kept, ``affected``,
        ``dropped``, ``recomputed`` (strata), ``strata`` and ``seconds``.
        """
        return self.remove_edbs([(pred, rows, sources, kind)])

    def remove_edbs(self, facts: Iterable[tuple[int, Any, Any, str | None]]) -> dict:
        """:meth:`remove_edb` for several ``(pred, rows, sources, kind)`` at once: one retraction."""
        split = []
        for pred, rows, sources, kind in facts:
            rows = np.asarray(rows, dtype=np.int64)
            src = None if sources is None else np.asarray(sources, dtype=np.int64).reshape(-1)
            if rows.ndim != 2 or (src is not None and len(src) != len(rows)):
                raise NesyError("remove_edb: rows must have shape (n, arity), with one source per row")
            split += [(key, krows, None if src is None else src[which], kind)
                      for key, krows, which in self._key_rows(pred, rows)]
        plans = plan_removals(self._inputs, split)
        if not plans:
            return {"removed": 0, "incremental": bool(self._main.done)}
        with self.limited("retraction"):
            try:
                if self._main.done and not self._main.fresh():
                    self._main.run()  # the kept model catches up first: retraction starts from it whole
                if self._main.done:
                    return retract(self._main, self._inputs, plans)
            except BaseException:
                drop_inputs(self._inputs, plans)
                self._drop_model()
                raise
        stats = drop_inputs(self._inputs, plans)
        self._drop_model()
        return stats

    def _add_inputs(self, key: Key, rows: np.ndarray, scores: np.ndarray, sources: np.ndarray, kind: str,
                    locations: list | None = None) -> None:
        idx, stamp = self._inputs.add(key, rows, scores, sources, kind, locations)
        own = self._main.own.get(key)
        if own is not None:
            own.add_inputs(rows, scores, idx, stamp)

    def add_program(self, program: Program, *, kind: str = "derived") -> None:
        """Add a program's rules and facts (its queries are ignored); all or nothing.

        Args:
            program: The parsed program.
            kind: Proof kind of what its rules derive (``derived``, or ``learned``).
                A program marked ``# nesy:apply once`` has its rules read input facts only.

        Raises:
            RuleError: an unsafe rule, a non-ground fact, ...; StratificationError.
        """
        pending = self._prepare(program.rules, kind, once=program.applied_once)
        for fact in program.facts:
            key, args, score = self._compiler.fact(fact, self.prefixes)
            rows, scores, locs = pending.facts.setdefault(key, ([], [], []))
            rows.append(args)
            scores.append(self._shared.semiring.fact_score(score))
            locs.append(fact.loc)
        self.prefixes.update(program.prefix_map())
        self._commit(pending)

    def add_rules(self, rules: Iterable[Rule], *, kind: str = "derived") -> None:
        """Add rules (and constraints); all or nothing."""
        self._commit(self._prepare(list(rules), kind))

    def _prepare(self, rules: list[Rule], kind: str, *, once: bool = False) -> _Pending:
        compiled = [self._compiler.rule(r, len(self._rules) + i, kind, once=once) for i, r in enumerate(rules)]
        stratify(self._rules + compiled, self._name)  # raises before anything changes
        return _Pending(compiled)

    def _commit(self, pending: _Pending) -> None:
        if pending.rules:
            before = {st.nodes for st in self._main.strata}
            self._rules += pending.rules
            strata = stratify(self._rules, self._name)
            self._main.set_rules(self._rules, strata, [r.id for r in pending.rules])
            for st in strata:
                # A component that changed shape may hold facts derived under the old rules'
                # negations: recompute it from its inputs.
                if st.nodes not in before and self._main.has_derived(st):
                    self._main.dirty.add(st.nodes)
        for key, (rows, scores, locs) in pending.facts.items():
            n = len(rows)
            self._add_inputs(key, np.asarray(rows, dtype=np.int64).reshape(n, -1), np.asarray(scores),
                             np.full(n, -1, dtype=np.int64), "asserted", locs)

    # -- evaluation --------------------------------------------------------------------------
    def materialize(self) -> dict:
        """Compute the full model; returns ``{derived: {predicate: n}, facts, iterations, seconds}``.

        Raises:
            LimitExceeded: a limit stopped it (:class:`~nesy.errors.QueryTimeout` for time);
                the model is then dropped, as after any interruption.
        """
        with self.limited("materialize"):
            try:
                stats = self._main.run()
            except BaseException:
                self._drop_model()
                raise
        per: dict[str, int] = {}
        for key, rel in self._main.own.items():
            k = int((rel.base[: rel.n] == 0).sum())
            if k:
                name = self._name(key)
                per[name] = per.get(name, 0) + k
        stats.update(derived=per, facts=sum(per.values()))
        return stats

    def _ensure(self) -> None:
        if not self._main.fresh():
            self.materialize()

    def derived(self, pred: int, *, include_inputs: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Facts of ``pred`` in the model that are not input facts (or all, with ``include_inputs``).

        Returns:
            ``(rows, scores)``: int64 ``(n, arity)`` and float64 ``(n,)``; ``rdf:type``
            rows are ``(s, class)``.
        """
        self._ensure()
        rels = []
        for key in set(self._main.own) | set(self._inputs.input_keys()):
            if (pred == self._rdf_type and key[0] == "c") or (key[0] == "p" and key[1] == pred):
                rels.append((key, self._main.relation(key)))
        if not rels:
            rels = [(k, self._main.relation(k)) for k in [("c", pred)] if self._main.relation(k) is not None]
        arities = sorted({r.arity for _, r in rels if r.key[0] == "p"}, key=lambda a: (a != 2, a))
        rows_out, scores_out = [], []
        for key, rel in rels:
            if key[0] == "p" and key[2] != arities[0]:
                continue
            keep = np.arange(rel.n) if include_inputs else np.flatnonzero(rel.base[: rel.n] == 0)
            rows = rel.cols[keep]
            if key[0] == "c" and pred == self._rdf_type:
                rows = np.concatenate([rows, np.full((len(keep), 1), key[1], dtype=np.int64)], axis=1)
            rows_out.append(rows)
            scores_out.append(rel.score[keep])
        if not rows_out:
            return np.empty((0, 2), dtype=np.int64), np.empty(0)
        return np.concatenate(rows_out), np.concatenate(scores_out)

    def _builder(self, ev: Evaluator) -> ProofBuilder:
        return ProofBuilder(ev, self._inputs.info, self.prefixes)

    def ask(self, query: Query, *, limit: int | None = None, goal_directed: bool | None = None) -> list[Answer]:
        """Answers of a query, best first, each with its proof.

        Evaluated on the model when it is up to date, else goal-directed: only the facts
        relevant to the query's bound arguments are derived (magic sets).

        Args:
            query: The query.
            limit: Keep only the best ``limit`` answers.
            goal_directed: None picks: goal-directed unless most rules would run in full
                anyway (then the model is materialised and kept for later queries); True
                always goes goal-directed, False always materialises.
        """
        with self.limited(f"rule query {_clip(format_query(query, self.prefixes))}"):
            return self._ask(query, limit, goal_directed)

    def _ask(self, query: Query, limit: int | None, goal_directed: bool | None) -> list[Answer]:
        q = self._compiler.query(query, -1)
        ev, qr = self._main, q
        self.last_ask = {"goal_directed": False, "derived_facts": 0}
        if not self._main.fresh():
            gd, gq, n_full = _goal_directed(self._shared, self._inputs, self._rules, q, self._name)
            mostly_full = 2 * n_full > sum(r.head_key is not None for r in self._rules)
            if goal_directed is False or (goal_directed is None and mostly_full):
                # Most rules must run in full anyway: materialise once, for later queries too.
                self.last_ask["derived_facts"] = self.materialize()["facts"]
            else:
                gd.run()
                ev, qr = gd, gq
                self.last_ask = {"goal_directed": True, "derived_facts": gd.n_derived, "rules": len(gd.rules)}
        table = ev.run_body(qr)
        return collect_answers(ev, qr, table, self._builder(ev), self._shared.semiring, limit)

    def locate(self, pred: int, rows: np.ndarray) -> list[tuple[Any, int] | None]:
        """Where each fact ``pred(row)`` of ``rows`` (int64 ids) is in the model: ``(relation, row)``, else None."""
        self._ensure()
        out: list[tuple[Any, int] | None] = [None] * len(rows)
        for key, krows, pos in self._key_rows(pred, rows):
            rel = self._main.relation(key)
            if rel is not None:
                for p, at in zip(pos.tolist(), rel.find(krows).tolist(), strict=True):
                    out[p] = (rel, at) if at >= 0 and out[p] is None else out[p]
        return out

    def locate_one(self, pred: int, row: tuple[int, ...]) -> tuple:
        """Where the fact ``pred(row)`` (ids) is in the model: ``(relation, row)``; QueryError when it does not hold."""
        if (found := self.locate(pred, np.asarray([row], dtype=np.int64))[0]) is not None:
            return found
        args = ", ".join(term_text(self.vocab.term(i), self.prefixes) if 0 <= i < len(self.vocab) else f"#{i}"
                         for i in row)
        raise QueryError(f"{self._name(('p', pred, len(row)))}({args}) is not in the model")

    def proof(self, pred: int, row: tuple[int, ...]) -> Proof:
        """The best proof of the fact ``pred(row)`` (ids); QueryError when it does not hold."""
        return self.prover()(pred, row)

    def prover(self) -> Prover:
        """:meth:`proof` for many facts (SPARQL rows): found in bulk, built by one builder (:class:`Prover`)."""
        return Prover(self, lambda: self._builder(self._main))

    def proofs(self, pred: int, row: tuple[int, ...]) -> list[Proof]:
        """Up to ``k`` alternative proofs (``topk:K`` semiring; otherwise just the best)."""
        rel, at = self.locate_one(pred, row)
        return self._builder(self._main).alternatives(rel, at)

    def why_not(self, atom: Atom) -> WhyNotReport:
        """Why ``atom`` is not derived: per rule that could derive it, the first body literal
        that finds no match (variables in ``atom`` are left open)."""
        text = format_literal(atom, self.prefixes)
        with self.limited(f"why-not {_clip(text)}"):
            self._ensure()
            args = tuple(a.name if not isinstance(a, Identifier) else self.vocab.id(a) for a in atom.args)
            key, args = self._compiler.key_of(Atom(atom.predicate, atom.args), args)
            return why_not(self._main, key, args, text, self.prefixes)

    def violations(self) -> list[Violation]:
        """Every match of every constraint (``false :- body``), with its proof."""
        with self.limited("constraint check"):
            return self._violations()

    def _violations(self) -> list[Violation]:
        self._ensure()
        out = []
        b = self._builder(self._main)
        for rule in self._rules:
            if rule.head_key is not None:
                continue
            t = self._main.run_body(rule)
            scores = self._main.scores_of(rule, t)
            for i in range(t.n):
                proof = b.matches(rule, t, i, float(scores[i]), "violation")
                out.append(Violation(b.info(rule), proof.bindings, float(scores[i]), proof))
        out.sort(key=lambda v: (-v.score, v.rule.label, sorted((k, str(t)) for k, t in v.bindings.items())))
        return out

    # -- lookups for independent proof checking ---------------------------------------------------
    def input_score(self, predicate: Identifier, args: tuple[Identifier, ...]) -> float | None:
        """Best score of an input fact, None when it is not one (for :func:`check_proof`)."""
        ids = [self.vocab.get(a) for a in args]
        pid = self.vocab.get(predicate)
        if pid is None or any(i is None for i in ids):
            return None
        for key, krows, _ in self._key_rows(pid, np.asarray([ids], dtype=np.int64)):
            rel = self._inputs.input_relation(key)
            if rel is not None:
                at = int(rel.find(krows)[0])
                if at >= 0:
                    return float(rel.score[at])
        return None

    def model_contains(self, predicate: Identifier, args: tuple[Identifier | None, ...]) -> bool:
        """Whether the model has a fact matching ``args`` (None = any), for :func:`check_proof`."""
        self._ensure()
        pid = self.vocab.get(predicate)
        if pid is None:
            return False
        ids = [-1 if a is None else self.vocab.get(a) for a in args]
        if any(i is None for i in ids):
            return False
        if pid == self._rdf_type and len(ids) == 2 and ids[1] >= 0:
            key, ids = ("c", ids[1]), ids[:1]
        else:
            key = ("c", pid) if len(ids) == 1 else ("p", pid, len(ids))
        for rel, _ in self._main.relations_for(key):
            m = np.ones(rel.n, dtype=bool)
            for j, i in enumerate(ids):
                if i >= 0:
                    m &= rel.cols[: rel.n, j] == i
            if m.any():
                return True
        return False

    def relation_key(self, atom: Atom) -> Key:
        """The internal relation key of an atom (for tools and tests)."""
        args = tuple(a.name if not isinstance(a, Identifier) else self.vocab.id(a) for a in atom.args)
        return base_key(self._compiler.key_of(atom, args)[0])


def _clip(text: str, width: int = 80) -> str:
    """``text`` on one line, cut to ``width`` characters (messages quote what was running)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
