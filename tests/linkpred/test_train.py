"""train(): every registered model learns a small structured graph; seeds, early stopping, resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nesy.errors import NesyError
from nesy.linkpred.evaluate import evaluate
from nesy.linkpred.kge import model_names
from nesy.linkpred.train import TrainConfig, TrainResult, reciprocal_queries, train

torch.set_num_threads(1)

FAST = {"dim": 32, "epochs": 60, "batch_size": 128, "eval_every": 5, "patience": 3}


def synthetic(n: int = 80, seed: int = 0) -> dict[str, np.ndarray]:
    """A graph with learnable structure, split 6:1:1 into train/valid/test.

    Two halves A and B: relation 0 is a random bijection A -> B, relation 1 its inverse,
    relation 2 a symmetric "sibling" relation pairing up A, whose images are siblings in B.
    Every test fact is implied by a training fact of another relation (or the other
    direction), so a model must learn the patterns, not memorise.
    """
    rng = np.random.default_rng(seed)
    ids = rng.permutation(n)
    a, b = ids[: n // 2], ids[n // 2 :]
    triples = [(x, 0, y) for x, y in zip(a, b)] + [(y, 1, x) for x, y in zip(a, b)]
    for side in (a, b):
        for x, y in zip(side[0::2], side[1::2]):
            triples += [(x, 2, y), (y, 2, x)]
    triples = np.array(triples, dtype=np.int64)[rng.permutation(len(triples))]
    k = len(triples) // 8
    test, valid, train_ = triples[:k], triples[k : 2 * k], triples[2 * k :]
    return {"train": train_, "valid": valid, "test": test,
            "known": np.concatenate([train_, valid, test]), "E": n, "R": 3}


def random_mrr(test: np.ndarray, known: np.ndarray, n: int) -> float:
    """Expected filtered MRR of a ranking in random order, both directions."""
    facts = {tuple(x) for x in known.tolist()}
    total = 0.0
    for h, r, t in test.tolist():
        for cands in ([(h, r, x) for x in range(n)], [(x, r, t) for x in range(n)]):
            c = 1 + sum(1 for x in cands if x not in facts)  # the target plus non-facts
            total += sum(1 / i for i in range(1, c + 1)) / c
    return total / (2 * len(test))


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    return synthetic()


def fit(data: dict, progress: bool = False, **overrides: object) -> TrainResult:
    config = TrainConfig(**{**FAST, **overrides})
    return train(data["train"], data["E"], data["R"], config, valid=data["valid"],
                 known=data["known"], progress=progress)


def mrr_on_test(data: dict, model: torch.nn.Module) -> float:
    return evaluate(model, data["test"], data["known"], data["R"])["mrr"]


@pytest.mark.parametrize("name", model_names())
def test_every_model_learns_the_structure(data: dict, name: str) -> None:
    result = fit(data, model=name)
    baseline = random_mrr(data["test"], data["known"], data["E"])
    assert mrr_on_test(data, result.model) > 3 * baseline, (name, result.history)
    assert result.best_valid_mrr == max(h["valid_mrr"] for h in result.history)
    assert not result.model.training
    assert all(p.device.type == "cpu" for p in result.model.parameters())
    scores = result.model.score_hrt(*torch.from_numpy(data["valid"]).T)
    probs = result.calibrator.prob(scores.detach())
    assert probs.shape == scores.shape and bool(((probs >= 0) & (probs <= 1)).all())


def test_same_seed_same_model_other_seed_other_model(data: dict) -> None:
    a, b, c = fit(data, epochs=10), fit(data, epochs=10), fit(data, epochs=10, seed=1)
    assert a.history == b.history
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k
    assert a.history != c.history


def test_early_stopping_stops_and_keeps_the_best(data: dict) -> None:
    result = fit(data, epochs=500, eval_every=2, patience=2)
    assert result.epochs_run < 500
    assert len(result.history) == result.epochs_run // 2
    mrrs = [h["valid_mrr"] for h in result.history]
    # Stopped because the last `patience` evaluations did not beat the best before them.
    assert max(mrrs[-2:]) <= max(mrrs[:-2])
    again = evaluate(result.model, data["valid"], data["known"], data["R"])["mrr"]
    assert math.isclose(again, result.best_valid_mrr, abs_tol=1e-9)


def test_resume_continues_and_never_gets_worse(data: dict) -> None:
    first = fit(data, epochs=5, eval_every=5)
    before = {k: v.clone() for k, v in first.model.state_dict().items()}
    more = train(data["train"], data["E"], data["R"], TrainConfig(**{**FAST, "epochs": 15}),
                 valid=data["valid"], known=data["known"], model=first.model, progress=False)
    assert more.model is first.model
    assert more.epochs_run == 15 and [h["epoch"] for h in more.history] == [5, 10, 15]
    assert more.best_valid_mrr >= first.best_valid_mrr
    assert any(not torch.equal(before[k], v) for k, v in more.model.state_dict().items())


def test_resume_after_adding_entities(data: dict) -> None:
    first = fit(data, epochs=5)
    first.model.add_entities([[0, 1], []])
    grown = np.concatenate([data["train"], [[data["E"], 2, data["E"] + 1]]])
    result = train(grown, data["E"] + 2, data["R"], TrainConfig(**{**FAST, "epochs": 5}),
                   model=first.model, progress=False)
    assert result.model.num_entities == data["E"] + 2
    assert result.best_valid_mrr is None and result.calibrator is None
    assert [h["valid_mrr"] for h in result.history] == [None]
    with pytest.raises(NesyError, match="add_entities"):
        train(grown, data["E"] + 3, data["R"], TrainConfig(**FAST), model=result.model)


def test_no_progress_bar_off_a_terminal(data: dict, capsys: pytest.CaptureFixture) -> None:
    fit(data, epochs=1, progress=True)
    assert capsys.readouterr().err == ""


def test_reciprocal_queries() -> None:
    q = reciprocal_queries(np.array([[0, 1, 2]]), num_relations=3)
    assert q.tolist() == [[0, 1, 2], [2, 4, 0]]


def test_config_round_trip_and_errors() -> None:
    config = TrainConfig(model="distmult", dim=8, model_options={"init_std": 0.2})
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_dict({}) == TrainConfig()
    with pytest.raises(NesyError, match="unknown option.*learning_rate"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(NesyError, match=r"unknown option\(s\) epoch \(did you mean epochs\?\)"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(NesyError, match="expected an object"):
        TrainConfig.from_dict(["dim", 8])  # type: ignore[arg-type]
    assert TrainConfig.from_dict({"dim": 8}, epochs=2) == TrainConfig(dim=8, epochs=2)
    for bad in ({"dim": 0}, {"epochs": 1.5}, {"lr": -1}, {"lr": "fast"}, {"optimizer": "sgd"},
                {"label_smoothing": 1.0}, {"patience": True}):
        with pytest.raises(NesyError, match=next(iter(bad))):
            TrainConfig(**bad)


def test_bad_input_is_a_nesy_error(data: dict) -> None:
    config = TrainConfig(**FAST)
    with pytest.raises(NesyError, match="entity ids"):
        train(data["train"], 10, data["R"], config)
    with pytest.raises(NesyError, match="relation ids"):
        train(data["train"], data["E"], 2, config)
    with pytest.raises(NesyError, match="no training triples"):
        train(np.zeros((0, 3), dtype=np.int64), data["E"], data["R"], config)
    with pytest.raises(NesyError, match="unknown (link-prediction|kge) model"):
        train(data["train"], data["E"], data["R"], TrainConfig(model="nope"))
    with pytest.raises(NesyError, match="init_std|unexpected"):
        train(data["train"], data["E"], data["R"],
              TrainConfig(**{**FAST, "model_options": {"bogus": 1}}))
