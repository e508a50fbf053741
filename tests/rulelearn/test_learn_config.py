"""`nesy learn --config` repeats a run from its written OUT.config.toml; `--tune` keeps the best
trial on validation and writes its study; bad config values are refused with a message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("optuna")

from kin_data import families as _families  # noqa: E402
from kin_data import tsv as _tsv  # noqa: E402

NS = "http://kin.org/"


def _nesy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("learncfg")
    base, derived = _families(count=8)
    kb = d / "kb"
    assert _nesy("init", str(kb), "--namespace", NS).returncode == 0
    assert _nesy("load", str(kb), str(_tsv(d / "facts.tsv", base))).returncode == 0
    train = _tsv(d / "train.tsv", derived[::2])
    valid = _tsv(d / "valid.tsv", derived[1::2])
    return kb, train, valid


def test_the_written_config_repeats_the_run(kb_dir: tuple[Path, Path, Path], tmp_path: Path) -> None:
    kb, train, valid = kb_dir
    first = tmp_path / "a.rules"
    r = _nesy("learn", str(kb), "--out", str(first), "--train", str(train), "--valid", str(valid),
              "--epochs", "3", "--max-len", "2", "--top", "4", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    written = Path(str(first) + ".config.toml")
    text = written.read_text()
    assert "epochs = 3" in text and "max_len = 2" in text and "top = 4" in text
    second = tmp_path / "b.rules"
    r = _nesy("learn", str(kb), "--out", str(second), "--config", str(written))
    assert r.returncode == 0, r.stderr
    body = [line for line in first.read_text().splitlines() if not line.startswith("#")]
    assert body and body == [line for line in second.read_text().splitlines() if not line.startswith("#")]
    # The second run's resolved config is the first's: the round trip is exact.
    assert Path(str(second) + ".config.toml").read_text().split("\n", 2)[2] == text.split("\n", 2)[2]


def test_tune_keeps_the_best_trial_and_writes_the_study(kb_dir: tuple[Path, Path, Path], tmp_path: Path) -> None:
    kb, train, valid = kb_dir
    out = tmp_path / "t.rules"
    r = _nesy("learn", str(kb), "--out", str(out), "--train", str(train), "--valid", str(valid),
              "--epochs", "2", "--device", "cpu", "--tune", "3", "--learner", "neural-lp")
    assert r.returncode == 0, r.stderr
    study = json.loads(Path(str(out) + ".tune.json").read_text())
    assert len(study["trials"]) == 3
    values = [t["value"] for t in study["trials"] if t["state"] == "COMPLETE"]
    assert study["best_value"] == max(values)
    assert study["trials"][0]["params"]["lr"] == pytest.approx(0.02)  # trial 0 is the defaults
    assert "tuning: 3 trials" in r.stdout
    config = Path(str(out) + ".config.toml").read_text()
    assert f"lr = {study['best_params']['lr']!r}" in config


def test_bad_config_values_are_refused(kb_dir: tuple[Path, Path, Path], tmp_path: Path) -> None:
    kb, _, _ = kb_dir
    for body, needle in (('top = "many"', "top must be a positive integer"),
                         ("epochs = -1", "epochs"), ("topp = 3", "unknown nesy learn option 'topp'"),
                         ("min_confidence = 2.0", "min_confidence")):
        cfg = tmp_path / "c.toml"
        cfg.write_text(body + "\n")
        r = _nesy("learn", str(kb), "--out", str(tmp_path / "x.rules"), "--config", str(cfg))
        assert r.returncode != 0 and needle in r.stderr, (body, r.stderr)
        assert "Traceback" not in r.stderr
    r = _nesy("learn", str(kb), "--out", str(tmp_path / "x.rules"), "--timeout", "5")
    assert r.returncode != 0 and "--tune" in r.stderr
