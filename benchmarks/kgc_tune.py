"""The tuned rows of ``benchmarks/kgc.py --tune N``: nesy's and PyKEEN's searches, N trials each.

* **nesy tuned** — ``nesy.linkpred.tune.tune(train, valid, train + valid, E, R, base, N)``
  with ``base`` the very TrainConfig of the default row (epoch ceiling, dim, seed; batch and
  N3 weight resolved), so trial 0 is the default row's run. The kept model is scored on test
  by ``kgc.nesy_test_result``, as the default row is (filtered by train + valid + test,
  realistic ranks, the Platt-scaled probabilities' ECE). Train s = the whole ``tune()`` call.
* **PyKEEN tuned** — ``pykeen.hpo.hpo_pipeline``: Optuna TPE (seeded), median pruning after
  3 trials, N trials, each the untuned row's ``pipeline()`` arguments (``kgc.pykeen_setup``:
  same factories, epoch ceiling and early stopper) with nesy's search space
  (:data:`PYKEEN_NAMES`); trial 0 is the untuned row's configuration. The objective is each
  trial's final validation MRR (filtered by train + valid, realistic ranks). ``hpo_pipeline``
  keeps no model, so the best trial's configuration is trained once more with that trial's
  seed and scored by ``kgc.pykeen_test_result``, as the untuned row is; Train s = the study's
  wall time plus that retraining's ``train_seconds``.

Test triples are never seen by either search. Every row is its own child process (``kgc.py``
runs these workers through ``--worker nesy-tune|pykeen-tune``), so the peak RSS is its own.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kgc  # noqa: E402 - data, evaluation and the untuned PyKEEN recipe of the KGC benchmark
from _common import Timer  # noqa: E402 - the helpers sit next to this script

#: Worker name -> system shown in the table.
SYSTEMS = {"nesy-tune": "nesy", "pykeen-tune": "PyKEEN"}
#: nesy's searched TrainConfig fields (``nesy.linkpred.tune.SEARCH_SPACE``) -> PyKEEN's
#: (component, keyword). The regulariser weight is searched only for models that have one
#: (ComplEx: PyKEEN's L2 ``LpRegularizer``, nesy's is N3), label smoothing only under LCWA.
PYKEEN_NAMES: dict[str, tuple[str, str]] = {
    "dim": ("model", "embedding_dim"),
    "lr": ("optimizer", "lr"),
    "regularization": ("regularizer", "weight"),
    "label_smoothing": ("training", "label_smoothing"),
    "batch_size": ("training", "batch_size"),
}
#: Adam's learning rates (the sLCWA models): nesy's lr range is Adagrad's; this is PyKEEN's own.
ADAM_LR = ("log", (1e-3, 0.1))
#: Short names of the searched fields in the Training column.
SHORT = {"dim": "dim", "embedding_dim": "dim", "lr": "lr", "regularization": "N3", "weight": "L2",
         "label_smoothing": "ls", "batch_size": "batch"}
#: The extra columns of the summary table.
SUMMARY_HEADERS = ["nesy tuned best", "PyKEEN tuned best", "Tuned MRR ratio", "nesy tuned − default"]
#: Optuna's median pruner, as nesy's search has it.
PRUNER_STARTUP = 3


def system_label(system: str, trials: int) -> str:
    """The System cell of a row: ``nesy tuned (N trials)`` for a tuned worker."""
    return f"{SYSTEMS[system]} tuned ({trials} trials)" if system in SYSTEMS else system


# -- nesy (child process) ------------------------------------------------------------------
def worker_nesy_tune(spec: dict[str, Any]) -> dict[str, Any]:
    """Tune one nesy model on the split (``spec["trials"]`` trials) and score the kept model."""
    import numpy as np

    from nesy.linkpred.tune import tune

    split = kgc.load_split(Path(spec["folder"]))
    config = kgc.nesy_config(spec)
    tr, va = split.ids["train"], split.ids["valid"]
    with Timer() as t:
        # The validation filter: train + valid, as `nesy train --tune` passes it (kbtrain).
        found = tune(tr, va, np.concatenate([tr, va]), len(split.entity_to_id),
                     len(split.relation_to_id), config, spec["trials"], progress=False)
    row = kgc.nesy_test_result(found.result, found.config, split)
    study = found.study
    confirmation = study.get("confirmation") or {}
    brief = {**study_counts([t["state"] for t in study["trials"]]), "best_trial": study["best_trial"],
             "best_value": study["best_value"], "seconds": study["seconds"],
             "kept": confirmation.get("kept")}
    return {**row, "train_s": t.seconds, "study": brief,
            "loop": nesy_label(found.config.to_dict(), study["best_trial"])}


def nesy_label(config: dict[str, Any], trial: int) -> str:
    """The Training cell of a tuned nesy row: the kept configuration's searched fields."""
    from nesy.linkpred.tune import SEARCH_SPACE

    chosen = ", ".join(f"{SHORT.get(name, name)} {config[name]:.3g}" if isinstance(config[name], float)
                       else f"{SHORT.get(name, name)} {config[name]}" for name in SEARCH_SPACE)
    return f"1-N CE, {config['optimizer']}; kept trial {trial}: {chosen}"


