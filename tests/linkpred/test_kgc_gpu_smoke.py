"""benchmarks/kgc_gpu.py --smoke: the GPU script's whole path on a CPU (a slice, one epoch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("NESY_DATA", ROOT.parent / "shared" / "data"))


def test_kgc_gpu_smoke_prints_and_writes_the_table(tmp_path: Path) -> None:
    assert (DATA / "kgc" / "conve" / "WN18RR.tar.gz").is_file(), f"no WN18RR under {DATA} (set NESY_DATA)"
    env = {**os.environ, "OUT": str(tmp_path), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kgc_gpu.py"), "--smoke",
                           "--data", str(DATA), "--datasets", "wn18rr"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    assert "| wn18rr (smoke) | cpu | 16 | 1 |" in done.stdout
    rows = json.loads((tmp_path / "kgc_gpu.json").read_text())
    assert len(rows) == 1 and 0 < rows[0]["mrr"] <= 1 and rows[0]["train_triples"] == 3000
    assert (tmp_path / "kgc_gpu.md").read_text().count("| wn18rr") == 1
