"""Turn a rule learner's attention into readable chain rules, measure them, score queries by them.

A rule is a head base relation r and a body of operators (ids as in :mod:`nesy.rulelearn.model`:
p follows p(x, y) forwards, p + R backwards, 2R + 1 + 2p / 2R + 2 + 2p the soft links ~p):
``r(X, Z) :- op1(X, Y1), op2(Y1, Y2), ..., opn(Yn-1, Z)``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from nesy.errors import NesyError

_CHUNK = 4096  # start entities walked at once


@dataclass(frozen=True)
class LearnedRule:
    """A chain rule ``head(X, Z) :- body``.

    Attributes:
        head: Base relation id.
        body: Operator ids (no identity), X to Z.
        weight: Attention score, normalised to sum 1 over the head's decoded rules.
        support: Head facts the body derives (pairs (X, Z) with the body and the head).
        confidence: support / body pairs (0 when the body holds nowhere).
        head_coverage: support / facts of the head relation.
        num_relations: R, which tells inverse and soft operators apart; set by
            :func:`rule_stats` (0: not known yet).
    """

    head: int
    body: tuple[int, ...]
    weight: float = 1.0
    support: int = 0
    confidence: float = 0.0
    head_coverage: float = 0.0
    num_relations: int = 0


def invert(op: int, num_relations: int) -> int:
    """The operator that walks ``op``'s edges the other way."""
    R = num_relations
    if op < 2 * R:
        return (op + R) % (2 * R)
    if op == 2 * R:
        return op
    return op + 1 if (op - 2 * R) % 2 == 1 else op - 1


def _beam(att: Tensor, identity: int, beam: int) -> dict[tuple[int, ...], float]:
    """Bodies of one chain (att: float (T, K)) by beam search; identity steps collapsed and the
    attention of one body's placements summed (it is that chain's mass on the rule)."""
    states: dict[tuple[int, ...], float] = {(): 1.0}
    for step in att.tolist():
        grown: dict[tuple[int, ...], float] = {}
        for body, w in states.items():
            for op, a in enumerate(step):
                if a > 0:
                    key = body if op == identity else body + (op,)
                    grown[key] = grown.get(key, 0.0) + w * a
        states = dict(heapq.nlargest(beam, grown.items(), key=lambda kv: kv[1]))
    return states


def decode(
    model: Any, relations: list[int], *, top: int = 20, beam: int = 32,
    min_confidence: float = 0.0, facts: Any = None,
) -> list[LearnedRule]:
    """The ``top`` rules per head relation by attention, with their statistics on the graph.

    Rules of the inverse query ``r^-1(X, Z) :- body`` are rewritten as ``r(Z, X) :- reversed
    inverted body``; one body found by several chains or both directions keeps its highest
    weight. Empty bodies, the tautology ``r :- r`` and bodies that derive no known fact of the
    head (support 0) are skipped: a chain's attention is a product of per-step mixtures, so
    it also puts weight on combinations of steps that were never learned together.

    Args:
        model: A trained :class:`~nesy.rulelearn.model.RuleLearner`.
        relations: Base relations to decode rules for.
        top: Rules kept per head, by weight (20: on Neural LP's family split 10 rules per head
            ranked at 0.86-0.88 test MRR, 20 at 0.91-0.93).
        beam: Partial bodies kept per chain and step.
        min_confidence: Rules below this confidence are dropped.
        facts: int64 (n, 3) the triples statistics are measured on; by default the model's
            graph plus the training triples :func:`~nesy.rulelearn.neural_lp.learn` gave it.

    Returns:
        Rules grouped by head (in ``relations`` order), by decreasing weight.
    """
    R = model.num_relations
    bad = [r for r in relations if not 0 <= r < R]
    if bad:
        raise NesyError(f"decode: relation ids {bad} outside 0..{R - 1}")
    with torch.no_grad():
        att = model.attention(torch.arange(2 * R, device=model.src.device)).cpu()
    if facts is None:
        facts = torch.cat([model.graph, getattr(model, "train_triples", model.graph[:0])]).cpu()
    walk = Walker(facts, model.num_entities, R, model.soft_links())
    rules = []
    for r in relations:
        found: dict[tuple[int, ...], float] = {}
        for q in (r, r + R):
            for chain in att[q]:
                for body, w in _beam(chain, model.identity, beam).items():
                    if q >= R:
                        body = tuple(invert(o, R) for o in reversed(body))
                    if body and body != (r,):
                        found[body] = max(found.get(body, 0.0), w)
        total = sum(found.values()) or 1.0
        kept = 0
        for body, w in sorted(found.items(), key=lambda kv: -kv[1]):
            rule = _measure(walk, LearnedRule(r, body, w / total))
            if rule.support and rule.confidence >= min_confidence:
                rules.append(rule)
                kept += 1
                if kept == top:
                    break
    return rules


