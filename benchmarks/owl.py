"""Benchmark OWL 2 RL materialisation on LUBM(1): nesy against owlrl and reasonable.

Loads LUBM(1) (``owl/lubm/univ-bench.ttl`` plus the 15 RDF/XML files
``lubm1/University0_*.owl``), materialises its OWL 2 RL closure and runs the 14 LUBM
queries (``owl/lubm/queries/q*.rq``) with

* ``nesy``: an in-memory ``KnowledgeBase()``; ``kb.load(f)`` per data file (load), then
  ``kb.load_ontology(univ-bench.ttl, profile="rl")`` (materialisation: the OWL 2 RL pack,
  its template copies for the ontology's properties, and the closure); queries with
  ``kb.sparql``;
* ``owlrl``: an rdflib ``Graph`` (``parse``), ``owlrl.DeductiveClosure(OWLRL_Semantics).expand``,
  queries with ``Graph.query``;
* ``reasonable`` (PyPI, Rust), if installed: the same rdflib parse (it reads no RDF/XML)
  handed over with ``PyReasoner.from_graph``, ``reason()``, the closure put back into an
  rdflib ``Graph`` for the queries.

Every system runs in a fresh child process, so the peak RSS is its own. Prints the
results table, the rows per query against the published LUBM(1) answer counts, the
machine it ran on and whether the goal of issue 9 is met::

    .venv/bin/python benchmarks/owl.py [--data ../shared/data] [--quick] [--timeout S] [--query-timeout S]
"""

from __future__ import annotations

import json
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - the helpers sit next to this script
    ChildError,
    Timer,
    bench_parser,
    emit_result,
    fmt_num,
    machine_line,
    markdown_table,
    run_child,
)

SYSTEMS = ("nesy", "owlrl", "reasonable")
QUICK_LUBM_FILES = 2
QUERIES = [f"q{i}" for i in range(1, 15)]
#: The published answer counts of the LUBM queries on LUBM(1) (all 15 files), as in
#: ``benchmarks/query.py``.
LUBM_REFERENCE_ROWS: dict[str, int] = {
    "q1": 4, "q2": 0, "q3": 6, "q4": 34, "q5": 719, "q6": 7790, "q7": 67,
    "q8": 7790, "q9": 208, "q10": 4, "q11": 224, "q12": 15, "q13": 1, "q14": 5916,
}
#: The goal (issue 9): materialisation at least this many times faster than owlrl ...
GOAL_VS_OWLRL = 10.0
#: ... and within this multiple of reasonable's time.
GOAL_VS_REASONABLE = 2.0


class _Timeout(Exception):
    pass


def _alarm(seconds: float) -> None:
    """Raise :class:`_Timeout` in this (child) process after ``seconds``; 0 cancels."""

    def handler(signum: int, frame: object) -> None:
        raise _Timeout

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.0))


# -- workers (child processes, one system each) ----------------------------------------
def _rdflib_parse(files: list[Path]) -> Any:
    from rdflib import Graph

    graph = Graph()
    for f in files:
        graph.parse(f, format="turtle" if f.suffix == ".ttl" else "xml")
    return graph


def _rdflib_queries(graph: Any, queries: dict[str, str], cap: float) -> tuple[dict[str, int | None], float]:
    """Rows per query (``None``: over ``cap`` seconds) and the total time."""
    rows: dict[str, int | None] = {}
    total = 0.0
    for name, text in queries.items():
        with Timer() as t:
            try:
                _alarm(cap)
                rows[name] = len(list(graph.query(text)))
            except _Timeout:
                rows[name] = None
            finally:
                _alarm(0)
        total += t.seconds
    return rows, total


def _worker_nesy(spec: dict[str, Any]) -> dict[str, Any]:
    from nesy.kb import KnowledgeBase

    with Timer() as load:
        kb = KnowledgeBase()
        for f in spec["data"]:
            kb.load(f, progress=False)
    with Timer() as mat:
        info = kb.load_ontology(spec["ontology"], profile="rl")
    rows: dict[str, int | None] = {}
    per_query: dict[str, float] = {}
    for name, text in spec["queries"].items():
        with Timer() as t:
            rows[name] = len(list(kb.sparql(text)))
        per_query[name] = t.seconds
    return {
        "load_s": load.seconds, "mat_s": mat.seconds, "closure": len(kb),
        "inferred": info["inferred"], "rules_added": info["rules_added"],
        "query_s": sum(per_query.values()), "per_query_s": per_query, "rows": rows,
    }


