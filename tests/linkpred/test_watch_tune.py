"""Per-epoch records of train(), the run tracker, TOML configs, calibration figures, TransE."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nesy.errors import NesyError  # noqa: E402
from nesy.linkpred.evaluate import evaluate  # noqa: E402
from nesy.linkpred.kge import TransE  # noqa: E402
from nesy.linkpred.train import TrainConfig, train  # noqa: E402
from nesy.ml.calibration import brier_score, expected_calibration_error, reliability_bins  # noqa: E402
from nesy.ml.tomlconfig import read_config, to_toml, write_config  # noqa: E402
from nesy.ml.tracking import RunTracker, read_metrics  # noqa: E402


def ring(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """next(i, i+1) and prev(i+1, i); the last 6 prev links held out as valid."""
    rows = [(i, 0, (i + 1) % n) for i in range(n)] + [((i + 1) % n, 1, i) for i in range(n)]
    arr = np.array(rows, dtype=np.int64)
    return arr[:-6], arr[-6:]


def test_on_epoch_gets_one_record_per_epoch_with_valid_metrics_when_evaluated() -> None:
    tr, va = ring()
    records: list[dict] = []
    cfg = TrainConfig(dim=8, epochs=4, eval_every=2, device="cpu", lr=0.05)
    res = train(tr, 40, 2, cfg, valid=va, progress=False, on_epoch=records.append)
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert all(r["lr"] == 0.05 and r["elapsed"] >= r["seconds"] >= 0 for r in records)
    assert [r["valid_mrr"] is None for r in records] == [True, False, True, False]
    assert records[3]["valid_mrr"] == pytest.approx(res.best_valid_mrr) or \
        records[1]["valid_mrr"] == pytest.approx(res.best_valid_mrr)


def test_max_seconds_stops_after_the_first_epoch_and_evaluates_it() -> None:
    tr, va = ring()
    records: list[dict] = []
    cfg = TrainConfig(dim=8, epochs=50, eval_every=10, device="cpu", max_seconds=1e-9)
    res = train(tr, 40, 2, cfg, valid=va, progress=False, on_epoch=records.append)
    assert res.epochs_run == 1 and len(records) == 1 and records[0]["valid_mrr"] is not None


def test_on_epoch_exception_stops_training() -> None:
    tr, va = ring()

    def stop(record: dict) -> None:
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tr, 40, 2, TrainConfig(dim=8, epochs=5, device="cpu"), valid=va, progress=False,
              on_epoch=stop)


def test_tracker_writes_jsonl_lines_and_mlflow_when_configured(tmp_path: Path, monkeypatch) -> None:
    calls: list[tuple] = []
    fake = types.SimpleNamespace(start_run=lambda run_name: calls.append(("start", run_name)),
                                 log_metrics=lambda m, step: calls.append(("log", m, step)),
                                 end_run=lambda: calls.append(("end",)))
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "file:///nowhere")
    path = tmp_path / "m" / "metrics.jsonl"
    with RunTracker(path, run_name="r") as tracker:
        tracker.log({"epoch": 1, "loss": 2.0, "valid_mrr": None})
        tracker.log({"epoch": 2, "loss": float("nan"), "valid_hits@1": 0.5})
    assert read_metrics(path) == [{"epoch": 1, "loss": 2.0, "valid_mrr": None},
                                  {"epoch": 2, "loss": None, "valid_hits@1": 0.5}]
    assert calls[0] == ("start", "r") and calls[-1] == ("end",)
    assert ("log", {"loss": 2.0}, 1) in calls and ("log", {"valid_hits_at_1": 0.5}, 2) in calls
    with RunTracker(path, append=True) as tracker:
        tracker.log({"epoch": 3, "loss": 1.0})
    assert len(read_metrics(path)) == 3
    with RunTracker(path) as tracker:  # a fresh run starts the file afresh
        tracker.log({"epoch": 1, "loss": 1.0})
    assert len(read_metrics(path)) == 1


def test_read_metrics_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1}\n[1, 2]\n')
    with pytest.raises(NesyError, match="line 2"):
        read_metrics(path)


def test_toml_round_trip_and_unknown_key(tmp_path: Path) -> None:
    data = {**TrainConfig(dim=7, lr=0.25, model_options={"p_norm": 2.0}).to_dict(),
            "valid": 'C:\\dir\\"quoted".tsv', "name": "a/b", "nproc": 2}
    path = write_config(tmp_path / "config.toml", data, header="two\nlines")
    # Unset (automatic) fields are left out of the file and read back as unset.
    assert read_config(path, data) == {k: v for k, v in data.items() if v is not None}
    assert to_toml({"x": None, "y": True}) == "y = true\n"
    (tmp_path / "bad.toml").write_text("lr = 0.1\nepochz = 3\n")
    with pytest.raises(NesyError, match=r"'epochz' \(did you mean epochs\?\).*bad\.toml"):
        read_config(tmp_path / "bad.toml", data)
    (tmp_path / "broken.toml").write_text("lr = \n")
    with pytest.raises(NesyError, match="not valid TOML"):
        read_config(tmp_path / "broken.toml", data)


def test_calibration_figures() -> None:
    y = np.array([1, 0, 1, 0])
    assert expected_calibration_error(y.astype(float), y) == 0.0
    assert brier_score(np.full(4, 0.5), y) == pytest.approx(0.25)
    # Two predictions of 0.9, one true: |0.5 - 0.9| in the only bin.
    assert expected_calibration_error([0.9, 0.9], [1, 0]) == pytest.approx(0.4)
    # Weights: the false one counts three times.
    assert brier_score([0.9, 0.9], [1, 0], [1, 3]) == pytest.approx((0.01 + 3 * 0.81) / 4)
    bins = reliability_bins([0.05, 0.95, 1.0], [0, 1, 1])
    assert [(b["lo"], round(b["weight"], 3)) for b in bins] == [(0.0, 0.333), (0.9, 0.667)]
    with pytest.raises(NesyError):
        brier_score([1.5], [1])


def test_transe_default_learns_a_ring() -> None:
    """L2 is the default; on a 300-entity ring it is far above chance in 10 epochs (the old
    L1 default: 0.05)."""
    n = 300
    rows = np.array([(i, 0, (i + 1) % n) for i in range(n)] + [((i + 1) % n, 1, i) for i in range(n)],
                    dtype=np.int64)
    assert TransE(3, 2, 4).kge.p_norm == 2.0
    cfg = TrainConfig(model="transe", dim=32, epochs=10, device="cpu")
    res = train(rows, n, 2, cfg, progress=False)
    mrr = evaluate(res.model, rows[:100], rows, 2)["mrr"]
    assert mrr > 0.3  # chance: about 0.02
    assert json.dumps(res.model.config())  # the p_norm default is recorded in the checkpoint
