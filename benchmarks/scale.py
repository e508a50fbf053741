"""Benchmark reasoning at growing sizes: how far the memory, DuckDB and Spark engines (and a DuckDB CTE) get.

Workloads, sizes growing 4x per step, every input seeded:

* ``tc``: transitive closure of a random graph (``reasoning.random_graph``), n nodes and 2n
  edges, n = 125, 500, 2,000 (reasoning.py's graph), 8,000, ...;
* ``sg``: same generation on a random tree (``reasoning.random_tree``, fan-out n/10);
* ``lubm``: the OWL 2 RL pack on ``lubm_gen.py`` data, 1, 4, 16, ... universities of 15
  departments (~100,000 triples each), plus the LUBM ontology; the pack is expanded once;
* ``tc-weighted``: the tc graph with edge scores under ``maxprod``, at ``--check-sizes`` only.

Engines: ``memory`` (``Reasoner``), ``duckdb``, ``spark`` (``OutOfCore``, Spark ``local[2]``) and
``cte`` (reasoning.py's DuckDB recursive CTE; tc, sg). Each run is a fresh child process; a
series stops at its first size that fails or passes ``--cap`` s or ``--mem-cap`` MiB. Every
engine must derive the memory engine's facts (per predicate) wherever both finish, and
the very facts and scores at the checked sizes, or the script says so and exits 1::

    .venv/bin/python benchmarks/scale.py [--quick] [--cap 1800] [--engines memory,duckdb,spark,cte]
        [--workloads tc,sg,lubm,tc-weighted] [--max-size tc=8000,lubm=16] [--steps 8]
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import lubm_gen  # noqa: E402 - next to this script
import reasoning as rb  # noqa: E402
from _common import (  # noqa: E402
    Timer,
    _ram_gib,
    bench_parser,
    emit_result,
    fmt_num,
    machine_line,
    markdown_table,
    peak_rss_mib,
)
from reasoning import _NesyProgram, _write_csv  # noqa: E402

ENGINES = ("memory", "duckdb", "spark", "cte")
OOC = ("duckdb", "spark")
WORKLOADS = {  # key: (label, unit, first size)
    "tc": ("TC random graph", "nodes", 125),
    "sg": ("same generation", "nodes", 125),
    "lubm": ("OWL 2 RL, LUBM-shaped", "universities", 1),
    "tc-weighted": ("TC random graph, weighted, maxprod", "nodes", 125),
}
CTE_WORKLOADS = ("tc", "sg")
GOAL_LARGER = 10.0
GOAL_VS_CTE = 1.5
RAM_MIB = (_ram_gib() or 24.0) * 1024


@dataclass
class Run:
    """One (workload, size, engine) measurement."""

    workload: str
    size: int
    engine: str
    status: str
    seconds: float | None = None
    peak_mib: float | None = None
    before_mib: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    input_facts: int | None = None
    note: str = ""

    @property
    def facts(self) -> int | None:
        return sum(self.counts.values()) if self.status == "ok" else None


# -- child side ------------------------------------------------------------------------------
@dataclass
class _Prog:
    vocab: Any
    edb: list[tuple[int, np.ndarray, np.ndarray | None]]
    rules: list[Any]
    idb: dict[str, int]  # name -> predicate id
    offset: int  # subtracted from ids in dumps (entity numbers for tc/sg)
    input_facts: int
    parquet: list[str] = field(default_factory=list)  # input triples in Parquet files instead of edb


def _datalog_prog(spec: dict[str, Any]) -> _Prog:
    prog = _NesyProgram(spec)
    scores = {p: np.load(path) for p, path in (spec.get("scores") or {}).items()}
    edb = [(prog.pred_id[p], rows, scores.get(p)) for p, rows in prog.edb.items()]
    return _Prog(prog.vocab, edb, prog.rules, {p: prog.pred_id[p] for p in prog.idb}, prog.base,
                 sum(len(r) for _, r, _ in edb))


def _lubm_prog(spec: dict[str, Any], parquet: bool) -> _Prog:
    """The ontology's and the generated triples: as arrays per predicate, or (``parquet``)
    written university by university to Parquet files (columns s, p, o, score)."""
    rules, tbox = pickle.loads(Path(spec["owl"]).read_bytes())
    vocab, tbox_ids, heads, to_engine = lubm_gen.engine_vocab(tbox, rules)
    blocks = (to_engine(b) for b in lubm_gen.generate_ids(spec["size"], departments=spec["departments"], seed=spec["seed"]))
    if parquet:
        paths, total = lubm_gen.write_parquet(itertools.chain([tbox_ids], blocks), Path.cwd() / "input")
        return _Prog(vocab, [], rules, heads, 0, total, paths)
    triples = np.concatenate([tbox_ids, *blocks])
    triples = triples[np.argsort(triples[:, 1], kind="stable")]
    parts = np.split(triples, np.flatnonzero(np.diff(triples[:, 1])) + 1)
    return _Prog(vocab, [(int(x[0, 1]), x[:, [0, 2]], None) for x in parts], rules, heads, 0, len(triples))


def _timed_start() -> float:
    """Mark the start of the timed region: reset this process's peak RSS, tell the parent."""
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    Path("started").touch()
    return peak_rss_mib()


