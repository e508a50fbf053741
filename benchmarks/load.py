"""Benchmark bulk loading: nesy's on-disk KB against rdflib in memory and pyoxigraph's bulk loader.

Loads FB15k-237 train (272,115 TSV triples) and LUBM(1) (15 RDF/XML files plus the
``univ-bench.ttl`` ontology) into

* ``nesy``: ``KnowledgeBase(dir).load(...)`` on disk, then ``close()``;
* ``rdflib``: an in-memory ``Graph`` (``parse``; for TSV, ``add`` of the same IRIs nesy makes);
* ``pyoxigraph``: ``Store(dir).bulk_load(...)`` on disk (TSV converted to N-Triples beforehand,
  outside the timed region);
* ``nesy CLI``: ``python -m nesy load DIR FILE...`` in a process of its own, timed from its start
  to its exit (interpreter start-up and imports included).

Every (system, dataset, run) is a fresh child process, so the peak RSS is that system's own.
Prints one markdown table, the machine it ran on, and whether the goal is met::

    .venv/bin/python benchmarks/load.py [--data ../shared/data] [--repeat N] [--quick]
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - the helpers sit next to this script
    ChildError,
    Timer,
    bench_parser,
    dir_size_mib,
    emit_result,
    fmt_num,
    machine_line,
    markdown_table,
    run_child,
)

SYSTEMS = ("nesy", "nesy CLI", "pyoxigraph", "rdflib")
#: The systems the goal is judged on (the CLI row is shown for reference).
GOAL_SYSTEMS = ("nesy", "pyoxigraph", "rdflib")
TSV_NAMESPACE = "http://fb15k/"
QUICK_TSV_LINES = 20_000
QUICK_LUBM_FILES = 2
#: The goal: nesy's time at most this multiple of pyoxigraph's bulk load ...
GOAL_VS_OXIGRAPH = 1.5
#: ... and at least this many times faster than rdflib in memory.
GOAL_VS_RDFLIB = 3.0
CHILD_TIMEOUT_S = 3600.0


@dataclass
class Dataset:
    """One dataset as each system reads it.

    Attributes:
        name: Row label.
        files: What nesy and rdflib load (TSV or RDF files).
        ox_files: What pyoxigraph bulk-loads (the TSV converted to N-Triples).
        tsv: Whether ``files`` are TSV triples (placed in :data:`TSV_NAMESPACE`).
    """

    name: str
    files: list[Path]
    ox_files: list[Path]
    tsv: bool = False
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


# -- data preparation (parent, untimed) ------------------------------------------------
def tsv_iri(namespace: str, name: str) -> str:
    """The IRI nesy gives a TSV name (``nesy.store.formats.tsv_iri``), as a string."""
    return namespace + quote(name, safe="-._~")


def prepare_fb15k(data: Path, tmp: Path, quick: bool) -> Dataset | str:
    """Extract FB15k-237 ``train.txt`` (and its N-Triples twin); a skip message if absent."""
    archive = data / "kgc" / "conve" / "FB15k-237.tar.gz"
    if not archive.is_file():
        return f"skipping FB15k-237: {archive} not found"
    with tarfile.open(archive, "r:gz") as tar:
        member = next((m for m in tar.getmembers() if Path(m.name).name == "train.txt"), None)
        if member is None:
            return f"skipping FB15k-237: no train.txt inside {archive}"
        src = tar.extractfile(member)
        assert src is not None
        lines = src.read().decode("utf-8").splitlines(keepends=True)
    if quick:
        lines = lines[:QUICK_TSV_LINES]
    tsv = tmp / "fb15k-237-train.txt"
    tsv.write_text("".join(lines), encoding="utf-8")
    nt = tmp / "fb15k-237-train.nt"
    with open(nt, "w", encoding="utf-8") as out:
        for line in lines:
            h, r, t = line.rstrip("\r\n").split("\t")
            out.write(f"<{tsv_iri(TSV_NAMESPACE, h)}> <{tsv_iri(TSV_NAMESPACE, r)}> <{tsv_iri(TSV_NAMESPACE, t)}> .\n")
    name = f"FB15k-237 train{' (first 20k)' if quick else ''}"
    return Dataset(name, [tsv], [nt], tsv=True)


def prepare_lubm(data: Path, quick: bool) -> Dataset | str:
    """The LUBM(1) files (ontology first), or a skip message if absent."""
    lubm = data / "owl" / "lubm"
    files = sorted((lubm / "lubm1").glob("University0_*.owl"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    if not files:
        return f"skipping LUBM(1): no {lubm / 'lubm1' / 'University0_*.owl'}"
    if quick:
        files = files[:QUICK_LUBM_FILES]
    onto = lubm / "univ-bench.ttl"
    if onto.is_file():
        files.insert(0, onto)
    name = f"LUBM(1){f' ({QUICK_LUBM_FILES} files)' if quick else ''}"
    return Dataset(name, files, files)


# -- workers (child processes, one system each) ----------------------------------------
def _worker_nesy(files: list[Path], tsv: bool, work: Path) -> dict[str, Any]:
    from nesy.kb import KnowledgeBase

    kb_dir = work / "nesy-kb"
    with Timer() as t:
        kb = KnowledgeBase(kb_dir)
        for f in files:
            if tsv:
                kb.load(f, namespace=TSV_NAMESPACE, progress=False)
            else:
                kb.load(f, progress=False)
        n = len(kb)
        kb.close()
    return {"seconds": t.seconds, "triples": n, "disk_mib": dir_size_mib(kb_dir)}


def _worker_nesy_cli(files: list[Path], tsv: bool, work: Path) -> dict[str, Any]:
    import resource
    import subprocess

    kb_dir = work / "nesy-kb"
    argv = [sys.executable, "-m", "nesy", "load", str(kb_dir), *map(str, files)]
    if tsv:
        argv += ["--namespace", TSV_NAMESPACE]
    with Timer() as t:
        proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nesy load exited with {proc.returncode}: {proc.stderr[-2000:]}")
    from nesy.kb import KnowledgeBase

    with KnowledgeBase(kb_dir) as kb:
        n = len(kb)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
    return {"seconds": t.seconds, "triples": n, "disk_mib": dir_size_mib(kb_dir), "cli_peak_rss_mib": peak}


def _worker_rdflib(files: list[Path], tsv: bool, work: Path) -> dict[str, Any]:
    from rdflib import Graph, URIRef

    with Timer() as t:
        graph = Graph()
        for f in files:
            if tsv:
                cache: dict[str, URIRef] = {}
                add = graph.add
                with open(f, encoding="utf-8") as fh:
                    for line in fh:
                        parts = line.rstrip("\r\n").split("\t")
                        terms = []
                        for part in parts:
                            node = cache.get(part)
                            if node is None:
                                node = cache[part] = URIRef(tsv_iri(TSV_NAMESPACE, part))
                            terms.append(node)
                        add((terms[0], terms[1], terms[2]))
            else:
                graph.parse(f, format="turtle" if f.suffix == ".ttl" else "xml")
    return {"seconds": t.seconds, "triples": len(graph), "disk_mib": None}


def _worker_pyoxigraph(files: list[Path], tsv: bool, work: Path) -> dict[str, Any]:
    import pyoxigraph as ox

    formats = {".nt": ox.RdfFormat.N_TRIPLES, ".ttl": ox.RdfFormat.TURTLE, ".owl": ox.RdfFormat.RDF_XML}
    db = work / "oxigraph"
    with Timer() as t:
        store = ox.Store(str(db))
        for f in files:
            store.bulk_load(path=str(f), format=formats[f.suffix], base_iri=f.resolve().as_uri())
        store.flush()
    n = len(store)
    del store
    return {"seconds": t.seconds, "triples": n, "disk_mib": dir_size_mib(db)}


WORKERS = {"nesy": _worker_nesy, "nesy CLI": _worker_nesy_cli, "rdflib": _worker_rdflib,
           "pyoxigraph": _worker_pyoxigraph}


def worker_main(system: str, spec_path: str) -> None:
    """Child entry point: load the files of the spec with ``system``; print a JSON result."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    work = Path(tempfile.mkdtemp(prefix=f"nesy-bench-{system}-", dir=spec["tmp"]))
    try:
        result = WORKERS[system]([Path(f) for f in spec["files"]], spec["tsv"], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit_result(result)


# -- parent ----------------------------------------------------------------------------
def measure(ds: Dataset, system: str, repeat: int, tmp: Path) -> dict[str, Any]:
    """Median seconds over ``repeat`` fresh child processes; the largest peak RSS."""
    files = ds.ox_files if system == "pyoxigraph" else ds.files
    spec = tmp / f"spec-{system}.json"
    spec.write_text(json.dumps({"files": [str(f) for f in files], "tsv": ds.tsv and system != "pyoxigraph", "tmp": str(tmp)}))
    runs = []
    for _ in range(repeat):
        result = run_child([__file__, "--worker", system, str(spec)], timeout=CHILD_TIMEOUT_S)
        peak = result["peak_rss_mib"] = result.get("cli_peak_rss_mib", result["peak_rss_mib"])
        runs.append(result)
        print(f"  {ds.name} / {system}: {result['triples']:,} triples in {result['seconds']:.2f} s, "
              f"peak {peak:.0f} MiB", file=sys.stderr)
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "triples": runs[-1]["triples"],
        "disk_mib": runs[-1]["disk_mib"],
        "peak_mib": max(r["peak_rss_mib"] for r in runs),
    }


