"""Rule weights learned for noisy-or over rules: calibrated probabilities fitted on training queries.

A candidate answer ``c`` of a query ``r(x, ?)`` (or ``r(?, x)``) scores
``1 - Π_k (1 - p_k)`` over the rules ``k`` of ``r`` whose body leads from ``x`` to ``c`` (each
rule counted once, however many paths it has): the ``noisyor-rules`` semiring of the
reasoner. Writing ``p_k = 1 - exp(-w_k)`` with ``w_k = softplus(θ_k) ≥ 0`` makes the score
``1 - exp(-Σ_k w_k [k reaches c])``: a differentiable layer whose parameters are the rule
weights. They are fitted by binary cross-entropy over every candidate some rule reaches
(true answers of the graph and the training triples are the positives), so a weight is
the probability that the rule's conclusion is true given the others, calibrated on the
data, and rules that only repeat stronger ones fall to ~0 (pruned).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from nesy.rulelearn.decode import Walker, invert

_CHUNK = 512  # starts walked at once: a hub-heavy graph reaches most entities in three steps
DENSE_MAX = 1 << 24  # entries of a dense incidence matrix (float32: 64 MiB)
#: Most (candidate, rule) incidences one relation's queries may give (about 1 GiB of arrays):
#: beyond, its queries are halved (seeded) until they fit. Hubs of large graphs need it.
INCIDENCE_BUDGET = 1 << 25


class _TooMany(Exception):
    """The incidences of a relation's queries went over the budget."""


