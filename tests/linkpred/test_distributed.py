"""Data-parallel training: 2 gloo workers on 127.0.0.1 match one process; the worker CLI."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nesy.linkpred.checkpoint import load_checkpoint
from nesy.linkpred.evaluate import evaluate
from nesy.linkpred.train import TrainConfig, train
from nesy.linkpred.worker import launch
from nesy.linkpred.worker import main as worker_main

torch.set_num_threads(1)

# The synthetic graph of test_train.py (loaded by path: tests are not a package).
_spec = importlib.util.spec_from_file_location("_train_tests", Path(__file__).with_name("test_train.py"))
_train_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_train_tests)
synthetic = _train_tests.synthetic

# CPU even where a GPU exists: two ranks cannot share one GPU under NCCL.
CONFIG = {"model": "complex", "dim": 32, "epochs": 30, "batch_size": 128, "eval_every": 5,
          "patience": 3, "seed": 0, "device": "cpu"}


@pytest.fixture(scope="module")
def data() -> dict:
    return synthetic()


def write_inputs(directory: Path, data: dict, **config: object) -> list[str]:
    np.savez(directory / "data.npz", train=data["train"], valid=data["valid"],
             known=data["known"], num_entities=data["E"], num_relations=data["R"])
    (directory / "config.json").write_text(json.dumps({**CONFIG, **config}))
    return ["--data", str(directory / "data.npz"), "--config", str(directory / "config.json")]


def mrr_on_test(data: dict, model: torch.nn.Module) -> float:
    return evaluate(model, data["test"], data["known"], data["R"])["mrr"]


def test_two_gloo_workers_reach_single_process_quality(tmp_path: Path, data: dict) -> None:
    args = write_inputs(tmp_path, data)
    out = ["--out", str(tmp_path / "out"), "--no-progress"]
    assert launch(2, [*args, *out], timeout=300) == 0
    model, meta = load_checkpoint(tmp_path / "out")
    assert meta["world_size"] == 2 and meta["train_config"] == TrainConfig(**CONFIG).to_dict()
    assert meta["calibrator"] is not None and meta["history"]

    single = train(data["train"], data["E"], data["R"], TrainConfig(**CONFIG),
                   valid=data["valid"], known=data["known"], progress=False)
    two, one = mrr_on_test(data, model), mrr_on_test(data, single.model)
    assert two >= one - 0.05, (two, one)
    # Sharded batches average to the same gradients: the runs should even coincide closely.
    assert abs(meta["best_valid_mrr"] - single.best_valid_mrr) < 0.05


def test_worker_in_one_process_and_resume(tmp_path: Path, data: dict) -> None:
    args = write_inputs(tmp_path, data, epochs=10, meta={"entities": "sha256:abc"})
    assert worker_main([*args, "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    _, first = load_checkpoint(tmp_path / "a")
    assert first["world_size"] == 1 and [h["epoch"] for h in first["history"]] == [5, 10]
    assert first["entities"] == "sha256:abc"

    (tmp_path / "config.json").write_text(
        json.dumps({**CONFIG, "epochs": 5, "resume": str(tmp_path / "a")})
    )
    assert worker_main([*args, "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    _, second = load_checkpoint(tmp_path / "b")
    assert [h["epoch"] for h in second["history"]] == [5, 10, 15]
    assert second["best_valid_mrr"] >= first["best_valid_mrr"]


def test_worker_reports_bad_input(tmp_path: Path, data: dict, capsys) -> None:
    args = write_inputs(tmp_path, data, epochs=0)
    assert worker_main([*args, "--out", str(tmp_path / "out")]) == 2
    assert "epochs must be a positive integer" in capsys.readouterr().err
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    bad = ["--data", str(tmp_path / "missing.npz"), "--config", str(tmp_path / "config.json")]
    assert worker_main([*bad, "--out", str(tmp_path / "out")]) == 2
    assert "missing.npz" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_launch_needs_a_process() -> None:
    with pytest.raises(ValueError):
        launch(0, [])
