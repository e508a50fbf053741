"""Hyper-parameter search for the rule learner: Optuna TPE, median pruning on valid MRR.

`nesy learn --tune N` runs :func:`nesy.ml.tuning.search` over :data:`SEARCH_SPACE`; trial 0
is the configuration given, so the chosen rules are never worse on validation than the
untuned run's, and from 6 trials on a tuned configuration must also win on the mean over
further seeds. Only the validation triples choose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nesy.errors import NesyError
from nesy.ml.tuning import Report, search

#: The searched :class:`~nesy.rulelearn.neural_lp.LearnConfig` fields (see
#: :data:`nesy.ml.tuning.SearchSpace`); the other fields keep the given values.
SEARCH_SPACE: dict[str, tuple[str, tuple[Any, ...]]] = {
    "lr": ("log", (0.005, 0.2)),
    "dim": ("categorical", ((16, 32, 64),)),
    "rank": ("categorical", ((1, 3, 5),)),
    "batch_size": ("categorical", ((64, 128, 256),)),
    "max_len": ("categorical", ((2, 3),)),
}


def tune_learning(learn: Callable[[Any, Report], Any], base: Any, trials: int, *,
                  timeout: float | None = None, has_valid: bool) -> tuple[Any, Any, dict[str, Any]]:
    """The best trial's (learn result, config) and the study's record.

    Args:
        learn: ``learn(config, on_epoch)`` runs :func:`~nesy.rulelearn.neural_lp.learn` with
            a :class:`~nesy.rulelearn.neural_lp.LearnConfig` and returns (its result, anything
            the caller keeps with it).
        base: trial 0's ``LearnConfig``.
        trials: most trials (>= 1).
        timeout: no new trial starts after this many seconds.
        has_valid: whether validation triples exist (tuning needs them).
    """
    if not has_valid:
        raise NesyError("tuning needs validation triples: give --valid FILE")
    make = type(base).from_dict

    def run(params: dict[str, Any], report: Report) -> tuple[float, Any]:
        config = make({**base.to_dict(), **params})
        result = learn(config, report)
        return float(result[0].best_valid_mrr or 0.0), (result, config)

    best, record = search(run, SEARCH_SPACE, base.to_dict(), trials, seed=base.seed,
                          timeout=timeout, metric="filtered valid MRR of the rule scores")
    result, config = best.result
    return result, config, record


__all__ = ["SEARCH_SPACE", "tune_learning"]
