"""Calibration quality of probabilities: expected calibration error, Brier score, reliability bins.

Every function takes predicted probabilities ``p`` (n,), 0/1 labels ``y`` (n,) and optional
non-negative weights ``w`` (n,) (default: all 1), as numpy arrays. ECE uses ``bins`` equal-width
bins over [0, 1] (the last bin includes 1.0): the weighted mean over bins of
``|mean label - mean probability|``, each bin weighted by its share of the total weight.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nesy.errors import NesyError

#: Bins of the expected calibration error and the reliability diagram.
BINS = 10


def _checked(p: Any, y: Any, w: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    w = np.ones_like(p) if w is None else np.asarray(w, dtype=np.float64).ravel()
    if not (len(p) == len(y) == len(w)):
        raise NesyError(f"probabilities, labels and weights differ in length: {len(p)}, {len(y)}, {len(w)}")
    if len(p) == 0 or w.sum() <= 0:
        raise NesyError("calibration needs at least one weighted prediction")
    if ((p < 0) | (p > 1) | ~np.isfinite(p)).any():
        raise NesyError("probabilities must lie in [0, 1]")
    return p, y, w


def reliability_bins(p: Any, y: Any, w: Any = None, bins: int = BINS) -> list[dict[str, float]]:
    """Per equal-width bin: ``lo``, ``hi``, ``confidence`` (mean probability), ``accuracy``
    (mean label) and ``weight`` (share of the total weight); empty bins are left out."""
    p, y, w = _checked(p, y, w)
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    total = w.sum()
    out = []
    for b in range(bins):
        mask = index == b
        weight = w[mask].sum()
        if weight <= 0:
            continue
        out.append({"lo": b / bins, "hi": (b + 1) / bins,
                    "confidence": float((w[mask] * p[mask]).sum() / weight),
                    "accuracy": float((w[mask] * y[mask]).sum() / weight),
                    "weight": float(weight / total)})
    return out


def expected_calibration_error(p: Any, y: Any, w: Any = None, bins: int = BINS) -> float:
    """ECE over ``bins`` equal-width bins (0: perfectly calibrated; at most 1)."""
    return float(sum(b["weight"] * abs(b["accuracy"] - b["confidence"])
                     for b in reliability_bins(p, y, w, bins)))


def brier_score(p: Any, y: Any, w: Any = None) -> float:
    """Weighted mean of ``(p - y)^2`` (0: perfect; 0.25: always saying 0.5)."""
    p, y, w = _checked(p, y, w)
    return float((w * (p - y) ** 2).sum() / w.sum())


__all__ = ["BINS", "brier_score", "expected_calibration_error", "reliability_bins"]
