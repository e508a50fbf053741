"""GraIL's sampled protocol (`nesy eval --negatives N`): each answer against N random non-answers."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nesy.ml.ranking import filtered_ranks, sampled_mask  # noqa: E402


def test_the_mask_leaves_n_non_answers_and_the_target() -> None:
    E, b = 60, 5
    known = torch.zeros(b, E, dtype=torch.bool)
    known[:, :10] = True  # entities 0..9 are known answers of every query
    targets = torch.tensor([3, 20, 30, 40, 59])
    mask = sampled_mask(known, targets, 20, np.random.default_rng(0))
    kept = ~mask
    assert kept.sum(1).tolist() == [20] * b
    assert not (kept & known).any() and not kept[torch.arange(b), targets].any()
    again = sampled_mask(known, targets, 20, np.random.default_rng(0))
    assert torch.equal(mask, again)  # seeded
    # Fewer non-answers than asked for: all of them.
    assert (~sampled_mask(known, targets, 500, np.random.default_rng(0))).sum(1).tolist() == [50, 49, 49, 49, 49]


def test_ranks_run_over_the_sample_only() -> None:
    E = 200
    known = torch.zeros(2, E, dtype=torch.bool)
    targets = torch.tensor([0, 1])
    mask = sampled_mask(known, targets, 50, np.random.default_rng(1))
    flat = torch.zeros(2, E)  # every candidate ties with the answer
    _, pessimistic, realistic = filtered_ranks(flat, targets, mask)
    assert pessimistic.tolist() == [51.0, 51.0] and realistic.tolist() == [26.0, 26.0]
    best = torch.zeros(2, E)
    best[torch.arange(2), targets] = 1.0
    assert filtered_ranks(best, targets, mask)[2].tolist() == [1.0, 1.0]
