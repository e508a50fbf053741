"""`nesy train` (--log-dir, --config, --tune), `nesy eval` (calibration) and `nesy plot`, in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from nesy.cli.main import cli  # noqa: E402
from nesy.cli.plot import plot  # noqa: E402

NS = "http://example.org/kin/"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "link-prediction"


def run(command: object, *args: str) -> str:
    result = CliRunner().invoke(command, list(args), catch_exceptions=False)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KB of the example family trees, trained 7 epochs (valid every 5: at 5 and 7)."""
    root = tmp_path_factory.mktemp("plot")
    kb = root / "kb"
    run(cli, "init", str(kb), "--namespace", NS)
    run(cli, "load", str(kb), str(EXAMPLES / "train.tsv"))
    run(cli, "train", str(kb), "--dim", "16", "--epochs", "7", "--device", "cpu",
        "--valid", str(EXAMPLES / "valid.tsv"), "--log-dir", str(root / "tb"))
    return kb


def test_metrics_jsonl_and_tensorboard_events(trained: Path) -> None:
    folder = trained / "models" / "complex"
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in records] == list(range(1, 8))
    assert all(r["loss"] > 0 and r["lr"] == 0.1 and r["seconds"] >= 0 for r in records)
    assert [r["epoch"] for r in records if r["valid_mrr"] is not None] == [5, 7]
    assert all(0 <= r["valid_hits@1"] <= r["valid_hits@10"] <= 1 for r in records if r["valid_mrr"])
    events = list((trained.parent / "tb").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0


def test_plot_writes_a_png_with_one_point_per_epoch(trained: Path, tmp_path: Path) -> None:
    import matplotlib.image

    out = tmp_path / "curves.png"
    said = run(plot, str(trained), "--out", str(out))
    image = matplotlib.image.imread(out)  # raises on anything that is not a PNG
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    lines = (trained / "models" / "complex" / "metrics.jsonl").read_text().splitlines()
    assert f"loss {len(lines)}," in said and "valid_mrr 2" in said


def test_plot_curves_draws_every_record(tmp_path: Path) -> None:
    from nesy.cli.plot import plot_curves

    records = [{"epoch": e, "loss": 1.0 / e, "valid_mrr": 0.1 * e if e % 2 == 0 else None}
               for e in range(1, 10)]
    points = plot_curves(records, tmp_path / "c.png", "t")
    assert points == {"loss": 9, "valid_mrr": 4}


def test_eval_prints_ece_and_brier_and_plot_draws_reliability(trained: Path, tmp_path: Path) -> None:
    import matplotlib.image

    said = run(cli, "eval", str(trained), "--test", str(EXAMPLES / "test.tsv"))
    assert "| ECE | Brier |" in said and "after Platt scaling" in said
    report = json.loads((trained / "models" / "complex" / "calibration.json").read_text())
    assert 0 <= report["ece"] <= 1 and 0 <= report["brier"] <= 1 and report["positives"] == 44
    # Platt scaling is fitted for exactly this: it must beat reading sigmoid(score) as a probability.
    assert report["brier"] < report["brier_raw"]
    out = tmp_path / "rel.png"
    assert "bins_raw" in run(plot, str(trained), "--calibration", "--out", str(out))
    assert matplotlib.image.imread(out).ndim == 3


def test_config_round_trip_repeats_the_run(trained: Path, tmp_path: Path) -> None:
    import tomllib

    first = trained / "models" / "complex"
    config = tomllib.loads((first / "config.toml").read_text())
    assert config["dim"] == 16 and config["epochs"] == 7 and config["name"] == "complex"
    copy = tmp_path / "again.toml"
    copy.write_text((first / "config.toml").read_text().replace('name = "complex"', 'name = "again"'))
    run(cli, "train", str(trained), "--config", str(copy))
    again = trained / "models" / "again"
    assert tomllib.loads((again / "config.toml").read_text()) == {**config, "name": "again"}
    # Same options, same seed, same data: the same run (metrics line for line).
    strip = [{k: v for k, v in json.loads(line).items() if k not in ("seconds", "elapsed")}
             for line in (first / "metrics.jsonl").read_text().splitlines()]
    again_strip = [{k: v for k, v in json.loads(line).items() if k not in ("seconds", "elapsed")}
                   for line in (again / "metrics.jsonl").read_text().splitlines()]
    assert again_strip == strip


def test_config_unknown_key_names_key_and_file(trained: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("dimm = 16\n")
    result = CliRunner().invoke(cli, ["train", str(trained), "--config", str(bad)])
    assert result.exit_code == 1
    assert "'dimm'" in result.output and "did you mean dim" in result.output and str(bad) in result.output


def test_tune_two_trials_keeps_the_best_and_writes_the_study(trained: Path) -> None:
    said = run(cli, "train", str(trained), "--dim", "16", "--epochs", "5", "--device", "cpu",
               "--valid", str(EXAMPLES / "valid.tsv"), "--tune", "2", "--name", "tuned")
    assert "tuning: 2 trials" in said
    study = json.loads((trained / "models" / "tuned" / "tune.json").read_text())
    assert len(study["trials"]) == 2 and study["trials"][0]["params"]["dim"] == 16
    values = [t["value"] for t in study["trials"] if t["state"] == "COMPLETE"]
    assert study["best_value"] == max(values)
    model = json.loads((trained / "models" / "tuned" / "model.json").read_text())["meta"]
    assert model["best_valid_mrr"] == pytest.approx(study["best_value"])
    assert model["train_config"]["dim"] == study["best_params"]["dim"]


def test_tune_six_keeps_two_runs_back_for_the_seed_confirmation(trained: Path) -> None:
    said = run(cli, "train", str(trained), "--dim", "16", "--epochs", "5", "--device", "cpu",
               "--valid", str(EXAMPLES / "valid.tsv"), "--tune", "6", "--name", "tuned6")
    study = json.loads((trained / "models" / "tuned6" / "tune.json").read_text())
    assert len(study["trials"]) == 4  # 6 runs: 4 searched, 2 kept back for the confirmation
    model = json.loads((trained / "models" / "tuned6" / "model.json").read_text())["meta"]
    assert model["best_valid_mrr"] == pytest.approx(study["best_value"])
    c = study["confirmation"]
    if study["trials"][0]["value"] == max(t["value"] or 0 for t in study["trials"]):
        assert c is None and study["best_trial"] == 0
    else:
        assert c["seeds"] == [0, 1] and len(c["given_values"]) == len(c["best_values"]) == 2
        assert (c["kept"] == "best") == (c["best_mean"] > c["given_mean"])
        assert study["best_trial"] == (c["trial"] if c["kept"] == "best" else 0)
        assert "confirmation over seeds [0, 1]" in said
