"""Hyper-parameter search for the link predictor: Optuna TPE with median pruning on valid MRR.

Trial 0 is always the configuration given (the defaults, or the user's options), so the
best trial's validation MRR is at least the untuned one's. Each later trial samples
:data:`SEARCH_SPACE`; every evaluation reports the filtered validation MRR to the pruner,
which stops a trial whose curve falls below the median of the earlier ones at that epoch.
From 6 trials on, part of the budget confirms the winner over further seeds and the tuned
configuration is kept only when its mean beats the given one's (the study itself is
:func:`nesy.ml.tuning.search`, shared with the rule learner).
Only validation triples choose; test triples are never seen here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nesy.errors import NesyError
from nesy.linkpred.train import TrainConfig, TrainResult, resolve_config, train
from nesy.ml.tuning import Report, search

#: name -> (kind, arguments) of every searched TrainConfig field. ``log`` floats are
#: sampled on a log scale. The other fields keep the given configuration's values.
SEARCH_SPACE: dict[str, tuple[str, tuple[Any, ...]]] = {
    "dim": ("categorical", ((64, 128, 200, 256),)),
    "lr": ("log", (0.01, 0.5)),
    "regularization": ("log", (1e-4, 1e-1)),
    "label_smoothing": ("float", (0.0, 0.3)),
    "batch_size": ("categorical", ((128, 256, 512, 1024),)),
}


@dataclass
class TuneResult:
    """What :func:`tune` returns.

    Attributes:
        result: The best trial's :class:`TrainResult` (its model, history, calibrator).
        config: The best trial's configuration.
        study: JSON-serialisable record: ``metric``, ``sampler``, ``pruner``, ``trials``
            (``number``, ``state``, ``params``, ``value``, ``epochs``, ``seconds``),
            ``best_trial``, ``best_value``, ``best_params``, ``seconds``.
        records: The best trial's per-epoch records (see :func:`nesy.linkpred.train.train`).
    """

    result: TrainResult
    config: TrainConfig
    study: dict[str, Any]
    records: list[dict[str, Any]]


def tune(train_set: np.ndarray, valid_set: np.ndarray, known: np.ndarray, num_entities: int,
         num_relations: int, base: TrainConfig, trials: int, *, timeout: float | None = None,
         progress: bool = False) -> TuneResult:
    """Search hyper-parameters on ``valid_set``; return the best trial's model and the study.

    Args:
        train_set: int64 (n, 3) training triples (compact ids).
        valid_set: int64 (k, 3) validation triples (k >= 1): the only thing that chooses.
        known: int64 (m, 3) every true triple for the validation filter.
        num_entities: E.
        num_relations: R (base relations).
        base: trial 0's configuration; the fields outside :data:`SEARCH_SPACE` of every trial.
        trials: most trials (>= 1).
        timeout: no new trial starts after this many seconds (a running one finishes).
        progress: show each trial's progress bar.

    Raises:
        NesyError: no validation triples, ``trials < 1``, optuna missing, or every trial failed.
    """
    if valid_set is None or not len(valid_set):
        raise NesyError("tuning needs validation triples: give --valid FILE or more training triples")
    # Trial 0 is the resolved defaults, and the other trials' unsearched fields are too.
    base = resolve_config(base, train_set, num_entities, num_relations)

    def run(params: dict[str, Any], report: Report) -> tuple[float, Any]:
        config = TrainConfig.from_dict({**base.to_dict(), **params})
        result = train(train_set, num_entities, num_relations, config, valid=valid_set,
                       known=known, progress=progress, on_epoch=report)
        return float(result.best_valid_mrr or 0.0), (result, config)

    best, record = search(run, SEARCH_SPACE, base.to_dict(), trials, seed=base.seed,
                          timeout=timeout, metric="filtered valid MRR (realistic ranks)")
    result, config = best.result
    return TuneResult(result, config, record, best.records)


__all__ = ["SEARCH_SPACE", "TuneResult", "tune"]
