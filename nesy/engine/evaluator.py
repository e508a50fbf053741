"""Semi-naive, stratified bottom-up evaluation of compiled rules over column relations.

An :class:`Evaluator` owns the relations its rules write and reads input-only relations
from an :class:`InputSource`. Each stratum runs to a fixpoint: a first round over whole
relations (or over what changed since the stratum last ran), then rounds in which every
rule is re-run once per body atom with that atom restricted to the previous round's
changes (new facts, or facts whose score improved).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Protocol

import numpy as np

from nesy.engine.compile import TYPE_ANY, CAtom, CLit, CRule, Key
from nesy.engine.ops import apply
from nesy.engine.planner import Plan, make_plan
from nesy.engine.provenance import keep_alternatives, noisyor_fixpoint
from nesy.engine.relation import HANDLE_MASK, HANDLE_SHIFT, DerivTable, Relation
from nesy.engine.shared import Shared
from nesy.engine.stratify import Stratum
from nesy.engine.table import Table, concat, group_rows, join_atom_chunks
from nesy.errors import LimitExceeded, NoLinkPredictorError


class InputSource(Protocol):
    """Where an evaluator finds input facts."""

    def input_relation(self, key: Key) -> Relation | None:
        """The read-only relation of the input facts of ``key`` (None if there are none)."""

    def input_keys(self) -> Iterable[Key]:
        """Every key that has input facts."""


def _distinct(parts: list[np.ndarray]) -> np.ndarray:
    """Union of row-index arrays (each already duplicate-free)."""
    if len(parts) == 1:
        return parts[0]
    rows = np.sort(np.concatenate(parts))
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = rows[1:] != rows[:-1]
    return rows[keep]


class Evaluator:
    """Runs a set of compiled rules to their fixpoint.

    Args:
        shared: Shared settings and id space.
        inputs: Source of input (EDB) facts.

    Attributes:
        rules: Compiled rules; a rule's id is its index (relations' ``rule`` column).
        strata: Their strata, in evaluation order.
        own: The relations this evaluator writes (seeded with the inputs of their key).
        by_id: Every relation a premise handle may point at, by relation id.
        derivs: Per rule id, the premise handles of its recorded derivations.
        done: Per stratum (its node set), the round at which it was last complete.
        dirty: Strata to recompute from their inputs at the next run.
        written: Per stratum, the keys it wrote (classes written by ``rdf:type(X, C)`` heads).
        alts: ``topk`` alternatives per relation id: (rows, rule ids, derivs, scores).
    """

    def __init__(self, shared: Shared, inputs: InputSource) -> None:
        self.shared = shared
        self.inputs = inputs
        self.vocab = shared.vocab
        self.registry = shared.registry
        self.semiring = shared.semiring
        self.tracks_scores = shared.semiring.tracks_scores
        self.rules: list[CRule] = []
        self.strata: list[Stratum] = []
        self.own: dict[Key, Relation] = {}
        self.by_id: dict[int, Relation] = {}
        self.derivs: dict[int, DerivTable] = {}
        self.done: dict[frozenset, int] = {}
        self.dirty: set[frozenset] = set()
        self.new_rules: set[int] = set()
        self.written: dict[frozenset, set[Key]] = {}
        self.alts: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.builtin_cache: dict = {}
        self.n_derived = 0
        self.rounds = 0
        self._plans: dict[tuple, Plan] = {}

    # -- relations -------------------------------------------------------------------------
    def relation(self, key: Key) -> Relation | None:
        """The relation holding ``key``'s facts here (own, else input), if any."""
        rel = self.own.get(key)
        if rel is None and key[0] == "edb":
            key = key[1]
        elif rel is not None:
            return rel
        rel = self.inputs.input_relation(key)
        if rel is not None:
            self.by_id.setdefault(rel.rel_id, rel)
        return rel

    def relations_for(self, key: Key) -> list[tuple[Relation, int | None]]:
        """Relations holding ``key``'s facts (all class relations for ``TYPE_ANY``)."""
        if key == TYPE_ANY:
            classes = {k for k in self.own if k[0] == "c"} | {k for k in self.inputs.input_keys() if k[0] == "c"}
            out = []
            for k in sorted(classes):
                rel = self.relation(k)
                if rel is not None:
                    out.append((rel, k[1]))
            return out
        rel = self.relation(key)
        return [] if rel is None else [(rel, None)]

    def own_relation(self, key: Key) -> Relation:
        """The relation this evaluator writes ``key`` into, created from the inputs on first use."""
        rel = self.own.get(key)
        if rel is None:
            rel = self.shared.new_relation(key, self)
            src = self.inputs.input_relation(key)
            if src is not None and src.n:
                rel.add_inputs(src.cols[: src.n], src.score[: src.n], src.deriv[: src.n], self.shared.tick())
            self.own[key] = rel
            self.by_id[rel.rel_id] = rel
        return rel

    def resolve(self, handle: int) -> tuple[Relation, int]:
        """The relation and row a premise handle points at."""
        return self.by_id[int(handle) >> HANDLE_SHIFT], int(handle) & HANDLE_MASK

    def neural_relation(self, pred: int, heads: np.ndarray | None, tails: np.ndarray | None) -> Relation:
        """Ask the link predictor about ``~pred`` and store its answers as input facts.

        Args:
            pred: The predicate id.
            heads: int64 ``(k,)`` bound subjects, or None when unbound.
            tails: int64 ``(k,)`` bound objects, or None when unbound.

        Raises:
            NoLinkPredictorError: when none is set.
        """
        lp = self.shared.link_predictor
        if lp is None:
            raise NoLinkPredictorError("no link predictor trained: run `nesy train` first")
        rows, scores = lp(pred, heads, tails)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        rel = self.own_relation(("n", pred))
        if not self.tracks_scores:
            scores = np.ones(len(rows))
        rel.add_inputs(rows, scores, np.full(len(rows), -1, dtype=np.int64), self.shared.clock)
        return rel

    # -- rules -------------------------------------------------------------------------------
    def set_rules(self, rules: list[CRule], strata: list[Stratum], new: Iterable[int] = ()) -> None:
        """Install the full rule list and its strata; ``new`` rule ids get a full first round."""
        self.rules = rules
        self.strata = strata
        self.new_rules |= set(new)
        for r in rules:
            self.derivs.setdefault(r.id, DerivTable(r.slots))
        for st in strata:
            for key in st.writes:
                if key != TYPE_ANY:
                    self.own_relation(key)

    def plan(self, rule: CRule, first: int | None) -> Plan:
        """The evaluation order of ``rule`` starting at literal ``first`` (cached per rule id)."""
        key = (rule.id, first)
        plan = self._plans.get(key) if rule.id >= 0 else None
        if plan is None:
            final = {a for a in rule.head_args if isinstance(a, str)} if rule.head_key is not None else None
            plan = make_plan(rule.body, first, set(), final)
            if rule.id >= 0:  # queries (id -1) are planned afresh each time
                self._plans[key] = plan
        return plan

    def eval_body(self, body: tuple[CLit, ...], seed: Table, keep: set[str]) -> Table:
        """Evaluate a conjunction starting from the bindings in ``seed`` (aggregate bodies)."""
        key = (body, frozenset(seed.cols), frozenset(keep))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = make_plan(body, None, set(seed.cols), keep)
        t = seed
        for li, k in plan:
            t = apply(self, t, body[li], k)
            if t.n == 0:
                break
        return t

    def run_body(self, rule: CRule, first: int | None = None, subset: dict[int, np.ndarray] | None = None) -> Table:
        """All matches of ``rule``'s body (``subset`` restricts the ``first`` atom's rows)."""
        parts, size, empty = [], 0, Table(0)
        watch = self.shared.watch_now()
        for t in self.iter_body(rule, first, subset):
            if t.n == 0:
                empty = t
                continue
            # Every match is kept here (answers, violations): they count against the budget.
            size += t.n * 8 * (len(t.cols) + len(t.prem) + 1)
            watch.check_memory(size, f"the matches of {rule.label or 'a rule'}")
            parts.append(t)
        return concat(parts, empty) if parts else empty

    def iter_body(self, rule: CRule, first: int | None = None,
                  subset: dict[int, np.ndarray] | None = None) -> Iterator[Table]:
        """The matches of ``rule``'s body as a stream of tables of bounded size.

        Depth first: a join too big for one chunk is cut into chunks, and each chunk runs
        through the rest of the body before the next is made, so only one chunk per body
        literal is alive at a time. Empty tables may come too.
        """
        plan = self.plan(rule, first)
        watch = self.shared.watch_now()
        levels: list[Iterator[Table]] = [iter((Table.unit(),))]
        while levels:
            t = next(levels[-1], None)
            if t is None:
                levels.pop()
                continue
            i = len(levels) - 1
            if i == len(plan) or t.n == 0:
                yield t
                continue
            watch.check_time()
            li, keep = plan[i]
            lit = rule.body[li]
            sub = subset if i == 0 else None
            if isinstance(lit, CAtom) and not lit.negated:
                levels.append(join_atom_chunks(self, t, lit, keep, sub))
            else:
                levels.append(iter((apply(self, t, lit, keep, sub),)))

    def budget_join(self, total: int, row_bytes: int, key: Key) -> int:
        """Check the limits before a join of ``total`` rows of ``key``; rows per chunk."""
        watch = self.shared.watch_now()
        watch.check_time()
        if total > watch.limits.max_facts:  # the name is only worked out for the message
            watch.check_join(total, f"with {self.shared.namer(key)}")
        return watch.chunk_rows(row_bytes)

    def head_rows(self, rule: CRule, t: Table) -> list[tuple[Relation, np.ndarray, np.ndarray]]:
        """Split the head tuples of matches ``t`` by target relation: ``(rel, rows, which)``."""
        if rule.head_key == TYPE_ANY:
            x, c = rule.head_args
            xs = t.col(x)
            return [(self.own_relation(("c", value)), xs[which][:, None], which)
                    for value, which in group_rows(t.col(c))]
        rows = np.stack([t.col(a) for a in rule.head_args], axis=1) if rule.head_args else np.zeros((t.n, 0), np.int64)
        return [(self.own_relation(rule.head_key), rows, np.arange(t.n))]

    def scores_of(self, rule: CRule, t: Table) -> np.ndarray:
        """Head scores of matches ``t``: weight × body scores, float64 ``(n,)``."""
        # The body product was accumulated join by join; the semiring applies the weight.
        out = self.semiring.conjoin(rule.weight, [np.ones(t.n) if t.score is None else t.score])
        return np.ones(t.n) if out is None else out

    def premises(self, rule: CRule, t: Table, which: np.ndarray | None = None) -> np.ndarray:
        """int64 ``(n, slots)`` premise handles of matches ``t`` (of rows ``which`` only)."""
        n = t.n if which is None else len(which)
        if not rule.slots:
            return np.zeros((n, 0), dtype=np.int64)
        out = np.empty((n, rule.slots), dtype=np.int64)
        for s in range(rule.slots):
            h = t.prem.get(s)
            out[:, s] = -1 if h is None else (h if which is None else h[which])
        return out

    def derive(self, rule: CRule, t: Table, changed: dict[int, list[np.ndarray]], stamp: int, st: Stratum) -> None:
        """Merge the head facts of matches ``t`` into their relations."""
        if t.n == 0:
            return
        scores = self.scores_of(rule, t)
        # Premises are gathered for the kept candidates only (most are known facts).
        prem_bytes = 8 * t.n * rule.slots
        better = self.semiring.improved
        split = self.head_rows(rule, t)
        watch = self.shared.watch_now()
        watch.check_time()
        budget = watch.limits.max_memory
        for rel, rows, which in split:
            before, held = rel.n, rel.nbytes()
            # Before the relation grows: the copy of its columns, its hash table, the derivations.
            # (Messages are only worked out when a limit is hit: naming a key is slow.)
            if budget is not None:
                watch.check_memory(rel.growth_bytes(len(rows)) + prem_bytes, self.shared.namer(rel.key))
            sc = scores if len(split) == 1 else scores[which]
            ch, chosen = rel.merge(rows, sc, rule.id, better, stamp, self.tracks_scores)
            watch.grown += rel.nbytes() - held + 8 * len(ch) * max(rule.slots, 1)
            if len(ch):
                rel.deriv[ch] = self.derivs[rule.id].append(
                    self.premises(rule, t, chosen if len(split) == 1 else which[chosen]))
                changed.setdefault(rel.rel_id, []).append(ch)
                self.written.setdefault(st.nodes, set()).add(rel.key)
            self.n_derived += rel.n - before
            if self.n_derived > watch.limits.max_facts:
                watch.check_facts(self.n_derived, f"rule {rule.label or rule.id} kept deriving "
                                                  f"{self.shared.namer(rel.key)} facts")

    def derive_all(self, rule: CRule, changed: dict[int, list[np.ndarray]], stamp: int, st: Stratum) -> None:
        """Run ``rule`` over whole relations, merging its matches chunk by chunk."""
        for t in self.iter_body(rule):
            self.derive(rule, t, changed, stamp, st)

    # -- strata --------------------------------------------------------------------------------
    def fire_delta(self, rule: CRule, delta: dict[int, np.ndarray], changed: dict, stamp: int, st: Stratum) -> None:
        """Re-run ``rule`` once per body atom that has changed rows in ``delta``."""
        for li, lit in enumerate(rule.body):
            if not isinstance(lit, CAtom) or lit.negated or lit.neural:
                continue
            sub = {rel.rel_id: delta[rel.rel_id] for rel, _ in self.relations_for(lit.key) if rel.rel_id in delta}
            if sub:
                for t in self.iter_body(rule, li, sub):
                    self.derive(rule, t, changed, stamp, st)

    def eval_stratum(self, st: Stratum, since: int | None) -> None:
        """Run one stratum to its fixpoint (from scratch when ``since`` is None)."""
        stamp = self.shared.tick()
        changed: dict[int, list[np.ndarray]] = {}
        if since is None:
            for rule in st.rules:
                self.derive_all(rule, changed, stamp, st)
        else:
            delta = {}
            for key in st.reads | st.writes:
                for rel, _ in self.relations_for(key):
                    rows = rel.changed_since(since)
                    if len(rows):
                        delta[rel.rel_id] = rows
            for rule in st.rules:
                if rule.id in self.new_rules:
                    self.derive_all(rule, changed, stamp, st)
                else:
                    self.fire_delta(rule, delta, changed, stamp, st)
        rounds = 0
        while changed and st.recursive:
            self.shared.watch_now().check_time()
            rounds += 1
            self.rounds += 1
            if rounds > self.shared.max_iterations:
                names = sorted({self.shared.namer(self.by_id[r].key) for r in changed})
                raise LimitExceeded(
                    f"evaluation stopped after {self.shared.max_iterations:,} rounds (max_iterations): "
                    f"{', '.join(names)} kept changing (rules: "
                    f"{', '.join(sorted({r.label or str(r.id) for r in st.rules}))})")
            delta = {r: _distinct(parts) for r, parts in changed.items()}
            changed = {}
            stamp = self.shared.tick()
            for rule in st.rules:
                self.fire_delta(rule, delta, changed, stamp, st)
        if not self.semiring.idempotent:
            noisyor_fixpoint(self, st)
        if self.semiring.k > 1:
            keep_alternatives(self, st)

    def all_derivations(self, rule: CRule) -> list[tuple[Relation, np.ndarray, np.ndarray, np.ndarray]]:
        """Every ground derivation of ``rule`` now: ``(rel, rows_idx, scores, premises)``."""
        t = self.run_body(rule)
        if t.n == 0:
            return []
        scores, prem = self.scores_of(rule, t), self.premises(rule, t)
        out = []
        for rel, rows, which in self.head_rows(rule, t):
            out.append((rel, rel.find(rows), scores[which], prem[which]))
        return out

    def mode(self, st: Stratum) -> str:
        """``full``, ``reset``, ``continue`` or ``skip`` for the next run of ``st``."""
        if st.nodes in self.dirty:
            return "reset"
        done = self.done.get(st.nodes)
        if done is None:
            return "full"
        for key in st.strict_reads:
            for rel, _ in self.relations_for(key):
                if rel.last_change > done or rel.replaced > done:
                    return "reset"
        for key in st.reads:
            for rel, _ in self.relations_for(key):
                if rel.replaced > done:
                    return "reset"
        if any(r.id in self.new_rules for r in st.rules):
            return "continue"
        for key in st.reads | st.writes:
            for rel, _ in self.relations_for(key):
                if rel.last_change > done:
                    return "continue"
        return "skip"

    def reset(self, keys: Iterable[Key], rules: Iterable[CRule]) -> None:
        """Drop the derived facts of ``keys`` (back to the input facts) and their derivations."""
        stamp = self.shared.tick()
        for key in set(keys):
            old = self.own.pop(key, None)
            if old is None:
                continue
            self.by_id.pop(old.rel_id, None)
            self.alts.pop(old.rel_id, None)
            rel = self.own_relation(key)
            rel.replaced = stamp
            rel.last_change = max(rel.last_change, stamp)
        for r in rules:
            self.derivs[r.id] = DerivTable(r.slots)

    def run(self) -> dict:
        """Bring every stratum up to date; returns statistics."""
        t0 = time.perf_counter()
        rounds0 = self.rounds
        writers: dict[Key, set[frozenset]] = {}
        for st in self.strata:
            for key in set(st.writes) | self.written.get(st.nodes, set()):
                writers.setdefault(key, set()).add(st.nodes)
        restart = True
        while restart:
            restart = False
            for st in self.strata:
                mode = self.mode(st)
                if mode == "skip":
                    continue
                since = self.done.get(st.nodes) if mode == "continue" else None
                if mode == "reset":
                    keys = set(st.writes) | self.written.get(st.nodes, set())
                    if any(len(writers.get(k, ())) > 1 for k in keys) or TYPE_ANY in keys:
                        # A relation shared with another stratum: start everything afresh.
                        self.reset(list(self.own), self.rules)
                        self.done.clear()
                        self.dirty.clear()
                        restart = True
                        break
                    self.reset(keys - {TYPE_ANY}, st.rules)
                self.dirty.add(st.nodes)
                self.done.pop(st.nodes, None)
                self.eval_stratum(st, since)
                self.dirty.discard(st.nodes)
                self.done[st.nodes] = self.shared.tick()
        self.new_rules.clear()
        return {"iterations": self.rounds - rounds0, "seconds": time.perf_counter() - t0}

    def has_derived(self, st: Stratum) -> bool:
        """Whether relations ``st`` writes already hold derived facts (from earlier runs)."""
        keys = set(st.writes) | self.written.get(st.nodes, set())
        if TYPE_ANY in keys:
            keys |= {k for k in self.own if k[0] == "c"}
        for key in keys:
            rel = self.own.get(key)
            if rel is not None and (rel.rule[: rel.n] >= 0).any():
                return True
        return False

    def fresh(self) -> bool:
        """Whether every stratum is up to date (a run would change nothing)."""
        return not self.new_rules and all(self.mode(st) == "skip" for st in self.strata)
