"""The torchrun entry point: every rank trains its shard, rank 0 writes the checkpoint.

Usage: ``python -m nesy.linkpred.worker --data DATA.npz --config CONFIG.json --out DIR``
(normally through :func:`launch`). ``DATA.npz`` holds int64 (n, 3)
arrays ``train``, ``valid``, ``known`` and the scalars ``num_entities``, ``num_relations``
(base relations). ``CONFIG.json`` is a :class:`~nesy.linkpred.train.TrainConfig` dict, plus an
optional ``"resume"`` (a checkpoint directory whose model training continues; its history is
carried on), an optional ``"meta"`` object copied into the checkpoint's meta (e.g. entity
and relation fingerprints) and an optional ``"metrics"`` object (``path``, ``append``): rank 0
writes the per-epoch records there (:class:`~nesy.ml.tracking.RunTracker`). Without torchrun's environment it trains in this one process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from nesy.errors import NesyError


def _load_data(path: Path) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as data:
            out: dict[str, Any] = {
                name: np.asarray(data[name], dtype=np.int64).reshape(-1, 3)
                for name in ("train", "valid", "known")
                if name in data
            }
            out["num_entities"] = int(data["num_entities"])
            out["num_relations"] = int(data["num_relations"])
    except (OSError, ValueError, KeyError) as e:
        raise NesyError(f"cannot read training data: {e}", file=str(path)) from None
    if "train" not in out:
        raise NesyError("training data has no 'train' array", file=str(path))
    return out


def _load_config(path: Path) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """(TrainConfig dict, resume directory or None, extra meta) from CONFIG.json."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise NesyError(f"cannot read training config: {e}", file=str(path)) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("meta", {}), dict):
        raise NesyError("training config must be a JSON object ('meta' an object too)",
                        file=str(path))
    return raw, raw.pop("resume", None), raw.pop("meta", {})


def _tracker(metrics: Any) -> Any:
    """Rank 0's :class:`~nesy.ml.tracking.RunTracker` for ``{"path", "append"}``, else None."""
    from nesy.ml.devices import world_info
    from nesy.ml.tracking import RunTracker

    if not isinstance(metrics, dict) or world_info()[0] != 0:
        return None
    return RunTracker(metrics.get("path"), append=bool(metrics.get("append")))


def launch(nproc: int, argv: list[str], *, timeout: float | None = None) -> int:
    """Run this worker in ``nproc`` local processes under torchrun (see
    :func:`nesy.ml.devices.torchrun`); ``argv``: ``--data ... --config ... --out ...``.

    Returns:
        torchrun's exit code (0 when every worker succeeded); 124 after a timeout.
    """
    from nesy.ml.devices import torchrun

    return torchrun(nproc, "nesy.linkpred.worker", argv, timeout=timeout)


def run(data_path: Path, config_path: Path, out: Path, progress: bool = True) -> None:
    """Train on ``data_path`` with ``config_path``; rank 0 saves to ``out``."""
    import torch.distributed as dist

    from nesy.linkpred.checkpoint import load_checkpoint, save_checkpoint
    from nesy.linkpred.train import TrainConfig, train
    from nesy.ml.devices import init_from_env, world_info

    data = _load_data(data_path)
    raw, resume, extra_meta = _load_config(config_path)
    metrics = raw.pop("metrics", None)
    config = TrainConfig.from_dict(raw)
    started_here = not dist.is_initialized() and init_from_env(config.device)
    try:
        model, old_history, offset = None, [], 0
        if resume:
            model, old_meta = load_checkpoint(Path(resume))
            old_history = list(old_meta.get("history") or [])
            offset = max((int(h.get("epoch", 0)) for h in old_history), default=0)
        tracker = _tracker(metrics)
        try:
            result = train(
                data["train"], data["num_entities"], data["num_relations"], config,
                valid=data.get("valid"), known=data.get("known"), model=model, progress=progress,
                on_epoch=tracker.log if tracker is not None else None,
            )
        finally:
            if tracker is not None:
                tracker.close()
        history = old_history + [{**h, "epoch": h["epoch"] + offset} for h in result.history]
        rank, world = world_info()
        if rank == 0:
            meta = {
                **extra_meta,
                "train_config": config.to_dict(),
                "history": history,
                "best_valid_mrr": result.best_valid_mrr,
                "epochs_run": result.epochs_run,
                "seconds": result.seconds,
                "calibrator": result.calibrator.to_dict() if result.calibrator else None,
                "world_size": world,
            }
            save_checkpoint(out, result.model, meta)
        if world > 1:
            dist.barrier()  # nobody reports success before the checkpoint is on disk
    finally:
        if started_here:
            dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry; returns the exit status (2 on a NesyError)."""
    parser = argparse.ArgumentParser(prog="python -m nesy.linkpred.worker", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="DATA.npz")
    parser.add_argument("--config", type=Path, required=True, help="CONFIG.json")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint directory")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    try:
        run(args.data, args.config, args.out, progress=not args.no_progress)
    except NesyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
