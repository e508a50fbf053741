"""Random stratified programs for the engine's differential tests (clingo, retraction).

:class:`Gen` draws, per seed, a random EDB over integer constants and 2-4 derived
predicates on up to three levels (recursion within a level, negation only of lower
levels), with joins, repeated and anonymous variables, constants, comparisons, guarded
arithmetic, counts and ``rdf:type(X, C)`` atoms with a variable class.
"""

from __future__ import annotations

import random
from dataclasses import replace

from rdflib import RDF, Literal, URIRef
from reasoner_dsl import EX

from nesy.engine.reasoner import Reasoner
from nesy.errors import StratificationError
from nesy.rules.ast import Aggregate, Assignment, Atom, BinOp, Comparison, Rule, Var
from nesy.store.vocab import Vocab

OPS = ["<", "<=", ">", ">=", "!=", "=="]
CLASSES = {"d0", "p0", "p1", "p2", "p3"}


class Gen:
    """Random stratified program generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        r = self.rng
        self.n = r.randint(3, 8)
        self.edb = {"e0": 2, "e1": 2, "d0": 1}
        self.idb = {f"p{i}": r.choice([1, 2, 2]) for i in range(r.randint(2, 4))}
        self.level = dict.fromkeys(self.edb, -1)
        lv = 0
        for p in self.idb:
            self.level[p] = lv
            if r.random() < 0.4:
                lv += 1
        self.arity = {**self.edb, **self.idb}
        # Sometimes a subclass-style rule with a variable class in head and body.
        self.generic = r.random() < 0.15
        self.classes = ["d0"] + [p for p, a in self.idb.items() if a == 1]
        self.compare = {**self.idb, "d0": 1} if self.generic else self.idb

    def facts(self) -> dict[str, set[tuple[int, ...]]]:
        r = self.rng
        out = {}
        for p, a in self.edb.items():
            k = r.randint(self.n // 2 + 1, 4 * self.n)
            out[p] = {tuple(r.randrange(self.n) for _ in range(a)) for _ in range(k)}
        if self.generic:
            out["sub"] = {(r.choice(self.classes), r.choice(self.classes)) for _ in range(3)}
        return out

    def term(self, vars_: list[str]) -> object:
        if self.rng.random() < 0.12:
            return Literal(self.rng.randrange(self.n))
        return Var(self.rng.choice(vars_))

    def atom(self, pred: str, vars_: list[str], negated: bool = False, anon: float = 0.1) -> Atom:
        args = []
        for _ in range(self.arity[pred]):
            args.append(Var("_") if self.rng.random() < anon else self.term(vars_))
        return Atom(EX[pred], tuple(args), negated)

    def rule(self, head: str) -> Rule:
        r = self.rng
        lvl = self.level[head]
        pos_preds = [p for p in self.arity if self.level[p] <= lvl]
        neg_preds = [p for p in self.arity if self.level[p] < lvl]
        pool = ["X", "Y", "Z", "W"][: r.randint(2, 4)]
        body: list = [self.atom(r.choice(pos_preds), pool) for _ in range(r.randint(1, 3))]
        if r.random() < 0.12:  # rdf:type with a variable class
            body.append(Atom(RDF.type, (Var(r.choice(pool)), Var("C"))))
        bound = sorted({a.name for b in body for a in b.args if isinstance(a, Var) and not a.anonymous})
        ents = [v for v in bound if v != "C"]
        if not ents:
            body.append(Atom(EX.d0, (Var("X"),)))
            ents = ["X"]
            bound = sorted(set(bound) | {"X"})
        if neg_preds and r.random() < 0.35:
            body.append(self.atom(r.choice(neg_preds), ents, negated=True, anon=0.3))
        if r.random() < 0.25:
            a = Var(r.choice(ents))
            b = Var(r.choice(ents)) if r.random() < 0.6 else Literal(r.randrange(self.n))
            body.append(Comparison(r.choice(OPS), a, b))
        if r.random() < 0.1:
            v = r.choice(ents)
            body.append(Comparison("<", Var(v), Literal(self.n)))
            body.append(Assignment(Var("S"), BinOp("+", Var(v), Literal(1))))
            bound.append("S")
            ents.append("S")
        if neg_preds and r.random() < 0.1:
            g = r.choice(ents)
            inner = r.choice([p for p in neg_preds if self.arity[p] == 2] or ["e0"])
            body.append(Aggregate(Var("N"), "count", (Var("Q"),), (Atom(EX[inner], (Var(g), Var("Q"))),)))
            bound.append("N")
        hargs = []
        for _ in range(self.arity[head]):
            hargs.append(Literal(r.randrange(self.n)) if r.random() < 0.05 else Var(r.choice(bound)))
        return Rule(Atom(EX[head], tuple(hargs)), tuple(body))

    def program(self) -> list[Rule]:
        rules = [self.rule(p) for p in self.idb for _ in range(self.rng.randint(1, 3))]
        if self.generic:
            x, c, d = Var("X"), Var("C"), Var("D")
            rules.append(Rule(Atom(RDF.type, (x, c)), (Atom(RDF.type, (x, d)), Atom(EX.sub, (d, c)))))
        return rules


def term_of(v: int | str) -> Literal | URIRef:
    """An EDB value as a term: entities are integers, class names IRIs."""
    return EX[v] if isinstance(v, str) else Literal(v)


def py_of(term: object) -> object:
    """The EDB value a term stands for (the inverse of :func:`term_of`)."""
    if isinstance(term, Literal):
        return term.toPython()
    return str(term)[len(str(EX)):]


def weighted(seed: int, rules: list[Rule], facts: dict) -> tuple[list[Rule], dict]:
    """The rules with random weights, and a random score per fact (``{pred: {row: score}}``)."""
    rng = random.Random(seed)
    rules = [replace(r, weight=rng.choice([None, 0.9, 0.6])) for r in rules]
    scored = {p: {row: rng.choice([1.0, 0.8, 0.5, 0.3]) for row in sorted(rows)} for p, rows in facts.items()}
    return rules, scored


def stratified(start: int, n: int) -> list[tuple[int, Gen, list[Rule], dict]]:
    """The first ``n`` generated programs, from seed ``start`` on, that the reasoner can
    stratify: ``(seed, generator, rules, facts)`` (a variable-class ``rdf:type`` atom can
    close a cycle through negation; those seeds are skipped)."""
    out = []
    seed = start
    while len(out) < n:
        g = Gen(seed)
        facts = g.facts()
        rules = g.program()
        try:
            Reasoner(Vocab()).add_rules(rules)
        except StratificationError:
            seed += 1
            continue
        out.append((seed, g, rules, facts))
        seed += 1
    return out
