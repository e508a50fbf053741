"""Hyper-parameter search with Optuna: TPE sampling, median pruning on a validation metric.

The link predictor (:mod:`nesy.linkpred.tune`) and the rule learner
(:mod:`nesy.rulelearn.tune`) search the same way: trial 0 is the configuration given (so
the best trial is never worse than the untuned run on validation), later trials sample a
search space, each evaluation reports the validation metric to a median pruner, and the
study is kept as a JSON-serialisable record. Only validation data chooses; test data is
never seen here. Optuna is imported lazily (``pip install optuna``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nesy.errors import NesyError

#: name -> (kind, arguments): ``categorical`` with its choices, ``log`` / ``float`` / ``int``
#: with (low, high). ``log`` floats are sampled on a log scale.
SearchSpace = Mapping[str, tuple[str, tuple[Any, ...]]]

#: A trial's report hook: called with each evaluation's (epoch, metric) record.
Report = Callable[[dict[str, Any]], None]


@dataclass
class Best:
    """The best trial of a study: its metric, the run's own result, params and epoch records."""

    value: float
    result: Any
    params: dict[str, Any]
    records: list[dict[str, Any]]
    number: int


def optuna_module() -> Any:
    """Optuna, quiet; a :class:`NesyError` saying how to install it when it is missing."""
    try:
        import optuna
    except ImportError:
        raise NesyError("--tune searches with Optuna, which is not installed: "
                        "pip install optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def suggest(trial: Any, space: SearchSpace, base: Mapping[str, Any]) -> dict[str, Any]:
    """One point of ``space``, each range widened to hold ``base``'s value (trial 0's)."""
    out: dict[str, Any] = {}
    for name, (kind, args) in space.items():
        given = base[name]
        if kind == "categorical":
            out[name] = trial.suggest_categorical(name, sorted({*args[0], given}))
            continue
        lo, hi = min(args[0], given), max(args[1], given)
        if kind == "log":
            out[name] = trial.suggest_float(name, max(lo, 1e-12), hi, log=True)
        elif kind == "int":
            out[name] = trial.suggest_int(name, int(lo), int(hi))
        else:
            out[name] = trial.suggest_float(name, lo, hi)
    return out


def search(run: Callable[[dict[str, Any], Report], tuple[float, Any]], space: SearchSpace,
           base: Mapping[str, Any], trials: int, *, seed: int, timeout: float | None = None,
           metric: str) -> tuple[Best, dict[str, Any]]:
    """Run a study; return the best trial and the study's record.

    Args:
        run: ``run(params, report)`` trains with ``params`` (a point of ``space``), calls
            ``report`` with every evaluation record (keys ``epoch`` and ``valid_mrr``) and
            returns (validation metric, its own result).
        space: the searched fields; ``base`` gives trial 0's values for them.
        trials: most trials (>= 1).
        seed: the TPE sampler's seed.
        timeout: no new trial starts after this many seconds (a running one finishes).
        metric: what the value is, for the record.

    Raises:
        NesyError: ``trials < 1``, optuna missing, or every trial failed or was pruned.
    """
    if trials < 1:
        raise NesyError(f"--tune needs at least one trial, got {trials}")
    optuna = optuna_module()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3))
    study.enqueue_trial({k: base[k] for k in space})
    found: list[Best] = []
    started = time.perf_counter()

    def objective(trial: Any) -> float:
        params = suggest(trial, space, base)
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
            value, result = run(params, report)
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - began, 3))
        if not found or value > found[0].value:
            found[:] = [Best(value, result, params, records, trial.number)]
        return value

    study.optimize(objective, n_trials=trials, timeout=timeout, catch=(NesyError,))
    if not found:
        raise NesyError("every tuning trial failed or was pruned; see the messages above")
    best = found[0]
    log = [{"number": t.number, "state": t.state.name, "params": t.params, "value": t.value,
            "epochs": t.user_attrs.get("epochs"), "seconds": t.user_attrs.get("seconds")}
           for t in study.trials]
    record = {"metric": metric, "sampler": "TPE", "pruner": "MedianPruner(n_startup_trials=3)",
              "trials_asked": trials, "timeout": timeout, "trials": log, "best_trial": best.number,
              "best_value": best.value, "best_params": best.params,
              "seconds": round(time.perf_counter() - started, 3)}
    return best, record


__all__ = ["Best", "Report", "SearchSpace", "optuna_module", "search", "suggest"]