def _worker_owlrl(spec: dict[str, Any]) -> dict[str, Any]:
    import owlrl

    with Timer() as load:
        graph = _rdflib_parse([Path(spec["ontology"]), *map(Path, spec["data"])])
    asserted = len(graph)
    with Timer() as mat:
        try:
            _alarm(spec["timeout"])
            owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
            timed_out = False
        except _Timeout:
            timed_out = True
        finally:
            _alarm(0)
    result: dict[str, Any] = {"load_s": load.seconds, "mat_s": mat.seconds, "asserted": asserted}
    if timed_out:
        return {**result, "timed_out": True}
    rows, query_s = _rdflib_queries(graph, spec["queries"], spec["query_timeout"])
    return {**result, "closure": len(graph), "query_s": query_s, "rows": rows}


def _worker_reasonable(spec: dict[str, Any]) -> dict[str, Any]:
    import reasonable
    from rdflib import Graph

    with Timer() as load:
        graph = _rdflib_parse([Path(spec["ontology"]), *map(Path, spec["data"])])
        reasoner = reasonable.PyReasoner()
        reasoner.from_graph(graph)
    with Timer() as mat:
        triples = reasoner.reason()
    closure = Graph()
    for t in triples:
        closure.add(t)
    rows, query_s = _rdflib_queries(closure, spec["queries"], spec["query_timeout"])
    return {"load_s": load.seconds, "mat_s": mat.seconds, "closure": len(closure), "query_s": query_s, "rows": rows}


WORKERS = {"nesy": _worker_nesy, "owlrl": _worker_owlrl, "reasonable": _worker_reasonable}


