"""`nesy extract-train` as a user runs it: progress per epoch with the validation F1 and an
ETA, `--config FILE` (checked keys, command-line options win), and the resolved options
written beside the model so that `--config` of that file repeats the run; without `--valid`
the reader is trained again on every example once validation has chosen."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

NESY = [sys.executable, "-m", "nesy"]
ENV = dict(os.environ, HF_HUB_OFFLINE="1")
PEOPLE = ["Alice Martin", "Bob Stone", "Carol White", "Dave Brown", "Erin Black", "Frank Green", "Grace Hall",
          "Henry King", "Ivy Lane", "Jack Moore"]
CITIES = ["Paris", "Rome", "Berlin", "Madrid", "Vienna", "Oslo"]
ORGS = ["Acme", "Initech", "Globex", "Umbrella", "Hooli"]


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*NESY, *args], capture_output=True, text=True, timeout=300, env=ENV)
    if ok:
        assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def _examples(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            p = rng.choice(PEOPLE)
            if i % 2:
                c = rng.choice(CITIES)
                rec = {"text": f"{p} was born in {c}.", "triples": [[p.replace(" ", "_"), "birthPlace", c]]}
            else:
                o = rng.choice(ORGS)
                rec = {"text": f"{p} works for {o}.", "triples": [[p.replace(" ", "_"), "employer", o]]}
            fh.write(json.dumps(rec) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("extract-train")
    train, valid = _examples(tmp / "train.jsonl", 40, 0), _examples(tmp / "valid.jsonl", 12, 1)
    (tmp / "options.toml").write_text("model = \"head\"\nepochs = 5\nhidden = 32\nout = 16\nlr = 0.003\nuse_prior = false\n")
    proc = run("extract-train", str(tmp / "kb"), "--examples", str(train), "--valid", str(valid),
               "--config", str(tmp / "options.toml"), "--epochs", "3")
    return tmp, proc


def test_progress_shows_every_epoch_with_validation_f1_and_eta(trained: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, proc = trained
    lines = [line for line in proc.stderr.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]  # --epochs won
    assert all("validation P " in line and " F1 " in line and "ETA" in line for line in lines)
    assert "extractor trained on 40 of 40 examples" in proc.stdout
    assert "validation on 12 examples: precision" in proc.stdout and "F1" in proc.stdout


def test_resolved_options_are_written_beside_the_model_and_repeat_the_run(
        trained: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    tmp, _ = trained
    written = tmp / "kb" / "models" / "extractor" / "config.toml"
    options = tomllib.loads(written.read_text())
    assert options["epochs"] == 3 and options["hidden"] == 32 and options["use_prior"] is False
    assert options["lr"] == 0.003 and "seed" in options  # defaults resolved, not left out
    model = json.loads((tmp / "kb" / "models" / "extractor" / "model.json").read_text())
    again = run("extract-train", str(tmp / "kb2"), "--examples", str(tmp / "train.jsonl"), "--valid",
                str(tmp / "valid.jsonl"), "--config", str(written))
    assert tomllib.loads((tmp / "kb2" / "models" / "extractor" / "config.toml").read_text()) == options
    assert [line for line in again.stderr.splitlines() if line.startswith("epoch 3/3")]
    assert json.loads((tmp / "kb2" / "models" / "extractor" / "model.json").read_text())["threshold"] == model["threshold"]


def test_an_unknown_config_key_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("epochz = 3\n")
    train = _examples(tmp_path / "train.jsonl", 4, 0)
    proc = run("extract-train", str(tmp_path / "kb"), "--examples", str(train), "--config",
               str(tmp_path / "bad.toml"), ok=False)
    assert proc.returncode == 1 and "unknown nesy extract-train option 'epochz'" in proc.stderr
    assert "did you mean epochs" in proc.stderr
    assert not (tmp_path / "kb" / "models" / "extractor").exists()


def test_without_valid_the_reader_is_trained_again_on_every_example(tmp_path: Path) -> None:
    train = _examples(tmp_path / "train.jsonl", 60, 2)
    (tmp_path / "fast.toml").write_text("epochs = 1\nbatch = 8\ntune_layers = 1\nmax_tokens = 24\nholdout = 0.2\n")
    proc = run("extract-train", str(tmp_path / "kb"), "--examples", str(train), "--config", str(tmp_path / "fast.toml"))
    lines = [line for line in proc.stderr.splitlines() if "epoch 1/1" in line]
    assert len(lines) == 2 and "validation P " in lines[0]
    assert lines[1].startswith("trained again on 60 examples, epoch 1/1: loss ") and "validation" not in lines[1]
    assert "extractor trained on 60 of 60 examples" in proc.stdout
    assert "examples, then trained again on all: precision" in proc.stdout


def test_a_bad_option_value_is_refused_before_a_store_is_created(tmp_path: Path) -> None:
    train = _examples(tmp_path / "train.jsonl", 10, 3)
    (tmp_path / "bad.toml").write_text('refit = "yes"\n')
    proc = run("extract-train", str(tmp_path / "kb"), "--examples", str(train), "--config", str(tmp_path / "bad.toml"),
               ok=False)
    assert proc.returncode == 1 and "refit must be true or false, got 'yes'" in proc.stderr
    assert not (tmp_path / "kb").exists()
