"""Hyper-parameter search with Optuna: TPE sampling, median pruning on a validation metric.

The link predictor (:mod:`nesy.linkpred.tune`) and the rule learner
(:mod:`nesy.rulelearn.tune`) search the same way: trial 0 is the configuration given (so
the best trial is never worse than the untuned run on validation), later trials sample a
search space, each evaluation reports the validation metric to a median pruner, and the
study is kept as a JSON-serialisable record. Only validation data chooses; test data is
never seen here. Optuna is imported lazily (``pip install optuna``).

A single training run's validation metric moves with its seed (about 0.01 MRR on the small
link-prediction splits), as much as most hyper-parameters do, so the trial with the best
single value is often only the luckiest. With enough trials (:func:`confirm_seeds`) part of
the budget is kept back: when the search's best is not trial 0, both it and trial 0 are
trained again with further seeds, and the tuned configuration is kept only when its mean
over the seeds beats the given one's. The kept model is always the one trained with the
user's seed, so keeping the given configuration returns exactly the untuned run.
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


def confirm_seeds(trials: int) -> int:
    """Further seeds each finalist gets out of a budget of ``trials`` runs: 2 from 12, 1 from 6."""
    return 2 if trials >= 12 else 1 if trials >= 6 else 0


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


Run = Callable[[dict[str, Any], Report], tuple[float, Any]]


def search(run: Run, space: SearchSpace, base: Mapping[str, Any], trials: int, *, seed: int,
           timeout: float | None = None, metric: str) -> tuple[Best, dict[str, Any]]:
    """Run a study; return the kept trial and the study's record.

    Args:
        run: ``run(params, report)`` trains with ``params`` (a point of ``space``, and
            ``seed`` in confirmation runs), calls ``report`` with every evaluation record
            (keys ``epoch`` and ``valid_mrr``) and returns (validation metric, its own result).
        space: the searched fields; ``base`` gives trial 0's values for them (and ``seed``).
        trials: most training runs (>= 1), confirmation runs included.
        seed: the TPE sampler's seed.
        timeout: no new trial starts after this many seconds (a running one finishes).
        metric: what the value is, for the record.

    Raises:
        NesyError: ``trials < 1``, optuna missing, or every trial failed or was pruned.
    """
    if trials < 1:
        raise NesyError(f"--tune needs at least one trial, got {trials}")
    optuna = optuna_module()
    seeds = confirm_seeds(trials) if "seed" in base else 0
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3))
    study.enqueue_trial({k: base[k] for k in space})
    found: dict[str, Best] = {}
    started = time.perf_counter()
    study.optimize(objective(optuna, run, space, base, found), n_trials=trials - 2 * seeds,
                   timeout=timeout, catch=(NesyError,))
    if "best" not in found:
        raise NesyError("every tuning trial failed or was pruned; see the messages above")
    best, confirmation = found["best"], None
    if seeds and "given" in found and best.number != 0:
        best, confirmation = confirm(run, found["given"], best, base["seed"], seeds)
    log = [{"number": t.number, "state": t.state.name, "params": t.params, "value": t.value,
            "epochs": t.user_attrs.get("epochs"), "seconds": t.user_attrs.get("seconds")}
           for t in study.trials]
    record = {"metric": metric, "sampler": "TPE", "pruner": "MedianPruner(n_startup_trials=3)",
              "trials_asked": trials, "timeout": timeout, "trials": log, "confirmation": confirmation,
              "best_trial": best.number, "best_value": best.value, "best_params": best.params,
              "seconds": round(time.perf_counter() - started, 3)}
    return best, record


def objective(optuna: Any, run: Run, space: SearchSpace, base: Mapping[str, Any],
              found: dict[str, Best]) -> Callable[[Any], float]:
    """The study's objective; keeps trial 0 in ``found["given"]`` and the best in ``found["best"]``."""

    def one(trial: Any) -> float:
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
        done = Best(value, result, params, records, trial.number)
        if trial.number == 0:
            found["given"] = done
        if "best" not in found or value > found["best"].value:
            found["best"] = done
        return value

    return one


def confirm(run: Run, given: Best, best: Best, seed: int, seeds: int) -> tuple[Best, dict[str, Any]]:
    """Train ``given`` and ``best`` with ``seeds`` more seeds; keep ``best`` only if its mean wins.

    Returns the kept trial (its run with the user's seed) and the confirmation record.
    """
    began = time.perf_counter()
    values: dict[str, list[float]] = {"given": [given.value], "best": [best.value]}
    for offset in range(1, seeds + 1):
        for name, trial in (("given", given), ("best", best)):
            value, _ = run({**trial.params, "seed": seed + offset}, lambda record: None)
            values[name].append(value)
    means = {name: sum(v) / len(v) for name, v in values.items()}
    kept = best if means["best"] > means["given"] else given
    return kept, {"seeds": [seed + k for k in range(seeds + 1)], "trial": best.number,
                  "given_values": values["given"], "best_values": values["best"],
                  "given_mean": means["given"], "best_mean": means["best"],
                  "kept": "best" if kept is best else "given",
                  "seconds": round(time.perf_counter() - began, 3)}


def summary(study: dict[str, Any]) -> str:
    """One line for the CLI: trials, states, seconds, the kept trial and the confirmation."""
    states = [t["state"] for t in study["trials"]]
    done, pruned = states.count("COMPLETE"), states.count("PRUNED")
    line = (f"tuning: {len(states)} trials ({done} complete, {pruned} pruned) in "
            f"{study['seconds']:.1f} s; kept trial {study['best_trial']}: valid MRR "
            f"{study['best_value']:.4f} with {study['best_params']}")
    c = study.get("confirmation")
    if c:
        verdict = ("kept it" if c["kept"] == "best" else "kept the given configuration")
        line += (f"\nconfirmation over seeds {c['seeds']}: best trial {c['trial']} mean valid MRR "
                 f"{c['best_mean']:.4f} against the given configuration's {c['given_mean']:.4f}; {verdict}")
    return line


__all__ = ["Best", "Report", "Run", "SearchSpace", "confirm", "confirm_seeds", "objective",
           "optuna_module", "search", "suggest", "summary"]
