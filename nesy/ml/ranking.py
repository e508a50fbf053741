"""Filtered link-prediction ranking: ranks with explicit tie handling, and the usual metrics.

Ties matter: a model that gives every entity the same score would get rank 1 under the
optimistic rule. Reported metrics use the *realistic* rank (mean of the optimistic and the
pessimistic rank, i.e. the expected rank under random tie-breaking); the optimistic ones are
reported alongside, labelled, for comparison with tools that use them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from nesy.errors import NesyError

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


class AnswerIndex:
    """Known answers of each query ``(head, relation)`` as sorted keys, for fast masks.

    Args:
        known: int64 (m, 3) true triples ``(h, r, t)`` with base relations ``r < num_base``.
        num_relations: Query relations, reciprocals included (``2 * num_base``).
        num_base: R, the base relations.
    """

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


def rank_metrics(ranks: Tensor, prefix: str = "") -> dict[str, float]:
    """``mrr``, ``mr`` and ``hits@1/3/10`` of float ranks (b,), each key after ``prefix``."""
    out = {f"{prefix}mrr": float((1.0 / ranks).mean()), f"{prefix}mr": float(ranks.mean())}
    for k in HITS_AT:
        out[f"{prefix}hits@{k}"] = float((ranks <= k).double().mean())
    return out


def sampled_mask(known: Tensor, targets: Tensor, negatives: int, rng: np.random.Generator) -> Tensor:
    """bool (b, E): everything but ``negatives`` random non-answers per query (and the target).

    GraIL's protocol: each query ranks its answer against ``negatives`` entities drawn
    uniformly, without replacement, from those that are not known answers (all of them when
    fewer are left). Used as a filter mask, it leaves exactly those candidates in the ranking.
    """
    b, E = known.shape
    rows = torch.arange(b)
    draw = torch.from_numpy(rng.random((b, E)))
    draw[known] = 2.0
    draw[rows, targets.cpu()] = 2.0
    k = min(negatives, E)
    picked = torch.topk(draw, k, dim=1, largest=False).indices
    ok = torch.gather(draw, 1, picked) < 2.0
    mask = torch.ones(b, E, dtype=torch.bool)
    mask[rows.unsqueeze(1).expand(-1, k)[ok], picked[ok]] = False
    return mask


def rank_queries(
    score: Callable[[Tensor, Tensor], Tensor], heads: np.ndarray, relations: np.ndarray,
    answers: np.ndarray, index: AnswerIndex, *, batch_size: int, device: torch.device,
    negatives: int | None = None, seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """Filtered ranks of the answers of queries ``(heads[i], relations[i], ?)``.

    Args:
        score: ``(h, r) -> float (b, E)`` scores of every entity, h and r int64 (b,) on
            ``device``; called without gradients.
        heads, relations, answers: int64 (n,) the queries and their true answers.
        index: The known answers to filter (see :class:`AnswerIndex`).
        batch_size: Queries scored at once.
        device: Where ``score`` wants its inputs.
        negatives: Rank each answer against this many sampled non-answers instead of all
            entities (:func:`sampled_mask`); ``seed`` seeds the draw.

    Returns:
        ``(optimistic, realistic)`` ranks, float64 (n,) on the CPU.
    """
    realistic, optimistic = [], []
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for start in range(0, len(heads), batch_size):
            sl = slice(start, start + batch_size)
            scores = score(torch.from_numpy(heads[sl]).to(device),
                           torch.from_numpy(relations[sl]).to(device))
            mask = index.mask(heads[sl], relations[sl], scores.shape[1])
            if negatives is not None:
                mask = sampled_mask(mask, torch.from_numpy(answers[sl]), negatives, rng)
            opt, _, real = filtered_ranks(scores, torch.from_numpy(answers[sl]).to(scores.device),
                                          mask.to(scores.device))
            optimistic.append(opt.cpu())
            realistic.append(real.cpu())
    empty = torch.zeros(0, dtype=torch.float64)
    return (torch.cat(optimistic) if optimistic else empty,
            torch.cat(realistic) if realistic else empty)


def ranking_report(optimistic: Tensor, realistic: Tensor) -> dict[str, Any]:
    """The metrics of :func:`rank_queries`' ranks: ``mrr``, ``mr``, ``hits@k`` (realistic),
    the same prefixed ``optimistic_``, ``n`` and ``tie_rule``; every metric 0.0 when n is 0."""
    result: dict[str, Any] = {"n": len(realistic), "tie_rule": TIE_RULE}
    if not len(realistic):
        one = torch.ones(1, dtype=torch.float64)
        zeros = {k: 0.0 for k in {**rank_metrics(one), **rank_metrics(one, "optimistic_")}}
        return {**zeros, **result}
    return {**result, **rank_metrics(realistic), **rank_metrics(optimistic, "optimistic_")}


__all__ = ["HITS_AT", "TIE_RULE", "AnswerIndex", "filtered_ranks", "rank_metrics", "rank_queries",
           "ranking_report", "sampled_mask"]
