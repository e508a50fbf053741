"""Kill -9 real ``nesy`` commands at random moments and at every injected crash point.

After each kill the KB is reopened and must be exactly as before or as after the command
(``stats``, the sorted N-Triples export, a rule query's answers and the settings), every
provenance graph in Oxigraph must hold exactly the id table's rows (``check-store``), and
the next command must work. Run ``python benchmarks/chaos_kill.py [--kills 500] [--seed 0]``
for the markdown table; ``tests/reliability/test_kill.py`` runs a reduced form in CI.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NESY = [sys.executable, "-m", "nesy"]
EX = "http://ex.org/"
RULES = f"""@prefix ex: <{EX}> .
ex:anc(X, Y) :- ex:par(X, Y).
ex:anc(X, Z) :- ex:par(X, Y), ex:anc(Y, Z).
ex:Person(X) :- ex:par(X, _).
"""
UPDATE = """
import sys
from rdflib import URIRef
from nesy.kb import KnowledgeBase
from nesy.store.graphs import GRAPH_CODE
EX = sys.argv[2]
# One transaction: 20 additions, a removal, and the re-derivation commit together.
with KnowledgeBase(sys.argv[1]) as kb, kb.store.transaction():
    for i in range(20):
        kb.add(URIRef(f"{EX}p{100 + i}"), URIRef(f"{EX}par"), URIRef(f"{EX}p{101 + i}"))
    t = kb.store.table
    pid = kb.vocab.get(URIRef(f"{EX}knows"))
    kb.store.remove_rows((t.g == GRAPH_CODE["asserted"]) & (t.p == pid))
    kb.materialize()
