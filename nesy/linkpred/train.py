"""Train a KGE model: 1-N cross-entropy over reciprocal queries, early stopping on valid MRR."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from nesy.errors import NesyError
from nesy.linkpred.calibrate import fit_calibrator
from nesy.linkpred.defaults import GraphStats, resolve
from nesy.linkpred.evaluate import evaluate
from nesy.linkpred.kge import KGEModel
from nesy.ml.config import Check, Config, boolean, integer, mapping, number, one_of, string
from nesy.ml.data import as_triples
from nesy.ml.devices import (
    all_reduce_sum,
    broadcast_state,
    resolve_device,
    seed_everything,
    world_info,
    wrap_ddp,
)
from nesy.ml.metrics import TrainingLog, evaluation_due, show_progress

_OPTIMIZERS = {"adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad}


def _or_auto(check: Check) -> Check:
    """``check``, or ``None``: the field is resolved from the graph (:mod:`nesy.linkpred.defaults`)."""
    return Check(lambda v: v is None or check.ok(v), f"{check.want} (or unset: automatic)")


@dataclass
class TrainConfig(Config):
    """Hyperparameters of :func:`train`; the defaults give a good model with no tuning.

    The defaults follow the strongest simple recipe in the KGE literature (Lacroix et al.
    2018, "Canonical Tensor Decomposition for Knowledge Base Completion"; Ruffinelli et al.
    2020, "You CAN Teach an Old Dog New Tricks"): ComplEx with reciprocal relations, 1vsAll
    cross-entropy and an N3 penalty. ComplEx models symmetric, antisymmetric and inverse
    relations alike and is at or near the top of both studies. Adagrad at lr 0.1 is that
    recipe's optimiser: per-row step sizes suit embedding tables, whose rare entities get
    few updates. ``dim`` 200 gets most of ComplEx's quality at a cost a CPU affords. Label
    smoothing 0.1 keeps scores from growing without bound on the training facts. Early
    stopping (``patience`` evaluations, ``eval_every`` epochs apart, without a better filtered
    validation MRR) makes ``epochs`` a ceiling rather than a guess. ``batch_size`` and
    ``regularization`` are unset by default: they are resolved from the training graph's
    size and density (:mod:`nesy.linkpred.defaults`, from the validation study of
    ``benchmarks/kgc_defaults.py``); a value given explicitly is always kept.

    Checked on the ConvE splits of UMLS and Kinship (filtered test MRR, realistic ties, one
    CPU thread) with batch 1024 and N3 1e-2, before those two adapted: 0.959 / 0.879 in
    41 s / 21 s. With N3 weight 1e-3 instead: 0.949 / 0.852 (KvsAll: 0.919 / 0.803; Adam
    lr 0.01: 0.933 / 0.839); 5e-2 underfits Kinship (0.705). With the adaptive values
    (2026-12-05, ``benchmarks/kgc.py``): 0.966 / 0.883.

    Attributes:
        model: Registry name (``nesy.linkpred.kge.model_names()``).
        dim: Embedding size per entity/relation (complex dims for ComplEx/RotatE).
        model_options: Extra constructor options for the model (e.g. R-GCN layers).
        optimizer: "adagrad" or "adam".
        lr: Learning rate.
        batch_size: Queries per step (each triple gives two queries), over all ranks;
            unset: :func:`nesy.linkpred.defaults.auto_batch`.
        epochs: Maximum number of passes over the training queries.
        label_smoothing: Mass spread uniformly over all entities in the target.
        regularization: Weight of ``model.regularization`` (N3 for ComplEx) in the loss;
            unset: :func:`nesy.linkpred.defaults.auto_regularization`.
        eval_every: Epochs between validation evaluations.
        patience: Evaluations without improvement before stopping.
        eval_batch_size: Queries per batch when ranking validation triples.
        seed: Seeds python, numpy and torch (model init, shuffling, dropout, calibration).
        device: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
        max_seconds: Wall-clock budget of the epoch loop (0: none): the epoch that ends past
            it is evaluated and training stops there, keeping the best evaluated model.
        amp: On CUDA, compute the training loss under bfloat16 autocast (the 1-N scoring
            matmul is most of the work; softmax and cross-entropy stay float32). Ignored on
            CPU; evaluation always runs in float32.
    """

    LABEL: ClassVar[str] = "train config"
    CHECKS: ClassVar[dict[str, Check]] = {
        "model": string("a model name"),
        **{n: integer(1) for n in ("dim", "epochs", "eval_every", "patience", "eval_batch_size")},
        "batch_size": _or_auto(integer(1)),
        "model_options": mapping(),
        "optimizer": one_of(_OPTIMIZERS),
        "lr": number(gt=0),
        "label_smoothing": number(ge=0, lt=1),
        "regularization": _or_auto(number(ge=0)),
        "seed": integer(),
        "device": string("a device name"),
        "max_seconds": number(ge=0),
        "amp": boolean(),
    }

    model: str = "complex"
    dim: int = 200
    model_options: dict[str, Any] = field(default_factory=dict)
    optimizer: str = "adagrad"
    lr: float = 0.1
    batch_size: int | None = None
    epochs: int = 100
    label_smoothing: float = 0.1
    regularization: float | None = None
    eval_every: int = 5
    patience: int = 3
    eval_batch_size: int = 512
    seed: int = 0
    device: str = "auto"
    max_seconds: float = 0.0
    amp: bool = False


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: The best model by validation MRR (the last without valid), CPU, eval mode.
        history: Per evaluation: ``epoch``, ``loss`` (epoch mean), ``valid_mrr`` (or None).
        best_valid_mrr: Filtered validation MRR of ``model``; ``None`` without valid.
        epochs_run: Epochs trained in this call.
        seconds: Wall-clock time of this call.
        calibrator: Platt calibrator fit on valid, or ``None`` without valid.
        config: The configuration trained with, automatic fields resolved.
    """

    model: Any
    history: list[dict[str, Any]]
    best_valid_mrr: float | None
    epochs_run: int
    seconds: float
    calibrator: Any
    config: TrainConfig | None = None


