"""Explanations: proofs rebuilt from derivation pointers, and why-not reports.

Proofs are built lazily: a fact's row names the rule of its best derivation and that
derivation's premise handles; following them down to input facts gives the proof DAG.
Variable bindings are recovered from the head and premise rows; steps that bind no
premise (assignments, built-ins, aggregates) are re-run on the one-row binding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nesy.engine.compile import (
    TYPE_ANY,
    CAggregate,
    CAssign,
    CAtom,
    CBuiltin,
    CCompare,
    CRule,
    Key,
    binds,
)
from nesy.engine.evaluator import Evaluator
from nesy.engine.ops import apply
from nesy.engine.planner import make_plan
from nesy.engine.proofjson import RDF_TYPE
from nesy.engine.proofs import GroundAtom, Proof, RuleInfo, rule_info, term_text
from nesy.engine.relation import HANDLE_MASK, HANDLE_SHIFT, Relation
from nesy.engine.table import Table
from nesy.rules import ast
from nesy.rules.printer import format_literal

InputInfo = Callable[[Key, int], tuple[str, dict[str, Any]]]


def base_key(key: Key) -> Key:
    """The user-level key behind a rewritten one (``ad``/``edb`` wrappers removed)."""
    while key[0] in ("ad", "edb"):
        key = key[1]
    return key


def fact_of(vocab: Any, key: Key, cols: Any) -> GroundAtom:
    """The ground atom stored as ``cols`` (ids, -1 = anonymous) in the relation ``key``."""
    key = base_key(key)
    term = vocab.term
    terms = tuple([None if c < 0 else term(c) for c in (cols.tolist() if isinstance(cols, np.ndarray) else cols)])
    if key[0] == "c":
        return GroundAtom(RDF_TYPE, (terms[0], vocab.term(key[1])))
    return GroundAtom(vocab.term(key[1]), terms)


class ProofBuilder:
    """Builds :class:`Proof` DAGs for the facts of one evaluator.

    Args:
        ev: The evaluator whose relations and derivations to follow.
        input_info: ``(key, input index) -> (kind, source dict)`` for input facts.
        prefixes: Used in rule texts and notes.
    """

    def __init__(self, ev: Evaluator, input_info: InputInfo, prefixes: dict[str, str] | None = None) -> None:
        self.ev = ev
        # Snapshots: answers build their proofs lazily, possibly after the evaluator has
        # recomputed a stratum (new relation and derivation objects); the old ones stay intact.
        self._by_id = dict(ev.by_id)
        self._derivs = dict(ev.derivs)
        self._clock = ev.shared.clock
        self.vocab = ev.vocab
        self.input_info = input_info
        self.prefixes = prefixes or {}
        self._memo: dict[tuple[int, int], Proof] = {}
        self._open: set[tuple[int, int]] = set()
        self._infos: dict[int, RuleInfo] = {}
        self._notes: dict[int, tuple[CRule, str | None]] = {}
        self._layouts: dict[int, tuple[CRule, list[tuple[int, int, tuple, bool, bool]], list[int]]] = {}
        self._tables: dict[int, tuple[Table, dict[str, list[int]], dict[int, list[int]]]] = {}

    def handle(self, handle: int) -> Proof:
        """The proof of the fact a premise handle points at."""
        rel, row = self.resolve(handle)
        return self.fact(rel, row)

    def knows(self, rel: Relation) -> bool:
        """Whether ``rel`` is the relation this builder saw under its id and the evaluator
        has run no round since (the proofs it built are still those of the model)."""
        return self._by_id.get(rel.rel_id) is rel and self.ev.shared.clock == self._clock

    def resolve(self, handle: int) -> tuple[Relation, int]:
        """The relation and row a premise handle points at (as of this builder's creation)."""
        rel = self._by_id.get(int(handle) >> HANDLE_SHIFT)
        if rel is None:
            return self.ev.resolve(handle)
        return rel, int(handle) & HANDLE_MASK

    def fact(self, rel: Relation, row: int) -> Proof:
        """The proof of row ``row`` of ``rel`` through its best derivation."""
        key = (rel.rel_id, row)
        got = self._memo.get(key)
        if got is not None:
            return got
        rule_id = int(rel.rule[row])
        if rule_id < 0:  # an input fact: a leaf, no recursion
            node = self._memo[key] = self.derivation(rel, row, rule_id, int(rel.deriv[row]), float(rel.score[row]))
            return node
        if key in self._open:  # cannot happen with strict improvements; stay safe anyway
            return Proof(fact_of(self.vocab, rel.key, rel.cols[row]), "derived", float(rel.score[row]), note="cycle")
        self._open.add(key)
        try:
            node = self.derivation(rel, row, rule_id, int(rel.deriv[row]), float(rel.score[row]))
        finally:
            self._open.discard(key)
        self._memo[key] = node
        return node

    def alternatives(self, rel: Relation, row: int) -> list[Proof]:
        """The proofs of row ``row`` of ``rel`` through each derivation ``topk`` kept, best
        first (just the best proof under another semiring)."""
        alts = self.ev.alts.get(rel.rel_id)
        if alts is None:
            return [self.fact(rel, row)]
        rows, rules, derivs, scores = alts
        lo, hi = np.searchsorted(rows, row, "left"), np.searchsorted(rows, row, "right")
        return [self.derivation(rel, row, int(rules[i]), int(derivs[i]), float(scores[i]))
                for i in range(lo, hi)] or [self.fact(rel, row)]

    def predictor_source(self) -> dict[str, object]:
        """Source fields of a predicted leaf: the link predictor's own ``source`` dict
        (model, checkpoint...) when it has one."""
        described = getattr(self.ev.shared.link_predictor, "source", None)
        return {"model": "link predictor", **(described or {}), "neural": True}

    def application(self, rel: Relation, rule_id: int, deriv: int) -> tuple[CRule, list[int]]:
        """The compiled rule of a derivation of a fact of ``rel`` and its premise handles."""
        owner = rel.owner
        derivs = self._derivs if owner is self.ev else owner.derivs
        return owner.rules[rule_id], derivs[rule_id].data[deriv].tolist()

    def derivation(self, rel: Relation, row: int, rule_id: int, deriv: int, score: float) -> Proof:
        """The proof of a row through one given derivation (rule id -1: an input fact)."""
        cols = rel.cols[row].tolist()
        fact = fact_of(self.vocab, rel.key, cols)
        if rule_id < 0:
            if base_key(rel.key)[0] == "n":
                return Proof(fact, "predicted", score, source=self.predictor_source())
            kind, source = self.input_info(base_key(rel.key), deriv)
            return Proof(fact, kind, score, source=source)
        rule, prem = self.application(rel, rule_id, deriv)
        if rule.copy_edb:
            return self.handle(int(prem[0]))
        b: dict[str, int] = {}
        head = rule.head_args
        if rule.head_key == TYPE_ANY:
            cols = cols + [base_key(rel.key)[1]]
        for a, c in zip(head, cols, strict=False):
            if isinstance(a, str):
                b[a] = c
        premises = self.body(rule, prem, b)
        orig = rule.origin or rule
        return Proof(fact, orig.kind, score, self.info(orig), self.visible(b), premises)

    def layout(self, rule: CRule) -> tuple[list[tuple[int, int, tuple, bool, bool]], list[int]]:
        """The (cached) shape of a rule body: its matched atoms as ``(index, premise slot,
        args, rdf:type of any class, hidden)`` and the indices of its steps."""
        got = self._layouts.get(id(rule))
        if got is None:
            atoms = [(i, lit.slot, tuple(lit.args), lit.key == TYPE_ANY, bool(lit.hidden))
                     for i, lit in enumerate(rule.body) if isinstance(lit, CAtom) and not lit.negated and lit.slot >= 0]
            steps = [i for i, lit in enumerate(rule.body) if not (isinstance(lit, CAtom) and not lit.negated)]
            got = self._layouts[id(rule)] = (rule, atoms, steps)
        return got[1], got[2]

    def premises(self, rule: CRule, prem: list[int], b: dict[str, int]) -> Iterator[tuple[int, Any, int]]:
        """``(body position, relation, row)`` of each shown premise fact of one rule
        application, in body order; binds the atoms' variables into ``b`` as it goes."""
        for i, slot, args, type_any, hidden in self.layout(rule)[0]:
            if prem[slot] < 0:
                continue
            rel, row = self.resolve(prem[slot])
            cols = rel.cols[row].tolist()
            if type_any:
                cols.append(base_key(rel.key)[1])
            for a, c in zip(args, cols, strict=False):
                if isinstance(a, str):
                    b[a] = c
            if not hidden:
                yield i, rel, row

    def body(self, rule: CRule, prem: list[int], b: dict[str, int]) -> list[Proof]:
        """Premise and step nodes of one rule application, in body order; completes ``b``."""
        steps = self.layout(rule)[1]
        nodes: dict[int, Proof] = {i: self.fact(rel, row) for i, rel, row in self.premises(rule, prem, b)}
        if not steps:  # atoms only: the nodes are in body order already
            return list(nodes.values())
        todo = list(steps)
        while todo:
            ready = [i for i in todo if binds(rule.body[i], set(b)) is not None] or todo[:1]
            i = ready[0]
            todo.remove(i)
            nodes[i] = self.step(rule.body[i], b)
        return [nodes[i] for i in sorted(nodes)]

    def step(self, lit: Any, b: dict[str, int]) -> Proof:
        """A step node (negation, comparison, assignment, built-in, aggregate); may bind."""
        text = format_literal(lit.src, self.prefixes) if lit.src is not None else ""
        if isinstance(lit, CAtom):
            cols = [b.get(a, -1) if isinstance(a, str) else a for a in lit.args]
            key = lit.key
            if key == TYPE_ANY:
                key, cols = ("p", self.vocab.id(RDF_TYPE), 2), cols
            return Proof(fact_of(self.vocab, key, cols), "negation", 1.0, note="no such fact")
        # In a derivation every step held; re-run it only to recover a value the head and
        # premises did not bind (an assignment or aggregate result used nowhere else).
        produced = binds(lit, set(b))
        if produced is not None and not (produced - set(b)) and not getattr(lit, "negated", False):
            ok = True
        else:
            t = Table(1, {v: np.array([c], dtype=np.int64) for v, c in b.items()})
            out = apply(self.ev, t, lit, None)
            ok = bool(out.n)
            if ok:
                for v, c in out.cols.items():
                    b.setdefault(v, int(c[0]))
        shown = ", ".join(f"{v} = {term_text(self.vocab.term(b[v]), self.prefixes)}"
                          for v in sorted(_vars(lit)) if v in b and not v.startswith("_"))
        note = f"{text} ({shown})" if shown else text
        if isinstance(lit, CBuiltin):
            args = tuple(self.vocab.term(b[a]) if isinstance(a, str) and a in b else
                         (self.vocab.term(a) if isinstance(a, int) else None) for a in lit.args)
            kind = "negation" if lit.negated else "builtin"
            return Proof(GroundAtom(lit.pred.name, args), kind, 1.0, note=None if ok else "does not hold")
        kind = {CCompare: "comparison", CAssign: "assignment", CAggregate: "aggregate"}[type(lit)]
        return Proof(None, kind, 1.0, note=note if ok else f"{note} does not hold")

    def info(self, rule: CRule) -> RuleInfo:
        """The (cached) :class:`RuleInfo` of a compiled rule."""
        got = self._infos.get(id(rule))
        if got is None:
            src = rule.source or ast.Rule(None, ())
            got = self._infos[id(rule)] = rule_info(src, self.prefixes)
        return got

    def body_text(self, rule: CRule) -> str | None:
        """The (cached) body of a query or constraint in rule syntax, the note of its root node."""
        if id(rule) not in self._notes:
            src = rule.source
            self._notes[id(rule)] = (rule, ", ".join(format_literal(x, self.prefixes) for x in src.body)
                                     if src is not None else None)
        return self._notes[id(rule)][1]

    def visible(self, b: dict[str, int]) -> dict[str, Any]:
        """User-visible bindings (no anonymous or internal variables) as terms."""
        return {v: self.vocab.term(c) for v, c in b.items() if not v.startswith(("_", "#"))}

    def table_lists(self, table: Table) -> tuple[dict[str, list[int]], dict[int, list[int]]]:
        """The binding and premise-handle columns of ``table`` as Python lists, converted
        once per table (the answers of a query read one row each)."""
        got = self._tables.get(id(table))
        if got is None:
            got = self._tables[id(table)] = (table, {v: c.tolist() for v, c in table.cols.items()},
                                             {s: h.tolist() for s, h in table.prem.items()})
        return got[1], got[2]

    def matches(self, rule: CRule, table: Table, row: int, score: float, root_kind: str) -> Proof:
        """A root node for one match of a query or constraint body (row ``row`` of ``table``)."""
        cols, handles = self.table_lists(table)
        b = {v: c[row] for v, c in cols.items()}
        prem = [handles[s][row] if s in handles else -1 for s in range(rule.slots)]
        premises = self.body(rule, prem, b)
        if root_kind == "query" and len(rule.body) == 1 and len(premises) == 1:
            return premises[0]
        note = self.body_text(rule)
        info = self.info(rule) if root_kind != "query" else None
        return Proof(None, root_kind, score, info, self.visible(b), premises, note=note)


def _vars(lit: Any) -> set[str]:
    from nesy.engine.compile import lit_vars

    return lit_vars(lit)


@dataclass
class WhyNotReason:
    """Why one rule does not derive the atom: the first body literal without a match."""

    rule: str
    location: str | None
    literal: str
    message: str


@dataclass
class WhyNotReport:
    """Answer to ``why not atom?``.

    Attributes:
        atom: The atom asked about, in rule syntax.
        holds: True when the atom is in fact derivable (then ``score`` is set).
        score: Its best score when it holds.
        reasons: One entry per rule whose head could derive the atom.
        message: A one-paragraph summary.
    """

    atom: str
    holds: bool
    score: float | None = None
    reasons: list[WhyNotReason] = field(default_factory=list)
    message: str = ""

    def lines(self) -> list[str]:
        """The report as lines of text."""
        out = [self.message]
        out += [f"  rule {r.rule}{' (' + r.location + ')' if r.location else ''}: {r.message}" for r in self.reasons]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def why_not(ev: Evaluator, head_key: Key, args: tuple, atom_text: str, prefixes: dict[str, str]) -> WhyNotReport:
    """Explain why the atom ``head_key(args)`` (args: ids or variable names) is not derived.

    For each rule whose head unifies with the atom, the body is evaluated literal by
    literal under the head's bindings; the first literal that leaves no match is reported.
    """
    rel_rows = _lookup(ev, head_key, args)
    if rel_rows is not None:
        return WhyNotReport(atom_text, True, rel_rows, [], f"{atom_text} holds (score {rel_rows:.4g}).")
    reasons = []
    for rule in ev.rules:
        seed = _unify(rule, head_key, args)
        if seed is None:
            continue
        info = rule_info(rule.source, prefixes) if rule.source is not None else None
        t = Table(1, {v: np.array([c], dtype=np.int64) for v, c in seed.items()})
        msg, lit_txt = "every body literal matches, yet the atom was not derived (evaluation limit?)", ""
        for li, _ in make_plan(rule.body, None, set(seed), None):
            lit = rule.body[li]
            nxt = apply(ev, t, lit, None)
            if nxt.n == 0:
                lit_txt = format_literal(lit.src, prefixes) if lit.src is not None else str(lit)
                known = ", ".join(f"{v} = {term_text(ev.vocab.term(int(c[0])), prefixes)}"
                                  for v, c in sorted(t.cols.items()) if not v.startswith(("_", "#")) and t.n)
                suffix = f" (with {known}{' ...' if t.n > 1 else ''})" if known else ""
                if isinstance(lit, CAtom) and lit.negated:
                    msg = f"{lit_txt} fails: the atom holds{suffix}"
                elif isinstance(lit, CAtom):
                    msg = f"no fact matches {lit_txt}{suffix}"
                else:
                    msg = f"{lit_txt} is not satisfied{suffix}"
                break
            t = nxt
        where = info.where if info is not None and info.line else None
        reasons.append(WhyNotReason(info.label if info else str(rule.id), where, lit_txt, msg))
    if not reasons:
        return WhyNotReport(atom_text, False, None, [],
                            f"{atom_text} is not an input fact and no rule can derive it.")
    return WhyNotReport(atom_text, False, None, reasons,
                        f"{atom_text} is not derived; {len(reasons)} rule(s) could derive it:")


def _lookup(ev: Evaluator, key: Key, args: tuple) -> float | None:
    rels = ev.relations_for(key)
    best = None
    for rel, _ in rels:
        m = np.ones(rel.n, dtype=bool)
        for j, a in enumerate(args):
            if isinstance(a, int):
                m &= rel.cols[: rel.n, j] == a
        if m.any():
            s = float(rel.score[: rel.n][m].max())
            best = s if best is None else max(best, s)
    return best


def _unify(rule: CRule, key: Key, args: tuple) -> dict[str, int] | None:
    """Bindings that make ``rule``'s head equal the atom, or None when they cannot."""
    if rule.head_key is None:
        return None
    head = rule.head_args
    if rule.head_key == TYPE_ANY and key[0] == "c":
        args = (args[0], key[1])
    elif rule.head_key != key:
        return None
    b: dict[str, int] = {}
    for h, a in zip(head, args, strict=True):
        if isinstance(a, str):
            continue
        if isinstance(h, int):
            if h != a:
                return None
        elif b.setdefault(h, a) != a:
            return None
    return b
