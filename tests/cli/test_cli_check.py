"""``nesy check``: violated constraints listed with proofs, exit status says consistent or not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NESY = [sys.executable, "-m", "nesy"]
ONTOLOGY = """@prefix ex: <http://e.org/#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
ex:Cat owl:disjointWith ex:Dog . ex:rex a ex:Cat . ex:tom a ex:Cat .
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NESY, *args], capture_output=True, text=True, timeout=120)


def test_check_lists_the_violation_then_passes_once_consistent(tmp_path: Path) -> None:
    kb = str(tmp_path / "kb")
    (tmp_path / "o.ttl").write_text(ONTOLOGY)
    (tmp_path / "bad.ttl").write_text("@prefix ex: <http://e.org/#> .\nex:rex a ex:Dog .\n")
    load = run("load", kb, str(tmp_path / "o.ttl"), "--ontology")
    assert load.returncode == 0, load.stderr
    assert "0 inconsistencies" in load.stdout
    ok = run("check", kb)
    assert ok.returncode == 0 and "consistent" in ok.stdout
    load = run("load", kb, str(tmp_path / "bad.ttl"))
    assert load.returncode == 0, load.stderr
    bad = run("check", kb)
    assert bad.returncode == 1
    assert "cax-dw" in bad.stdout and "ex:rex" in bad.stdout and "1 violation" in bad.stdout
    [v] = json.loads(run("check", kb, "--format", "json").stdout)
    assert v["rule"] == "cax-dw" and v["bindings"]["X"] == "http://e.org/#rex"
    assert v["proof"]["kind"] == "violation"