def _dump(facts: dict[str, tuple[np.ndarray, np.ndarray | None]]) -> None:
    np.savez("facts.npz", **{f"rows/{n}": r for n, (r, _) in facts.items()},
             **{f"scores/{n}": s for n, (_, s) in facts.items() if s is not None})


def _worker_engine(engine: str, spec: dict[str, Any]) -> dict[str, Any]:
    make = import_module("nesy.engine.reasoner").Reasoner if engine == "memory" else \
        import_module("nesy.engine.outofcore.driver").OutOfCore  # imported before the timer starts
    parquet = hasattr(make, "add_triples_parquet")
    prog = _lubm_prog(spec, parquet) if spec["kind"] == "lubm" else _datalog_prog(spec)
    options: dict[str, Any] = {"max_facts": 10**15} if engine == "memory" else {
        "engine": engine, "workdir": str(Path.cwd() / "ooc"), "master": "local[2]",
        "memory_limit": spec.get("engine_memory")}
    before = _timed_start()
    with Timer() as t:
        e = make(prog.vocab, semiring=spec["semiring"], **options)
        if prog.parquet:
            e.add_triples_parquet(prog.parquet)
        for pid, rows, scores in prog.edb:
            e.add_edb(pid, rows, scores)
        e.add_rules(prog.rules)
        e.materialize()
    peak = peak_rss_mib()
    facts = {}
    for name, pid in prog.idb.items():
        rows, scores = e.derived(pid)
        facts[name] = (rows - prog.offset, scores)
    if spec["dump"]:
        _dump(facts)
    if hasattr(e, "close"):
        e.close()
    return {"seconds": t.seconds, "peak_mib": peak, "before_mib": before, "input_facts": prog.input_facts,
            "counts": {n: len(r) for n, (r, _) in facts.items()}}