def study_counts(states: list[str]) -> dict[str, int]:
    """Trials in total, complete, pruned and failed, from their Optuna state names."""
    return {"trials": len(states), "complete": states.count("COMPLETE"),
            "pruned": states.count("PRUNED"), "failed": states.count("FAIL")}


# -- PyKEEN (child process) ----------------------------------------------------------------
def worker_pykeen_tune(spec: dict[str, Any]) -> dict[str, Any]:
    """Tune one PyKEEN model with ``hpo_pipeline``, retrain its best trial once, score it."""
    from pykeen.pipeline import pipeline

    split, base = kgc.pykeen_setup(spec)
    space, given, regularizer = pykeen_space(base)
    with Timer() as t:
        study = pykeen_study(base, space, given, regularizer, spec["trials"], spec["config"]["seed"])
    done = [x for x in study.trials if x.state.name == "COMPLETE"]
    if not done:
        raise RuntimeError(f"every PyKEEN trial failed or was pruned: {[x.state.name for x in study.trials]}")
    best = study.best_trial
    tuned = with_params(base, best.params, regularizer)
    result = pipeline(**tuned, random_seed=best.user_attrs["random_seed"], use_tqdm=False)
    row = kgc.pykeen_test_result(result, tuned, split)
    brief = {**study_counts([x.state.name for x in study.trials]), "best_trial": best.number,
             "best_value": study.best_value, "seconds": t.seconds, "retrain_s": result.train_seconds}
    return {**row, "train_s": t.seconds + result.train_seconds, "study": brief,
            "loop": pykeen_label(tuned, best.number)}


def pykeen_space(base: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, Any], Any]:
    """nesy's search space in PyKEEN's terms for the untuned ``pipeline()`` arguments ``base``.

    Returns the ranges per component (``model``, ``optimizer``, ``regularizer``, ``training``),
    trial 0's values (``component.keyword`` -> the untuned row's value; each range widened to
    hold it, as nesy's search does) and the regulariser class (None: the model has none).
    """
    from pykeen.models import model_resolver

    from nesy.linkpred.tune import SEARCH_SPACE

    model_cls = model_resolver.lookup(base["model"])
    reg_defaults = getattr(model_cls, "regularizer_default_kwargs", None)
    regularizer = default_of(model_cls, "regularizer") if reg_defaults else None
    given = {
        "model.embedding_dim": base["model_kwargs"]["embedding_dim"],
        "optimizer.lr": base["optimizer_kwargs"]["lr"],
        "training.batch_size": base["training_kwargs"]["batch_size"],
    }
    if "label_smoothing" in base["training_kwargs"]:
        given["training.label_smoothing"] = base["training_kwargs"]["label_smoothing"]
    if regularizer is not None:
        given["regularizer.weight"] = reg_defaults["weight"]
    space: dict[str, dict[str, Any]] = {}
    for field, (component, name) in PYKEEN_NAMES.items():
        key = f"{component}.{name}"
        if field not in SEARCH_SPACE or key not in given:
            given.pop(key, None)
            continue
        kind, args = SEARCH_SPACE[field]
        if field == "lr" and str(base["optimizer"]).lower() == "adam":
            kind, args = ADAM_LR
        space.setdefault(component, {})[name] = pykeen_range(kind, args, given[key])
    return space, given, regularizer if "regularizer" in space else None


