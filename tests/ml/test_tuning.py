"""The shared Optuna search: trial 0 is the given configuration, and seed confirmation keeps
a tuned configuration only when its mean over seeds beats the given one's."""

from __future__ import annotations

from typing import Any

import pytest

from nesy.errors import NesyError
from nesy.ml.tuning import confirm_seeds, search, summary

SPACE = {"x": ("categorical", ((0, 1, 2, 3),))}


def make_run(values: dict[tuple[int, int], float], calls: list[dict[str, Any]]):
    """A training stand-in: (x, seed) -> validation value; every call recorded."""

    def run(params: dict[str, Any], report) -> tuple[float, Any]:
        calls.append(dict(params))
        seed = params.get("seed", 0)
        value = values.get((params["x"], seed), 0.0)
        report({"epoch": 1, "valid_mrr": value})
        return value, ("model", params["x"], seed)

    return run


def lucky(x: int) -> dict[tuple[int, int], float]:
    """x = 0 scores 0.5 at every seed; ``x`` scores 0.9 at seed 0 only (a lucky draw)."""
    table = {(0, s): 0.5 for s in range(3)}
    table.update({(x, 0): 0.9, (x, 1): 0.1, (x, 2): 0.1})
    return table


@pytest.mark.parametrize("trials,seeds", [(1, 0), (5, 0), (6, 1), (11, 1), (12, 2), (40, 2)])
def test_confirm_seeds_budget(trials: int, seeds: int) -> None:
    assert confirm_seeds(trials) == seeds


def test_a_lucky_single_seed_is_not_kept() -> None:
    calls: list[dict[str, Any]] = []
    table = lucky(1) | lucky(2) | lucky(3) | {(0, s): 0.5 for s in range(3)}
    best, record = search(make_run(table, calls), SPACE, {"x": 0, "seed": 0}, 12, seed=0,
                          metric="m")
    assert len(calls) <= 12  # confirmation runs come out of the budget
    c = record["confirmation"]
    assert c is not None and c["kept"] == "given" and c["seeds"] == [0, 1, 2]
    assert c["given_values"] == [0.5, 0.5, 0.5] and c["best_values"] == pytest.approx([0.9, 0.1, 0.1])
    # The kept model is trial 0's own run, with the user's seed: exactly the untuned result.
    assert best.number == 0 and best.result == ("model", 0, 0) and record["best_trial"] == 0
    assert record["best_value"] == 0.5
    assert "kept the given configuration" in summary(record)


def test_a_real_improvement_is_kept() -> None:
    calls: list[dict[str, Any]] = []
    table = {(x, s): 0.5 + 0.1 * x for x in range(4) for s in range(3)}
    best, record = search(make_run(table, calls), SPACE, {"x": 0, "seed": 0}, 12, seed=0, metric="m")
    c = record["confirmation"]
    assert c["kept"] == "best" and c["best_mean"] > c["given_mean"]
    assert best.number == c["trial"] != 0 and best.result[2] == 0  # the user's seed's run
    assert record["best_value"] == best.value == max(c["best_values"][:1])
    assert [call.get("seed") for call in calls[-4:]] == [1, 1, 2, 2]
    assert "kept it" in summary(record)


def test_small_budgets_and_no_seed_skip_confirmation() -> None:
    table = lucky(1)
    for base, trials in (({"x": 0, "seed": 0}, 5), ({"x": 0}, 12)):
        calls: list[dict[str, Any]] = []
        best, record = search(make_run(table, calls), SPACE, base, trials, seed=0, metric="m")
        assert record["confirmation"] is None and len(calls) == trials
        assert best.value == max(t["value"] for t in record["trials"] if t["value"] is not None)
        assert "confirmation" not in summary(record)


def test_no_trial_is_refused() -> None:
    with pytest.raises(NesyError, match="at least one trial"):
        search(make_run({}, []), SPACE, {"x": 0, "seed": 0}, 0, seed=0, metric="m")