class Walker:
    """Sparse operator matrices of a graph, and reachability along operator paths."""

    def __init__(self, graph: Any, num_entities: int, num_relations: int,
                 soft_edges: dict[int, tuple[Any, Any]] | None = None) -> None:
        g = torch.as_tensor(np.asarray(graph, dtype=np.int64)).reshape(-1, 3)
        if len(g) and (g[:, 1].min() < 0 or g[:, 1].max() >= num_relations
                       or g[:, [0, 2]].min() < 0 or g[:, [0, 2]].max() >= num_entities):
            raise NesyError(f"graph triples must use entity ids 0..{num_entities - 1} and "
                            f"relation ids 0..{num_relations - 1}")
        self.E, self.R = num_entities, num_relations
        keys = torch.unique((g[:, 0] * num_relations + g[:, 1]) * num_entities + g[:, 2])
        self.graph = torch.stack([keys // num_entities // num_relations,
                                  keys // num_entities % num_relations, keys % num_entities], 1)
        self.soft = {int(r): torch.as_tensor(np.asarray(p, dtype=np.int64)).reshape(-1, 2)
                     for r, (p, _) in (soft_edges or {}).items()}
        self._mats: dict[int, Any] = {}

    def pairs(self, op: int) -> Tensor:
        """int64 (k, 2): the (from, to) steps of operator ``op``."""
        R, g = self.R, self.graph
        if op == 2 * R:
            return torch.arange(self.E).repeat(2, 1).t()
        if op > 2 * R:
            base = (op - 2 * R - 1) // 2
            rows = torch.cat([g[g[:, 1] == base][:, [0, 2]],
                              self.soft.get(base, torch.zeros(0, 2, dtype=torch.long))])
            return rows if (op - 2 * R) % 2 == 1 else rows.flip(1)
        rows = g[g[:, 1] == op % R][:, [0, 2]]
        return rows if op < R else rows.flip(1)

    def matrix(self, op: int) -> Any:
        """scipy CSR float32 (E, E) with [from, to] = 1 for each step of ``op``."""
        if op not in self._mats:
            from scipy import sparse

            p = self.pairs(op).numpy()
            m = sparse.csr_matrix((np.ones(len(p), np.float32), (p[:, 0], p[:, 1])), shape=(self.E, self.E))
            m.sum_duplicates()
            m.data[:] = 1
            self._mats[op] = m
        return self._mats[op]

    def reach(self, path: tuple[int, ...], starts: Any) -> tuple[np.ndarray, np.ndarray]:
        """Where ``path`` leads from each start (int64 (c,)): ``(rows, entities)``, int64 (k,)
        each, ``rows`` indexing ``starts``, in row order.

        Sparse products all the way (the reached sets are small next to E), in scipy: torch
        2.13's CPU CSR @ CSR keeps memory after each product (fitting umls' rule weights
        grew the resident set by ~45 MB a relation)."""
        from scipy import sparse

        s = np.asarray(starts, dtype=np.int64)
        c = len(s)
        v = sparse.csr_matrix((np.ones(c, np.float32), s, np.arange(c + 1)), shape=(c, self.E))
        for op in path:
            v = v @ self.matrix(op)
            v.data[:] = 1  # products count paths; we want existence
        return np.repeat(np.arange(c, dtype=np.int64), np.diff(v.indptr)), v.indices.astype(np.int64)


def rule_stats(
    rules: list[LearnedRule], graph: Any, num_entities: int, num_relations: int,
    *, soft_edges: dict[int, tuple[Any, Any]] | None = None,
) -> list[LearnedRule]:
    """``rules`` with support, confidence and head coverage measured on ``graph`` int64 (n, 3).

    Body pairs include X = Z (the reasoner derives those too). A soft operator ~p walks p's
    facts plus ``soft_edges[p]`` (any probability counts as an edge).
    """
    walk = Walker(graph, num_entities, num_relations, soft_edges)
    return [_measure(walk, rule) for rule in rules]


def _measure(walk: Walker, rule: LearnedRule) -> LearnedRule:
    """``rule`` with its statistics on the walker's graph."""
    E, g = walk.E, walk.graph
    heads = g[g[:, 1] == rule.head]
    head_keys = (heads[:, 0] * E + heads[:, 2]).numpy()
    starts = walk.pairs(rule.body[0])[:, 0].unique().numpy()
    pairs = support = 0
    for chunk in np.array_split(starts, max(1, -(-len(starts) // _CHUNK))):
        i, c = walk.reach(rule.body, chunk)
        keys = chunk[i] * E + c
        pairs += len(keys)
        support += int(np.isin(keys, head_keys).sum())
    return replace(rule, support=support, confidence=support / pairs if pairs else 0.0,
                   head_coverage=support / len(heads) if len(heads) else 0.0,
                   num_relations=walk.R)


def rule_scores(
    rules: list[LearnedRule], graph: Any, num_entities: int, num_relations: int,
    h: Tensor, r: Tensor, *, soft_edges: dict[int, tuple[Any, Any]] | None = None,
) -> Tensor:
    """The score each candidate gets from ``rules`` for the queries ``(h, r, ?)``.

    Maxprod over score-1 facts: max over the rules of the head of ``confidence x [the body
    leads from h to the candidate]`` (the weight :func:`format_rules` writes is the
    confidence). Rules are applied to the graph once: facts they derive do not feed other rules.

    Args:
        rules: Rules with statistics (see :func:`rule_stats`).
        graph: int64 (n, 3) the facts the bodies walk over.
        num_entities: E.  num_relations: R.
        h: int64 (b,) query entities.
        r: int64 (b,) query relations; ``r + R`` asks for heads (bodies read backwards).
        soft_edges: as in :func:`rule_stats`.

    Returns:
        float (b, E), 0 where no rule reaches.
    """
    walk = Walker(graph, num_entities, num_relations, soft_edges)
    h, r = torch.as_tensor(h, dtype=torch.long), torch.as_tensor(r, dtype=torch.long)
    R = num_relations
    scores = torch.zeros(len(h), num_entities)
    for q in r.unique().tolist():
        idx = (r == q).nonzero().squeeze(1)
        for rule in rules:
            if rule.head != q % R or rule.confidence <= 0:
                continue
            path = rule.body if q < R else tuple(invert(o, R) for o in reversed(rule.body))
            for part in torch.split(idx, _CHUNK):
                i, c = walk.reach(path, h[part].numpy())
                rows, cols = part[torch.from_numpy(i)], torch.from_numpy(c)
                scores[rows, cols] = torch.clamp(scores[rows, cols], min=rule.confidence)
    return scores


def _number(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


def format_rules(
    rules: list[LearnedRule], name_of: Callable[[int], str], *, num_relations: int | None = None,
) -> str:
    """Rules in nesy syntax, one a line, weighted by their confidence.

    ``name_of`` maps a base relation id to its written name (``fam:son``). A backward step
    ``p^-1(A, B)`` is written ``p(B, A)``, a soft step ``~p(A, B)``. Rules whose confidence
    rounds to 0 cannot carry a weight: they are written commented out. ``num_relations`` (R)
    is needed only for rules that have not been through :func:`rule_stats`.
    """
    lines = []
    for rule in rules:
        R = num_relations or rule.num_relations
        if not R:
            raise NesyError("format_rules: the rules do not know R; pass num_relations")
        names = ["X", *(f"Y{i}" for i in range(1, len(rule.body))), "Z"]
        atoms = []
        for i, op in enumerate(rule.body):
            a, b = names[i], names[i + 1]
            if op >= 2 * R:
                soft = "~"
                base, forward = (op - 2 * R - 1) // 2, (op - 2 * R) % 2 == 1
            else:
                soft, base, forward = "", op % R, op < R
            atoms.append(f"{soft}{name_of(base)}({a}, {b})" if forward
                         else f"{soft}{name_of(base)}({b}, {a})")
        weight = _number(rule.confidence)
        text = f"{name_of(rule.head)}(X, Z) :- {', '.join(atoms)}."
        # Rules of the path learner carry a learned probability, not graph statistics.
        note = (f"  # support {rule.support}, confidence {rule.confidence:.2f}, "
                f"attention {rule.weight:.2f}") if rule.support else ""
        lines.append(f"{weight} :: {text}{note}" if float(weight) > 0 else f"# {text}{note}")
    return "\n".join(lines) + ("\n" if lines else "")


def chain_path(
    head: tuple[int, str, str], body: list[tuple[int, str, str]], num_relations: int,
) -> tuple[list[int] | None, str]:
    """The operator path of a chain rule, or None and why the rule is not one.

    ``head`` is ``(r, X, Z)`` for ``r(X, Z)``; each body atom ``(p, A, B)`` for ``p(A, B)``. The
    body must lead from X to Z through fresh variables, each atom in either direction, using
    every atom once.
    """
    R = num_relations
    r, x, z = head
    if not 0 <= r < R or any(not 0 <= p < R for p, _, _ in body):
        return None, f"relation ids must be 0..{R - 1}"
    if x == z:
        return None, f"the head's arguments are the same variable {x}"
    if not body:
        return None, "the body is empty"
    left = list(body)
    path: list[int] = []
    cur, seen = x, {x}
    while left:
        nxt = [atom for atom in left if cur in atom[1:]]
        if len(nxt) != 1:
            why = "no body atom continues" if not nxt else "the body branches"
            return None, f"not a chain from {x} to {z}: {why} at {cur}"
        p, a, b = nxt[0]
        left.remove(nxt[0])
        if a == b:
            return None, f"atom {p}({a}, {b}) repeats a variable"
        path.append(p if a == cur else p + R)
        cur = b if a == cur else a
        if cur in seen:
            return None, f"the body returns to {cur}: a cycle, not a chain"
        seen.add(cur)
        if cur == z and left:
            return None, f"the body reaches {z} with atoms left over"
    if cur != z:
        return None, f"the body does not end at {z}"
    return path, ""
