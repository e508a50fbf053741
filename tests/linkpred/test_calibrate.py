"""Platt-scaling calibrator: probabilities, serialisation, and a fit on a separable case."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nesy.errors import NesyError
from nesy.linkpred.calibrate import Calibrator, fit_calibrator
from nesy.linkpred.kge import get_model_class


def test_prob_kinds_and_range() -> None:
    cal = Calibrator(a=2.0, b=-1.0)
    scores = np.array([-3.0, 0.5, 3.0])
    p = cal.prob(scores)
    assert isinstance(p, np.ndarray) and ((p > 0) & (p < 1)).all()
    assert p[1] == pytest.approx(0.5)
    pt = cal.prob(torch.tensor(scores))
    assert isinstance(pt, torch.Tensor) and np.allclose(pt.numpy(), p)
    assert isinstance(cal.prob(0.5), float)
    assert cal.prob(-1e6) == 0.0  # no overflow warning or NaN on extreme scores


def test_dict_round_trip() -> None:
    cal = Calibrator(a=1.5, b=-0.25)
    assert Calibrator.from_dict(cal.to_dict()) == cal
    with pytest.raises(NesyError, match="'a' and 'b'"):
        Calibrator.from_dict({"a": 1.0})


def test_fit_separates_true_from_corrupted() -> None:
    torch.manual_seed(0)
    e, r = 10, 1
    train = torch.tensor([[i, 0, (i + 1) % e] for i in range(e)])
    model = get_model_class("distmult")(e, 2 * r, 8)
    queries = torch.cat([train, torch.stack([train[:, 2], train[:, 1] + r, train[:, 0]], 1)])
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):  # tiny inline fit, just enough to make the true tails stand out
        loss = torch.nn.functional.cross_entropy(model.score_t(queries[:, 0], queries[:, 1]),
                                                 queries[:, 2])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    valid = train[:5]
    cal = fit_calibrator(model, valid, train, e, negatives=4, seed=0, num_base_relations=r)
    assert cal == fit_calibrator(model, valid, train, e, negatives=4, seed=0,
                                 num_base_relations=r)  # deterministic
    with torch.no_grad():
        pos = cal.prob(model.score_hrt(valid[:, 0], valid[:, 1], valid[:, 2]))
        wrong = (valid[:, 2] + 3) % e
        neg = cal.prob(model.score_hrt(valid[:, 0], valid[:, 1], wrong))
    assert ((pos > 0) & (pos < 1) & (neg > 0) & (neg < 1)).all()
    assert pos.min() > neg.max()
    assert pos.min() > 0.5 > neg.max()


def test_fit_on_empty_valid_is_identity() -> None:
    model = get_model_class("distmult")(3, 2, 4)
    assert fit_calibrator(model, torch.zeros(0, 3), torch.zeros(0, 3), 3) == Calibrator()