def worker_main(system: str, spec_path: str) -> None:
    """Child entry point: run ``system`` on the spec; print a JSON result."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    emit_result(WORKERS[system](spec))


# -- parent ----------------------------------------------------------------------------
def lubm_files(data: Path, quick: bool) -> tuple[Path, list[Path], dict[str, str]] | str:
    """The ontology, the data files and the queries; a message when they are missing."""
    lubm = data / "owl" / "lubm"
    onto = lubm / "univ-bench.ttl"
    files = sorted((lubm / "lubm1").glob("University0_*.owl"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    if not onto.is_file() or not files:
        return f"no LUBM(1) under {lubm} (univ-bench.ttl and lubm1/University0_*.owl); pass --data"
    queries = {q: (lubm / "queries" / f"{q}.rq").read_text(encoding="utf-8") for q in QUERIES}
    return onto, files[:QUICK_LUBM_FILES] if quick else files, queries


def _reasonable_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("reasonable") is not None


def _rows_cell(n: int | None) -> str:
    return "timed out" if n is None else f"{n:,}"


def complete(result: dict[str, Any]) -> list[str]:
    """The queries whose row count equals the published LUBM(1) count."""
    rows = result.get("rows", {})
    return [q for q in QUERIES if rows.get(q) == LUBM_REFERENCE_ROWS[q]]


def goal_line(results: dict[str, dict[str, Any]], check_counts: bool) -> str:
    """The goal of issue 9 and whether the measurements meet it."""
    nesy = results.get("nesy")
    head = (f"Goal: at least {GOAL_VS_OWLRL:g}x faster than owlrl, within {GOAL_VS_REASONABLE:g}x of "
            "`reasonable`, all 14 query answer counts printed — ")
    if nesy is None:
        return head + "not met (nesy failed)"
    parts = []
    ok_all = True
    ow = results.get("owlrl")
    if ow is None:
        parts.append("vs owlrl not measured")
        ok_all = False
    else:
        speedup = ow["mat_s"] / nesy["mat_s"]
        ok = speedup >= GOAL_VS_OWLRL
        ok_all &= ok
        more = "≥" if ow.get("timed_out") else ""
        parts.append(f"{more}{speedup:.1f}x faster than owlrl{' (owlrl timed out)' if more else ''}, "
                     f"{'met' if ok else 'not met'}")
    rs = results.get("reasonable")
    if rs is None:
        parts.append("vs reasonable not measured")
        ok_all = False
    else:
        ratio = nesy["mat_s"] / rs["mat_s"]
        ok = ratio <= GOAL_VS_REASONABLE
        ok_all &= ok
        parts.append(f"{ratio:.1f}x reasonable's time, {'met' if ok else 'not met'}")
    printed = len([q for q in QUERIES if nesy["rows"].get(q) is not None])
    ok = printed == len(QUERIES)
    ok_all &= ok
    parts.append(f"{printed}/14 counts printed, {'met' if ok else 'not met'}")
    if check_counts:
        parts.append(f"{len(complete(nesy))}/14 equal the published counts")
    return head + ("met" if ok_all else "not met") + " (materialisation time; " + "; ".join(parts) + ")"


def report(results: dict[str, dict[str, Any]], quick: bool, n_files: int, timeout: float, query_cap: float) -> str:
    """The two tables, their notes, the machine line and the goal line."""
    rows = []
    nesy_mat = results.get("nesy", {}).get("mat_s")
    for system in SYSTEMS:
        r = results.get(system)
        if r is None:
            rows.append([system, "failed", "", "", "", "", "", ""])
            continue
        timed_out = r.get("timed_out")
        rows.append([
            system,
            f"{r['load_s']:.2f}",
            f"> {timeout:.0f} (timed out)" if timed_out else f"{r['mat_s']:.2f}",
            "—" if timed_out else f"{r['closure']:,}",
            "—" if timed_out else f"{r['query_s']:.2f}",
            "—" if timed_out or not nesy_mat else f"{r['mat_s'] / nesy_mat:.2f}x",
            fmt_num(r["peak_rss_mib"], 0),
            "—" if quick or timed_out else f"{len(complete(r))}/14",
        ])
    table = markdown_table(
        ["System", "Load s", "Materialise s", "Closure triples", "Queries s", "Materialise vs nesy",
         "Peak RSS MiB", "Complete queries"],
        rows, align="lrrrrrrr",
    )
    qheaders = ["Query", *(s for s in SYSTEMS if s in results)]
    if not quick:
        qheaders.append("Published")
    qrows = []
    for q in QUERIES:
        row = [q]
        for s in SYSTEMS:
            if s in results:
                r = results[s]
                if r.get("timed_out"):
                    row.append("—")
                    continue
                n = r["rows"].get(q)
                mark = "" if quick or n == LUBM_REFERENCE_ROWS[q] else " ✗"
                row.append(_rows_cell(n) + mark)
        if not quick:
            row.append(f"{LUBM_REFERENCE_ROWS[q]:,}")
        qrows.append(row)
    qtable = markdown_table(qheaders, qrows, align="l" + "r" * (len(qheaders) - 1))
    notes = [
        f"LUBM(1){f', quick: the ontology and {n_files} data files' if quick else f': the ontology and {n_files} data files'}. "
        "Each system runs once in a fresh process; peak RSS is that whole process's "
        "(interpreter, imports, rdflib graphs included).",
        "Load: nesy `kb.load` of the data files; owlrl and reasonable an rdflib `Graph.parse` of "
        "ontology and data (reasonable reads no RDF/XML), plus `PyReasoner.from_graph` for reasonable. "
        "Materialise: nesy `kb.load_ontology(univ-bench.ttl, profile=\"rl\")` (loading the small "
        "ontology, the OWL 2 RL pack, its template copies, the closure into the `inferred` graph); "
        "owlrl `DeductiveClosure(OWLRL_Semantics).expand`; reasonable `reason()`.",
        "Closure triples: nesy `len(kb)` (asserted + inferred graphs); owlrl and reasonable the "
        "graph size after reasoning. Each adds its own axiomatic / datatype triples, so the counts "
        "differ while the query answers agree.",
        f"Queries: the 14 LUBM queries, each run once: nesy `kb.sparql` (rows with scores), the "
        f"others rdflib `Graph.query` on the closure, each capped at {query_cap:g} s (\"timed out\": "
        f"rdflib's SPARQL evaluation, not the closure, is what is slow there). "
        f"owlrl's materialisation is capped at {timeout:g} s.",
    ]
    if not quick:
        notes.append("Complete queries: rows equal to the published LUBM(1) answer counts (✗ marks a "
                     "difference).")
    return "\n".join([
        table, "", qtable, "", *(f"- {n}" for n in notes), "",
        machine_line(["nesy", "owlrl", "reasonable", "rdflib", "numpy"]), "",
        goal_line(results, not quick),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_LUBM_FILES} LUBM files, no reference-count check")
    parser.add_argument("--timeout", type=float, default=600.0, help="cap on owlrl's materialisation, s (default %(default)s)")
    parser.add_argument("--query-timeout", type=float, default=60.0,
                        help="cap per rdflib query, s (default %(default)s)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of %(default)s")
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(*args.worker)
        return 0
    found = lubm_files(args.data, args.quick)
    if isinstance(found, str):
        print(found, file=sys.stderr)
        return 1
    onto, files, queries = found
    systems = [s for s in args.systems.split(",") if s]
    if "reasonable" in systems and not _reasonable_installed():
        print("reasonable is not installed (pip install reasonable); skipping it", file=sys.stderr)
        systems.remove("reasonable")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="nesy-bench-owl-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({
            "ontology": str(onto), "data": [str(f) for f in files], "queries": queries,
            "timeout": args.timeout, "query_timeout": args.query_timeout,
        }), encoding="utf-8")
        for system in systems:
            child_cap = args.timeout + len(QUERIES) * args.query_timeout + 1800
            try:
                r = results[system] = run_child([__file__, "--worker", system, str(spec)], timeout=child_cap)
            except ChildError as exc:
                print(f"  {system} failed: {exc}", file=sys.stderr)
                continue
            mat = "timed out" if r.get("timed_out") else f"{r['mat_s']:.2f} s"
            print(f"  {system}: load {r['load_s']:.2f} s, materialise {mat}, peak {r['peak_rss_mib']:.0f} MiB",
                  file=sys.stderr)
    print(report(results, args.quick, len(files), args.timeout, args.query_timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
