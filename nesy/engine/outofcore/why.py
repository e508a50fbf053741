"""Proofs of facts derived out of core: rebuilt goal-directed from the few facts they need.

The engine keeps, per fact, the round that gave it its score (``it``). A fact's best
derivation applied a rule to premises of earlier rounds whose scores multiply to its
own, so :func:`support` finds one with a SELECT per derived fact (the rule's body bound to
the fact, premises stamped earlier, the best score first) and walks down to input facts;
an aggregate brings every fact of its group. A memory reasoner holding only those input
facts and the rules then builds the proof the usual way. Its negations were true in the
small model; each one that fails in the engine's (a fact the small model lacks) brings that
fact's support in too, until the proof holds against the whole model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from rdflib import RDF, URIRef

from nesy.engine.compile import CAggregate, CRule
from nesy.engine.outofcore.sqlgen import table_arity, table_of
from nesy.errors import NesyError, QueryError

if TYPE_CHECKING:
    from nesy.engine.outofcore.driver import OutOfCore
    from nesy.engine.proofs import Proof

#: Most facts one proof may fetch from the engine (a bound on time and memory).
MAX_SUPPORT = 100_000
Fact = tuple[str, tuple[int, ...]]  # (physical table, id row)


def _rules_of(ooc: OutOfCore, table: str) -> list[CRule]:
    return [r for r in ooc.compiled_rules if table_of(r.head_key)[0] == table]


def _head_row(rule: CRule) -> list[Any]:
    args = list(rule.head_args)
    if rule.head_key[0] == "c":
        args.append(int(rule.head_key[1]))
    return args


def _best(ooc: OutOfCore, rule: CRule, row: tuple[int, ...], stamp: int, score: float) -> dict | None:
    """One derivation of ``row`` by ``rule`` from premises of rounds before ``stamp`` that
    reaches ``score``: the bound body as one row of columns, or None."""
    head = _head_row(rule)
    if len(head) != len(row):
        return None
    q = ooc.sql.body(rule, rule.body, None, 0, weight=rule.weight, premises=True)
    conds, seen = [], {}
    for arg, value in zip(head, row, strict=True):
        if isinstance(arg, int):
            if arg != value:
                return None
        elif arg in seen:
            if seen[arg] != value:
                return None
        elif arg in q.computed:
            seen[arg] = value
            num = ooc.number_of(value)
            if num is None:
                return None
            conds.append(f"b.{q.vals[arg][0]} = CAST({num[0]!r} AS DOUBLE) AND b.{q.vals[arg][1]} = {num[1]}")
        else:
            seen[arg] = value
            conds.append(f"b.{q.ids[arg]} = {value}")
    n = len(rule.atoms())
    if n:
        conds += [f"b.it{i} < {stamp}" for i in range(n)]
    if ooc.semiring.tracks_scores:
        conds.append(f"b.score >= {score * (1 - 1e-9)!r}")
    where = " AND ".join(conds) or "TRUE"
    got = ooc.ex.fetch(f"SELECT * FROM ({q.sql}) b WHERE {where} ORDER BY b.score DESC LIMIT 1")
    if not len(got["score"]):
        return None
    return {k: v[0] for k, v in got.items()} | {"_q": q}


def _premises(rule: CRule, got: dict) -> list[tuple[Fact, int, int, float]]:
    """``((table, row), stamp, base, inscore)`` of each positive atom of a derivation row."""
    out = []
    for i, atom in enumerate(rule.atoms()):
        row = tuple(int(got[f"p{i}_{j}"]) for j in range(table_arity(atom.key)))
        out.append(((table_of(atom.key)[0], row), int(got[f"it{i}"]), int(got[f"base{i}"]), float(got[f"inscore{i}"])))
    return out


def _group_facts(ooc: OutOfCore, rule: CRule, got: dict) -> list[tuple[Fact, int, int, float]]:
    """Every fact the aggregates of a derivation counted (their groups, as bound there)."""
    q = got["_q"]
    values = {v: int(got[c]) for v, c in q.ids.items() if int(got[c]) >= 0}
    return [f for lit in rule.body if isinstance(lit, CAggregate) for f in _group(ooc, rule, lit, values)]


def _group(ooc: OutOfCore, rule: CRule, lit: CAggregate, values: dict[str, int]) -> list[tuple[Fact, int, int, float]]:
    """The facts of one aggregate's group: its body's positive atoms where the group
    variables have ``values`` (engine ids)."""
    inner = ooc.sql.body(rule, lit.body, None, 0, premises=True)
    conds = [f"b.{inner.ids[g]} = {values[g]}" for g in lit.group_vars if g in values and g in inner.ids]
    rows = ooc.ex.fetch(f"SELECT * FROM ({inner.sql}) b WHERE {' AND '.join(conds) or 'TRUE'}")
    atoms = [a for a in lit.body if getattr(a, "key", None) is not None and not a.negated]
    out = []
    for r in range(len(rows["score"])):
        for i, atom in enumerate(atoms):
            row = tuple(int(rows[f"p{i}_{j}"][r]) for j in range(table_arity(atom.key)))
            out.append(((table_of(atom.key)[0], row), int(rows[f"it{i}"][r]), int(rows[f"base{i}"][r]),
                        float(rows[f"inscore{i}"][r])))
    return out


def _aggregate_support(ooc: OutOfCore, proof: Proof) -> list[tuple[Fact, int, int, float]]:
    """The facts of every group an aggregate of ``proof`` counted, as the engine's model has
    them (the small model may lack some)."""
    out = []
    for node in proof.walk():
        if node.rule is None or not any(p.kind == "aggregate" for p in node.premises):
            continue
        values = {}
        for v, term in node.bindings.items():
            i = ooc.vocab.get(term)
            if i is not None:
                values[v] = ooc.engine_row((i,))[0]
        for rule in ooc.compiled_rules:
            if rule.source is not None and rule.source.label == node.rule.label:
                out += [f for lit in rule.body if isinstance(lit, CAggregate) for f in _group(ooc, rule, lit, values)]
    return out


def _state(ooc: OutOfCore, fact: Fact) -> tuple[int, int, float, float] | None:
    """``(stamp, base, inscore, score)`` of a fact in the engine's model, None when absent."""
    table, row = fact
    conds = " AND ".join(f"c{j} = {v}" for j, v in enumerate(row))
    got = ooc.ex.fetch(f"SELECT it, base, inscore, score FROM {table} WHERE {conds}")
    if not len(got["it"]):
        return None
    return int(got["it"][0]), int(got["base"][0]), float(got["inscore"][0]), float(got["score"][0])


