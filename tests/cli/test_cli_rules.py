"""``nesy rules``, ``nesy query`` and ``nesy explain`` as subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NESY = [sys.executable, "-m", "nesy"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NESY, *args], capture_output=True, text=True, timeout=120)


def test_rules_query_explain(tmp_path: Path) -> None:
    kb = str(tmp_path / "kb")
    assert run("init", kb).returncode == 0
    assert run("load", kb, str(ROOT / "examples/family/family.ttl")).returncode == 0
    out = run("rules", kb, str(ROOT / "examples/family/family.rules"))
    assert out.returncode == 0 and "10 rules" in out.stdout and "inferred graph" in out.stdout
    stats = json.loads(run("stats", kb, "--format", "json").stdout)
    assert stats["graphs"]["inferred"] > 0

    out = run("query", kb, "?- fam:grandparent(fam:ann, X).", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert [a["bindings"]["X"] for a in json.loads(out.stdout)] == ["fam:cid", "fam:cora", "fam:dan"]

    out = run("query", kb, "?- fam:livesIn(fam:bob, C).", "--explain")
    assert "rule lives" in out.stdout and "asserted" in out.stdout and "0.8" in out.stdout

    out = run("explain", kb, "fam:ancestor(fam:ann, fam:eve)", "--format", "mermaid")
    assert out.returncode == 0 and out.stdout.startswith("graph")
    out = run("explain", kb, "fam:ancestor(fam:eve, fam:ann)")
    assert out.returncode == 2 and "not derived" in out.stdout


def test_rule_syntax_error_exits_1_with_caret(tmp_path: Path) -> None:
    kb = str(tmp_path / "kb")
    run("init", kb)
    bad = tmp_path / "bad.rules"
    bad.write_text("p(X) :- q(X)\nr(a).\n")
    out = run("rules", kb, str(bad))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "bad.rules:" in out.stderr and "^" in out.stderr
    assert json.loads(run("stats", kb, "--format", "json").stdout)["triples"] == 0