def resolve_config(config: TrainConfig, train: Any, num_entities: int, num_relations: int) -> TrainConfig:
    """``config`` with its automatic (unset) fields resolved from the training graph ``train``
    (int64 (n, 3)) over ``num_entities`` and ``num_relations``; see :mod:`nesy.linkpred.defaults`."""
    stats = GraphStats.of(train, num_entities, num_relations)
    return TrainConfig.from_dict(resolve(config.to_dict(), stats))


class _Objective(torch.nn.Module):
    """The batch loss as a module's forward, so DistributedDataParallel sees the computation."""

    def __init__(self, model: torch.nn.Module, smoothing: float, reg_weight: float,
                 amp: bool = False) -> None:
        super().__init__()
        self.model = model
        self.smoothing = smoothing
        self.reg_weight = reg_weight
        self.amp = amp

    def forward(self, h: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the true tails ``t`` over all entities; h, r, t: int64 (b,)."""
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
            scores = self.model.score_t(h, r)
        loss = F.cross_entropy(scores.float(), t, label_smoothing=self.smoothing)
        if self.reg_weight:
            loss = loss + self.reg_weight * self.model.regularization(h, r, t)
        return loss


def reciprocal_queries(triples: np.ndarray, num_relations: int) -> torch.Tensor:
    """Queries of ``triples`` (n, 3): (h, r, t) and (t, r+R, h), as int64 (2n, 3)."""
    t = torch.from_numpy(np.ascontiguousarray(triples))
    inverse = torch.stack([t[:, 2], t[:, 1] + num_relations, t[:, 0]], dim=1)
    return torch.cat([t, inverse])


@dataclass
class _Splits:
    """The checked training data: train, valid (None when empty) and the ranking filter."""

    train: np.ndarray
    valid: np.ndarray | None
    known: np.ndarray


def _splits(train: Any, valid: Any, known: Any, num_entities: int, num_relations: int) -> _Splits:
    E, R = num_entities, num_relations
    train_arr = as_triples("training", train, E, R)
    if len(train_arr) == 0:
        raise NesyError("no training triples: link prediction needs at least one fact")
    valid_arr = None if valid is None else as_triples("valid", valid, E, R)
    if valid_arr is not None and len(valid_arr) == 0:
        valid_arr = None
    parts = [train_arr if known is None else as_triples("known", known, E, R)]
    if valid_arr is not None:
        parts.append(valid_arr)  # so a rank's slice of valid is filtered as the whole would be
    return _Splits(train_arr, valid_arr, np.concatenate(parts))


def _model_for(config: TrainConfig, num_entities: int, num_relations: int, model: Any) -> Any:
    """A fresh model for ``config``, or ``model`` checked to fit the data for resuming."""
    if model is None:
        return KGEModel.from_config({"model": config.model, "num_entities": num_entities,
                                     "num_relations": 2 * num_relations, "dim": config.dim,
                                     **config.model_options})
    cfg = model.config()
    if cfg["num_entities"] != num_entities or cfg["num_relations"] != 2 * num_relations:
        raise NesyError(
            f"cannot resume: the model has {cfg['num_entities']} entities and "
            f"{cfg['num_relations']} relations, the data {num_entities} and "
            f"{2 * num_relations} (with reciprocals); grow it with add_entities first"
        )
    return model


#: The validation metrics of each evaluation (filtered, realistic ranks), as record keys.
VALID_METRICS = {"mrr": "valid_mrr", "hits@1": "valid_hits@1", "hits@10": "valid_hits@10"}

#: Called after every epoch with its record (see :func:`train`); may raise to stop training.
EpochCallback = Callable[[dict[str, Any]], None]


def _valid_metrics(model: Any, data: _Splits, num_relations: int, config: TrainConfig,
                   device: torch.device) -> dict[str, float]:
    """Filtered valid MRR, Hits@1, Hits@10 (keys of :data:`VALID_METRICS`' values); under
    torch.distributed each rank ranks its slice of valid and the sums are reduced."""
    assert data.valid is not None
    rank, world = world_info()
    total = torch.zeros(len(VALID_METRICS) + 1, dtype=torch.float64)
    if len(data.valid[rank::world]):
        res = evaluate(model, data.valid[rank::world], data.known, num_relations,
                       config.eval_batch_size, device)
        total += torch.tensor([res[k] * res["n"] for k in VALID_METRICS] + [float(res["n"])],
                              dtype=torch.float64)
    total = all_reduce_sum(total, device)
    return {name: float(total[i] / total[-1]) for i, name in enumerate(VALID_METRICS.values())}


def _valid_mrr(model: Any, data: _Splits, num_relations: int, config: TrainConfig,
               device: torch.device) -> float:
    """Filtered valid MRR (see :func:`_valid_metrics`)."""
    return _valid_metrics(model, data, num_relations, config, device)["valid_mrr"]


def train(
    train: Any, num_entities: int, num_relations: int, config: TrainConfig | None = None, *,
    valid: Any = None, known: Any = None, model: Any = None, progress: bool = True,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train (or continue training) a link predictor.

    Loss: per-query softmax cross-entropy over all entities (1vsAll). Each triple gives one
    query per direction, an epoch is one pass over these 2n queries, and sharding a batch
    over ranks is a plain slice. Grouping queries by (h, r) with multi-label targets (KvsAll)
    takes fewer steps per epoch but ranked worse at equal settings (see :class:`TrainConfig`),
    as in Ruffinelli et al. 2020, where 1vsAll was the better or equal choice.

    Args:
        train: int64 (n, 3) training triples, compact ids, base relations 0..R-1.
        num_entities: E; ids are 0..E-1 (must equal ``model.num_entities`` on resume).
        num_relations: R, base relations without reciprocals (the model has 2R).
        config: Hyperparameters; ``TrainConfig()`` when omitted. Unset (automatic) fields
            are resolved from ``train``'s statistics (:func:`resolve_config`). On resume its
            ``model``, ``dim`` and ``model_options`` are ignored: the given model keeps its own.
        valid: int64 (k, 3) validation triples for early stopping and calibration.
        known: int64 (m, 3) all true triples to filter when ranking valid; train + valid
            when omitted.
        model: A KGEModel to continue training (optimizer state starts afresh; the model as
            passed counts as the first candidate for "best").
        progress: Show a tqdm bar (only on a terminal, only on rank 0).
        on_epoch: Called on every rank after each epoch with its record: ``epoch``, ``loss``,
            ``lr``, ``seconds`` (this epoch, its evaluation included), ``elapsed`` (since the
            call began), and on evaluation epochs ``valid_mrr``, ``valid_hits@1``,
            ``valid_hits@10`` (None otherwise). An exception it raises ends training there
            (e.g. optuna's ``TrialPruned``) and propagates.

    Returns:
        A :class:`TrainResult`; under torch.distributed every rank returns the same one.
    """
    start = time.perf_counter()
    data = _splits(train, valid, known, num_entities, num_relations)
    config = resolve_config(config or TrainConfig(), data.train, num_entities, num_relations)
    device = resolve_device(config.device)
    seed_everything(config.seed)
    resuming = model is not None
    model = _model_for(config, num_entities, num_relations, model)
    model.to(device).train()
    model.set_graph(torch.from_numpy(data.train))  # after .to(): it may live on the device
    log = TrainingLog(config.epochs, f"train {model.name}", patience=config.patience,
                      show=show_progress(progress, world_info()[0]))
    if resuming and data.valid is not None:
        # Continuing must never hand back a model worse than the one it was given.
        log.start_from(_valid_mrr(model, data, num_relations, config, device), model)
    epochs = _fit(model, data, num_relations, config, device, log, on_epoch, start)
    log.restore_best(model)
    broadcast_state(model)
    model.cpu().eval()
    calibrator = None
    if data.valid is not None:
        calibrator = fit_calibrator(model, data.valid, data.known, num_entities, seed=config.seed,
                                    num_base_relations=num_relations)
    return TrainResult(model, log.history, log.best, epochs, time.perf_counter() - start,
                       calibrator, config)


def _fit(model: Any, data: _Splits, num_relations: int, config: TrainConfig,
         device: torch.device, log: TrainingLog, on_epoch: EpochCallback | None,
         start: float) -> int:
    """The epoch loop with evaluations and early stopping; returns the epochs run."""
    world = world_info()[1]
    amp = config.amp and device.type == "cuda"
    objective = wrap_ddp(_Objective(model, config.label_smoothing, config.regularization, amp), device)
    optimizer = _OPTIMIZERS[config.optimizer](model.parameters(), lr=config.lr)
    queries = reciprocal_queries(data.train, num_relations)
    shuffle = torch.Generator().manual_seed(config.seed)  # the same order on every rank
    epoch = 0
    try:
        for epoch in range(1, config.epochs + 1):
            began = time.perf_counter()
            loss = _run_epoch(objective, optimizer, queries, shuffle, config.batch_size, device)
            loss = float(all_reduce_sum(torch.tensor([loss], dtype=torch.float64), device)) / world
            log.epoch_done(loss)
            late = config.max_seconds > 0 and time.perf_counter() - start > config.max_seconds
            due = late or evaluation_due(epoch, config.eval_every, config.epochs)
            valid = dict.fromkeys(VALID_METRICS.values())
            if due and data.valid is not None:
                valid = _valid_metrics(model, data, num_relations, config, device)
            stop = due and log.record({"epoch": epoch, "loss": loss,
                                       "valid_mrr": valid["valid_mrr"]}, valid["valid_mrr"], model)
            if on_epoch is not None:
                now = time.perf_counter()
                on_epoch({"epoch": epoch, "loss": loss, "lr": optimizer.param_groups[0]["lr"],
                          "seconds": now - began, "elapsed": now - start, **valid})
            if stop or late:
                break
    finally:
        log.close()
    return epoch


def _run_epoch(
    objective: torch.nn.Module, optimizer: torch.optim.Optimizer, queries: torch.Tensor,
    shuffle: torch.Generator, batch_size: int, device: torch.device,
) -> float:
    """One pass over ``queries`` int64 (q, 3); returns the mean batch loss of this rank."""
    rank, world = world_info()
    order = queries[torch.randperm(len(queries), generator=shuffle)]
    total, steps = 0.0, 0
    for begin in range(0, len(order), batch_size):
        batch = order[begin : begin + batch_size]
        if len(batch) < world:
            continue  # a tail too short to give every rank a query; reshuffled next epoch
        h, r, t = batch[rank::world].to(device).unbind(1)
        optimizer.zero_grad(set_to_none=True)
        loss = objective(h, r, t)
        loss.backward()
        optimizer.step()
        total += float(loss.detach())
        steps += 1
    if steps == 0:
        raise NesyError(f"no training batch: fewer training queries than the {world} ranks")
    if not math.isfinite(total):
        raise NesyError("training diverged (loss is not finite); lower lr or raise regularization")
    return total / steps


__all__ = ["VALID_METRICS", "EpochCallback", "TrainConfig", "TrainResult", "reciprocal_queries",
           "resolve_config", "train"]