def pykeen_range(kind: str, args: tuple[Any, ...], given: Any) -> dict[str, Any]:
    """One of nesy's ranges (``tuning.SearchSpace`` form) as PyKEEN's HPO strategy, widened to ``given``."""
    if kind == "categorical":
        return {"type": "categorical", "choices": sorted({*args[0], given})}
    low, high = min(args[0], given), max(args[1], given)
    if kind == "int":
        return {"type": int, "low": int(low), "high": int(high)}
    if kind == "log":
        return {"type": float, "low": max(low, 1e-12), "high": high, "log": True}
    return {"type": float, "low": low, "high": high}


def default_of(cls: Any, name: str) -> Any:
    """The default of constructor argument ``name`` of ``cls`` (None when it has none)."""
    parameter = inspect.signature(cls).parameters.get(name)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return parameter.default


def fixed(cls: Any, names: Any, searched: dict[str, Any]) -> dict[str, Any]:
    """``cls``'s own defaults for the names PyKEEN would search by default but nesy does not:
    those stay as in the untuned row (``hpo_pipeline`` skips a name given a fixed value)."""
    return {n: default_of(cls, n) for n in names if n not in searched and default_of(cls, n) is not None}


def hpo_arguments(base: dict[str, Any], space: dict[str, dict[str, Any]], regularizer: Any) -> dict[str, Any]:
    """``hpo_pipeline`` arguments: ``base`` without the searched values, plus their ranges."""
    from pykeen.losses import loss_resolver
    from pykeen.models import model_resolver
    from pykeen.regularizers import regularizer_resolver

    kw = dict(base)
    for component in ("model", "optimizer", "training"):
        ranges = space.get(component, {})
        kw[f"{component}_kwargs"] = {k: v for k, v in base[f"{component}_kwargs"].items() if k not in ranges}
        kw[f"{component}_kwargs_ranges"] = ranges
    model_cls = model_resolver.lookup(base["model"])
    kw["model_kwargs"].update(fixed(model_cls, model_cls.hpo_default, space.get("model", {})))
    loss_cls = loss_resolver.lookup(base.get("loss") or model_cls.loss_default)
    kw["loss_kwargs"] = fixed(loss_cls, getattr(loss_cls, "hpo_default", {}), {})
    kw["training_kwargs"]["use_tqdm"] = False
    if regularizer is not None:
        reg_cls = regularizer_resolver.lookup(regularizer)
        defaults = dict(model_cls.regularizer_default_kwargs)
        kw["regularizer"] = reg_cls
        kw["regularizer_kwargs"] = {k: v for k, v in defaults.items() if k not in space["regularizer"]}
        kw["regularizer_kwargs_ranges"] = space["regularizer"]
    if str(base["training_loop"]).lower() == "slcwa":
        kw["negative_sampler"] = "basic"  # pipeline()'s default; hpo_pipeline wants it named
    # The objective: the final validation MRR, filtered by train (PyKEEN adds it) + valid.
    kw["evaluation_kwargs"] = {**base["evaluation_kwargs"], "use_tqdm": False,
                               "additional_filter_triples": [base["validation"].mapped_triples]}
    return kw


