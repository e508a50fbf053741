"""Filtered link-prediction ranking: ranks with explicit tie handling, and the usual metrics.

Ties matter: a model that gives every entity the same score would get rank 1 under the
optimistic rule. Reported metrics use the *realistic* rank (mean of the optimistic and the
pessimistic rank, i.e. the expected rank under random tie-breaking); the optimistic ones are
reported alongside, labelled, for comparison with tools that use them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from nesy.errors import NesyError
from nesy.linkpred.kge import KGEModel

HITS_AT = (1, 3, 10)
# Realistic rank = (optimistic 1 + #higher + pessimistic #higher-or-equal) / 2.
TIE_RULE = "realistic"


def filtered_ranks(
    scores: Tensor, targets: Tensor, filter_mask: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Filtered ranks of the target entities.

    Args:
        scores: float (b, E); higher is better. NaN counts as the worst score.
        targets: int64 (b,) the true answer of each query.
        filter_mask: bool (b, E) other known true answers, left out of the ranking (the target
            itself is never filtered, whatever the mask says).

    Returns:
        ``(optimistic, pessimistic, realistic)``, each float64 (b,): ``1 + #{score > target}``,
        ``#{score >= target}`` (target included) and their mean.
    """
    scores = torch.as_tensor(scores)
    targets = torch.as_tensor(targets, dtype=torch.long, device=scores.device)
    filter_mask = torch.as_tensor(filter_mask, dtype=torch.bool, device=scores.device)
    if scores.dim() != 2 or targets.shape != (scores.shape[0],) or filter_mask.shape != scores.shape:
        raise NesyError(
            f"filtered_ranks wants scores (b, E), targets (b,), mask (b, E); got "
            f"{tuple(scores.shape)}, {tuple(targets.shape)}, {tuple(filter_mask.shape)}"
        )
    scores = torch.where(torch.isnan(scores), torch.full_like(scores, -torch.inf), scores)
    rows = torch.arange(scores.shape[0], device=scores.device)
    target_score = scores[rows, targets].unsqueeze(1)
    keep = ~filter_mask
    keep[rows, targets] = True
    higher = ((scores > target_score) & keep).sum(1).double()
    at_least = ((scores >= target_score) & keep).sum(1).double()
    optimistic = 1.0 + higher
    return optimistic, at_least, (optimistic + at_least) / 2.0


class _AnswerIndex:
    """Known answers of each query ``(head, relation)`` as sorted keys, for fast masks."""

    def __init__(self, known: np.ndarray, num_relations: int, num_base: int) -> None:
        h, r, t = known[:, 0], known[:, 1], known[:, 2]
        # Each true triple answers the tail query (h, r) and the reciprocal query (t, r + R).
        heads = np.concatenate([h, t])
        rels = np.concatenate([r, r + num_base])
        answers = np.concatenate([t, h])
        keys = heads * num_relations + rels
        order = np.argsort(keys, kind="stable")
        self.num_relations = num_relations
        self.keys = keys[order]
        self.answers = answers[order]

    def mask(self, h: np.ndarray, r: np.ndarray, num_entities: int) -> Tensor:
        """bool (b, E): the known answers of the queries ``(h[i], r[i], ?)``."""
        q = h * self.num_relations + r
        lo = np.searchsorted(self.keys, q, side="left")
        hi = np.searchsorted(self.keys, q, side="right")
        counts = hi - lo
        mask = np.zeros((len(q), num_entities), dtype=bool)
        total = int(counts.sum())
        if total:
            rows = np.repeat(np.arange(len(q)), counts)
            starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
            cols = self.answers[np.arange(total) + starts]
            ok = cols < num_entities
            mask[rows[ok], cols[ok]] = True
        return torch.from_numpy(mask)


def _summary(ranks: Tensor, prefix: str) -> dict[str, float]:
    out = {f"{prefix}mrr": float((1.0 / ranks).mean()), f"{prefix}mr": float(ranks.mean())}
    for k in HITS_AT:
        out[f"{prefix}hits@{k}"] = float((ranks <= k).double().mean())
    return out


def evaluate(
    model: KGEModel,
    triples: Any,
    known: Any,
    num_base_relations: int,
    batch_size: int = 512,
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """Filtered ranking of both sides of each triple; head side as ``(t, r + R, ?)``.

    Args:
        model: built with ``num_relations = 2 * num_base_relations``.
        triples: int64 (n, 3) compact ``(h, r, t)`` with base relations ``r < R``.
        known: int64 (m, 3) every true triple (train, valid, test) used as the filter; the
            reciprocal direction is derived. ``triples`` are always added to it.
        num_base_relations: R.
        batch_size: queries scored at once.
        device: where to score; None keeps the model where it is (the model is moved).

    Returns:
        ``mrr``, ``mr``, ``hits@1/3/10`` (realistic ranks), ``optimistic_mrr``,
        ``optimistic_mr``, ``optimistic_hits@1/3/10``, ``n`` (ranked queries, 2n) and
        ``tie_rule``. With no triples every metric is 0.0 and ``n`` is 0.
    """
    triples_np = np.asarray(torch.as_tensor(triples, dtype=torch.long).reshape(-1, 3).cpu())
    known_np = np.asarray(torch.as_tensor(known, dtype=torch.long).reshape(-1, 3).cpu())
    num_relations = 2 * num_base_relations
    if model.num_relations != num_relations:
        raise NesyError(
            f"model has {model.num_relations} relation types; evaluation with "
            f"{num_base_relations} base relations needs {num_relations} (reciprocals)"
        )
    if len(triples_np) and triples_np[:, 1].max() >= num_base_relations:
        raise NesyError(f"evaluation triples must use base relations 0..{num_base_relations - 1}")
    if device is not None:
        model.to(device)
    dev = next(model.parameters()).device
    index = _AnswerIndex(np.concatenate([known_np, triples_np]), num_relations, num_base_relations)
    h, r, t = triples_np[:, 0], triples_np[:, 1], triples_np[:, 2]
    qh = np.concatenate([h, t])
    qr = np.concatenate([r, r + num_base_relations])
    qa = np.concatenate([t, h])
    was_training = model.training
    model.eval()
    realistic, optimistic = [], []
    try:
        with torch.no_grad():
            for start in range(0, len(qh), batch_size):
                sl = slice(start, start + batch_size)
                scores = model.score_t(torch.from_numpy(qh[sl]).to(dev),
                                       torch.from_numpy(qr[sl]).to(dev))
                mask = index.mask(qh[sl], qr[sl], scores.shape[1]).to(dev)
                opt, _, real = filtered_ranks(scores, torch.from_numpy(qa[sl]).to(dev), mask)
                optimistic.append(opt.cpu())
                realistic.append(real.cpu())
    finally:
        model.train(was_training)
    result: dict[str, Any] = {"n": len(qh), "tie_rule": TIE_RULE}
    if not len(qh):
        empty = torch.ones(1, dtype=torch.float64)
        zeros = {k: 0.0 for k in {**_summary(empty, ""), **_summary(empty, "optimistic_")}}
        return {**zeros, **result}
    result.update(_summary(torch.cat(realistic), ""))
    result.update(_summary(torch.cat(optimistic), "optimistic_"))
    return result
