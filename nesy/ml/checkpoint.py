"""The one model file format: safetensors weights + a JSON description, atomic, SHA-256 checked.

Nothing here loads Python objects: a saved model is tensors and JSON only. The JSON holds
the weights' SHA-256 (``weights_sha256``) and its own (``description_sha256``, over the
canonical JSON of everything else), so an edit to either file, or a pair torn by a crash,
is caught on read. A checksum is not a signature (whoever can edit the files can
recompute it), so :func:`read_pair` also validates what it returns: every floating
weight finite, no NaN or infinity in the JSON; model-specific readers check sizes and
parameters against documented ranges. Checkpoints written before ``description_sha256``
existed still load, with those validations only.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from nesy.errors import LoadError, NesyError

#: Default file names of a model directory's weights and description.
WEIGHTS = "model.safetensors"
DESCRIPTION = "model.json"
#: The JSON key of the description's own checksum.
DOC_SHA = "description_sha256"


def write_pair(directory: Path | str, state: dict[str, Any], doc: dict[str, Any], *, weights: str = WEIGHTS,
               description: str = DESCRIPTION, what: str = "checkpoint",
               error: type[NesyError] = NesyError) -> Path:
    """Write tensors as safetensors and ``doc`` as JSON next to them, atomically.

    The shared format of every saved model (link predictor, extractor, QA, fusion): both
    files go to temporaries in ``directory`` first and are then renamed over the old ones,
    weights first; ``doc`` gets the weights' SHA-256 (``weights_sha256``), so a pair torn by
    a crash between the renames is caught by :func:`read_pair`.

    Args:
        directory: Created if missing.
        state: Tensor name -> tensor (copied to contiguous CPU memory; views are fine).
        doc: JSON-serialisable description; checked before anything is written.
        weights: File name of the weights.
        description: File name of the JSON.
        what: What is saved, for messages ("QA model").
        error: The exception class raised when writing fails.

    Raises:
        NesyError: ``doc`` is not JSON-serialisable, or the directory cannot be written.
    """
    directory = Path(directory)
    doc = dict(doc)
    try:  # before touching the disk
        json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise error(f"{what} metadata is not JSON-serialisable: {e}", file=str(directory / description)) from None
    # Own contiguous CPU copies: safetensors refuses views and tensors sharing memory.
    state = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise error(f"cannot create the {what} directory: {e.strerror}", file=str(directory)) from None
    temps: list[Path] = []
    try:
        weights_tmp = _temp(directory, weights, temps)
        from safetensors.torch import save_file

        mode = weights_tmp.stat().st_mode & 0o777  # the umask's; save_file makes it 0600
        save_file(state, str(weights_tmp))
        os.chmod(weights_tmp, mode)
        _fsync(weights_tmp)
        doc["weights_sha256"] = sha256_file(weights_tmp)
        doc[DOC_SHA] = description_digest(doc)
        text = json.dumps(doc, indent=2, sort_keys=True, allow_nan=False, ensure_ascii=False)
        json_tmp = _temp(directory, description, temps)
        with open(json_tmp, "w", encoding="utf-8") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(weights_tmp, directory / weights)
        os.replace(json_tmp, directory / description)
    except OSError as e:
        raise error(f"cannot write {what}: {e.strerror or e}", file=str(directory)) from e
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    return directory


def read_pair(directory: Path | str, fmt: str, *, weights: str = WEIGHTS, description: str = DESCRIPTION,
              what: str = "checkpoint", error: type[NesyError] = LoadError,
              device: str = "cpu") -> tuple[dict[str, Any], dict[str, Any]]:
    """The tensors and JSON description written by :func:`write_pair`, checked.

    Args:
        directory: The model directory.
        fmt: The ``format`` the description must declare.
        weights, description: The file names.
        what: What is read, for messages ("QA model").
        error: The exception class raised.
        device: Where the tensors are loaded.

    Raises:
        NesyError: (``error``) missing directory or file, corrupt or foreign JSON, weights
            that are corrupt or do not match the JSON. The message names the file.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise error(f"no {what} here (not a directory)", file=str(directory))
    desc_path, weights_path = directory / description, directory / weights
    for path in (desc_path, weights_path):
        if not path.is_file():
            raise error(f"{what} file {path.name} is missing", file=str(path))
    try:
        doc = json.loads(desc_path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise error(f"corrupt {what} description: {e}", file=str(desc_path)) from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise error(f"not a nesy {what} description (format {fmt!r} expected)", file=str(desc_path))
    if DOC_SHA in doc and doc[DOC_SHA] != description_digest(doc):
        raise error(f"{description} was edited or damaged (its checksum does not match); save or train "
                    f"the {what} again", file=str(desc_path))
    if sha256_file(weights_path) != doc.get("weights_sha256"):
        raise error(f"weights do not match {description} (corrupt, or from another save); "
                    f"save the {what} again", file=str(weights_path))
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        state = load_file(str(weights_path), device=device)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise error(f"corrupt weights file: {e}", file=str(weights_path)) from None
    bad = _non_finite(state)
    if bad is not None:
        raise error(f"weights hold NaN or infinite values (tensor {bad!r}); train the {what} again",
                    file=str(weights_path))
    return state, doc


def description_digest(doc: dict[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of ``doc`` without its own ``description_sha256``."""
    body = {k: v for k, v in doc.items() if k != DOC_SHA}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _non_finite(state: dict[str, Any]) -> str | None:
    """The name of the first floating tensor with a NaN or an infinity, if any."""
    import torch

    for name, tensor in state.items():
        if (tensor.is_floating_point() or tensor.is_complex()) and not bool(torch.isfinite(tensor).all()):
            return name
    return None


def _temp(directory: Path, name: str, temps: list[Path]) -> Path:
    """A fresh temporary name next to ``name`` (same filesystem, so os.replace is atomic).

    Created with ``open(..., "x")``, not mkstemp, so the final file gets the umask's mode.
    """
    path = directory / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
    path.open("x").close()
    temps.append(path)
    return path


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


__all__ = ["DESCRIPTION", "DOC_SHA", "WEIGHTS", "description_digest", "read_pair", "sha256_file", "write_pair"]
