"""Candidate chain rules from the paths that connect training pairs (bottom-up, as AnyBURL does).

For a training triple ``r(x, z)`` every walk ``x -op1-> y1 -op2-> ... -> z`` of at most three
steps over the graph (operators as in :mod:`nesy.rulelearn.model`: ``p`` forwards, ``p + R``
backwards) is the body of a rule ``r(X, Z) :- op1(X, Y1), ..., opn(Yn-1, Z)`` that explains
it. Counting, per body, how many training pairs it connects gives the candidates worth
weighting; walks are enumerated from both ends (one step out of ``x``, one step into ``z``,
joined on the middle), so a three-step body costs the degree of ``x``'s neighbours, not a
product over the whole graph. Where a pair's neighbourhood is larger than ``cap`` middle
edges, a seeded sample of them is walked.
"""

from __future__ import annotations

import numpy as np

from nesy.errors import NesyError


class Adjacency:
    """Out-edges of every entity over the 2R operators, sorted by entity (CSR).

    Args:
        graph: int64 (n, 3) triples ``(h, r, t)`` over entities 0..E-1, relations 0..R-1.
        num_entities: E.  num_relations: R.
    """

    def __init__(self, graph: np.ndarray, num_entities: int, num_relations: int) -> None:
        E, R = num_entities, num_relations
        g = np.asarray(graph, dtype=np.int64).reshape(-1, 3)
        src = np.concatenate([g[:, 0], g[:, 2]])
        op = np.concatenate([g[:, 1], g[:, 1] + R])
        dst = np.concatenate([g[:, 2], g[:, 0]])
        key = np.unique((src * 2 * R + op) * E + dst)
        self.E, self.R = E, R
        self.src, self.op, self.dst = key // E // (2 * R), key // E % (2 * R), key % E
        self.ptr = np.searchsorted(self.src, np.arange(E + 1))

    def out(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The out-edges of ``nodes`` (int64 (b,)): (position in ``nodes``, operator, target)."""
        lo, hi = self.ptr[nodes], self.ptr[nodes + 1]
        n = hi - lo
        rows = np.repeat(np.arange(len(nodes)), n)
        pos = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
        return rows, self.op[pos], self.dst[pos]


def _join(keys: np.ndarray, sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i, j) with ``keys[i] == sorted_keys[j]``, as two int64 arrays."""
    lo = np.searchsorted(sorted_keys, keys, "left")
    n = np.searchsorted(sorted_keys, keys, "right") - lo
    rows = np.repeat(np.arange(len(keys)), n)
    return rows, np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)


def pair_bodies(adj: Adjacency, x: int, z: int, max_len: int, *, cap: int,
                rng: np.random.Generator) -> np.ndarray:
    """The distinct bodies (encoded, see :func:`decode_body`) of the walks from x to z."""
    K = 2 * adj.R
    _, o1, y1 = adj.out(np.array([x]))
    _, back, y2 = adj.out(np.array([z]))
    order = np.argsort(y2, kind="stable")
    y2, o_last = y2[order], (back[order] + adj.R) % K  # y2 -o_last-> z
    codes = [o1[y1 == z]]
    if max_len >= 2:
        i, j = _join(y1, y2)
        codes.append(K + o1[i] * K + o_last[j])
    if max_len >= 3:
        rows, o2, mid = adj.out(y1)
        if len(rows) > cap:
            keep = np.sort(rng.choice(len(rows), cap, replace=False))
            rows, o2, mid = rows[keep], o2[keep], mid[keep]
        i, j = _join(mid, y2)
        codes.append(K + K * K + (o1[rows[i]] * K + o2[i]) * K + o_last[j])
    return np.unique(np.concatenate(codes))


def decode_body(code: int, num_relations: int) -> tuple[int, ...]:
    """The operator path of an encoded body (codes of length 1, 2, 3 follow each other)."""
    K = 2 * num_relations
    if code < K:
        return (code,)
    code -= K
    if code < K * K:
        return (code // K, code % K)
    code -= K * K
    return (code // (K * K), code // K % K, code % K)


def mine_bodies(
    parts: list[tuple[np.ndarray, np.ndarray]], num_entities: int, num_relations: int, *,
    max_len: int = 3, per_relation: int = 600, max_pairs: int = 1000, min_support: int = 2,
    cap: int = 50_000, seed: int = 0,
) -> dict[int, list[tuple[int, ...]]]:
    """Candidate bodies per base relation: those connecting the most training pairs.

    Args:
        parts: (graph, queries) pairs: int64 (n, 3) facts walks go over (the queries hidden)
            and int64 (m, 3) training triples; their relations get rules. Cross-validation
            folds of one graph are several parts.
        num_entities: E.  num_relations: R.
        max_len: Longest body (1..3).
        per_relation: Bodies kept per relation, by the number of pairs they connect.
        max_pairs: Training pairs sampled per relation over all parts (seeded).
        min_support: Fewest pairs a kept body connects (1 where a relation has fewer pairs).
        cap: Middle edges walked per pair for three-step bodies (sampled beyond).
        seed: Seeds the samples.

    Returns:
        relation -> bodies (operator tuples, never the head itself), most pairs first.
    """
    if not 1 <= max_len <= 3:
        raise NesyError(f"path rules are mined with 1 to 3 body atoms, not {max_len}")
    rng = np.random.default_rng(seed)
    adjs = [Adjacency(g, num_entities, num_relations) for g, _ in parts]
    q = np.concatenate([np.asarray(x, dtype=np.int64).reshape(-1, 3) for _, x in parts])
    part = np.concatenate([np.full(len(x), i) for i, (_, x) in enumerate(parts)])
    out: dict[int, list[tuple[int, ...]]] = {}
    for r in np.unique(q[:, 1]).tolist():
        rows = np.flatnonzero(q[:, 1] == r)
        if len(rows) > max_pairs:
            rows = np.sort(rng.choice(rows, max_pairs, replace=False))
        found = np.concatenate([pair_bodies(adjs[part[i]], int(q[i, 0]), int(q[i, 2]), max_len, cap=cap, rng=rng)
                                for i in rows])
        codes, counts = np.unique(found, return_counts=True)
        keep = (codes != r) & (counts >= min(min_support, len(rows)))
        codes, counts = codes[keep], counts[keep]
        best = np.lexsort((codes, -counts))[:per_relation]
        out[r] = [decode_body(int(c), num_relations) for c in codes[best]]
    return out


__all__ = ["Adjacency", "decode_body", "mine_bodies", "pair_bodies"]
