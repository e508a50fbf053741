"""benchmarks/scale.py --quick: two tiny sizes of every workload on the memory engine and the
DuckDB CTE (and the DuckDB out-of-core engine when it imports) — the tables and goal lines
print, the engines agree, the exit status is 0."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _engines() -> list[str]:
    try:
        import_module("nesy.engine.outofcore.driver")
    except ImportError:
        return ["memory", "cte"]
    return ["memory", "duckdb", "cte"]


def _table(text: str) -> list[list[str]]:
    """The cells of the main table's rows (the first markdown table printed)."""
    rows, started = [], False
    for line in text.splitlines():
        if line.startswith("| Workload"):
            started = True
        elif started and line.startswith("|") and not line.startswith("|-"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif started and not line.startswith("|"):
            break
    return rows


@pytest.mark.timeout(300)
def test_scale_quick_prints_the_tables_and_exits_0(shared_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    pytest.importorskip("psutil")
    engines = _engines()
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--quick", "--engines", ",".join(engines),
         "--data", str(shared_data), "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    out = done.stdout
    assert "MISMATCH" not in out
    assert "| Largest size finished within cap" in out
    assert "duckdb engine / DuckDB CTE time, tc:" in out
    assert out.count("- Goal:") == 3
    rows = _table(out)
    ok = {(r[0], r[1], r[3]): r for r in rows if r[4] == "ok"}
    for engine in engines:
        assert ("TC random graph", "500 nodes", engine) in ok, f"{engine} did not finish tc 500:\n{out}"
    # Seeded inputs: the same closure every time, from every engine.
    assert {ok[("TC random graph", "500 nodes", e)][8] for e in engines} == {"171,467"}
    assert {ok[("same generation", "500 nodes", e)][8] for e in engines} == {"10,408"}
    lubm = [e for e in engines if e != "cte"]
    assert {ok[("OWL 2 RL, LUBM-shaped", "4 universities", e)][8] for e in lubm} == {"25,361"}
    assert ("TC random graph, weighted, maxprod", "500 nodes", "memory") in ok
    assert not list(tmp_path.iterdir()), "the runs' temporary files were left behind"
