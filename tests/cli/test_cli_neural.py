"""`nesy train`, `nesy eval` and `nesy predict` as subprocesses, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

NS = "http://t.org/"


def nesy_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env_cmd = [sys.executable, "-m", "nesy", *args]
    return subprocess.run(env_cmd, capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})


def test_train_eval_predict_query(tmp_path: Path) -> None:
    # A ring: next(e_i, e_{i+1}) and prev as its inverse; the held-out prev links follow
    # from their next twins.
    n = 30
    rows = [(f"e{i}", "next", f"e{(i + 1) % n}") for i in range(n)]
    inverse = [(f"e{(i + 1) % n}", "prev", f"e{i}") for i in range(n)]
    (tmp_path / "train.tsv").write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in rows + inverse[:-8]))
    (tmp_path / "valid.tsv").write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in inverse[-8:-4]))
    (tmp_path / "test.tsv").write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in inverse[-4:]))
    kb = str(tmp_path / "kb")
    assert nesy_cli("init", kb, "--namespace", NS).returncode == 0
    assert nesy_cli("load", kb, str(tmp_path / "train.tsv")).returncode == 0

    bad = nesy_cli("train", kb, "--model", "nosuchmodel")
    assert bad.returncode == 1 and "nosuchmodel" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "kb" / "models").exists() or not any((tmp_path / "kb" / "models").iterdir())

    # Two data-parallel processes (torchrun, gloo on 127.0.0.1): the scale-out path end to end.
    done = nesy_cli("train", kb, "--model", "complex", "--dim", "16", "--epochs", "60", "--device", "cpu",
                    "--valid", str(tmp_path / "valid.tsv"), "--nproc", "2")
    assert done.returncode == 0, done.stderr
    assert "validation MRR" in done.stdout and "checkpoint:" in done.stdout

    table = nesy_cli("eval", kb, "--test", str(tmp_path / "test.tsv"))
    assert table.returncode == 0, table.stderr
    assert "| MRR |" in table.stdout and "optimistic" in table.stdout and "mean of optimistic and pessimistic" in table.stdout
    metrics = json.loads(nesy_cli("eval", kb, "--test", str(tmp_path / "test.tsv"), "--format", "json").stdout)
    assert metrics["triples"] == 4 and metrics["mrr"] > 3 / n  # random ranking: about 0.13

    pred = nesy_cli("predict", kb, "--relation", f"<{NS}prev>", "--threshold", "0.5")
    assert pred.returncode == 0, pred.stderr and "predicted triples" in pred.stdout
    out = nesy_cli("query", kb, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{NS}prev> ?o }}", "--predicted",
                   "--format", "json")
    assert out.returncode == 0, out.stderr

    proof = nesy_cli("query", kb, f"?- ~<{NS}prev>(<{NS}e1>, Y).", "--explain", "--limit", "1")
    assert proof.returncode == 0, proof.stderr
    assert "predicted" in proof.stdout and "model=complex" in proof.stdout

    missing = nesy_cli("eval", str(tmp_path / "kb"), "--test", str(tmp_path / "nope.tsv"))
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
