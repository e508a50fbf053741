"""Filtered ranking metrics of a KGE model on test triples, both directions (reciprocal heads)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nesy.errors import NesyError
from nesy.linkpred.kge import KGEModel
from nesy.ml.data import as_array
from nesy.ml.ranking import AnswerIndex, rank_queries, ranking_report


def evaluate(
    model: KGEModel,
    triples: Any,
    known: Any,
    num_base_relations: int,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    *,
    negatives: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Filtered ranking of both sides of each triple; head side as ``(t, r + R, ?)``.

    Ties are ranked realistically (see :mod:`nesy.ml.ranking`).

    Args:
        model: built with ``num_relations = 2 * num_base_relations``.
        triples: int64 (n, 3) compact ``(h, r, t)`` with base relations ``r < R``.
        known: int64 (m, 3) every true triple (train, valid, test) used as the filter; the
            reciprocal direction is derived. ``triples`` are always added to it.
        num_base_relations: R.
        batch_size: queries scored at once.
        device: where to score; None keeps the model where it is (the model is moved).
        negatives: GraIL's protocol: rank each answer against this many random entities that
            are not known answers (head and tail replaced separately), seeded by ``seed``;
            None ranks against every entity.

    Returns:
        ``mrr``, ``mr``, ``hits@1/3/10`` (realistic ranks), ``optimistic_mrr``,
        ``optimistic_mr``, ``optimistic_hits@1/3/10``, ``n`` (ranked queries, 2n) and
        ``tie_rule``. With no triples every metric is 0.0 and ``n`` is 0.
    """
    triples_np, known_np = as_array(triples), as_array(known)
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
    index = AnswerIndex(np.concatenate([known_np, triples_np]), num_relations, num_base_relations)
    h, r, t = triples_np[:, 0], triples_np[:, 1], triples_np[:, 2]
    was_training = model.training
    model.eval()
    try:
        optimistic, realistic = rank_queries(
            model.score_t, np.concatenate([h, t]), np.concatenate([r, r + num_base_relations]),
            np.concatenate([t, h]), index, batch_size=batch_size, device=dev, negatives=negatives, seed=seed)
    finally:
        model.train(was_training)
    return ranking_report(optimistic, realistic)


__all__ = ["evaluate"]
