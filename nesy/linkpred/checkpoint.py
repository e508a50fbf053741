"""Save and load a KGE model as safetensors weights + JSON description, never unpickling."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from nesy.errors import LoadError, NesyError
from nesy.linkpred.calibrate import Calibrator
from nesy.linkpred.kge import KGEModel
from nesy.ml.checkpoint import DESCRIPTION, WEIGHTS, read_pair, write_pair
from nesy.ml.devices import resolve_device

FORMAT = "nesy-kge-checkpoint"
VERSION = 1
#: Largest ``num_entities``, ``num_relations`` or ``dim`` a checkpoint may declare.
MAX_SIZE = 2**31 - 1


def save_checkpoint(directory: Path | str, model: Any, meta: dict[str, Any]) -> Path:
    """Write ``model.safetensors`` (state_dict) and ``model.json`` (config + meta) atomically.

    Both files are first written as temporaries in ``directory`` and only then moved over the
    old ones, so a failure while writing leaves an existing checkpoint as it was. The JSON
    records the weights' SHA-256, so a pair torn by a crash between the two renames is caught
    by :func:`load_checkpoint` instead of loading mismatched halves.

    Args:
        directory: Created if missing.
        model: A KGEModel (anything with ``config()`` and ``state_dict()``).
        meta: JSON-serialisable extras (train config, metrics, calibrator, fingerprints...);
            ``created`` (UTC ISO time) is added when absent.

    Returns:
        The checkpoint directory.

    Raises:
        NesyError: meta is not JSON-serialisable, or the directory cannot be written.
    """
    meta = dict(meta)
    meta.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    doc = {"format": FORMAT, "version": VERSION, "config": model.config(), "meta": meta}
    return write_pair(directory, model.state_dict(), doc)


def load_checkpoint(directory: Path | str, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """Rebuild the model saved by :func:`save_checkpoint`, in eval mode on ``device``.

    Args:
        directory: The checkpoint directory.
        device: Where the weights go ("cpu", "cuda", ...).

    Returns:
        (model, meta), meta as saved.

    Raises:
        LoadError: missing directory or file, corrupt or foreign JSON, corrupt weights, weights
            that do not match the JSON, unknown model, wrong tensor names or shapes. The
            message names the file.
    """
    target = resolve_device(device)
    state, doc = read_pair(directory, FORMAT, what="checkpoint", device=str(target))
    desc_path, weights_path = Path(directory) / DESCRIPTION, Path(directory) / WEIGHTS
    if doc.get("version") != VERSION:
        raise LoadError(f"checkpoint version {doc.get('version')!r} is not supported "
                        f"(this nesy reads version {VERSION})", file=str(desc_path))
    config, meta = doc.get("config"), doc.get("meta", {})
    if not isinstance(config, dict) or not isinstance(meta, dict):
        raise LoadError("checkpoint description lacks a config/meta object", file=str(desc_path))
    _check_sizes(config, state, str(desc_path))
    try:
        if isinstance(meta.get("calibrator"), dict):
            Calibrator.from_dict(meta["calibrator"])
        model = KGEModel.from_config(config)
    except NesyError as e:
        raise LoadError(e.message, file=str(desc_path)) from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        detail = str(e).replace("\n\t", "; ").strip()
        raise LoadError(f"weights do not fit the {config.get('model')!r} model in "
                        f"{DESCRIPTION}: {detail}", file=str(weights_path)) from None
    return model.to(target).eval(), meta


def _check_sizes(config: dict[str, Any], state: dict[str, Any], where: str) -> None:
    """Refuse sizes that are not whole numbers in range, or that ask for more entity rows
    than the weights hold, before a model of that size is allocated."""
    for key in ("num_entities", "num_relations", "dim"):
        value = config.get(key)
        low = 0 if key == "num_relations" else 1
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_SIZE:
            raise LoadError(f"config {key} = {value!r} in {DESCRIPTION} is not a whole number from {low} to "
                            f"{MAX_SIZE}", file=where)
    held = sum(int(t.numel()) for t in state.values())
    if config["num_entities"] * config["dim"] > held:
        raise LoadError(f"config in {DESCRIPTION} asks for {config['num_entities']} entities x {config['dim']} "
                        f"dimensions, but the weights hold {held} numbers in all; the files do not belong "
                        "together", file=where)


__all__ = ["FORMAT", "MAX_SIZE", "VERSION", "load_checkpoint", "save_checkpoint"]