def _worker_cte(spec: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    statements = rb.rules_to_sql(spec["rules"], spec["arity"])
    before = _timed_start()
    with Timer() as t:
        con = duckdb.connect()
        con.execute(f"SET temp_directory = '{Path.cwd() / 'duckdb.tmp'}'")
        if spec.get("engine_memory"):
            con.execute(f"SET memory_limit = '{spec['engine_memory']}'")
        for p, path in spec["edb"].items():
            cols = ", ".join(f"'c{j}': 'BIGINT'" for j in range(spec["arity"][p]))
            con.execute(f"CREATE TABLE \"{p}\" AS SELECT * FROM read_csv('{path}', header=false, columns={{{cols}}})")
        for _, sql in statements:
            con.execute(sql)
    peak = peak_rss_mib()
    counts = {p: con.execute(f'SELECT count(*) FROM "{p}"').fetchone()[0] for p, _ in statements}
    if spec["dump"]:
        cols = {p: con.execute(f'SELECT * FROM "{p}"').fetchnumpy() for p, _ in statements}
        _dump({p: (np.stack([c[f"c{j}"] for j in range(spec["arity"][p])], axis=1), None) for p, c in cols.items()})
    return {"seconds": t.seconds, "peak_mib": peak, "before_mib": before, "input_facts": None, "counts": counts}


# -- parent: specs, capped children ------------------------------------------------------------
def make_spec(key: str, size: int, where: Path, extra: dict[str, Any]) -> tuple[Path, int | None]:
    """Write the inputs of one (workload, size) under ``where``: the spec file, how many input facts."""
    where.mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {"kind": "datalog", "semiring": "boolean", "queries": [], **extra}
    n_in = None
    if key in ("tc", "tc-weighted"):
        edges = rb.random_graph(size, 2 * size)
        n_in = len(edges)
        spec.update(rules=rb.parse_rules(rb.TC_RULES), arity={"edge": 2, "tc": 2}, n_entities=size,
                    edb={"edge": _write_csv(where / "edge.csv", edges)})
        if key == "tc-weighted":
            np.save(where / "edge-scores.npy", np.random.default_rng(1).uniform(0.5, 1.0, len(edges)))
            spec.update(semiring="maxprod", scores={"edge": str(where / "edge-scores.npy")})
    elif key == "sg":
        n_in = 2 * size - 1
        spec.update(rules=rb.parse_rules(rb.SG_RULES), arity={"node": 1, "par": 2, "sg": 2}, n_entities=size,
                    edb={"node": _write_csv(where / "node.csv", np.arange(size)),
                         "par": _write_csv(where / "par.csv", rb.random_tree(size, max(1, size // 10)))})
    else:
        spec.update(kind="lubm", size=size, seed=0)
    path = where / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path, n_in


def _tree_rss_mib(pid: int) -> float:
    import psutil

    total = 0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for p in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
    return total / 2**20


def run_capped(argv: list[str], cwd: Path, cap: float, mem_cap: float) -> dict[str, Any]:
    """Run ``python argv`` in ``cwd`` as its own process group. Killed when its timed region
    (from the file ``started`` on; setup gets ``cap`` too) passes ``cap`` seconds or the
    group's RSS ``mem_cap`` MiB. Returns the child's JSON plus ``status`` and ``tree_mib``."""
    with open(cwd / "stdout", "w") as out, open(cwd / "stderr", "w") as err:
        proc = subprocess.Popen([sys.executable, *argv], cwd=cwd, stdout=out, stderr=err, start_new_session=True)
        status, tree, deadline, started = "", 0.0, time.monotonic() + cap, False
        try:
            while proc.poll() is None:
                if not started and (cwd / "started").exists():
                    started, deadline, tree = True, time.monotonic() + cap, 0.0
                rss = _tree_rss_mib(proc.pid)
                tree = max(tree, rss)
                status = "out of memory" if rss > mem_cap else "timeout" if time.monotonic() > deadline else ""
                if status:
                    break
                time.sleep(0.25)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the child and what it started (Spark's JVM)
            proc.wait()
    text = (cwd / "stderr").read_text(errors="replace")
    lines = (cwd / "stdout").read_text(errors="replace").strip().splitlines()
    if status:
        return {"status": status, "tree_mib": tree}
    res = next((json.loads(x) for x in reversed(lines) if x.startswith('{"seconds"')), None)  # past JVM chatter
    if proc.returncode != 0 or res is None:
        oom = proc.returncode == -signal.SIGKILL or any(
            s in text for s in ("MemoryError", "OutOfMemoryError", "Out of Memory"))
        tail = text.strip().splitlines()[-1][:120] if text.strip() else f"exit {proc.returncode}"
        return {"status": "out of memory" if oom else "error", "tree_mib": tree, "note": tail}
    return {**res, "status": "ok" if res["seconds"] <= cap else "timeout", "tree_mib": tree}


def measure(key: str, size: int, engine: str, spec: Path, where: Path, args: Any) -> Run:
    where.mkdir(parents=True, exist_ok=True)
    r = run_capped([__file__, "--worker", engine, str(spec)], where, args.cap, args.mem_cap)
    run = Run(key, size, engine, r["status"], note=r.get("note", ""))
    if r["status"] == "ok":
        run.seconds, run.counts, run.input_facts = r["seconds"], r["counts"], r["input_facts"]
        run.peak_mib, run.before_mib = max(r["peak_mib"], r["tree_mib"]), r["before_mib"]
    else:
        run.peak_mib = r["tree_mib"] or None
    detail = f"{run.facts:,} facts in {run.seconds:.2f} s" if run.status == "ok" else run.status
    print(f"  {key} {size:,} / {engine}: {detail}, peak {fmt_num(run.peak_mib, 0)} MiB {run.note}",
          file=sys.stderr, flush=True)
    return run


# -- checks ----------------------------------------------------------------------------------
def compare_counts(ref: Run, other: Run) -> str | None:
    diff = [p for p in sorted(ref.counts.keys() | other.counts.keys()) if ref.counts.get(p) != other.counts.get(p)]
    shown = "; ".join(f"{p.rsplit('#', 1)[-1]}: memory {ref.counts.get(p)}, {other.engine} {other.counts.get(p)}"
                      for p in diff[:5])
    return None if not diff else f"{ref.workload} {ref.size:,}: {other.engine} derives {other.facts:,} facts, memory {ref.facts:,} ({shown})"


def compare_dumps(ref_file: Path, other_file: Path, label: str) -> list[str]:
    """Differences between two engines' fact sets (and scores where both have them)."""
    a, b = np.load(ref_file), np.load(other_file)
    out = []
    for name in sorted({k.split("/", 1)[1] for k in a.files if k.startswith("rows/")}):
        ra, rb_ = a[f"rows/{name}"], b[f"rows/{name}"] if f"rows/{name}" in b.files else np.empty((0, 0))
        oa, ob = np.lexsort(ra.T[::-1]) if ra.size else [], np.lexsort(rb_.T[::-1]) if rb_.size else []
        if ra.shape != rb_.shape or not np.array_equal(ra[oa], rb_[ob]):
            sa, sb = set(map(tuple, ra.tolist())), set(map(tuple, rb_.tolist()))
            out.append(f"{label}: {name.rsplit('#', 1)[-1]}: {len(sa - sb):,} facts missing, {len(sb - sa):,} extra")
        elif f"scores/{name}" in a.files and f"scores/{name}" in b.files:
            sa, sb = a[f"scores/{name}"][oa], b[f"scores/{name}"][ob]
            if not np.allclose(sa, sb, rtol=1e-9, atol=1e-12):
                out.append(f"{label}: {name.rsplit('#', 1)[-1]}: scores differ on {int((~np.isclose(sa, sb, rtol=1e-9, atol=1e-12)).sum()):,} "
                           f"facts (max |diff| {np.max(np.abs(sa - sb)):.3g})")
    return out


# -- the sweep -------------------------------------------------------------------------------
def sizes_of(key: str, args: Any) -> list[int]:
    first = WORKLOADS[key][2]
    steps = 2 if args.quick else (args.check_sizes if key == "tc-weighted" else args.steps)
    sizes = [first * 4**k for k in range(steps)]
    cap = args.max_size.get(key.removesuffix("-weighted"))
    return [s for s in sizes if cap is None or s <= cap]


def sweep(key: str, args: Any, engines: list[str], tmp: Path, extra: dict[str, Any]) -> tuple[list[Run], list[str]]:
    """Every size of one workload, each engine until its first failure; runs and mismatches."""
    runs: list[Run] = []
    bad: list[str] = []
    alive = [e for e in engines if e != "cte" or key in CTE_WORKLOADS]
    for i, size in enumerate(sizes_of(key, args)):
        if not alive:
            break
        where = tmp / f"{key}-{size}"
        dump = i < args.check_sizes
        spec, n_in = make_spec(key, size, where, {**extra, "dump": dump})
        done = {e: measure(key, size, e, spec, where / e, args) for e in list(alive)}
        n_in = n_in or next((r.input_facts for r in done.values() if r.input_facts), None)
        for r in done.values():
            r.input_facts = r.input_facts or n_in
        runs += done.values()
        alive = [e for e in alive if done[e].status == "ok"]
        ref = done.get("memory")
        if ref is not None and ref.status == "ok":
            for e in alive:
                if e != "memory":
                    bad += [m for m in [compare_counts(ref, done[e])] if m]
                    if dump:
                        bad += compare_dumps(where / "memory" / "facts.npz", where / e / "facts.npz", f"{key} {size:,} {e}")
        shutil.rmtree(where, ignore_errors=True)
    return runs, bad


# -- report ----------------------------------------------------------------------------------
def largest(runs: list[Run], key: str, engine: str) -> Run | None:
    ok = [r for r in runs if r.workload == key and r.engine == engine and r.status == "ok"]
    return ok[-1] if ok else None


def summary_cell(runs: list[Run], key: str, engine: str) -> str:
    mine = [r for r in runs if r.workload == key and r.engine == engine]
    if not mine:
        return "n/a" if engine == "cte" and key not in CTE_WORKLOADS else "—"
    best, last = largest(runs, key, engine), mine[-1]
    head = f"{best.size:,} ({best.seconds:.1f} s)" if best else "none"
    return head + (f"; {last.status} at {last.size:,}" if last.status != "ok" else "; every size tried")


def _finished_all(runs: list[Run], key: str, engine: str) -> bool:
    mine = [r for r in runs if r.workload == key and r.engine == engine]
    return bool(mine) and all(r.status == "ok" for r in mine)


def goal_lines(runs: list[Run], keys: list[str], engines: list[str], bad: list[str]) -> list[str]:
    """One line per goal of issue 20: met or not, and by how much."""
    def mem_ok(r: Run) -> bool:
        return any(m.workload == r.workload and m.size == r.size and m.engine == "memory" and m.status == "ok" for m in runs)

    ooc = [r for r in runs if r.engine in OOC and mem_ok(r)]
    missing = [f"{r.workload} {r.size:,} {r.engine} ({r.status})" for r in ooc if r.status != "ok"]
    compared = len(ooc) - len(missing)
    ok1 = compared > 0 and not bad and not missing
    out = [f"- Goal: DuckDB and Spark engines derive exactly the memory engine's facts (and scores) wherever it "
           f"finishes — {'met' if ok1 else 'not met'} ({compared} runs compared, {len(bad)} mismatches"
           + (f"; failed where memory finished: {', '.join(missing)}" if missing else "") + ")"]
    parts, ok2 = [], True
    for key in [k for k in keys if k != "tc-weighted"]:
        mem, mem_all = largest(runs, key, "memory"), _finished_all(runs, key, "memory")
        for e in [e for e in OOC if e in engines]:
            mine = largest(runs, key, e)
            if mem is None or mine is None:
                ok2 = False
                parts.append(f"{key}/{e}: not measured")
                continue
            ratio = mine.size / mem.size
            ok2 &= ratio >= GOAL_LARGER and not mem_all
            sign = "≤" if mem_all else "≥" if _finished_all(runs, key, e) else ""
            parts.append(f"{key}/{e}: {sign}{ratio:g}x ({mine.size:,} vs {mem.size:,} {WORKLOADS[key][1]}"
                         + ("; memory finished every size tried" if mem_all else "") + ")")
    out.append(f"- Goal: they finish sizes at least {GOAL_LARGER:g}x larger than the memory engine — "
               f"{'met' if ok2 and parts else 'not met'} ({'; '.join(parts) or 'no out-of-core engine'})")
    ratios, ok3 = [], True
    for key in [k for k in keys if k in CTE_WORKLOADS]:
        r = cte_ratio(runs, key)
        ok3 &= r is not None and r[0] <= GOAL_VS_CTE
        ratios.append(f"{key}: {r[0]:.2f}x at {r[1]:,} nodes" if r else f"{key}: not measured")
    out.append(f"- Goal: the duckdb engine within {GOAL_VS_CTE:g}x of the hand-written DuckDB CTE — "
               f"{'met' if ok3 and ratios else 'not met'} ({'; '.join(ratios) or 'no tc/sg runs'})")
    return out


def cte_ratio(runs: list[Run], key: str) -> tuple[float, int] | None:
    """duckdb-engine / CTE seconds at the largest size both finished, and that size."""
    def ok(e: str) -> dict[int, Run]:
        return {r.size: r for r in runs if r.workload == key and r.engine == e and r.status == "ok"}

    duck, cte = ok("duckdb"), ok("cte")
    both = sorted(duck.keys() & cte.keys())
    return (duck[both[-1]].seconds / cte[both[-1]].seconds, both[-1]) if both else None


def report(runs: list[Run], keys: list[str], engines: list[str], bad: list[str], args: Any,
           unavailable: dict[str, str]) -> str:
    rows = []
    for r in runs:
        unit = WORKLOADS[r.workload][1]
        rows.append([WORKLOADS[r.workload][0], f"{r.size:,} {unit if r.size > 1 else unit.replace('ies', 'y')}", fmt_num(r.input_facts, 0), r.engine,
                     r.status + (f" ({r.note})" if r.note else ""), fmt_num(r.seconds, 2), fmt_num(r.peak_mib, 0),
                     fmt_num(r.before_mib, 0), fmt_num(r.facts, 0)])
    rows += [["—", "—", "—", e, why, "—", "—", "—", "—"] for e, why in unavailable.items()]
    table = markdown_table(["Workload", "Size", "Input facts", "Engine", "Status", "Wall s", "Peak RSS MiB",
                            "RSS before MiB", "Derived facts"], rows, align="llrllrrrr")
    summary = markdown_table(["Largest size finished within cap", *engines],
                             [[WORKLOADS[k][0], *(summary_cell(runs, k, e) for e in engines)] for k in keys])
    ratio = [f"- duckdb engine / DuckDB CTE time, {k}: " + (f"{r[0]:.2f}x at {r[1]:,} nodes" if (r := cte_ratio(runs, k))
             else "no size both finished") for k in keys if k in CTE_WORKLOADS]
    notes = [
        f"Cap: {args.cap:g} s of timed region per run and {args.mem_cap:,.0f} MiB of RSS (the child's whole process "
        f"tree); engine memory setting {args.engine_memory or 'default'}. Wall s: building the engine (Spark: "
        "starting its session), adding facts and rules, materialising; the CTE: CSV import plus one CREATE TABLE "
        "per derived predicate. Generating the data and the vocabulary is outside it.",
        "Peak RSS: the child's high-water mark over the timed region (reset at its start), or its process "
        "tree's sampled peak (Spark's JVM) when larger; RSS before: the process at the start of the timed "
        "region (interpreter, data, vocabulary of the generated terms).",
        "Derived facts: distinct facts of the derived predicates that are not input facts, summed.",
    ]
    out = [table, "", summary, "", *ratio, *(f"- {n}" for n in notes), "",
           machine_line(["nesy", "duckdb", "pyspark", "numpy"]), "", *goal_lines(runs, keys, engines, bad)]
    if bad:
        out += ["", "**MISMATCH: the engines do not derive the same facts:**", *(f"- {b}" for b in bad)]
    return "\n".join(out)


def ooc_missing(engine: str) -> str | None:
    try:
        import_module("nesy.engine.outofcore.driver")
        import_module("pyspark" if engine == "spark" else "duckdb")
    except ImportError as exc:
        return f"not available yet ({exc})"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: two tiny sizes per workload (1-department universities)")
    parser.add_argument("--cap", type=float, default=1800.0, help="seconds per run (default %(default)s)")
    parser.add_argument("--mem-cap", type=float, default=0.9 * RAM_MIB, help="MiB of RSS per run (default: 90%% of RAM)")
    parser.add_argument("--engine-memory", help="DuckDB memory_limit / Spark driver memory (default: 60%% of --mem-cap)")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--max-size", default="", help="largest size per workload, e.g. tc=8000,sg=8000,lubm=16")
    parser.add_argument("--steps", type=int, default=8, help="sizes per workload at most (default %(default)s)")
    parser.add_argument("--check-sizes", type=int, default=2, help="smallest sizes whose fact sets are compared")
    parser.add_argument("--departments", type=int, default=15, help="departments per generated university")
    parser.add_argument("--workdir", type=Path, default=None, help="where runs write (default: system temp)")
    args = parser.parse_args(argv)
    if args.worker:
        spec = json.loads(Path(args.worker[1]).read_text(encoding="utf-8"))
        emit_result(_worker_cte(spec) if args.worker[0] == "cte" else _worker_engine(args.worker[0], spec))
        return 0
    args.engine_memory = args.engine_memory or f"{max(1, int(0.6 * args.mem_cap / 1024))}g"
    args.max_size = {k: int(v) for k, _, v in (p.partition("=") for p in args.max_size.split(",") if p)}
    engines = [e for e in ENGINES if e in args.engines.split(",")]
    keys = [k for k in WORKLOADS if k in args.workloads.split(",")]
    unavailable = {e: why for e in engines if e in OOC and (why := ooc_missing(e))}
    engines_run = [e for e in engines if e not in unavailable]
    runs, bad = [], []
    with tempfile.TemporaryDirectory(prefix="nesy-bench-scale-", dir=args.workdir) as tmp_name:
        tmp = Path(tmp_name)
        extra = {"departments": 1 if args.quick else args.departments, "engine_memory": args.engine_memory}
        onto = args.data / "owl" / "lubm" / "univ-bench.ttl"
        if "lubm" in keys and not onto.is_file():
            print(f"skipping lubm: {onto} not found (pass --data)", file=sys.stderr)
            keys.remove("lubm")
        elif "lubm" in keys:
            (tmp / "owl.pkl").write_bytes(pickle.dumps(lubm_gen.owl_rl_program(onto)))
            extra["owl"] = str(tmp / "owl.pkl")
        for key in keys:
            got, mismatched = sweep(key, args, engines_run, tmp, extra)
            runs += got
            bad += mismatched
    print(report(runs, keys, engines, bad, args, unavailable))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