def reach_rows(walk: Walker, body: tuple[int, ...], starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where ``body`` leads from each start (int64 (b,)): (index into starts, entity)."""
    rows, cols = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for lo in range(0, len(starts), _CHUNK):
        i, c = walk.reach(body, starts[lo:lo + _CHUNK])
        rows.append(i + lo)
        cols.append(c)
    return np.concatenate(rows), np.concatenate(cols)


def features(walk: Walker, relation: int, bodies: list[tuple[int, ...]], queries: np.ndarray,
             num_relations: int, budget: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (candidate, rule) incidences of a relation's queries in both directions.

    Args:
        walk: The graph the bodies walk over.
        relation: r.  bodies: its rules' operator paths (X to Z).
        queries: int64 (m, 3) training triples of r.
        num_relations: R.
        budget: Raise ``_TooMany`` past this many incidences (None: no limit).

    Returns:
        ``triples`` int64 (n, 3): each reached (x, r, z) candidate triple once (tail queries
        from the training heads, head queries from the training tails); ``rows`` and
        ``rules`` int64 (f,): the triple and the rule of every incidence.
    """
    R = num_relations
    keys, rules = [], []
    heads, tails = np.unique(queries[:, 0]), np.unique(queries[:, 2])
    E, total = walk.E, 0
    for k, body in enumerate(bodies):
        i, c = reach_rows(walk, body, heads)  # r(x, c) from heads x
        back = tuple(invert(o, R) for o in reversed(body))
        j, d = reach_rows(walk, back, tails)  # r(d, z) from tails z
        keys += [heads[i] * E + c, d * E + tails[j]]
        rules += [np.full(len(i) + len(j), k)]
        total += len(i) + len(j)
        if budget is not None and total > budget:
            raise _TooMany
    key = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    rule = np.concatenate(rules) if rules else np.zeros(0, dtype=np.int64)
    pairs, row = np.unique(key * max(len(bodies), 1) + rule, return_index=True)
    key, rule = key[row], rule[row]  # one incidence per (triple, rule), both directions merged
    uniq, at = np.unique(key, return_inverse=True)
    triples = np.stack([uniq // E, np.full(len(uniq), relation), uniq % E], 1)
    return triples, at.astype(np.int64), rule.astype(np.int64)


def fit_weights(rows: np.ndarray, rules: np.ndarray, labels: np.ndarray, num_rules: int, *,
                steps: int = 300, lr: float = 0.05, init: float = 0.05) -> np.ndarray:
    """Noisy-or rule probabilities (float64 (k,)) fitted by binary cross-entropy.

    Args:
        rows, rules: int64 (f,) incidences: candidate ``rows[i]`` is reached by ``rules[i]``.
        labels: float (n,) 1.0 for the true candidates.
        num_rules: k.
        steps: Full-batch Adam steps.  lr: Adam's learning rate.
        init: Every rule's starting probability.
    """
    n = len(labels)
    if not n or not num_rules:
        return np.zeros(num_rules)
    x = torch.sparse_coo_tensor(torch.from_numpy(np.stack([rows, rules])), torch.ones(len(rows)),
                                (n, num_rules)).coalesce()
    # Dense when it fits in 64 MiB: BLAS beats sparse products there, and the sparse
    # backward's per-step transposes cost memory.
    x = x.to_dense() if n * num_rules <= DENSE_MAX else x.to_sparse_csr()
    y = torch.as_tensor(labels, dtype=torch.float32)
    theta = torch.full((num_rules,), float(np.log(np.expm1(-np.log1p(-init)))), requires_grad=True)
    opt = torch.optim.Adam([theta], lr=lr)
    for _ in range(steps):
        w = torch.nn.functional.softplus(theta)
        z = (x @ w.unsqueeze(1)).squeeze(1)
        p = (-torch.expm1(-z)).clamp(1e-6, 1 - 1e-6)
        loss = torch.nn.functional.binary_cross_entropy(p, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        return (-torch.expm1(-torch.nn.functional.softplus(theta))).double().numpy()


def learn_weights(
    parts: list[tuple[np.ndarray, np.ndarray]], known: np.ndarray, num_entities: int, num_relations: int,
    bodies: dict[int, list[tuple[int, ...]]], *, steps: int = 300,
    on_relation: Callable[[int], None] | None = None,
) -> dict[int, np.ndarray]:
    """Per relation, the noisy-or probability of each candidate body (float64 (k,)).

    Args:
        parts: (graph, queries) pairs: the facts bodies walk over (the queries hidden) and
            the training triples; the candidates of every part are fitted together.
        known: int64 (j, 3) every true triple (graph, training triples): the positives.
        num_entities: E.  num_relations: R.
        bodies: relation -> operator paths (from :func:`~nesy.rulelearn.mine.mine_bodies`).
        steps: Adam steps per relation.
        on_relation: Called after each relation (progress).
    """
    E = num_entities
    walks = [(Walker(g, E, num_relations), np.asarray(q, dtype=np.int64).reshape(-1, 3)) for g, q in parts]
    true = np.unique((known[:, 0] * num_relations + known[:, 1]) * E + known[:, 2])
    out = {}
    for r, paths in bodies.items():
        labels, rows, rules, offset = [], [], [], 0
        for walk, queries in walks:
            mine = queries[queries[:, 1] == r]
            if not len(mine):
                continue
            triples, at, rule = _within_budget(walk, r, paths, mine, num_relations, INCIDENCE_BUDGET // len(walks))
            keys = (triples[:, 0] * num_relations + triples[:, 1]) * E + triples[:, 2]
            labels.append(np.isin(keys, true).astype(np.float32))
            rows.append(at + offset)
            rules.append(rule)
            offset += len(triples)
        out[r] = fit_weights(np.concatenate(rows), np.concatenate(rules), np.concatenate(labels), len(paths),
                             steps=steps) if labels else np.zeros(len(paths))
        if on_relation is not None:
            on_relation(r)
    return out


def _within_budget(walk: Walker, relation: int, paths: list[tuple[int, ...]], queries: np.ndarray,
                   num_relations: int, budget: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`features` of ``queries``, halved (a seeded sample) until they fit ``budget``."""
    rng = np.random.default_rng(relation)
    while True:
        try:
            return features(walk, relation, paths, queries, num_relations, budget if len(queries) > 1 else None)
        except _TooMany:
            queries = queries[np.sort(rng.choice(len(queries), len(queries) // 2, replace=False))]


def scores(walk: Walker, rules: list[Any], h: torch.Tensor, r: torch.Tensor, num_relations: int) -> torch.Tensor:
    """float (b, E): noisy-or over rules (each rule once, weight = its probability) for the
    queries ``(h, r, ?)`` (``r + R``: heads); rules are :class:`~nesy.rulelearn.decode.LearnedRule`."""
    R = num_relations
    logs = torch.zeros(len(h), walk.E, dtype=torch.float64)
    for q in r.unique().tolist():
        idx = (r == q).nonzero().squeeze(1)
        for rule in rules:
            if rule.head != q % R or not 0 < rule.weight:
                continue
            path = rule.body if q < R else tuple(invert(o, R) for o in reversed(rule.body))
            i, c = reach_rows(walk, path, h[idx].numpy())
            logs[idx[torch.from_numpy(i)], torch.from_numpy(c)] += float(np.log1p(-min(rule.weight, 1 - 1e-12)))
    return (-torch.expm1(logs)).float()


__all__ = ["features", "fit_weights", "learn_weights", "reach_rows", "scores"]