def support(ooc: OutOfCore, goal: Fact, inputs: dict[Fact, float]) -> None:
    """Add to ``inputs`` (fact -> input score) the input facts of one best derivation of
    ``goal`` and of every fact it rests on."""
    state = _state(ooc, goal)
    if state is None:
        raise QueryError("the fact does not hold in the engine's model")
    support_all(ooc, [(goal, *state[:3])], inputs)


def support_all(ooc: OutOfCore, facts: list[tuple[Fact, int, int, float]], inputs: dict[Fact, float]) -> None:
    """:func:`support` of many facts, each given with its ``(stamp, base, inscore)``."""
    todo = list(facts)
    seen: set[Fact] = set()
    while todo:
        fact, stamp, base, inscore = todo.pop()
        if fact in seen:
            continue
        seen.add(fact)
        if len(seen) > MAX_SUPPORT:
            raise NesyError(f"the proof needs more than {MAX_SUPPORT:,} facts from the engine")
        if base and stamp == 0:
            inputs[fact] = max(inputs.get(fact, 0.0), inscore)
            continue
        score = _state(ooc, fact)[3]
        for rule in _rules_of(ooc, fact[0]):
            got = _best(ooc, rule, fact[1], stamp, score)
            if got is not None:
                todo += _premises(rule, got) + _group_facts(ooc, rule, got)
                break
        else:
            raise NesyError(f"no derivation of {fact} found in the engine's model")


