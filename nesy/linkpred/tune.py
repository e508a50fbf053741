"""Hyper-parameter search for the link predictor: Optuna TPE with median pruning on valid MRR.

Trial 0 is always the configuration given (the defaults, or the user's options), so the
best trial's validation MRR is at least the untuned one's. Each later trial samples
:data:`SEARCH_SPACE`; every evaluation reports the filtered validation MRR to the pruner,
which stops a trial whose curve falls below the median of the earlier ones at that epoch.
Only validation triples choose; test triples are never seen here. Optuna is imported
lazily (``nesy[neural]`` does not require it; ``pip install optuna``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nesy.errors import NesyError
from nesy.linkpred.train import TrainConfig, TrainResult, train

#: name -> (kind, arguments) of every searched TrainConfig field. ``log`` floats are
#: sampled on a log scale. The other fields keep the given configuration's values.
SEARCH_SPACE: dict[str, tuple[str, tuple[Any, ...]]] = {
    "dim": ("categorical", ((64, 128, 200, 256),)),
    "lr": ("log", (0.01, 0.5)),
    "regularization": ("log", (1e-4, 1e-1)),
    "label_smoothing": ("float", (0.0, 0.3)),
    "batch_size": ("categorical", ((256, 512, 1024),)),
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


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise NesyError("--tune searches with Optuna, which is not installed: "
                        "pip install optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _suggest(trial: Any, base: TrainConfig) -> dict[str, Any]:
    """One point of :data:`SEARCH_SPACE` (widened to hold ``base``'s values, trial 0)."""
    out: dict[str, Any] = {}
    for name, (kind, args) in SEARCH_SPACE.items():
        given = getattr(base, name)
        if kind == "categorical":
            out[name] = trial.suggest_categorical(name, sorted({*args[0], given}))
        else:
            lo, hi = min(args[0], given), max(args[1], given)
            if kind == "log":
                out[name] = trial.suggest_float(name, max(lo, 1e-12), hi, log=True)
            else:
                out[name] = trial.suggest_float(name, lo, hi)
    return out


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
    if trials < 1:
        raise NesyError(f"--tune needs at least one trial, got {trials}")
    if valid_set is None or not len(valid_set):
        raise NesyError("tuning needs validation triples: give --valid FILE or more training triples")
    optuna = _optuna()
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=base.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3))
    study.enqueue_trial({k: getattr(base, k) for k in SEARCH_SPACE})
    best: dict[str, Any] = {}
    log: list[dict[str, Any]] = []
    started = time.perf_counter()

    def objective(trial: Any) -> float:
        config = TrainConfig.from_dict({**base.to_dict(), **_suggest(trial, base)})
        records: list[dict[str, Any]] = []

        def report(record: dict[str, Any]) -> None:
            records.append(record)
            trial.set_user_attr("epochs", record["epoch"])
            if record.get("valid_mrr") is not None:
                trial.report(record["valid_mrr"], record["epoch"])
                if trial.should_prune():
                    raise optuna.TrialPruned()

        began = time.perf_counter()
        try:
            result = train(train_set, num_entities, num_relations, config, valid=valid_set,
                           known=known, progress=progress, on_epoch=report)
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - began, 3))
        value = float(result.best_valid_mrr or 0.0)
        if not best or value > best["value"]:
            best.update(value=value, result=result, config=config, records=records,
                        number=trial.number)
        return value

    study.optimize(objective, n_trials=trials, timeout=timeout, catch=(NesyError,))
    if not best:
        raise NesyError("every tuning trial failed or was pruned; see the messages above")
    for t in study.trials:
        log.append({"number": t.number, "state": t.state.name, "params": t.params,
                    "value": t.value, "epochs": t.user_attrs.get("epochs"),
                    "seconds": t.user_attrs.get("seconds")})
    record = {"metric": "filtered valid MRR (realistic ranks)", "sampler": "TPE",
              "pruner": "MedianPruner(n_startup_trials=3)", "trials_asked": trials,
              "timeout": timeout, "trials": log, "best_trial": best["number"],
              "best_value": best["value"], "best_params": {k: getattr(best["config"], k)
                                                           for k in SEARCH_SPACE},
              "seconds": round(time.perf_counter() - started, 3)}
    return TuneResult(best["result"], best["config"], record, best["records"])


__all__ = ["SEARCH_SPACE", "TuneResult", "tune"]
