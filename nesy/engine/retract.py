"""Incremental retraction (DRed): removing input facts takes back what they supported, and only that.

A retraction runs in three steps over an up-to-date model:

1. **Affected facts**, found in the old model before anything changes. Seeds are the
   input facts whose score dropped (the tuple lost its last copy, or its best one). With
   ``boolean``, ``maxprod`` and ``topk`` a fact is affected when the derivation recorded
   for it (its best one, which the proofs show) has an affected premise: a fact whose
   recorded derivation survives keeps its score, since that derivation still gives it and
   nothing can give more once facts went. With ``noisyor``, where every derivation adds to
   the score, a fact is affected when *any* of its derivations has an affected premise
   (found by joining the rules with the affected facts, as semi-naive evaluation does).
   A rule that negates or aggregates over affected facts sees them through some bindings
   of its variables (:mod:`nesy.engine.strict`): the heads its aggregates give for them
   are affected, and it runs with them again in step 3, where it may gain facts. A stratum
   whose change cannot be traced so, or that negates or aggregates over what may have
   grown, is recomputed whole: all its facts count as affected.
2. **Removal**: affected facts still held up by an input copy drop back to that copy's
   score; the others leave their relations (renumbered copies: :meth:`Relation.compacted`),
   and every recorded premise is renumbered, so no derivation points at a removed fact.
3. **Re-derivation**, stratum by stratum: each affected fact is looked for once more
   goal-directed (its head bound, the rule body evaluated over what remains), the rules
   seen through negation or aggregates run with their bindings, then the stratum's
   ordinary semi-naive rounds continue from what came back; a recomputed stratum is
   evaluated afresh, and strata reading a stratum that may have grown take its facts as
   new. Scores are those of a fresh evaluation (``noisyor``: the score fixpoint runs again).

The cost follows the affected facts and their derivations, plus one pass over the recorded
derivations (to index them by premise) and over the relations that lost facts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nesy.engine.compile import TYPE_ANY, CAggregate, CAtom, CRule, Key
from nesy.engine.kernels import unique
from nesy.engine.provenance import keep_alternatives
from nesy.engine.relation import Relation
from nesy.engine.rowspace import RowSpace, renumber_premises
from nesy.engine.strict import strict_seeds
from nesy.engine.table import Table, group_rows

if TYPE_CHECKING:
    from nesy.engine.evaluator import Evaluator
    from nesy.engine.inputs import InputRemoval, InputStore
    from nesy.engine.stratify import Stratum


def touches(reads: set[Key], keys: set[Key]) -> bool:
    """Whether reading ``reads`` sees a relation of ``keys`` (``TYPE_ANY`` in either: any class)."""
    classes = TYPE_ANY in keys or any(k[0] == "c" for k in keys)
    return any(k in keys or (k == TYPE_ANY and classes) or (k[0] == "c" and TYPE_ANY in keys) for k in reads)


def written_keys(ev: Evaluator, st: Stratum) -> set[Key]:
    """The relation keys stratum ``st`` writes (classes written through ``rdf:type(X, C)`` heads included)."""
    return (set(st.writes) | ev.written.get(st.nodes, set())) - {TYPE_ANY}


@dataclass
class Retraction:
    """One retraction of input facts from an up-to-date model (see the module docstring).

    Args:
        ev: The evaluator holding the model.
        inputs: Its input facts.
        plans: The input copies to remove, one plan per key.
    """

    ev: Evaluator
    inputs: InputStore
    plans: list[InputRemoval]
    #: Strata (node sets) recomputed whole (a change they see through negation or
    #: aggregation that cannot be traced to bindings, see :meth:`_strict`).
    reset: set[frozenset] = field(default_factory=set)
    stats: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        ev = self.ev
        self.every = not ev.semiring.idempotent  # noisyor: every derivation counts
        self.space = RowSpace(list(ev.own.values()) + list(self.inputs.rels.values()))
        self.affected = np.zeros(self.space.total, dtype=bool)
        #: Per key with an own relation: its rows whose input copies change, their new input
        #: score and best copy.
        self.touched: dict[Key, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.candidates: dict[Key, np.ndarray] = {}
        #: Per stratum seen through negation or aggregates: ``(rule, seed bindings)`` to run again.
        self.targets: dict[frozenset, list[tuple[CRule, Table]]] = {}
        self._deps: tuple[np.ndarray, np.ndarray] | None = None

    # -- 1. affected facts -----------------------------------------------------------------
    def find_affected(self) -> int:
        """Mark every fact whose score may change; nothing is modified yet. Returns their number."""
        seeds = [self._input_seeds(plan) for plan in self.plans]
        self._close(np.concatenate(seeds) if seeds else np.empty(0, np.int64))
        self._strict()
        return int(self.affected.sum())

    def _input_seeds(self, plan: InputRemoval) -> np.ndarray:
        """The facts a changed input tuple affects directly: its input row, and its own row
        when the input copy was what held it up (any change with ``noisyor``)."""
        inrel = self.inputs.rels[plan.key]
        lower = plan.base < inrel.base[plan.rows]
        out = [self.space.of_rows(inrel, plan.rows[lower])]
        own = self.ev.own.get(plan.key)
        if own is not None:
            at = own.find(inrel.cols[plan.rows])
            ok = at >= 0
            at, base, best = at[ok], plan.base[ok], plan.best[ok]
            self.touched[plan.key] = (at, base, best)
            if self.every:
                hit = base != own.base[at]
            else:
                hit = (own.rule[at] == -1) & (base < own.score[at])
            out.append(self.space.of_rows(own, at[hit]))
        return np.concatenate(out)

    def _close(self, seeds: np.ndarray) -> None:
        """Add ``seeds`` and everything that depends on them to the affected facts."""
        frontier = unique(seeds[seeds >= 0])
        frontier = frontier[~self.affected[frontier]]
        self.affected[frontier] = True
        watch = self.ev.shared.watch_now()
        while len(frontier):
            watch.check_time()
            found = self._joined(frontier) if self.every else self._recorded(frontier)
            frontier = unique(found[found >= 0])
            frontier = frontier[~self.affected[frontier]]
            self.affected[frontier] = True

    def _recorded(self, frontier: np.ndarray) -> np.ndarray:
        """Facts whose recorded derivation has a premise in ``frontier``."""
        if self._deps is None:
            self._deps = self._dependents()
        prem, dep = self._deps
        lo = np.searchsorted(prem, frontier, "left")
        cnt = np.searchsorted(prem, frontier, "right") - lo
        at = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(int(cnt.sum()))
        return dep[at]

    def _dependents(self) -> tuple[np.ndarray, np.ndarray]:
        """``(premise, fact)`` global numbers of every recorded derivation, sorted by premise."""
        prems, deps = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        for rel in self.ev.own.values():
            derived = np.flatnonzero(rel.rule[: rel.n] >= 0)
            if not len(derived):
                continue
            for rule_id, which in group_rows(rel.rule[derived].astype(np.int64)):
                table = self.ev.derivs.get(rule_id)
                if table is None or table.slots == 0:
                    continue
                rows = derived[which]
                prems.append(self.space.of_handles(table.data[rel.deriv[rows]].ravel()))
                deps.append(np.repeat(self.space.of_rows(rel, rows), table.slots))
        prem, dep = np.concatenate(prems), np.concatenate(deps)
        ok = prem >= 0
        prem, dep = prem[ok], dep[ok]
        order = np.argsort(prem, kind="stable")
        return prem[order], dep[order]

    def _joined(self, frontier: np.ndarray) -> np.ndarray:
        """Facts with any derivation (in the old model) that uses a fact of ``frontier``."""
        ev = self.ev
        delta = self.space.split(frontier)
        found = [np.empty(0, np.int64)]
        for st in ev.strata:
            for rule in st.rules:
                for li, lit in enumerate(rule.body):
                    if not isinstance(lit, CAtom) or lit.negated or lit.neural:
                        continue
                    sub = {rel.rel_id: delta[rel.rel_id] for rel, _ in ev.relations_for(lit.key)
                           if rel.rel_id in delta}
                    if sub:
                        found += self._heads(rule, li, sub)
        return np.concatenate(found)

    def _heads(self, rule: CRule, first: int, sub: dict[int, np.ndarray]) -> list[np.ndarray]:
        out = []
        for t in self.ev.iter_body(rule, first, sub):
            if t.n:
                for rel, rows, _ in self.ev.head_rows(rule, t):
                    at = rel.find(rows)
                    out.append(self.space.of_rows(rel, at[at >= 0]))
        return out

    def _strict(self) -> None:
        """Strata that negate or aggregate over changed facts, in order (each finds what it
        reads final). A rule sees such a change only through some bindings of its variables
        (:func:`~nesy.engine.strict.strict_seeds`): with an aggregate, the heads it gives with
        them are affected; either way it runs with them again after the removal, where it may
        also gain facts. A stratum whose change cannot be traced so, or that negates or
        aggregates over what such a stratum may gain, is recomputed whole."""
        ev = self.ev
        gaining: set[Key] = set()
        for st in ev.strata:
            if not st.strict_reads:
                continue
            changed = {rel.key for rel in self.space.rels.values() if len(self._changed_rows(rel))}
            grows = touches(st.strict_reads, gaining)
            if not grows and not touches(st.strict_reads, changed):
                continue
            seeds = None if grows else self._targets(st)
            if seeds is None:
                self.reset.add(st.nodes)
                self.targets.pop(st.nodes, None)
                seeds = self._all_rows(st)
            gaining |= written_keys(ev, st) | (st.writes & {TYPE_ANY})
            self._close(seeds)

    def _changed_rows(self, rel: Relation) -> np.ndarray:
        """The affected rows of ``rel`` (old numbering)."""
        if self.space.rels.get(rel.rel_id) is not rel:
            return np.empty(0, np.int64)
        return np.flatnonzero(self.affected[self.space.slice(rel)])

    def _targets(self, st: Stratum) -> np.ndarray | None:
        """Record, per rule of ``st``, the bindings through which it sees changed facts; the
        heads its aggregates give with them now are affected. None: a change not traceable."""
        ev = self.ev
        plans, found = [], [np.empty(0, np.int64)]
        for rule in st.rules:
            seeds = strict_seeds(ev, rule, self._changed_rows)
            if seeds is None:
                return None
            plans += [(rule, seed) for seed in seeds]
            if seeds and any(isinstance(lit, CAggregate) for lit in rule.body):
                for seed in seeds:
                    t = ev.eval_body(rule.body, seed, {a for a in rule.head_args if isinstance(a, str)})
                    for rel, rows, _ in ev.head_rows(rule, t) if t.n else ():
                        at = rel.find(rows)
                        found.append(self.space.of_rows(rel, at[at >= 0]))
        self.targets[st.nodes] = plans
        return np.concatenate(found)

    def _all_rows(self, st: Stratum) -> np.ndarray:
        """The facts of a stratum recomputed whole: those its rules derived (with ``noisyor``,
        every fact of the relations it writes)."""
        ids = np.array([r.id for r in st.rules], dtype=np.int64)
        seeds = [np.empty(0, np.int64)]
        for key in written_keys(self.ev, st):
            rel = self.ev.own.get(key)
            if rel is not None:
                mine = np.arange(rel.n) if self.every else np.flatnonzero(np.isin(rel.rule[: rel.n], ids))
                seeds.append(self.space.of_rows(rel, mine))
        return np.concatenate(seeds)

    # -- 2. removal ----------------------------------------------------------------------------
    def apply(self) -> int:
        """Remove the input copies and the affected facts no copy holds up; renumber the
        premises. Returns how many facts left the model's relations."""
        ev = self.ev
        moved: dict[int, np.ndarray] = {}
        for plan in self.plans:
            old, new, old_to_new = self.inputs.apply_removal(plan)
            if len(old_to_new) and old_to_new.min() < 0:
                moved[old.rel_id] = old_to_new
            if old.rel_id in ev.by_id:
                ev.by_id[old.rel_id] = new
        stamp = ev.shared.tick()
        dropped = 0
        for key, rel in list(ev.own.items()):
            if rel.rel_id not in self.space.rels:
                continue
            hit = np.flatnonzero(self.affected[self.space.slice(rel)])
            if not len(hit) and key not in self.touched:
                continue
            new, old_to_new = self._shrink(key, rel, hit, stamp)
            ev.own[key] = ev.by_id[rel.rel_id] = new
            if len(hit):
                self.candidates[key] = rel.cols[hit]
            gone = int((old_to_new < 0).sum())
            if gone:
                moved[rel.rel_id] = old_to_new
                dropped += gone
        ev.alts.clear()  # topk's alternatives are kept again for every stratum afterwards
        renumber_premises(ev, moved)
        ev.n_derived = max(0, ev.n_derived - dropped)
        return dropped

    def _shrink(self, key: Key, rel: Relation, hit: np.ndarray, stamp: int) -> tuple[Relation, np.ndarray]:
        """``rel`` without its affected rows no input copy holds up; the others (affected or
        with changed copies) carry their new input score."""
        base = rel.base[: rel.n].copy()
        at, new_base, best = self.touched.get(key, (np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64)))
        base[at] = new_base
        keep = np.ones(rel.n, dtype=bool)
        keep[hit[base[hit] <= 0]] = False
        new, old_to_new = rel.compacted(keep)
        new.base[: new.n] = base[keep]
        # An unaffected input fact keeps its score; proofs cite its best remaining copy.
        at_new = old_to_new[at]
        cite = (at_new >= 0) & (best >= 0)
        cite[cite] &= new.rule[at_new[cite]] == -1
        new.deriv[at_new[cite]] = best[cite]
        back = old_to_new[hit]
        back = back[back >= 0]
        if len(back):
            inrel = self.inputs.rels[key]
            new.score[back] = new.base[back]
            new.rule[back] = -1
            new.deriv[back] = inrel.deriv[inrel.find(new.cols[back])]
            new.stamp[back] = stamp
            new.last_change = max(new.last_change, stamp)
        return new, old_to_new

    # -- 3. re-derivation ------------------------------------------------------------------------
    def rederive(self) -> int:
        """Derive the affected facts again where they still hold, stratum by stratum;
        returns how many strata ran."""
        ev = self.ev
        since0 = ev.shared.tick()
        grown: set[Key] = set()
        ran: set[frozenset] = set()
        for st in ev.strata:
            keys = written_keys(ev, st)
            if TYPE_ANY in st.writes:
                keys |= {k for k in self.candidates if k[0] == "c"}
            cands = {k: self.candidates[k] for k in keys if k in self.candidates}
            recompute = st.nodes in self.reset
            targets = self.targets.get(st.nodes, [])
            reads_grown = touches(st.reads, grown)
            if not (recompute or cands or targets or reads_grown):
                continue
            ev.shared.watch_now().check_time()
            if recompute:
                ev.eval_stratum(st, None)
            else:
                since, stamp = ev.shared.tick(), ev.shared.tick()
                self._backward(st, cands, stamp)
                for rule, seed in targets:  # what the change lets these rules derive now
                    keep = {a for a in rule.head_args if isinstance(a, str)}
                    ev.derive(rule, ev.eval_body(rule.body, seed, keep), {}, stamp, st)
                ev.eval_stratum(st, since0 if reads_grown else since)
            if recompute or targets:  # it may have gained facts: its readers take them as new
                grown |= written_keys(ev, st) | (st.writes & {TYPE_ANY})
            ran.add(st.nodes)
        end = ev.shared.tick()
        for st in ev.strata:
            ev.done[st.nodes] = end
            if ev.semiring.k > 1 and st.nodes not in ran:
                keep_alternatives(ev, st)
        return len(ran)

    def _backward(self, st: Stratum, cands: dict[Key, np.ndarray], stamp: int) -> None:
        """Look for each candidate fact once more: every rule of ``st`` whose head matches it,
        its body evaluated with the head's variables bound."""
        changed: dict[int, list[np.ndarray]] = {}
        classes = [np.column_stack([t[:, 0], np.full(len(t), k[1], dtype=np.int64)]) for k, t in cands.items()
                   if k[0] == "c"]
        # rdf:type(X, C) heads with a variable class take every class's candidates: made once.
        cands = {**cands, TYPE_ANY: np.concatenate(classes)} if classes else cands
        for rule in st.rules:
            seed = head_seed(rule, cands)
            if seed is None or seed.n == 0:
                continue
            keep = {a for a in rule.head_args if isinstance(a, str)}
            self.ev.derive(rule, self.ev.eval_body(rule.body, seed, keep), changed, stamp, st)


