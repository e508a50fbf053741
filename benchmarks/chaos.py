"""The reliability benchmark in one command: kill -9 (``chaos_kill``), hostile inputs
(``chaos_hostile``) and limits (``chaos_limits``), summed up in one markdown table with the
goal line, the date, the machine and the command that produced it::

    .venv/bin/python benchmarks/chaos.py [--kills 500] [--inputs 10000] [--seed 0]

Exit status 0 when every goal is met. The detailed tables of each part follow the summary.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import chaos_hostile  # noqa: E402
import chaos_limits  # noqa: E402
from _common import machine_line, markdown_table  # noqa: E402

GOALS = "≥500 kills, ≥10,000 inputs, 0 tracebacks, 0 changes on rejection, every limit within 2x"


def run_kill_part(kills: int, seed: int, workdir: Path) -> dict[str, Any] | None:
    """``chaos_kill.run_kills`` when that module exists (another part of the suite), else None."""
    if importlib.util.find_spec("chaos_kill") is None:
        return None
    import chaos_kill

    return chaos_kill.run_kills(kills, seed, workdir)


def summary_rows(kill: dict[str, Any] | None, hostile: dict[str, Any], limits: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    if kill is None:
        rows.append(["kill -9", "not available (benchmarks/chaos_kill.py missing)", "—", "—"])
    else:
        ok = kill["kills"] >= 500 and not kill["failures"]
        rows.append(["kill -9 (injected + random)", f"{kill['kills']:,} kills",
                     f"{len(kill['failures'])} not before/after", "met" if ok else "not met"])
    t = hostile["totals"]
    fails = {k: t.get(k, 0) for k in chaos_hostile.FAILURES}
    rows.append(["hostile inputs", f"{hostile['inputs']:,} in-process + {hostile['subprocesses']} subprocesses",
                 f"{t.get('accepted', 0):,} accepted, {t.get('rejected', 0):,} rejected; "
                 + ", ".join(f"{v} {k}" for k, v in fails.items()),
                 "met" if hostile["inputs"] >= 10_000 and not any(fails.values()) else "not met"])
    for r in limits["rows"]:
        if "budget" not in r:
            rows.append([f"limit: {r['limit']}", "—", r["status"], "not met"])
            continue
        rows.append([f"limit: {r['limit']}", f"budget {r['budget']}",
                     f"{r['extra_s']:.2f} s, {r['extra_mib']:.0f} MiB over start-up ({r['status']})",
                     "met" if r["within"] else "not met"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a new temporary directory (kept)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="nesy-chaos-"))
    start = time.perf_counter()
    kill = run_kill_part(args.kills, args.seed, workdir / "kill")
    hostile = chaos_hostile.run_hostile(args.inputs, args.seed, workdir / "hostile", workers=2)
    limits = chaos_limits.run_limits(workdir / "limits")
    rows = summary_rows(kill, hostile, limits)
    met = all(r[-1] == "met" for r in rows)
    print(markdown_table(["part", "volume", "outcome", "goal"], rows))
    print(f"\nGoal ({GOALS}): {'met' if met else 'not met'}")
    print(f"Command: {shlex.join([Path(sys.executable).name, *sys.argv])}; {time.perf_counter() - start:.0f} s; "
          f"work files in {workdir}")
    print(machine_line(["pyoxigraph", "numpy", "click"]))
    if kill is not None:
        import chaos_kill

        print("\n## kill -9\n\n" + chaos_kill.markdown(kill))
    print("\n## hostile inputs\n\n" + chaos_hostile.report(hostile))
    print("\n## limits\n\n" + chaos_limits.report(limits))
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