def goal_line(datasets: list[Dataset]) -> str:
    """The goal and, per dataset, whether the measurements meet it."""
    verdicts = []
    for ds in datasets:
        r = ds.results
        if not all(s in r for s in GOAL_SYSTEMS):
            verdicts.append(f"{ds.name}: not measured")
            continue
        vs_ox = r["nesy"]["seconds"] / r["pyoxigraph"]["seconds"]
        vs_rdflib = r["rdflib"]["seconds"] / r["nesy"]["seconds"]
        ok_ox, ok_rdflib = vs_ox <= GOAL_VS_OXIGRAPH, vs_rdflib >= GOAL_VS_RDFLIB
        verdicts.append(
            f"{ds.name}: {'met' if ok_ox and ok_rdflib else 'not met'} "
            f"(time {vs_ox:.2f}x pyoxigraph's, {'met' if ok_ox else 'not met'}; "
            f"speed-up {vs_rdflib:.2f}x over rdflib, {'met' if ok_rdflib else 'not met'}"
            + (f"; the CLI {r['nesy CLI']['seconds'] / r['pyoxigraph']['seconds']:.2f}x pyoxigraph's"
               if "nesy CLI" in r else "") + ")"
        )
    return (f"Goal: nesy within {GOAL_VS_OXIGRAPH}x of pyoxigraph bulk load, ≥{GOAL_VS_RDFLIB:g}x faster "
            f"than rdflib in memory — " + "; ".join(verdicts))


