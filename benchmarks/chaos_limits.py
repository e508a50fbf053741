"""The limits section of the chaos benchmark: a runaway workload per limit, run through the
CLI with a budget, and the time and peak memory it took against that budget (goal: 2x).

Limits: rule-query timeout, SPARQL timeout, materialisation timeout, ``max_facts``,
``max_memory``, and the parser's handling of a huge literal and a huge data line. An option
this nesy does not have yet is reported as "not available", never guessed::

    .venv/bin/python benchmarks/chaos_limits.py
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_line, markdown_table  # noqa: E402

NS = "http://example.org/chaos#"
TIME_BUDGET = 2.0  # seconds
MEMORY_BUDGET_MIB = 300
FACTS_BUDGET = 1_000_000
HUGE_MIB = 50

TC_RULES = f"""@prefix c: <{NS}> .
c:tc(X, Y) :- c:e(X, Y).
c:tc(X, Z) :- c:tc(X, Y), c:e(Y, Z).
"""
CARTESIAN_RULES = f"""@prefix c: <{NS}> .
c:big(A, B, C, D, E, F) :- c:t(A), c:t(B), c:t(C), c:t(D), c:t(E), c:t(F).
"""
RUNAWAY_SPARQL = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?p1 ?b . ?c ?p2 ?d . ?e ?p3 ?f . ?g ?p4 ?h . ?i ?p5 ?j }")


def nesy(*args: str, cwd: Path | None = None, timeout: float = 300) -> dict[str, Any]:
    """Run ``python -m nesy args``: exit status, output, wall seconds and its own peak RSS."""
    env = {k: v for k, v in os.environ.items() if k != "NESY_DEBUG"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "nesy", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=cwd, env=env)
    deadline = t0 + timeout
    # The output is drained meanwhile (a full pipe would stall the child), and the child is
    # reaped only by wait4, which alone reports its peak RSS (Popen.poll would reap it first).
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read() if proc.stdout else b""))
    reader.start()
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() >= deadline:
            killed = True
            proc.kill()
            _pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: Popen must not wait again
    seconds = time.perf_counter() - t0
    reader.join()
    output = b"".join(chunks).decode("utf-8", "replace")
    code = -9 if killed else proc.returncode
    return {"code": code, "output": output, "seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "killed": killed}


def has_option(command: str, option: str) -> bool:
    return option in nesy(command, "--help")["output"]


def build(workdir: Path) -> dict[str, Path]:
    """Two KBs: a random graph with transitive closure rules (2,000 nodes, 4,000 edges,
    ~2.5M derived facts) and 60 facts under a six-way Cartesian product (60^6 rows); rules
    kept, nothing materialised. Also the huge inputs."""
    rng = random.Random(0)
    edges = set()
    while len(edges) < 4000:
        a, b = rng.randrange(2000), rng.randrange(2000)
        if a != b:
            edges.add((a, b))
    (workdir / "edges.nt").write_text("".join(f"<{NS}n{a}> <{NS}e> <{NS}n{b}> .\n" for a, b in sorted(edges)))
    (workdir / "tc.rules").write_text(TC_RULES)
    (workdir / "t.nt").write_text("".join(f"<{NS}v{i}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{NS}t> .\n"
                                          for i in range(60)))
    (workdir / "cart.rules").write_text(CARTESIAN_RULES)
    kbs = {"tc": workdir / "tc", "cart": workdir / "cart"}
    for name, data, rules in (("tc", "edges.nt", "tc.rules"), ("cart", "t.nt", "cart.rules")):
        for args in (("load", str(kbs[name]), str(workdir / data)),
                     ("rules", str(kbs[name]), str(workdir / rules), "--no-materialize")):
            done = nesy(*args)
            if done["code"] != 0:
                raise RuntimeError(f"nesy {' '.join(args)} failed: {done['output'][-2000:]}")
    size = HUGE_MIB * 1024 * 1024
    (workdir / "huge.rules").write_text(f'@prefix c: <{NS}> .\nc:name(c:a, "' + "x" * size + '").\n')
    (workdir / "huge.nt").write_text(f'<{NS}a> <{NS}p> "' + "x" * size + '" .\n')
    return kbs


def copy(kb: Path, workdir: Path) -> Path:
    """A fresh copy of ``kb`` (each workload starts from the same state)."""
    target = workdir / f"run-{time.monotonic_ns()}"
    shutil.copytree(kb, target)
    return target


def workloads(kbs: dict[str, Path], workdir: Path) -> list[dict[str, Any]]:
    """(limit, command, option it needs, budget kind, budget value)."""
    t, m, f = str(TIME_BUDGET), f"{MEMORY_BUDGET_MIB}MB", str(FACTS_BUDGET)
    cart_query = f"?- <{NS}big>(A, B, C, D, E, F)."
    return [
        {"limit": "rule-query timeout", "cmd": ["query", "{tc}", f"?- <{NS}tc>(X, Y).", "--timeout", t],
         "needs": ("query", "--timeout"), "budget": ("s", TIME_BUDGET)},
        {"limit": "rule-query timeout (Cartesian)", "cmd": ["query", "{cart}", cart_query, "--limit", "5",
                                                            "--timeout", t],
         "needs": ("query", "--timeout"), "budget": ("s", TIME_BUDGET)},
        {"limit": "SPARQL timeout", "cmd": ["query", "{tc}", RUNAWAY_SPARQL, "--timeout", t],
         "needs": ("query", "--timeout"), "budget": ("s", TIME_BUDGET)},
        {"limit": "materialise timeout", "cmd": ["materialize", "{tc}", "--timeout", t],
         "needs": ("materialize", "--timeout"), "budget": ("s", TIME_BUDGET)},
        {"limit": "max_facts", "cmd": ["materialize", "{cart}", "--max-facts", f, "--timeout", "120"],
         "needs": ("materialize", "--max-facts"), "budget": ("facts", FACTS_BUDGET)},
        {"limit": "max_memory", "cmd": ["materialize", "{cart}", "--max-memory", m, "--max-facts", "10000000000",
                                        "--timeout", "120"],
         "needs": ("materialize", "--max-memory"), "budget": ("MiB", MEMORY_BUDGET_MIB)},
        {"limit": f"huge literal in a rule file ({HUGE_MIB} MiB)", "cmd": ["rules", "{tc}", str(workdir / "huge.rules")],
         "needs": None, "budget": ("MiB", 4 * HUGE_MIB)},
        {"limit": f"huge N-Triples line ({HUGE_MIB} MiB)", "cmd": ["load", "{tc}", str(workdir / "huge.nt")],
         "needs": None, "budget": ("MiB", 4 * HUGE_MIB)},
    ]


def run_one(w: dict[str, Any], kbs: dict[str, Path], workdir: Path, baseline: dict[str, float]) -> dict[str, Any]:
    """One workload: its time and memory above a trivial command's, against its budget."""
    if w["needs"] and not has_option(*w["needs"]):
        return {"limit": w["limit"], "status": f"not available (no {w['needs'][1]} on nesy {w['needs'][0]})"}
    fresh = {name: copy(kb, workdir) for name, kb in kbs.items()}
    # Placeholders by plain replacement: a SPARQL query's own braces are no format fields.
    argv = [functools.reduce(lambda text, kv: text.replace("{" + kv[0] + "}", str(kv[1])), fresh.items(), a)
            for a in w["cmd"]]
    r = nesy(*argv, timeout=max(60.0, 30 * TIME_BUDGET))
    extra_s = max(r["seconds"] - baseline["seconds"], 0.0)
    extra_mib = max(r["peak_mib"] - baseline["peak_mib"], 0.0)
    kind, value = w["budget"]
    if kind == "s":
        within = extra_s <= 2 * value
    elif kind == "MiB":
        within = extra_mib <= 2 * value
    else:
        within = True  # a fact count: the stop message says where it stopped
    clean = not r["killed"] and "Traceback" not in r["output"] and "internal error" not in r["output"]
    stopped = r["code"] != 0 and "error:" in r["output"]
    last = next((x for x in reversed(r["output"].splitlines()) if x.strip()), "")
    status = ("ok" if within and clean else "NOT within 2x" if clean else "failed") + \
        ("" if stopped or kind == "MiB" else " (not stopped)")
    return {"limit": w["limit"], "budget": f"{value:g} {kind}", "seconds": r["seconds"], "extra_s": extra_s,
            "peak_mib": r["peak_mib"], "extra_mib": extra_mib, "code": r["code"], "status": status,
            "within": within and clean and (stopped or kind == "MiB"), "message": last[:160]}


