"""Turn link-prediction scores into probabilities by Platt scaling on validation triples.

Scores of different models live on different scales (distances, dot products), so a fact's
probability is ``sigmoid(a * score + b)`` with ``a, b`` fitted to separate validation triples
from corrupted ones. Positives and negatives get equal total weight, so a probability reads as
"true vs a random corruption with even prior odds", independent of how many negatives were drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nesy.engine.kernels import unique
from nesy.errors import NesyError
from nesy.linkpred.kge import KGEModel
from nesy.ml.data import as_array

#: Largest ``|a|`` and ``|b|`` a calibrator may have. Fitted values stay far below (``a``
#: is the standardised slope divided by the scores' spread); a checkpoint whose
#: calibrator is beyond it, or not finite, is refused rather than saturating every
#: probability at 0 or 1.
MAX_PARAMETER = 1e12


@dataclass(frozen=True)
class Calibrator:
    """``prob(score) = sigmoid(a * score + b)``; ``a`` and ``b`` finite, ``|a|, |b| <= MAX_PARAMETER``."""

    a: float = 1.0
    b: float = 0.0

    def prob(self, scores: Any) -> Any:
        """Probabilities of raw model scores.

        Args:
            scores: float (k,) as a torch tensor, numpy array or a Python float.

        Returns:
            The same kind and shape, in [0, 1].
        """
        if isinstance(scores, torch.Tensor):
            return torch.sigmoid(self.a * scores + self.b)
        z = self.a * np.asarray(scores, dtype=np.float64) + self.b
        p = np.exp(-np.logaddexp(0.0, -z))  # sigmoid without overflow
        return float(p) if np.ndim(scores) == 0 else p

    def to_dict(self) -> dict[str, float]:
        """JSON-serialisable form."""
        return {"a": float(self.a), "b": float(self.b)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """Inverse of :meth:`to_dict`.

        Raises:
            NesyError: missing or non-numeric ``a``/``b``, or not finite, or beyond
                :data:`MAX_PARAMETER`.
        """
        try:
            a, b = data["a"], data["b"]
            if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or \
                    not isinstance(b, int | float):
                raise TypeError
            a, b = float(a), float(b)
        except (KeyError, TypeError, ValueError, OverflowError):
            raise NesyError(f"a calibrator needs numeric 'a' and 'b', got {str(data)[:200]}") from None
        if not (math.isfinite(a) and math.isfinite(b) and abs(a) <= MAX_PARAMETER and abs(b) <= MAX_PARAMETER):
            raise NesyError(f"calibrator a={a!r}, b={b!r} is out of range: both must be finite with "
                            f"|a|, |b| <= {MAX_PARAMETER:g}; train the model again")
        return cls(a, b)


def _corrupt_tails(h: np.ndarray, r: np.ndarray, num_entities: int, negatives: int,
                   known_keys: np.ndarray, key: Any, rng: np.random.Generator) -> tuple:
    """Sampled ``(h, r, t')`` with ``t'`` not a known answer; as int64 (n * negatives,) arrays."""
    nh, nr = np.repeat(h, negatives), np.repeat(r, negatives)
    nt = rng.integers(0, num_entities, size=len(nh))
    for _ in range(10):  # resample collisions; what still collides after that is dropped
        bad = np.isin(key(nh, nr, nt), known_keys)
        if not bad.any():
            break
        nt[bad] = rng.integers(0, num_entities, size=int(bad.sum()))
    ok = ~np.isin(key(nh, nr, nt), known_keys)
    return nh[ok], nr[ok], nt[ok]


def fit_calibrator(
    model: KGEModel,
    valid: Any,
    known: Any,
    num_entities: int,
    negatives: int = 10,
    seed: int = 0,
    *,
    num_base_relations: int | None = None,
    steps: int = 200,
) -> Calibrator:
    """Platt scaling: fit ``a, b`` on validation triples vs corrupted tails not in ``known``.

    Args:
        model: the scorer (scored in eval mode without gradients; its mode is restored).
        valid: int64 (n, 3) compact validation triples.
        known: int64 (m, 3) all true triples; corruptions that are true are never negatives.
        num_entities: entities to corrupt with (``0..num_entities-1``).
        negatives: corrupted tails per positive.
        seed: sampling seed (the fit is deterministic given it).
        num_base_relations: when given (R of a reciprocal model), head queries
            ``(t, r + R, ?)`` are calibrated too.
        steps: LBFGS iterations.

    Returns:
        The fitted calibrator; the identity ``Calibrator(1, 0)`` when ``valid`` is empty.
    """
    if not len(as_array(valid)):
        return Calibrator()
    pos, neg = _sampled_scores(model, valid, known, num_entities, negatives, seed,
                               num_base_relations)
    return _platt(pos, neg, steps)


def _sampled_scores(model: KGEModel, valid: Any, known: Any, num_entities: int, negatives: int,
                    seed: int, num_base_relations: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 scores of the triples (both directions when ``num_base_relations``) and of
    ``negatives`` sampled corrupted tails each that are not in ``known``: (k,), (k',)."""
    valid_np, known_np = as_array(valid), as_array(known)
    if negatives < 1:
        raise NesyError(f"negatives must be at least 1, got {negatives}")
    num_rel = int(model.num_relations)

    def key(h: np.ndarray, r: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (h * num_rel + r) * num_entities + t

    known_all = np.concatenate([known_np, valid_np])
    h, r, t = valid_np[:, 0], valid_np[:, 1], valid_np[:, 2]
    kh, kr, kt = known_all[:, 0], known_all[:, 1], known_all[:, 2]
    if num_base_relations is not None:
        h, r, t = np.concatenate([h, t]), np.concatenate([r, r + num_base_relations]), \
            np.concatenate([t, h])
        kh, kr, kt = np.concatenate([kh, kt]), np.concatenate([kr, kr + num_base_relations]), \
            np.concatenate([kt, kh])
    known_keys = unique(key(kh, kr, kt))
    rng = np.random.default_rng(seed)
    nh, nr, nt = _corrupt_tails(h, r, num_entities, negatives, known_keys, key, rng)

    return _scores(model, h, r, t), _scores(model, nh, nr, nt)


def calibration_report(model: KGEModel, calibrator: Calibrator | None, triples: Any, known: Any,
                       num_entities: int, num_base_relations: int, *, negatives: int = 10,
                       seed: int = 0) -> dict[str, Any]:
    """Calibration quality on held-out ``triples``: ECE and Brier before and after Platt scaling.

    The labelled set is what a probability means here (see the module docstring): every
    triple in both directions (label 1) and ``negatives`` sampled corrupted tails each that
    are not in ``known`` (label 0), positives and negatives weighted to equal total mass.
    "Before" reads ``sigmoid(score)`` as the probability; "after" is the calibrator's.

    Args:
        model: a reciprocal model (``2 * num_base_relations`` relation types).
        calibrator: the fitted calibrator; None gives only the "before" figures.
        triples: int64 (n, 3) held-out triples (e.g. the test file), compact ids.
        known: int64 (m, 3) every true triple (never a negative).
        num_entities: E.
        num_base_relations: R.
        negatives: corrupted tails per query.
        seed: sampling seed.

    Returns:
        ``ece_raw``, ``brier_raw``, ``ece``, ``brier`` (None without a calibrator),
        ``bins_raw``/``bins`` (reliability bins, :func:`nesy.ml.calibration.reliability_bins`),
        ``positives``, ``negatives`` and ``binning`` (a sentence for reports).
    """
    from nesy.ml.calibration import BINS, brier_score, expected_calibration_error, reliability_bins

    pos, neg = _sampled_scores(model, triples, known, num_entities, negatives, seed,
                               num_base_relations)
    if not len(pos) or not len(neg):
        raise NesyError("calibration needs held-out triples and at least one sampled negative")
    scores = torch.cat([pos, neg]).numpy()
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    weights = np.concatenate([np.full(len(pos), 0.5 / len(pos)), np.full(len(neg), 0.5 / len(neg))])
    out: dict[str, Any] = {
        "positives": len(pos), "negatives": len(neg),
        "binning": f"{BINS} equal-width probability bins; positives and sampled corruptions "
                   "weighted to equal total mass"}
    variants = [("_raw", Calibrator())] + ([("", calibrator)] if calibrator is not None else [])
    for suffix, cal in variants:
        p = np.asarray(cal.prob(scores), dtype=np.float64)
        out[f"ece{suffix}"] = expected_calibration_error(p, labels, weights)
        out[f"brier{suffix}"] = brier_score(p, labels, weights)
        out[f"bins{suffix}"] = reliability_bins(p, labels, weights)
    out.setdefault("ece", None)
    out.setdefault("brier", None)
    out.setdefault("bins", [])
    return out


def _scores(model: KGEModel, h: np.ndarray, r: np.ndarray, t: np.ndarray) -> torch.Tensor:
    """float64 (k,) model scores of the triples, computed in batches without gradients."""
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for s in range(0, len(h), 4096):
                b = [torch.from_numpy(np.ascontiguousarray(x[s:s + 4096])).to(dev)
                     for x in (h, r, t)]
                out.append(model.score_hrt(*b).double().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)


def _platt(pos: torch.Tensor, neg: torch.Tensor, steps: int) -> Calibrator:
    """Weighted logistic regression of labels on scores, with Platt's smoothed targets."""
    if not len(neg):
        raise NesyError("could not sample any negative triple for calibration")
    scores = torch.cat([pos, neg])
    # Standardised scores keep LBFGS well conditioned whatever the model's score scale.
    mu, sd = scores.mean(), scores.std().clamp_min(1e-12)
    x = (scores - mu) / sd
    n_pos, n_neg = len(pos), len(neg)
    # Platt (1999): targets (N+ + 1)/(N+ + 2) and 1/(N- + 2) keep a, b finite on separable data.
    y = torch.cat([torch.full((n_pos,), (n_pos + 1) / (n_pos + 2), dtype=torch.float64),
                   torch.full((n_neg,), 1 / (n_neg + 2), dtype=torch.float64)])
    w = torch.cat([torch.full((n_pos,), 0.5 / n_pos, dtype=torch.float64),
                   torch.full((n_neg,), 0.5 / n_neg, dtype=torch.float64)])
    params = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = params[0] * x + params[1]
        loss = (w * torch.nn.functional.binary_cross_entropy_with_logits(
            z, y, reduction="none")).sum()
        loss.backward()
        return loss

    opt.step(closure)
    a_std, b_std = (float(v) for v in params.detach())
    return Calibrator(a=a_std / float(sd), b=b_std - a_std * float(mu) / float(sd))