def report(datasets: list[Dataset], repeat: int) -> str:
    """The markdown table, its notes, the machine line and the goal line."""
    rows = []
    for ds in datasets:
        ox_s = ds.results.get("pyoxigraph", {}).get("seconds")
        rdf_s = ds.results.get("rdflib", {}).get("seconds")
        for system in SYSTEMS:
            r = ds.results.get(system)
            if r is None:
                rows.append([ds.name, system, "failed", "", "", "", "", "", ""])
                continue
            s = r["seconds"]
            rows.append([
                ds.name,
                system,
                f"{r['triples']:,}",
                f"{s:.2f}",
                f"{r['triples'] / s:,.0f}",
                f"{s / ox_s:.2f}x" if ox_s else "—",
                f"{rdf_s / s:.2f}x" if rdf_s else "—",
                fmt_num(r["peak_mib"], 0),
                fmt_num(r["disk_mib"], 1),
            ])
    table = markdown_table(
        ["Dataset", "System", "Triples", "Seconds", "Triples/s", "Time vs pyoxigraph",
         "Speed-up vs rdflib", "Peak RSS MiB", "Disk MiB"],
        rows,
        align="llrrrrrrr",
    )
    notes = [
        f"Seconds: median of {repeat} run(s), each in a fresh process; peak RSS is that whole "
        "process's (interpreter and imports included). Time vs pyoxigraph = seconds / "
        "pyoxigraph's seconds; speed-up vs rdflib = rdflib's seconds / seconds.",
        "nesy: on-disk `KnowledgeBase(dir).load(...)` per file, opening and `close()` included "
        "(RDF store + term vocabulary + id table with provenance). rdflib: in-memory `Graph`, "
        "nothing on disk. pyoxigraph: on-disk `Store(dir).bulk_load(path=...)` per file, into the "
        "default graph, where nesy's `asserted` graph lives too (each file a commit of its own for nesy).",
        "nesy CLI: `python -m nesy load DIR FILE...` as a process of its own, from its start to its "
        "exit (interpreter start-up and imports included; its peak RSS is that process's).",
        "FB15k-237 for pyoxigraph was converted from TSV to N-Triples (same IRIs) before the "
        "timed region; nesy and rdflib read the TSV inside it.",
    ]
    return "\n".join([
        table,
        "",
        *(f"- {n}" for n in notes),
        "",
        machine_line(["nesy", "pyoxigraph", "rdflib", "numpy"]),
        "",
        goal_line(datasets),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=1, help="runs per system and dataset; the median time is shown")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: first {QUICK_TSV_LINES:,} FB15k-237 triples, "
                        f"{QUICK_LUBM_FILES} LUBM files")
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(*args.worker)
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    from nesy.store.formats import tsv_iri as nesy_tsv_iri

    for name in ("/m/027rn", "/film/film/genre", "a b/ü"):
        assert tsv_iri(TSV_NAMESPACE, name) == nesy_tsv_iri(TSV_NAMESPACE, name).value, name

    with tempfile.TemporaryDirectory(prefix="nesy-bench-load-") as tmp_name:
        tmp = Path(tmp_name)
        datasets: list[Dataset] = []
        for prepared in (prepare_fb15k(args.data, tmp, args.quick), prepare_lubm(args.data, args.quick)):
            if isinstance(prepared, str):
                print(prepared, file=sys.stderr)
            else:
                datasets.append(prepared)
        if not datasets:
            print(f"no benchmark data under {args.data}; pass --data", file=sys.stderr)
            return 1
        for ds in datasets:
            for system in SYSTEMS:
                try:
                    ds.results[system] = measure(ds, system, args.repeat, tmp)
                except ChildError as exc:
                    print(f"  {ds.name} / {system} failed: {exc}", file=sys.stderr)
    print(report(datasets, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