"""
QUERY = "?- ex:anc(ex:p0, X)."


@dataclass
class Scenario:
    """One command: how to make the KB it starts from, and its argument list."""

    name: str
    prepare: list[list[str]]
    command: list[str]
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    seconds: float = 1.0
    points: Counter[str] = field(default_factory=Counter)


def write_inputs(work: Path) -> dict[str, Path]:
    """The data, rule and update files the scenarios use."""
    rng = random.Random(7)
    lines = [f"<{EX}p{i}> <{EX}par> <{EX}p{i + 1}> ." for i in range(0, 60)]
    lines += [f"<{EX}p{rng.randrange(80)}> <{EX}knows> <{EX}p{rng.randrange(80)}> ." for _ in range(200)]
    lines += [f'<{EX}p{i}> <{EX}name> "person\\n{i}"@en .' for i in range(40)]
    files = {"base": work / "base.nt", "extra": work / "extra.nt", "next": work / "next.nt",
             "rules": work / "anc.rules", "update": work / "update.py"}
    files["base"].write_text("\n".join(lines) + "\n")
    files["extra"].write_text("".join(f"<{EX}q{i}> <{EX}par> <{EX}q{i + 1}> .\n" for i in range(300))
                              + f"<{EX}p60> <{EX}par> <{EX}q0> .\n")
    files["next"].write_text(f"<{EX}z0> <{EX}knows> <{EX}z1> .\n")
    files["rules"].write_text(RULES)
    files["update"].write_text(UPDATE)
    return files


def scenarios(f: dict[str, Path], train: bool = True) -> list[Scenario]:
    kb = "{kb}"
    out = [
        Scenario("load", [["load", kb, str(f["base"])]], [*NESY, "load", kb, str(f["extra"])]),
        Scenario("rules", [["load", kb, str(f["base"])]], [*NESY, "rules", kb, str(f["rules"])]),
        Scenario("materialize", [["load", kb, str(f["base"])], ["rules", kb, str(f["rules"]), "--no-materialize"],
                                 ["load", kb, str(f["extra"])]], [*NESY, "materialize", kb]),
        Scenario("update", [["load", kb, str(f["base"])], ["rules", kb, str(f["rules"])]],
                 [sys.executable, str(f["update"]), kb, EX]),
    ]
    if train:
        out.append(Scenario("train", [["load", kb, str(f["base"])]],
                            [*NESY, "train", kb, "--epochs", "1", "--dim", "8"]))
    return out


def run(argv: list[str], kb: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([a.replace("{kb}", str(kb)) for a in argv], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def snapshot(kb_dir: Path) -> dict[str, Any]:
    """What must be exactly before or after: stats, sorted export, rule answers, settings;
    plus the check that every graph in Oxigraph matches the table (reopening recovers)."""
    from nesy.cli.common import open_kb
    from nesy.store.check import check_store

    kb = open_kb(str(kb_dir), read_only=True)
    try:
        stats = kb.stats()
        out = kb_dir.parent / (kb_dir.name + ".export.nt")
        kb.export(out, format="ntriples")
        lines = sorted(out.read_text(encoding="utf-8").splitlines())
        out.unlink()
        answers = sorted(str(a) for a in kb.ask(QUERY)) if kb.rules else []
        config = dict(kb.config)
        model = kb.link_predictor is not None if config.get("link_predictor") else None
    finally:
        kb.close()
    report = check_store(kb_dir)
    return {"stats": stats, "export": lines, "answers": answers, "config": config, "model": model,
            "problems": [str(p) for p in report.remaining]}


def prepare(sc: Scenario, work: Path) -> Path:
    """The pristine KB of a scenario and its before/after states (each measured once)."""
    pristine = work / f"pristine-{sc.name}"
    for step in sc.prepare:
        proc = run([*NESY, *step], pristine)
        if proc.returncode:
            raise RuntimeError(f"preparing {sc.name}: {' '.join(step)}: {proc.stderr}")
    sc.before = snapshot(pristine)
    done = work / f"done-{sc.name}"
    shutil.copytree(pristine, done)
    trace = work / f"trace-{sc.name}"
    start = time.perf_counter()
    proc = run(sc.command, done, env={"NESY_CRASH_TRACE": str(trace)})
    sc.seconds = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{sc.name} failed without a kill: {proc.stderr}")
    sc.after = snapshot(done)
    sc.points = Counter(trace.read_text().split()) if trace.exists() else Counter()
    return pristine


def injected(sc: Scenario, cap: int) -> list[str]:
    """``NAME:COUNT`` for every crash point the command reaches, up to ``cap`` times each."""
    return [f"{name}:{k}" for name, n in sorted(sc.points.items()) for k in range(1, min(n, cap) + 1)]


def trial(sc: Scenario, pristine: Path, work: Path, *, crash_at: str | None, delay: float | None,
          next_file: Path, recovery_kill: bool = False) -> str:
    """One killed run; returns ``before``, ``after``, ``finished`` (not killed) or a failure."""
    kb = work / "trial"
    shutil.rmtree(kb, ignore_errors=True)
    shutil.copytree(pristine, kb)
    argv = [a.replace("{kb}", str(kb)) for a in sc.command]
    env = {**os.environ, **({"NESY_CRASH_AT": crash_at} if crash_at else {})}
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if delay is not None:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    if proc.returncode not in (0, -signal.SIGKILL):
        return f"failed: exit {proc.returncode}: {err.decode()[-300:]}"
    killed = proc.returncode == -signal.SIGKILL
    if recovery_kill and killed:
        rec = run([*NESY, "stats", "{kb}"], kb, env={"NESY_CRASH_AT": "recovery"})
        if rec.returncode != -signal.SIGKILL:
            return f"failed: the reopen did not reach the recovery crash point (exit {rec.returncode})"
    state = snapshot(kb)
    if state["problems"]:
        return f"failed: check-store after the kill: {state['problems']}"
    verdict = "before" if state == sc.before else "after" if state == sc.after else None
    if verdict is None:
        diff = [k for k in state if state[k] not in (sc.before[k], sc.after[k])]
        return f"failed: neither before nor after (differs in {diff})"
    if not next_command_works(kb, next_file):
        return "failed: the next command (nesy load) did not work"
    return verdict if killed else "finished"


def next_command_works(kb: Path, next_file: Path) -> bool:
    """``nesy load KB FILE`` through the CLI's own code, in this process (no start-up cost)."""
    from click.testing import CliRunner

    from nesy.cli.main import cli

    result = CliRunner().invoke(cli, ["load", str(kb), str(next_file)])
    return result.exit_code == 0 and "1 triples added" in result.output


