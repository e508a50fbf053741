"""Record a training run's per-epoch metrics: a JSONL file, TensorBoard events, MLflow.

A :class:`RunTracker` takes one record (a flat dict: ``epoch``, ``loss``, ``lr``, ``seconds``,
validation metrics...) per epoch. The JSONL file gets one line per record, each written by a
single ``write(2)`` on a file opened with ``O_APPEND``, so a reader (``nesy plot``, ``tail
-f``) sees whole lines while training runs. TensorBoard events are written only when a log
directory is given (tensorboard is imported then, not before); MLflow only when the
``mlflow`` package is installed and ``MLFLOW_TRACKING_URI`` is set.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from nesy.errors import NesyError

#: The per-epoch log's file name in a model directory.
METRICS_FILE = "metrics.jsonl"


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSONL metrics file, in order.

    Raises:
        NesyError: the file is missing or a line is not a JSON object.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise NesyError(f"cannot read the training log: {e.strerror}; train the model first "
                        "(`nesy train DIR`)", file=str(path)) from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            raise NesyError(f"line {number} of the training log is not a JSON object",
                            file=str(path))
        out.append(record)
    return out


class RunTracker:
    """Where one run's per-epoch records go.

    Args:
        jsonl: The JSONL file (its folder is created); None: no file.
        log_dir: A TensorBoard log directory; None: no events.
        append: Keep earlier lines of ``jsonl`` (a resumed run); else start it afresh.
        run_name: The run's name for MLflow.

    Raises:
        NesyError: ``log_dir`` is given but tensorboard is not installed.
    """

    def __init__(self, jsonl: str | Path | None, *, log_dir: str | Path | None = None,
                 append: bool = False, run_name: str = "nesy") -> None:
        self.path = None if jsonl is None else Path(jsonl)
        self._fd: int | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if append else os.O_TRUNC)
            self._fd = os.open(self.path, flags, 0o644)
        self._writer = _summary_writer(log_dir) if log_dir is not None else None
        self._mlflow = _mlflow_run(run_name)

    def log(self, record: dict[str, Any]) -> None:
        """Write one epoch's record (a flat dict; ``epoch`` is the step)."""
        clean = {k: _clean(v) for k, v in record.items()}
        if self._fd is not None:
            os.write(self._fd, (json.dumps(clean) + "\n").encode("utf-8"))
        step = int(record.get("epoch", 0))
        numbers = {k: float(v) for k, v in clean.items()
                   if k != "epoch" and isinstance(v, int | float) and not isinstance(v, bool)}
        if self._writer is not None:
            for key, value in numbers.items():
                self._writer.add_scalar(key, value, step)
        if self._mlflow is not None:
            # MLflow's metric names may not hold '@'.
            self._mlflow.log_metrics({k.replace("@", "_at_"): v for k, v in numbers.items()},
                                     step=step)

    def close(self) -> None:
        """Flush and close everything (safe to call twice)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._mlflow is not None:
            self._mlflow.end_run()
            self._mlflow = None

    def __enter__(self) -> RunTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _summary_writer(log_dir: str | Path) -> Any:
    """tensorboard's SummaryWriter on ``log_dir`` (imported only now)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise NesyError("--log-dir writes TensorBoard events and needs the tensorboard "
                        "package: pip install tensorboard") from None
    return SummaryWriter(log_dir=str(log_dir))


def _mlflow_run(run_name: str) -> Any:
    """The ``mlflow`` module with a run started, when installed and a tracking URI is set."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        return None
    try:
        import mlflow
    except ImportError:
        return None
    mlflow.start_run(run_name=run_name)
    return mlflow


__all__ = ["METRICS_FILE", "RunTracker", "read_metrics"]
