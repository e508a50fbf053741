"""``--timeout``, ``--max-facts`` and ``--max-memory`` on ``query``, ``explain``, ``materialize``
and ``rules`` (nesy.cli.limits), as subprocesses."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

NESY = [sys.executable, "-m", "nesy"]
PRODUCT = "big(X, Y) :- n(X), n(Y).\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NESY, *args], capture_output=True, text=True, timeout=300)


def _kb(tmp_path: Path, n: int) -> str:
    kb = str(tmp_path / "kb")
    assert run("init", kb).returncode == 0
    rules = tmp_path / "product.rules"
    rules.write_text("".join(f"n({i}).\n" for i in range(n)) + PRODUCT)
    out = run("rules", kb, str(rules), "--no-materialize")
    assert out.returncode == 0, out.stderr
    return kb


def test_every_reasoning_command_has_the_limit_options() -> None:
    for command in ("query", "explain", "materialize", "rules"):
        out = run(command, "--help")
        assert out.returncode == 0
        for option in ("--timeout", "--max-facts", "--max-memory"):
            assert option in out.stdout, (command, option)
    assert "else 60 s" in run("query", "--help").stdout
    assert "else none" in " ".join(run("materialize", "--help").stdout.split())


def test_query_timeout_stops_in_time_and_the_kb_answers_after(tmp_path: Path) -> None:
    kb = _kb(tmp_path, 6000)
    t0 = time.perf_counter()
    out = run("query", kb, "?- big(X, Y).", "--limit", "5", "--timeout", "1")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "timeout=1 s" in out.stderr and "--timeout" in out.stderr
    assert time.perf_counter() - t0 < 15  # one second of work plus the interpreter's start
    out = run("query", kb, "?- big(4, Y).", "--limit", "2", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip().splitlines()) == 3


def test_max_facts_and_max_memory_flags(tmp_path: Path) -> None:
    kb = _kb(tmp_path, 3000)
    out = run("query", kb, "?- big(X, Y).", "--max-facts", "100000")
    assert out.returncode == 1 and "9,000,000 rows" in out.stderr and "max_facts=100,000" in out.stderr
    out = run("materialize", kb, "--max-memory", "20MB")
    assert out.returncode == 1 and "max_memory=20 MiB" in out.stderr
    out = run("stats", kb)
    assert out.returncode == 0
    out = run("query", kb, "?- n(X).", "--limit", "1", "--timeout", "abc")
    assert out.returncode == 1 and "cannot read 'abc' as seconds" in out.stderr


def test_kb_json_timeout_wins_over_the_query_default(tmp_path: Path) -> None:
    import json

    kb = _kb(tmp_path, 6000)
    config = json.loads((Path(kb) / "kb.json").read_text())
    config["timeout"] = 1
    (Path(kb) / "kb.json").write_text(json.dumps(config))
    out = run("explain", kb, "big(1, 2)")
    assert out.returncode == 1 and "timeout=1 s" in out.stderr