def run_kills(n: int, seed: int, workdir: Path, *, train: bool = True, cap: int = 2,
              train_points: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Run at least ``n`` kills over the scenarios: every injected crash point (up to
    ``cap`` hits each; for ``train``, which imports torch, only ``train_points`` when
    given), one kill inside recovery per scenario, then random-time kills.

    Returns per-scenario counts (``injected``, ``random``, ``before``, ``after``,
    ``finished``: random delays that came too late) and every ``failures`` line.
    """
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    files = write_inputs(workdir)
    plan: list[tuple[Scenario, Path, str | None, float | None, bool]] = []
    rows: dict[str, Counter[str]] = {}
    for sc in scenarios(files, train):
        pristine = prepare(sc, workdir)
        rows[sc.name] = Counter()
        points = injected(sc, cap)
        if sc.name == "train" and train_points is not None:
            points = [p for p in points if p.split(":")[0] in train_points]
        plan += [(sc, pristine, point, None, False) for point in points]
        if sc.points["after-oxigraph"]:
            plan.append((sc, pristine, "after-oxigraph", None, True))
    pristine_of = {sc.name: p for sc, p, *_ in plan}
    by_name = {sc.name: sc for sc, *_ in plan}
    names = sorted(by_name)
    weights = [m for m in names if m != "train"] * 4 + (["train"] if "train" in names else [])
    failures: list[str] = []
    kills = 0
    while plan or kills < n:
        if plan:
            sc, pristine, point, delay, recovery = plan.pop(0)
        else:  # random-time kills until there are n kills (a late delay lets the command finish)
            sc = by_name[rng.choice(weights)]
            pristine, point, delay, recovery = pristine_of[sc.name], None, rng.uniform(0.05, sc.seconds * 1.05), False
        verdict = trial(sc, pristine, workdir, crash_at=point, delay=delay, next_file=files["next"],
                        recovery_kill=recovery)
        row = rows[sc.name]
        kind = "recovery" if recovery else "injected" if point else "random"
        if verdict.startswith("failed"):
            failures.append(f"{sc.name} {point or f'after {delay:.2f}s'}: {verdict}")
            row["failed"] += 1
        else:
            row[verdict] += 1
        if verdict != "finished":
            row[kind] += 1
            kills += 1
    points = sorted({p.split(":")[0] for sc in by_name.values() for p in sc.points})
    return {"kills": kills, "scenarios": {k: dict(v) for k, v in rows.items()}, "failures": failures,
            "points": points, "seconds": {k: round(v.seconds, 2) for k, v in by_name.items()}}


def markdown(result: dict[str, Any]) -> str:
    cols = ["injected", "recovery", "random", "before", "after", "finished", "failed"]
    out = ["| command | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in result["scenarios"].items():
        out.append(f"| {name} | " + " | ".join(str(row.get(c, 0)) for c in cols) + " |")
    out.append(f"\n{result['kills']} kills, {len(result['failures'])} failures; crash points reached: "
               + ", ".join(result["points"]))
    out += [f"- {f}" for f in result["failures"]]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-train", action="store_true", help="Leave out `nesy train` (it imports torch).")
    args = ap.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nesy-chaos-") as tmp:
        result = run_kills(args.kills, args.seed, Path(tmp), train=not args.no_train)
    print(markdown(result))
    print(f"\n{time.perf_counter() - start:.0f} s")
    sys.exit(1 if result["failures"] else 0)


if __name__ == "__main__":
    main()