def pykeen_study(base: dict[str, Any], space: dict[str, dict[str, Any]], given: dict[str, Any],
                 regularizer: Any, trials: int, seed: int) -> Any:
    """Run ``hpo_pipeline`` (TPE seeded with ``seed``, median pruning, trial 0 = ``given``);
    return its Optuna study."""
    import optuna
    from pykeen.hpo import hpo_pipeline

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # hpo_pipeline makes its own study; one made first in the same storage, with trial 0
    # enqueued, is the one it loads (load_if_exists).
    storage, name = optuna.storages.InMemoryStorage(), "kgc-pykeen-tune"
    optuna.create_study(storage=storage, study_name=name, direction="maximize").enqueue_trial(given)
    with trial_seeds(seed):
        result = hpo_pipeline(
            **hpo_arguments(base, space, regularizer), n_trials=trials,
            metric="both.realistic.inverse_harmonic_mean_rank", direction="maximize",
            sampler="tpe", sampler_kwargs={"seed": seed},
            pruner="median", pruner_kwargs={"n_startup_trials": PRUNER_STARTUP},
            storage=storage, study_name=name, load_if_exists=True,
        )
    return result.study


@contextmanager
def trial_seeds(seed: int) -> Iterator[None]:
    """Seed every trial of ``hpo_pipeline`` with ``seed``, as nesy's search seeds its trials:
    it passes no seed to ``pipeline()``, which then draws one from the OS. So trial 0 is the
    untuned row's run (same configuration, same seed), as nesy's trial 0 is, and a study repeats."""
    from pykeen.pipeline import api

    draw = api.random_non_negative_int
    api.random_non_negative_int = lambda: seed
    try:
        yield
    finally:
        api.random_non_negative_int = draw


def with_params(base: dict[str, Any], params: dict[str, Any], regularizer: Any) -> dict[str, Any]:
    """``pipeline()`` arguments of ``base`` with a trial's ``component.keyword`` params."""
    tuned = dict(base)
    for component in ("model", "optimizer", "training"):
        chosen = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(f"{component}.")}
        tuned[f"{component}_kwargs"] = {**base[f"{component}_kwargs"], **chosen}
    if regularizer is not None:
        from pykeen.models import model_resolver

        defaults = dict(model_resolver.lookup(base["model"]).regularizer_default_kwargs)
        tuned["regularizer"] = regularizer
        tuned["regularizer_kwargs"] = {**defaults, "weight": params.get("regularizer.weight", defaults["weight"])}
    return tuned


def pykeen_label(tuned: dict[str, Any], trial: int) -> str:
    """The Training cell of a tuned PyKEEN row: the retrained best trial's configuration."""
    values = {"embedding_dim": tuned["model_kwargs"]["embedding_dim"], "lr": tuned["optimizer_kwargs"]["lr"]}
    if "regularizer_kwargs" in tuned:
        values["weight"] = tuned["regularizer_kwargs"]["weight"]
    for name in ("label_smoothing", "batch_size"):
        if name in tuned["training_kwargs"]:
            values[name] = tuned["training_kwargs"][name]
    chosen = ", ".join(f"{SHORT[k]} {v:.3g}" if isinstance(v, float) else f"{SHORT[k]} {v}"
                       for k, v in values.items())
    negatives = tuned.get("negative_sampler_kwargs", {}).get("num_negs_per_pos")
    return (f"{tuned['training_loop']}, {tuned.get('loss') or 'default loss'}"
            + (f", {negatives} neg" if negatives else "")
            + f", {tuned['optimizer']}; best trial {trial}: {chosen}")


#: ``kgc.py --worker NAME SPEC`` -> the tuned rows' workers.
WORKERS = {"nesy-tune": worker_nesy_tune, "pykeen-tune": worker_pykeen_tune}


# -- report (parent) -----------------------------------------------------------------------
def summary_cells(runs: list[Any], dataset: str) -> list[str]:
    """The summary's tuned columns of ``dataset`` (:data:`SUMMARY_HEADERS`)."""
    nb, pb = kgc.best_run(runs, "nesy-tune", dataset), kgc.best_run(runs, "pykeen-tune", dataset)

    def cell(run: Any) -> str:
        return "—" if run is None else f"{run.model} {run.result['mrr']:.3f} in {run.result['train_s']:.0f} s"

    ratio = "—" if nb is None or pb is None else f"{nb.result['mrr'] / pb.result['mrr']:.2f}"
    return [cell(nb), cell(pb), ratio, "; ".join(deltas(runs, dataset)) or "—"]