def run_limits(workdir: Path) -> dict[str, Any]:
    """Every workload; ``{"rows": [...], "baseline": {...}}``."""
    workdir.mkdir(parents=True, exist_ok=True)
    kbs = build(workdir)
    base = nesy("query", str(kbs["cart"]), f"?- <{NS}t>(X).")
    baseline = {"seconds": base["seconds"], "peak_mib": base["peak_mib"]}
    rows = [run_one(w, kbs, workdir, baseline) for w in workloads(kbs, workdir)]
    return {"rows": rows, "baseline": baseline}


def report(result: dict[str, Any]) -> str:
    rows = []
    for r in result["rows"]:
        if "budget" not in r:
            rows.append([r["limit"], "—", "—", "—", "—", "—", r["status"]])
            continue
        rows.append([r["limit"], r["budget"], f"{r['seconds']:.2f}", f"{r['extra_s']:.2f}", f"{r['peak_mib']:.0f}",
                     f"{r['extra_mib']:.0f}", f"{r['status']}: {r['message']}"])
    b = result["baseline"]
    return "\n".join([
        markdown_table(["limit", "budget", "wall s", "s over start-up", "peak MiB", "MiB over start-up", "result"],
                       rows, "llrrrrl"),
        "",
        f"Start-up (a trivial rule query): {b['seconds']:.2f} s, {b['peak_mib']:.0f} MiB; the budgets are compared "
        "with the time and memory above it. Goal: every limit stops its work within 2x its budget.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="nesy-limits-"))
    result = run_limits(workdir)
    print(report(result))
    ok = sum(1 for r in result["rows"] if r.get("within"))
    print(f"\nGoal (every limit within 2x its budget): {'met' if ok == len(result['rows']) else 'not met'} "
          f"({ok}/{len(result['rows'])})")
    print(machine_line(["pyoxigraph", "numpy"]))


if __name__ == "__main__":
    main()
