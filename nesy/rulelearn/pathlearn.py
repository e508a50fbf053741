"""The default rule learner: mined path rules weighted for noisy-or over rules (`nesy learn`).

Three steps over compact ids (see :mod:`nesy.rulelearn.mine` and :mod:`nesy.rulelearn.weights`):
the training triples are hidden from the graph in bulk (queries whose own edge a rule could
read off teach nothing; without a training file the graph's triples take turns in five
folds), the bodies that connect the most training pairs become candidates,
and a noisy-or layer learns one probability per rule on those queries. Rules below
``min_weight`` are dropped and at most ``top`` are kept per relation. The validation MRR is
that of the reasoner's ``noisyor-rules`` scores of the kept rules applied to the graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nesy.errors import NesyError

#: The semiring learned rule weights are fitted for (written into the rule file's header).
SEMIRING = "noisyor-rules"
#: Header line naming the semiring a learned rule file's weights were fitted for.
SEMIRING_HEADER = "# nesy:semiring"
#: Folds of the graph's triples that take turns as queries when no training file is given.
FOLDS = 5


@dataclass
class PathResult:
    """The kept rules (:class:`~nesy.rulelearn.decode.LearnedRule`, weight = probability), the
    number of candidates weighed, the queries they were fitted on, valid MRR and seconds."""

    rules: list[Any]
    candidates: int
    queries: int
    best_valid_mrr: float | None
    seconds: float
    history: list[dict[str, Any]]


def split_queries(graph: np.ndarray, train: np.ndarray | None, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(graph the rules learn on, training queries) parts: ``train`` hidden from the graph;
    without a training file, ``FOLDS`` seeded folds of each relation with two or more
    triples, each fold the queries of one part with the rest of the graph its facts, so
    every such triple is a query once."""
    if train is None:
        rng = np.random.default_rng(seed)
        order = np.lexsort((rng.random(len(graph)), graph[:, 1]))
        rel = graph[order, 1]
        first = np.searchsorted(rel, rel, "left")
        size = np.searchsorted(rel, rel, "right") - first
        fold = np.full(len(graph), -1)
        fold[order] = np.where(size >= 2, (np.arange(len(rel)) - first) % FOLDS, -1)
        return [(graph[fold != f], graph[fold == f]) for f in range(FOLDS) if (fold == f).any()]
    E = int(max(graph[:, [0, 2]].max(initial=0), train[:, [0, 2]].max(initial=0))) + 1
    R = int(max(graph[:, 1].max(initial=0), train[:, 1].max(initial=0))) + 1
    key = (graph[:, 0] * R + graph[:, 1]) * E + graph[:, 2]
    hide = (train[:, 0] * R + train[:, 1]) * E + train[:, 2]
    return [(graph[~np.isin(key, hide)], train)]


def learn_paths(
    graph: np.ndarray, train: np.ndarray | None, num_entities: int, num_relations: int,
    relations: list[int], *, valid: np.ndarray | None = None, known: np.ndarray | None = None,
    max_len: int = 3, top: int = 200, min_weight: float = 0.001, seed: int = 0,
    on_epoch: Callable[[dict[str, Any]], None] | None = None, require: bool = True,
) -> PathResult:
    """Mine, weigh and prune chain rules for ``relations``.

    Args:
        graph: int64 (n, 3) the knowledge base's entity triples.
        train: int64 (m, 3) training triples, or None to hold out a share of the graph.
        num_entities: E.  num_relations: R.
        relations: Base relations to learn rules for (each needs training triples).
        valid: int64 (k, 3) validation triples: the MRR reported.
        known: int64 (j, 3) true triples filtered when ranking valid (default graph + train).
        max_len: Longest body, 1..3.
        top: Rules kept per relation (most probable first).
        min_weight: Rules whose learned probability is below this are dropped.
        seed: Seeds the hold-out and the pair samples.
        on_epoch: Called once with the record (epoch 1, loss None, valid_mrr, seconds).
        require: Every relation must get queries; when False, relations the hold-out leaves
            without one (a single triple) are skipped.
    """
    import torch

    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # sparse products of graphs this size: a second thread only waits
    try:
        return _learn(graph, train, num_entities, num_relations, relations, valid, known, max_len, top,
                      min_weight, seed, on_epoch, start, require)
    finally:
        torch.set_num_threads(threads)


