"""Train, evaluate and apply a knowledge base's link predictor (what `nesy train/eval/predict` run).

The model lives in the KB's model slot ``NAME`` (``DIR/models/NAME``: safetensors + JSON,
see :mod:`nesy.linkpred.checkpoint`; an in-memory KB keeps ``(model, meta)`` in the slot);
``kb.json`` names the current one (``link_predictor``).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nesy.engine.kernels import unique
from nesy.errors import NesyError, QueryError
from nesy.linkpred.predictor import KGData, LinkPredictor
from nesy.ml.tracking import METRICS_FILE, RunTracker

if TYPE_CHECKING:
    from rdflib.term import Identifier

    from nesy.kbview import KBView

#: Held-out share of the training triples when no validation file is given.
VALID_SHARE = 0.05
VALID_MAX = 5000


def read_triples(kb: KBView, path: str | Path, *, add: bool = False) -> tuple[np.ndarray, int]:
    """A file of triples (TSV in the KB's TSV namespace, or any RDF syntax) as vocabulary
    ids int64 ``(n, 3)`` and the number of triples in the file; triples with a term the KB
    has never seen are left out, unless ``add`` gives new terms ids (query files that ask
    about relations the graph lacks)."""
    from nesy.store.formats import read_file
    from nesy.store.terms import from_ox

    namespace = kb.config.get("tsv_namespace") or kb.default_namespace
    parsed = read_file(path, None, namespace=namespace, progress=False)
    get = kb.vocab.id if add else kb.vocab.get
    rows = []
    triples = parsed.triples()
    for t in triples:
        ids = [get(from_ox(x)) for x in (t.subject, t.predicate, t.object)]
        if None not in ids:
            rows.append(ids)
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3), len(triples)


def _split(triples: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_valid = min(VALID_MAX, int(len(triples) * VALID_SHARE))
    if n_valid < 1:
        return triples, np.empty((0, 3), np.int64)
    pick = np.zeros(len(triples), dtype=bool)
    pick[rng.choice(len(triples), n_valid, replace=False)] = True
    return triples[~pick], triples[pick]


def _neighbours(triples: np.ndarray, first_new: int, total: int) -> list[list[int]]:
    """For entities ``first_new..total-1``: the already-trained entities next to each."""
    out: list[list[int]] = [[] for _ in range(total - first_new)]
    for h, _, t in triples:
        if h >= first_new > t:
            out[h - first_new].append(int(t))
        if t >= first_new > h:
            out[t - first_new].append(int(h))
    return out


def train_kb(kb: KBView, *, name: str | None = None, valid: str | Path | None = None, resume: bool = False,
             nproc: int = 1, progress: bool | None = None, log_dir: str | Path | None = None,
             tune: int | None = None, timeout: float | None = None,
             on_epoch: Callable[[dict[str, Any]], None] | None = None, **options: Any) -> dict[str, Any]:
    """Train the KB's link predictor on its asserted and extracted entity triples.

    Args:
        kb: The knowledge base.
        name: Checkpoint name (default: the model's name).
        valid: Validation triples (TSV or RDF) for early stopping and calibration; default:
            5% of the triples (at most 5,000) are held out.
        resume: Continue the current checkpoint; entities added since get the mean vector of
            their trained neighbours.
        nproc: Data-parallel worker processes (torchrun; gloo on CPU, NCCL on CUDA).
        progress: Show the progress bar (default: on a terminal).
        log_dir: Also write TensorBoard events there (needs tensorboard); the per-epoch records
            always go to ``DIR/models/NAME/metrics.jsonl`` (a KB on disk).
        tune: Search hyper-parameters with this many Optuna trials (:mod:`nesy.linkpred.tune`),
            keep the best; the study goes to ``DIR/models/NAME/tune.json`` and ``result["tune"]``.
        timeout: With ``tune``: start no trial after this many seconds.
        on_epoch: Called with each epoch's record when training runs here untuned (REPL bar).
        options: :class:`~nesy.linkpred.train.TrainConfig` fields (model, dim, epochs, lr...).

    Returns:
        ``model``, ``checkpoint``, ``entities``, ``relations``, ``triples``, ``valid``,
        ``best_valid_mrr``, ``epochs``, ``seconds``, ``new_entities``.
    """
    import sys

    from nesy.linkpred.kge import get_model_class
    from nesy.linkpred.train import TrainConfig

    old_model, old_meta, new_entities = None, {}, 0
    if resume:
        current = kb.config.get("link_predictor")
        if not current:
            raise NesyError("nothing to resume: this knowledge base has no trained model yet (run `nesy train`)")
        old_model, old_meta = _load(kb, current)
        old = KGData.from_meta(old_meta, kb.vocab, str(kb.models.dir(current) or current))
        data = KGData.from_kb(kb, entities=old.entity_ids, relations=old.relation_ids)
        first_new = len(old.entity_ids)
        new_entities = len(data.entity_ids) - first_new
        if new_entities:
            old_model.add_entities(_neighbours(data.triples, first_new, len(data.entity_ids)))
        config = TrainConfig.from_dict({**old_meta.get("train_config", {}), **options})
        name = name or current
    else:
        data = KGData.from_kb(kb)
        config = TrainConfig.from_dict(options)
        # One checkpoint per model however its name was spelt (`TransE`, `trans_e`).
        config.model = get_model_class(config.model).name or config.model
        name = name or config.model
    if valid is not None:
        train_set, valid_set = data.triples, data.compact(read_triples(kb, valid)[0])
    else:
        train_set, valid_set = _split(data.triples, config.seed)
    known = np.concatenate([data.triples, valid_set])
    show = sys.stderr.isatty() if progress is None else progress
    E, R = len(data.entity_ids), len(data.relation_ids)
    metrics = None if kb.path is None else kb.models.require_dir(name) / METRICS_FILE
    model, meta, config, study = _fit_kb(
        train_set, valid_set, known, E, R, config, old_model=old_model, progress=show, metrics=metrics,
        resume=resume, nproc=nproc, tune=tune, timeout=timeout, log_dir=log_dir, name=name,
        on_epoch=on_epoch)
    if resume:
        offset = max((int(h.get("epoch", 0)) for h in old_meta.get("history") or []), default=0)
        meta["history"] = list(old_meta.get("history") or []) + [
            {**h, "epoch": h["epoch"] + offset} for h in meta.get("history") or []]
    meta.update(data.meta(kb.vocab), name=name, triples=int(len(train_set)), valid=int(len(valid_set)),
                created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    where = _keep(kb, name, model, meta)
    if kb.path is not None:
        write_run_config(kb.models.require_dir(name), config.to_dict(), valid=valid, name=name, nproc=nproc)
        if study is not None:
            _write_json(kb.models.require_dir(name) / TUNE_FILE, study)
    kb.set_link_predictor(_predictor(model, meta, data, where, name))
    return {"model": config.model, "checkpoint": str(where) if where else None, "entities": E, "relations": R,
            "triples": int(len(train_set)), "valid": int(len(valid_set)),
            "best_valid_mrr": meta.get("best_valid_mrr"), "epochs": meta.get("epochs_run"),
            "seconds": meta.get("seconds"), "new_entities": new_entities, "tune": study}


#: The study of ``nesy train --tune`` in a model directory.
TUNE_FILE = "tune.json"
#: The last ``nesy eval``'s calibration report in a model directory.
CALIBRATION_FILE = "calibration.json"


def _write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file (no half-written file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)


#: Options of ``nesy train`` beyond TrainConfig's fields that a config file may set.
RUN_OPTIONS = ("valid", "name", "nproc")


def write_run_config(directory: Path, config: dict[str, Any], *, valid: str | Path | None, name: str,
                     nproc: int) -> Path:
    """Write the resolved configuration of a run to ``directory/config.toml``: every
    TrainConfig field plus :data:`RUN_OPTIONS`, so ``nesy train DIR --config FILE`` repeats it."""
    from nesy.ml.tomlconfig import CONFIG_FILE, write_config

    resolved = {**config, "valid": str(Path(valid).resolve()) if valid is not None else None,
                "name": name, "nproc": nproc}
    return write_config(directory / CONFIG_FILE, resolved,
                        header="nesy train: the resolved configuration of this model's run.\n"
                               "Repeat it with: nesy train DIR --config THIS_FILE")


def _fit_kb(train_set: np.ndarray, valid_set: np.ndarray, known: np.ndarray, E: int, R: int, config: Any, *,
            old_model: Any, progress: bool, metrics: Path | None, resume: bool, nproc: int, tune: int | None,
            timeout: float | None, log_dir: str | Path | None, name: str,
            on_epoch: Callable[[dict[str, Any]], None] | None = None) -> tuple[Any, dict[str, Any], Any, Any]:
    """Train (one process, torchrun, or an Optuna search) with per-epoch records to ``metrics``;
    returns the model, its checkpoint meta, the configuration it was trained with and the
    study (None unless tuning)."""
    from nesy.linkpred.train import resolve_config, train

    # Resolved here, so the checkpoint, config.toml and every tuning trial carry the values.
    config = resolve_config(config, train_set, E, R)
    show = progress
    study = None
    if tune is not None:
        if resume or nproc > 1:
            raise NesyError("--tune trains fresh models in this process: leave out --resume and --nproc")
        from nesy.linkpred.tune import tune as run_tune

        found = run_tune(train_set, valid_set, known, E, R, config, tune, timeout=timeout, progress=show)
        config, result, study = found.config, found.result, found.study
        with RunTracker(metrics, log_dir=log_dir, run_name=name) as tracker:
            for record in found.records:
                tracker.log(record)
    elif nproc > 1:
        model, meta = _train_distributed(nproc, train_set, valid_set, known, E, R, config, old_model, show,
                                         metrics=metrics, resume=resume)
    else:
        with RunTracker(metrics, log_dir=log_dir, append=resume, run_name=name) as tracker:
            def record(entry: dict[str, Any]) -> None:
                tracker.log(entry)
                if on_epoch is not None:
                    on_epoch(entry)

            result = train(train_set, E, R, config, valid=valid_set if len(valid_set) else None,
                           known=known, model=old_model, progress=show, on_epoch=record)
    if nproc == 1 or tune is not None:
        model = result.model
        meta = {"train_config": config.to_dict(), "history": result.history,
                "best_valid_mrr": result.best_valid_mrr, "epochs_run": result.epochs_run,
                "seconds": result.seconds,
                "calibrator": result.calibrator.to_dict() if result.calibrator else None}
    return model, meta, config, study


def _keep(kb: KBView, name: str, model: Any, meta: dict[str, Any]) -> Path | None:
    """Keep the trained model in the KB's slot ``name`` (its checkpoint directory, or memory
    for an in-memory KB) and make it the current one; the checkpoint path or None."""
    from nesy.linkpred.checkpoint import save_checkpoint

    where = None
    if kb.path is not None:
        where = save_checkpoint(kb.models.require_dir(name), model, meta)
        kb.models.touch(name)
    else:
        kb.models.keep(name, (model, meta))
    kb.config["link_predictor"] = name
    kb.save_config()
    return where


def _train_distributed(nproc: int, train_set: np.ndarray, valid_set: np.ndarray, known: np.ndarray, E: int, R: int,
                       config: Any, old_model: Any, progress: bool, *, metrics: Path | None = None,
                       resume: bool = False) -> tuple[Any, dict[str, Any]]:
    from nesy.linkpred.checkpoint import load_checkpoint, save_checkpoint
    from nesy.linkpred.worker import launch

    with tempfile.TemporaryDirectory(prefix="nesy-train-") as tmp:
        work = Path(tmp)
        np.savez(work / "data.npz", train=train_set, valid=valid_set, known=known,
                 num_entities=np.int64(E), num_relations=np.int64(R))
        raw = config.to_dict()
        if old_model is not None:
            raw["resume"] = str(save_checkpoint(work / "resume", old_model, {}))
        if metrics is not None:
            raw["metrics"] = {"path": str(metrics), "append": resume}
        (work / "config.json").write_text(json.dumps(raw), encoding="utf-8")
        argv = ["--data", str(work / "data.npz"), "--config", str(work / "config.json"), "--out", str(work / "out")]
        if not progress:
            argv.append("--no-progress")
        code = launch(nproc, argv)
        if code != 0:
            raise NesyError(f"distributed training failed (torchrun exit status {code}); see the workers' output above")
        return load_checkpoint(work / "out")


def _load(kb: KBView, name: str) -> tuple[Any, dict[str, Any]]:
    from nesy.linkpred.checkpoint import load_checkpoint

    if kb.path is None:
        memory = kb.models.get(name)
        if memory is None:
            raise NesyError("no link predictor trained: run kb.train() first")
        return memory
    return load_checkpoint(kb.models.require_dir(name))


def _predictor(model: Any, meta: dict[str, Any], data: KGData, where: Path | None, name: str) -> LinkPredictor:
    from nesy.linkpred.calibrate import Calibrator

    cal = meta.get("calibrator")
    source = {"model": model.config().get("model", name), "checkpoint": str(where) if where else "(in memory)",
              "trained": meta.get("created")}
    return LinkPredictor(model, data, Calibrator.from_dict(cal) if cal else None, source=source)


def load_predictor(kb: KBView) -> LinkPredictor | None:
    """The KB's current link predictor from its checkpoint, or None when it has none."""
    name = kb.config.get("link_predictor")
    if not name:
        return None
    model, meta = _load(kb, name)
    where = kb.models.dir(name)
    data = KGData.from_meta(meta, kb.vocab, str(where) if where else "(in memory)")
    try:
        data.triples = KGData.from_kb(kb, entities=data.entity_ids).compact(_kb_triples(kb))
    except NesyError:
        data.triples = np.empty((0, 3), np.int64)
    return _predictor(model, meta, data, where, name)


def _kb_triples(kb: KBView) -> np.ndarray:
    from nesy.linkpred.predictor import TRAIN_GRAPHS
    from nesy.store.graphs import GRAPH_CODE

    t = kb.store.table
    keep = np.isin(t.g, [GRAPH_CODE[g] for g in TRAIN_GRAPHS])
    return np.stack([t.s[keep], t.p[keep], t.o[keep]], axis=1)


def evaluate_kb(kb: KBView, test: str | Path, *, batch_size: int = 512, negatives: int | None = None,
                seed: int = 0) -> dict[str, Any]:
    """Filtered ranking metrics of the current model on a file of test triples.

    The filter is every triple the knowledge base holds (asserted, extracted), the test
    triples and the validation file the model was trained with (named in its
    ``config.toml``), as in the standard protocol (train + valid + test). Test triples with
    an entity or relation the model does not know are counted in ``skipped``, not ranked. ``calibration`` holds the calibration quality of the model's
    probabilities on the test triples (ECE, Brier, reliability bins, before and after
    Platt scaling: :func:`nesy.linkpred.calibrate.calibration_report`); a KB on disk also
    keeps it in ``DIR/models/NAME/calibration.json`` for ``nesy plot --calibration``.
    ``negatives`` ranks against that many sampled entities instead (GraIL's protocol).
    """
    from nesy.linkpred.calibrate import calibration_report
    from nesy.linkpred.evaluate import evaluate

    predictor = kb.link_predictor_or_fail()
    data = predictor.data
    raw, total = read_triples(kb, test)
    tests = data.compact(raw)
    if not len(tests):
        raise NesyError("no test triple uses entities and relations the model knows", file=str(test))
    known = np.concatenate([data.compact(_kb_triples(kb)), tests, _valid_of(kb, data)])
    metrics = evaluate(predictor.model, tests, known, len(data.relation_ids), batch_size=batch_size,
                       negatives=negatives, seed=seed)
    calibration = calibration_report(predictor.model, predictor.calibrator, tests, known,
                                     len(data.entity_ids), len(data.relation_ids))
    name = kb.config.get("link_predictor")
    if kb.path is not None and name:
        _write_json(kb.models.require_dir(name) / CALIBRATION_FILE, {"test": str(test), **calibration})
    return {**metrics, "triples": int(len(tests)), "skipped": int(total - len(tests)),
            "model": predictor.source.get("model"), "calibration": calibration}


def _valid_of(kb: KBView, data: KGData) -> np.ndarray:
    """The compact validation triples the current model was trained with (the ``valid`` file
    its ``config.toml`` names, when it still exists), for the evaluation filter: the standard
    protocol filters by train + valid + test, and valid triples are not in the KB."""
    name = kb.config.get("link_predictor")
    folder = kb.models.dir(name) if name else None
    if folder is None:
        return np.empty((0, 3), np.int64)
    return valid_named_by(kb, data, folder / "config.toml")


def valid_named_by(kb: KBView, data: KGData, config: Path) -> np.ndarray:
    """The compact triples of the ``valid`` file a run's resolved ``config`` (TOML) names;
    empty when the config or the file is gone. Read for the evaluation filter."""
    import tomllib

    empty = np.empty((0, 3), np.int64)
    try:
        valid = tomllib.loads(config.read_text(encoding="utf-8")).get("valid") if config.is_file() else None
    except (OSError, ValueError):
        return empty
    if not isinstance(valid, str) or not Path(valid).is_file():
        return empty
    return data.compact(read_triples(kb, valid)[0])


def predicted_links(kb: KBView, *, relation: Any = None, threshold: float = 0.5,
                    k: int = 10) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The model's new links: for each relation (or the one given), every entity that is a
    head of it gets its top ``k`` tails with probability >= ``threshold``; links the KB
    already holds are left out.

    Returns:
        ``triples`` int64 ``(m, 3)`` vocabulary ids, ``probs`` ``(m,)``, and the predictor's
        source fields (plus ``relations``: the vocabulary ids of the relations covered).
    """
    from nesy.store.graphs import GRAPH_CODE

    predictor = kb.link_predictor_or_fail()
    data = predictor.data
    if relation is None:
        rels = data.relation_ids
    else:
        pid = kb.vocab.get(kb.resolve_term(relation))
        if pid is None or pid not in set(data.relation_ids.tolist()):
            known = ", ".join(kb.shorten(t) for t in kb.vocab.terms(data.relation_ids[:10]))
            raise NesyError(f"the model was not trained on relation {relation}; it knows: {known}"
                            + (" ..." if len(data.relation_ids) > 10 else ""))
        rels = np.array([pid], dtype=np.int64)
    t = kb.store.table
    held = {(int(a), int(b), int(c)) for a, b, c in _kb_triples(kb)}
    rows: list[tuple[int, int, int]] = []
    probs: list[float] = []
    for pid in rels.tolist():
        heads = unique(t.s[(t.p == pid) & (t.g != GRAPH_CODE["predicted"])])
        pairs, p = predictor.top(heads, pid, k=k, threshold=threshold)
        for (h, o), prob in zip(pairs.tolist(), p.tolist(), strict=True):
            if (h, pid, o) not in held:
                rows.append((h, pid, o))
                probs.append(prob)
    return (np.asarray(rows, dtype=np.int64).reshape(-1, 3), np.asarray(probs, dtype=np.float64),
            {**predictor.source, "relations": rels})


def predict(kb: KBView, head: Identifier | str, relation: Identifier | str, k: int = 10, *,
            tails: bool = True) -> list[tuple[Identifier, float]]:
    """The ``k`` most probable tails of ``(head, relation, ?)`` (heads of
    ``(?, relation, head)`` with ``tails=False``), with calibrated probabilities."""
    lp = kb.link_predictor_or_fail()
    anchor = kb.vocab.get(kb.resolve_term(head))
    pid = kb.vocab.get(kb.resolve_term(relation))
    if pid is None:
        raise QueryError(f"unknown relation {relation}")
    if anchor is None:
        raise QueryError(f"unknown entity {head}")
    pairs, probs = lp.top(np.array([anchor]), pid, tails=tails, k=k, threshold=0.0)
    return [(kb.vocab.term(int(o)), float(p)) for (_, o), p in zip(pairs, probs, strict=True)]


def store_predicted_links(kb: KBView, *, relation: Any = None, threshold: float = 0.5,
                          k: int = 10) -> dict[str, Any]:
    """Store :func:`predicted_links` in the ``predicted`` graph, replacing the earlier
    predictions for those relations; each link's score is its probability, its source the
    model and checkpoint. Returns ``added``, ``relations``, ``threshold``."""
    from nesy.store.graphs import GRAPH_CODE

    triples, probs, source = predicted_links(kb, relation=relation, threshold=threshold, k=k)
    rels = source.pop("relations")
    store = kb.store
    added = 0
    with kb.changing():
        t = store.table
        old = (t.g == GRAPH_CODE["predicted"]) & np.isin(t.p, rels)
        if old.any():
            store.remove_rows(old)
        if len(triples):
            src = store.new_source("predicted", "predicted", model=source.get("model"),
                                   checkpoint=source.get("checkpoint"),
                                   extra={"trained": source.get("trained"), "threshold": threshold})
            added = store.add_encoded("predicted", triples[:, 0], triples[:, 1], triples[:, 2],
                                      np.clip(probs, 1e-12, 1.0), np.full(len(triples), src.id))
    return {"added": int(added), "relations": len(rels), "threshold": threshold}


__all__ = ["evaluate_kb", "load_predictor", "predict", "predicted_links", "read_triples", "store_predicted_links",
           "train_kb"]
