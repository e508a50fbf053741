"""Filtered ranks with ties, the answer filter, and the evaluate() metrics on a fixed-score model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nesy.errors import NesyError
from nesy.linkpred.evaluate import evaluate
from nesy.linkpred.kge import KGEModel
from nesy.ml.ranking import AnswerIndex, filtered_ranks


def test_hand_computed_ties() -> None:
    scores = torch.tensor([[0.9, 0.5, 0.9, 0.9, 0.1]])
    mask = torch.tensor([[True, False, False, False, False]])
    opt, pess, real = filtered_ranks(scores, torch.tensor([2]), mask)
    # Target 2 scores 0.9. Entity 0 (0.9) is filtered out; nothing left scores above 0.9, so
    # optimistic = 1 + 0 = 1. Scores >= 0.9 among the rest: entity 2 (target) and entity 3,
    # so pessimistic = 2; realistic = (1 + 2) / 2 = 1.5.
    assert (opt.item(), pess.item(), real.item()) == (1.0, 2.0, 1.5)
    assert real.dtype == torch.float64


def test_target_never_filtered_and_nan_is_worst() -> None:
    scores = torch.tensor([[0.1, 0.2, 0.3], [float("nan"), 0.2, 0.3]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    opt, pess, _ = filtered_ranks(scores, torch.tensor([0, 0]), mask)
    assert opt.tolist() == [2.0, 3.0] and pess.tolist() == [2.0, 3.0]


@st.composite
def ranking_case(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    b = draw(st.integers(1, 4))
    e = draw(st.integers(1, 8))
    # Few distinct values, so ties are common.
    values = draw(st.lists(st.integers(0, 3), min_size=b * e, max_size=b * e))
    targets = draw(st.lists(st.integers(0, e - 1), min_size=b, max_size=b))
    mask = draw(st.lists(st.booleans(), min_size=b * e, max_size=b * e))
    return (torch.tensor(values, dtype=torch.float32).view(b, e), torch.tensor(targets),
            torch.tensor(mask).view(b, e))


@settings(max_examples=60, deadline=None)
@given(ranking_case(), st.randoms(use_true_random=False))
def test_rank_properties(case: tuple, rnd: object) -> None:
    scores, targets, mask = case
    opt, pess, real = filtered_ranks(scores, targets, mask)
    e = scores.shape[1]
    assert (opt >= 1).all() and (pess <= e).all()
    assert (opt <= real).all() and (real <= pess).all()
    # Filtering only removes competitors: never a worse rank.
    for filtered, unfiltered in zip((opt, pess, real),
                                    filtered_ranks(scores, targets, torch.zeros_like(mask))):
        assert (filtered <= unfiltered).all()
    # Renaming entities changes nothing.
    perm = list(range(e))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    perm_t = torch.tensor(perm)
    inverse = torch.argsort(perm_t)
    permuted = filtered_ranks(scores[:, perm_t], inverse[targets], mask[:, perm_t])
    for a, b in zip((opt, pess, real), permuted):
        assert torch.equal(a, b)


def test_answer_index_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    e, r = 9, 3
    known = np.unique(np.stack([rng.integers(0, e, 40), rng.integers(0, r, 40),
                                rng.integers(0, e, 40)], 1), axis=0)
    index = AnswerIndex(known, 2 * r, r)
    h = np.repeat(np.arange(e), 2 * r)
    rel = np.tile(np.arange(2 * r), e)
    mask = index.mask(h, rel, e).numpy()
    expected = np.zeros_like(mask)
    for a, b, c in known:
        expected[(h == a) & (rel == b), c] = True
        expected[(h == c) & (rel == b + r), a] = True
    assert (mask == expected).all()


class FixedScores(KGEModel):
    """score_t(h, r) = table[h, r]: a model whose ranks can be worked out by hand."""

    def __init__(self, table: torch.Tensor) -> None:
        e, r2, _ = table.shape
        super().__init__(e, r2, 1)
        self.table = torch.nn.Parameter(table)

    def score_t(self, h: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return self.table[h, r]


def test_evaluate_both_directions_by_hand() -> None:
    table = torch.zeros(4, 2, 4)
    table[0, 0] = torch.tensor([0.0, 0.5, 0.9, 0.5])  # tail query (0, 0, ?) -> 1
    table[1, 1] = torch.tensor([0.2, 0.3, 0.1, 0.0])  # head query (1, 0 + R, ?) -> 0
    model = FixedScores(table).train()
    result = evaluate(model, torch.tensor([[0, 0, 1]]), torch.tensor([[0, 0, 2]]), 1)
    # Tail: entity 2 (0.9) is known, filtered; entity 3 ties at 0.5 -> ranks 1 / 2 / 1.5.
    # Head: entity 1 (0.3) beats the target (0.2) and is not a known head -> rank 2.
    assert result["n"] == 2 and result["tie_rule"] == "realistic"
    assert result["mrr"] == pytest.approx((1 / 1.5 + 1 / 2) / 2)
    assert result["mr"] == pytest.approx(1.75)
    assert (result["hits@1"], result["hits@3"], result["hits@10"]) == (0.0, 1.0, 1.0)
    assert result["optimistic_mrr"] == pytest.approx(0.75)
    assert result["optimistic_hits@1"] == 0.5
    assert model.training  # mode restored


def test_evaluate_filters_other_test_triples_and_checks_relations() -> None:
    table = torch.zeros(4, 2, 4)
    table[0, 0] = torch.tensor([0.0, 0.5, 0.1, 0.9])
    model = FixedScores(table)
    result = evaluate(model, torch.tensor([[0, 0, 1], [0, 0, 3]]), torch.zeros(0, 3), 1)
    assert result["n"] == 4
    # Tails: each test answer is filtered from the other's ranking -> rank 1 for both.
    # Heads (1 | 3, 0 + R, ?) -> 0: all four score 0, no other known head -> ranks 1 / 4 / 2.5.
    assert (result["hits@1"], result["optimistic_hits@1"]) == (0.5, 1.0)
    assert result["mr"] == pytest.approx((1 + 1 + 2.5 + 2.5) / 4)
    assert evaluate(model, torch.zeros(0, 3), torch.zeros(0, 3), 1)["n"] == 0
    with pytest.raises(NesyError, match="reciprocals"):
        evaluate(model, torch.tensor([[0, 0, 1]]), torch.zeros(0, 3), 2)