def _learn(graph: np.ndarray, train: np.ndarray | None, num_entities: int, num_relations: int,
           relations: list[int], valid: np.ndarray | None, known: np.ndarray | None, max_len: int, top: int,
           min_weight: float, seed: int, on_epoch: Callable[[dict[str, Any]], None] | None,
           start: float, require: bool) -> PathResult:
    from nesy.rulelearn.decode import LearnedRule
    from nesy.rulelearn.mine import mine_bodies
    from nesy.rulelearn.weights import learn_weights

    if not 1 <= max_len <= 3:
        raise NesyError(f"the path rule learner mines bodies of 1 to 3 atoms, not --max-len {max_len}")
    parts = [(g, q[np.isin(q[:, 1], relations)]) for g, q in split_queries(graph, train, seed)]
    queries = np.concatenate([q for _, q in parts]) if parts else np.zeros((0, 3), np.int64)
    missing = sorted(set(relations) - set(np.unique(queries[:, 1]).tolist()))
    if train is None and not require:
        # Folds of the graph: a relation with one triple has no query; it gets no rules.
        relations, missing = [r for r in relations if r not in set(missing)], []
    if missing or not len(queries):
        raise NesyError(f"no training triples for relation(s) {missing}: rules are learned only for "
                        "relations with examples" if missing else "no training triples")
    bodies = mine_bodies(parts, num_entities, num_relations, max_len=max_len, seed=seed)
    weights = learn_weights(parts, np.concatenate([graph] + ([train] if train is not None else [])),
                            num_entities, num_relations, bodies)
    rules = []
    for r in relations:
        w = weights.get(r, np.zeros(0))
        for i in np.argsort(-w, kind="stable")[:top]:
            p = float(f"{w[i]:.4f}")  # the weight the file carries is the weight ranked by
            if p >= min_weight and p > 0:
                rules.append(LearnedRule(r, bodies[r][i], weight=p, confidence=p, num_relations=num_relations))
    mrr = None
    if valid is not None and len(valid):
        mrr = valid_mrr(rules, graph if train is None else np.concatenate([graph, train]), valid,
                        known if known is not None else np.concatenate([graph] + ([train] if train is not None else [])),
                        num_entities, num_relations)
    entry = {"epoch": 1, "loss": None, "valid_mrr": mrr, "seconds": time.perf_counter() - start}
    if on_epoch is not None:
        on_epoch(entry)
    return PathResult(rules, sum(map(len, bodies.values())), len(queries), mrr,
                      time.perf_counter() - start, [entry])


def valid_mrr(rules: list[Any], graph: np.ndarray, valid: np.ndarray, known: np.ndarray,
              num_entities: int, num_relations: int) -> float:
    """Filtered MRR (realistic ties, both directions) of ``rules``' noisy-or scores on ``valid``."""
    import torch

    from nesy.ml.ranking import AnswerIndex, rank_queries
    from nesy.rulelearn.decode import Walker
    from nesy.rulelearn.weights import scores

    walk = Walker(graph, num_entities, num_relations)
    R = num_relations
    index = AnswerIndex(np.concatenate([known, valid]), 2 * R, R)
    h, r, t = valid[:, 0], valid[:, 1], valid[:, 2]
    _, ranks = rank_queries(lambda a, b: scores(walk, rules, a, b, R), np.concatenate([h, t]),
                            np.concatenate([r, r + R]), np.concatenate([t, h]), index,
                            batch_size=1024, device=torch.device("cpu"))
    return float((1.0 / ranks).mean()) if len(ranks) else 0.0


__all__ = ["FOLDS", "SEMIRING", "SEMIRING_HEADER", "PathResult", "learn_paths", "split_queries", "valid_mrr"]