def head_seed(rule: CRule, cands: dict[Key, np.ndarray]) -> Table | None:
    """The bindings of ``rule``'s head variables that give a candidate fact (None: none can).

    ``cands`` maps relation keys to candidate tuples; ``TYPE_ANY`` to ``(member, class)``
    pairs of every class, for heads ``rdf:type(X, C)`` with a variable class.
    """
    tuples = cands.get(rule.head_key)
    if tuples is None:
        return None
    ok = np.ones(len(tuples), dtype=bool)
    cols: dict[str, np.ndarray] = {}
    for j, a in enumerate(rule.head_args):
        if not isinstance(a, str):
            ok &= tuples[:, j] == a
        elif a in cols:
            ok &= tuples[:, j] == cols[a]
        else:
            cols[a] = tuples[:, j]
    if not cols:
        return Table(int(ok.any()))
    idx = np.flatnonzero(ok)
    return Table(len(idx), {v: c[idx] for v, c in cols.items()})


def plan_removals(inputs: InputStore, facts: list[tuple[Key, np.ndarray, np.ndarray | None, str | None]]
                  ) -> list[InputRemoval]:
    """The copies removing ``facts`` (``(key, rows, sources or None, kind or None)``) takes
    away, one plan per key (see :meth:`InputStore.plan_removal`)."""
    parts: dict[Key, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for key, rows, sources, kind in facts:
        if kind is not None and kind not in inputs.kind_names:
            continue  # no copy was ever added with this kind
        n = len(rows)
        src = np.full(n, -2, dtype=np.int64) if sources is None else sources
        code = -1 if kind is None else inputs.kind_names.index(kind)
        parts.setdefault(key, []).append((rows, src, np.full(n, code, dtype=np.int64)))
    plans = []
    for key, ps in parts.items():
        rows, src, kinds = (np.concatenate(c) for c in zip(*ps, strict=True))
        plan = inputs.plan_removal(key, rows, src, kinds)
        if plan is not None:
            plans.append(plan)
    return plans


def drop_inputs(inputs: InputStore, plans: list[InputRemoval]) -> dict:
    """Remove the planned copies from the inputs alone (no model to keep up to date, or a
    retraction that failed: the caller drops the model)."""
    for plan in plans:
        if not plan.applied:
            inputs.apply_removal(plan)
    return {"removed": sum(len(p.kill) for p in plans), "incremental": False}


def retract(ev: Evaluator, inputs: InputStore, plans: list[InputRemoval]) -> dict:
    """Remove the planned input copies from ``ev``'s up-to-date model, incrementally.

    Returns:
        ``removed`` (input copies), ``affected`` (facts whose score could change),
        ``dropped`` (facts that left the relations before re-derivation), ``recomputed``
        (strata recomputed whole), ``strata`` (strata that ran), ``seconds``.
    """
    t0 = time.perf_counter()
    job = Retraction(ev, inputs, plans)
    affected = job.find_affected()
    dropped = job.apply()
    ran = job.rederive()
    return {"removed": sum(len(p.kill) for p in plans), "affected": affected, "dropped": dropped,
            "recomputed": len(job.reset), "strata": ran, "seconds": time.perf_counter() - t0, "incremental": True}


__all__ = ["Retraction", "drop_inputs", "head_seed", "plan_removals", "retract", "touches", "written_keys"]
