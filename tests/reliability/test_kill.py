"""Kill -9 inside every commit step and at random moments (the CI form of
``benchmarks/chaos_kill.py``): the KB reopens exactly before or after the command, Oxigraph
matches the id table, and the next command works."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from nesy.store.commit import CRASH_POINTS

ROOT = Path(__file__).resolve().parents[2]


def load_chaos():
    spec = importlib.util.spec_from_file_location("chaos_kill", ROOT / "benchmarks" / "chaos_kill.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["chaos_kill"] = module
    spec.loader.exec_module(module)
    return module


def test_a_hundred_kills_leave_every_kb_before_or_after(tmp_path: Path) -> None:
    chaos = load_chaos()
    result = chaos.run_kills(100, seed=1, workdir=tmp_path, cap=1,
                             train_points=("before-manifest", "after-manifest", "after-config"))
    print(chaos.markdown(result))
    assert result["failures"] == []
    assert result["kills"] >= 100
    rows = result["scenarios"]
    assert set(rows) == {"load", "rules", "materialize", "update", "train"}
    # Every crash point of the commit protocol was reached and killed at, recovery included.
    assert set(result["points"]) | {"recovery"} == set(CRASH_POINTS)
    assert all(row.get("injected", 0) >= 3 and row.get("recovery", 0) == 1 for name, row in rows.items()
               if name != "train")
    assert sum(row.get("random", 0) for row in rows.values()) >= 20
    # Kills land on both sides of the commit point.
    assert sum(row.get("before", 0) for row in rows.values()) > 0
    assert sum(row.get("after", 0) for row in rows.values()) > 0