def deltas(runs: list[Any], dataset: str) -> list[str]:
    """``model +0.012`` per nesy model with both a tuned and a default row: the test MRR gain."""
    default = {r.model: r.result for r in runs if r.dataset == dataset and r.system == "nesy" and r.result}
    return [f"{r.model} {r.result['mrr'] - default[r.model]['mrr']:+.3f}" for r in runs
            if r.dataset == dataset and r.system == "nesy-tune" and r.result and r.model in default]


def notes(runs: list[Any], datasets: list[str], trials: int) -> list[str]:
    """The notes on the tuned rows: how each side searched, and each study's outcome."""
    studies = []
    for r in runs:
        if r.dataset in datasets and r.system in SYSTEMS and r.result:
            s = r.result["study"]
            studies.append(f"{kgc.DATASETS[r.dataset][0]} {SYSTEMS[r.system]} {r.model}: {s['trials']} "
                           f"trials ({s['complete']} complete, {s['pruned']} pruned, {s['failed']} failed), "
                           f"kept trial {s['best_trial']} (valid MRR {s['best_value']:.3f})"
                           + (f", {s['retrain_s']:.1f} s retraining" if "retrain_s" in s else "")
                           + (f", seed confirmation kept the {s['kept']}" if s.get("kept") else ""))
    return [
        f"Tuned rows (--tune {trials}): {trials} trials per row, one study per row whatever "
        "--repeat, the same epoch ceiling, early stopping and threads as the default rows; only "
        "validation triples choose. nesy: `nesy.linkpred.tune.tune` as `nesy train --tune` runs "
        "it (Optuna TPE, median pruning, trial 0 = the default row's configuration, the "
        "validation filter train + valid) over its SEARCH_SPACE; Train s = the whole search. PyKEEN: `pykeen.hpo.hpo_pipeline` (TPE seeded, median pruning "
        f"after {PRUNER_STARTUP} trials, every trial with the row's seed, trial 0 = the untuned "
        "row's configuration) over the same "
        "ranges: embedding dim, lr (Adam models: 0.001-0.1), regulariser weight (models with one: "
        "ComplEx's L2), label smoothing (LCWA), batch; objective = each trial's final validation "
        "MRR (filtered by train + valid). hpo_pipeline keeps no model: the best trial is retrained "
        "once with its seed and scored like the untuned row; Train s = the study plus that "
        "retraining. Training column: the kept configuration. MRR / Time columns of tuned rows: "
        "against the untuned PyKEEN best.",
        "Studies: " + ("; ".join(studies) or "none finished") + ".",
    ]


def goal_line(runs: list[Any], datasets: list[str], trials: int) -> str:
    """The line under the goal: tuned nesy against tuned PyKEEN, and what tuning gave nesy."""
    parts, within = [], 0
    for ds in datasets:
        nb, pb = kgc.best_run(runs, "nesy-tune", ds), kgc.best_run(runs, "pykeen-tune", ds)
        if nb is None or pb is None:
            parts.append(f"{kgc.DATASETS[ds][0]} not measured")
            continue
        within += nb.result["mrr"] >= pb.result["mrr"] - kgc.GOAL_MRR_SLACK
        parts.append(f"{kgc.DATASETS[ds][0]} {nb.result['mrr']:.3f} vs {pb.result['mrr']:.3f} "
                     f"(nesy tuned − default: {', '.join(deltas(runs, ds)) or '—'})")
    return (f"Tuned ({trials} trials each): nesy's best tuned model within {kgc.GOAL_MRR_SLACK} of "
            f"PyKEEN's best tuned MRR on {within}/{len(datasets)} datasets — " + "; ".join(parts))