def _fact_of_atom(ooc: OutOfCore, atom: Any) -> tuple[str, list[int | None]] | None:
    """``(table, pattern)`` of a proof's ground atom (None = any value)."""
    ids = [None if t is None else ooc.vocab.get(t) for t in atom.args]
    if any(t is not None and i is None for t, i in zip(atom.args, ids, strict=True)):
        return None  # a term the engine never saw: no such fact
    if atom.predicate == RDF.type and len(ids) == 2:
        return "tc", ids
    pid = ooc.vocab.get(URIRef(atom.predicate))
    if pid is None:
        return None
    table = f"p{pid}_{len(ids)}"
    return (table, ids) if table in ooc.tables else None


def _witness(ooc: OutOfCore, atom: Any) -> Fact | None:
    """A fact of the engine's model matching a negated atom of a proof, or None."""
    where = _fact_of_atom(ooc, atom)
    if where is None:
        return None
    table, ids = where
    ids = [None if i is None else ooc.engine_row((i,))[0] for i in ids]
    conds = [f"c{j} = {v}" for j, v in enumerate(ids) if v is not None]
    cols = ", ".join(f"c{j}" for j in range(len(ids)))
    got = ooc.ex.fetch(f"SELECT {cols} FROM {table} WHERE {' AND '.join(conds) or 'TRUE'} LIMIT 1")
    if not len(got["c0"]):
        return None
    return table, tuple(int(got[f"c{j}"][0]) for j in range(len(ids)))


def _local_reasoner(ooc: OutOfCore, inputs: dict[Fact, float]) -> Any:
    from nesy.engine.reasoner import Reasoner

    r = Reasoner(ooc.vocab, registry=ooc.registry, semiring=ooc.semiring.name)
    rdf_type = ooc.vocab.id(RDF.type)
    by_table: dict[str, list[tuple[tuple[int, ...], float]]] = {}
    for (table, row), score in inputs.items():
        by_table.setdefault(table, []).append((row, score))
    for table, items in by_table.items():
        pred = rdf_type if table == "tc" else int(table[1:].split("_")[0])
        rows = np.array([row for row, _ in items], dtype=np.int64)
        r.add_edb(pred, rows, np.array([s for _, s in items]))
    for kind in dict.fromkeys(rule.kind for rule in ooc.compiled_rules):
        r.add_rules([rule.source for rule in ooc.compiled_rules if rule.kind == kind and rule.source is not None],
                    kind=kind)
    return r


def rebuild_proof(ooc: OutOfCore, pred: int, row: tuple[int, ...], *, max_rounds: int = 50) -> Proof:
    """The best proof of ``pred(row)`` (ids; ``rdf:type`` rows are ``(s, class)``) in the
    model the engine computed, built by a memory reasoner over the facts it needs."""
    goal = ooc.engine_row(tuple(int(x) for x in row))
    table = "tc" if pred == ooc.vocab.id(RDF.type) else f"p{pred}_{len(row)}"
    if table not in ooc.tables and len(row) == 1 and "tc" in ooc.tables:
        table, goal = "tc", (goal[0], pred)
    inputs: dict[Fact, float] = {}
    support(ooc, (table, goal), inputs)
    want = _state(ooc, (table, goal))[3]
    for _ in range(max_rounds):
        proof = _local_reasoner(ooc, inputs).proof(pred, tuple(row))
        before = len(inputs)
        for fact in [w for n in proof.walk() if n.kind == "negation" and (w := _witness(ooc, n.fact)) is not None]:
            support(ooc, fact, inputs)
        # An aggregate counted what the small model holds: bring its whole group in.
        support_all(ooc, _aggregate_support(ooc, proof), inputs)
        if len(inputs) == before:
            if ooc.semiring.tracks_scores and abs(proof.score - want) > 1e-9 * max(1.0, want):
                raise NesyError(f"the rebuilt proof scores {proof.score:g}, the engine's model {want:g}")
            return proof
    raise NesyError("the proof did not settle against the engine's model")


__all__ = ["MAX_SUPPORT", "rebuild_proof", "support"]
