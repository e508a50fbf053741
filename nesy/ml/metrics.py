"""Metric logging of a training run: per-evaluation history, early stopping, the progress bar."""

from __future__ import annotations

import sys
from typing import Any

import torch
from tqdm import tqdm


def show_progress(progress: bool, rank: int = 0) -> bool:
    """Whether to draw a progress bar: asked for, on rank 0, and stderr is a terminal."""
    return progress and rank == 0 and getattr(sys.stderr, "isatty", lambda: False)()


def evaluation_due(epoch: int, every: int, last: int) -> bool:
    """Whether epoch ``epoch`` (1-based) ends with an evaluation: every ``every``, and the last."""
    return epoch % every == 0 or epoch == last


def state_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of ``model``'s state_dict, to restore the best epoch's weights later."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class TrainingLog:
    """The history of one run's evaluations and the best model so far, with patience.

    Args:
        epochs: The most epochs the run may take (the bar's length).
        desc: The bar's label.
        patience: Evaluations without a better metric before :meth:`record` says stop.
        show: Draw the bar (see :func:`show_progress`).
        metric: The validation metric's name on the bar (``best_<metric>``).
    """

    def __init__(self, epochs: int, desc: str, *, patience: int, show: bool, metric: str = "mrr") -> None:
        self.history: list[dict[str, Any]] = []
        self.best: float | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.stale = 0
        self.patience = patience
        self.metric = metric
        self.loss: float | None = None
        self._bar = tqdm(total=epochs, desc=desc, unit="epoch", disable=not show)

    def start_from(self, metric: float, model: torch.nn.Module) -> None:
        """Count ``model`` (with validation ``metric``) as the first candidate for the best."""
        self.best, self.best_state = metric, state_copy(model)

    def epoch_done(self, loss: float) -> None:
        """Advance the bar by one epoch whose mean loss was ``loss``."""
        self.loss = loss
        self._bar.update(1)
        self._postfix()

    def record(self, entry: dict[str, Any], metric: float | None, model: torch.nn.Module) -> bool:
        """Append an evaluation to the history; keep ``model``'s weights when ``metric`` is the
        best so far (higher is better; ``None`` means not evaluated).

        Returns:
            True when the run should stop: ``patience`` evaluations in a row brought no gain.
        """
        self.history.append(entry)
        if metric is None:
            return False
        if self.best is None or metric > self.best:
            self.best, self.best_state, self.stale = metric, state_copy(model), 0
        else:
            self.stale += 1
        self._postfix()
        if self.stale >= self.patience:
            self._bar.total = self._bar.n  # an early stop is a finished run, not an interrupted one
            return True
        return False

    def restore_best(self, model: torch.nn.Module) -> None:
        """Load the best weights recorded (if any) into ``model``."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)

    def close(self) -> None:
        """Close the progress bar."""
        self._bar.close()

    def _postfix(self) -> None:
        loss = None if self.loss is None else f"{self.loss:.4f}"
        self._bar.set_postfix({"loss": loss, f"best_{self.metric}": self.best})


__all__ = ["TrainingLog", "evaluation_due", "show_progress", "state_copy"]
