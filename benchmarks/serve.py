"""Benchmark `nesy serve` against `oxigraph serve-read-only` on LUBM(1) with its OWL 2 RL closure.

The data: LUBM(1) (``owl/lubm/lubm1/University0_*.owl``, 15 RDF/XML files) loaded into an
on-disk nesy KB, ``kb.load_ontology(univ-bench.ttl, profile="rl")`` for the OWL 2 RL closure
(stored in the ``inferred`` graph); the peer gets the same triples (``kb.export`` of every
graph, loaded with ``oxigraph load``), so both answer the 14 LUBM queries
(``owl/lubm/queries/q*.rq``, as shipped) with the same rows, which the warm-up checks.

The load: bounded client loops over loopback, 1, 8 and 32 client threads (keep-alive
connections, ``--seconds`` per cell), each thread cycling through the 14 queries from its
own starting point, ``Accept: application/sparql-results+json``. Three servers:

* ``oxigraph``: ``oxigraph serve-read-only`` (same store engine, no scores);
* ``nesy, scores on``: ``nesy serve`` as shipped (each row's score and proof links in the
  ``nesy`` member of the JSON results);
* ``nesy, scores off``: the same server with ``scores=false`` (plain W3C JSON).

Per cell: requests/s, p50 and p99 latency, errors (a status other than 200, or a failed
connection). Then readers' latency while a writer posts updates: 8 reader threads on nesy
(scores on) while one writer posts ``INSERT DATA`` updates back to back (with the bearer
token); every update must be there afterwards ("lost" counts the missing ones).

Goal (issue 17): with scores on, at least half the peer's throughput at 32 clients, zero
errors, no update lost. The client threads run on the same machine as the servers::

    .venv/bin/python benchmarks/serve.py [--data ../shared/data] [--seconds 10] [--clients 1,8,32] [--nesy-args ...]
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, bench_parser, fmt_num, machine_line, markdown_table  # noqa: E402

TOKEN = "benchmark-token-0123456789"
ACCEPT = {"Accept": "application/sparql-results+json"}
UPDATE = "INSERT DATA {{ <urn:bench:u{i}> <urn:bench:p> <urn:bench:o{i}> . }}"
LOST = "SELECT (COUNT(*) AS ?n) WHERE { ?s <urn:bench:p> ?o }"
BIN = Path(sys.executable).parent


@dataclass
class Cell:
    """One measured cell: latencies of the requests that succeeded, and the errors."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def rate(self) -> float:
        """Requests answered per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def row(self) -> list[str]:
        lat = sorted(self.latencies)
        def pct(q: float) -> str:
            return fmt_num(1000 * lat[min(int(q * len(lat)), len(lat) - 1)], 1) if lat else "—"
        return [fmt_num(self.rate(), 1), pct(0.5), pct(0.99), str(self.errors)]


# -- the data and the servers ---------------------------------------------------------------
def build(data: Path, work: Path) -> tuple[Path, Path, dict[str, str], dict[str, Any]]:
    """The nesy KB and the Oxigraph store of LUBM(1) with its OWL 2 RL closure, and the queries."""
    from nesy.kb import KnowledgeBase

    lubm = data / "owl" / "lubm"
    files = sorted((lubm / "lubm1").glob("University0_*.owl"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    if not files:
        sys.exit(f"LUBM(1) not found under {lubm} (see ../shared/data/README.md)")
    queries = {q.stem: q.read_text() for q in sorted((lubm / "queries").glob("q*.rq"), key=lambda p: int(p.stem[1:]))}
    kb_dir, ox_dir, dump = work / "kb", work / "oxigraph", work / "closure.nt"
    started = time.perf_counter()
    kb = KnowledgeBase(kb_dir)
    for f in files:
        kb.load(f, progress=False)
    onto = kb.load_ontology(lubm / "univ-bench.ttl", profile="rl")
    info = {"triples": len(kb), "inferred": onto["inferred"], "build_s": time.perf_counter() - started}
    kb.export(dump, format="nt")
    kb.close()
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(ox_dir), "--file", str(dump)], check=True,
                   capture_output=True)
    return kb_dir, ox_dir, queries, info


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(port: int, path: str, proc: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server on port {port} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the server on port {port} did not answer")


def start_nesy(kb_dir: Path, work: Path, extra: list[str]) -> tuple[subprocess.Popen[Any], int]:
    (work / "token").write_text(TOKEN + "\n")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nesy.cli.serve", str(kb_dir), "--port", str(port),
                             "--token-file", str(work / "token"), "--query-timeout", "120", "--log-level", "warning", *extra],
                            stdout=subprocess.DEVNULL, stderr=open(work / "nesy.log", "w"), cwd=REPO)  # noqa: SIM115
    wait_up(port, "/api/info", proc)
    return proc, port


def start_oxigraph(ox_dir: Path, work: Path) -> tuple[subprocess.Popen[Any], int]:
    port = free_port()
    proc = subprocess.Popen([str(BIN / "oxigraph"), "serve-read-only", "--location", str(ox_dir),
                             "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=open(work / "oxigraph.log", "w"))  # noqa: SIM115
    wait_up(port, "/query?query=ASK%7B%7D", proc)
    return proc, port


# -- the clients -----------------------------------------------------------------------------
def get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn.request("GET", path, headers=headers or ACCEPT)
    resp = conn.getresponse()
    return resp.status, resp.read()


def paths(base: str, queries: dict[str, str], extra: dict[str, str]) -> list[str]:
    return [f"{base}?{urllib.parse.urlencode({'query': q, **extra})}" for q in queries.values()]


def rows_of(body: bytes) -> int:
    return len(json.loads(body)["results"]["bindings"])


def check_rows(port: int, query_paths: list[str], names: list[str]) -> dict[str, int]:
    """Each query once (the warm-up): its row count, or -1 for an error."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    out = {}
    for name, path in zip(names, query_paths):
        status, body = get(conn, path)
        out[name] = rows_of(body) if status == 200 else -1
    conn.close()
    return out


def load(port: int, query_paths: list[str], clients: int, seconds: float,
         stop: threading.Event | None = None) -> Cell:
    """``clients`` threads cycling through the queries for ``seconds`` (or until ``stop``)."""
    cell = Cell()
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        k = i
        while time.monotonic() < end and not (stop is not None and stop.is_set()):
            path = query_paths[k % len(query_paths)]
            k += 1
            started = time.perf_counter()
            try:
                status, _ = get(conn, path)
            except (OSError, http.client.HTTPException):
                status = -1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            took = time.perf_counter() - started
            with lock:
                if status == 200:
                    cell.latencies.append(took)
                else:
                    cell.errors += 1
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cell.seconds = time.monotonic() - started
    return cell


def during_updates(port: int, query_paths: list[str], seconds: float) -> tuple[Cell, int, int, Cell]:
    """8 readers while a writer posts updates: the readers' cell, updates posted, updates lost,
    and the writer's cell (update latency)."""
    stop = threading.Event()
    writer_cell = Cell()
    posted = [0]

    def writer() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        i = 0
        started_all = time.monotonic()
        while not stop.is_set():
            started = time.perf_counter()
            conn.request("POST", "/sparql", body=UPDATE.format(i=i).encode(),
                         headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"})
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                writer_cell.latencies.append(time.perf_counter() - started)
                posted[0] += 1
            else:
                writer_cell.errors += 1
            i += 1
        writer_cell.seconds = time.monotonic() - started_all
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    readers = load(port, query_paths, 8, seconds)
    stop.set()
    thread.join()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    status, body = get(conn, f"/sparql?{urllib.parse.urlencode({'query': LOST})}")
    conn.close()
    found = int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) if status == 200 else -1
    return readers, posted[0], posted[0] - found, writer_cell


# -- the report ------------------------------------------------------------------------------
def report(cells: dict[tuple[str, int], Cell], clients: list[int], updates: tuple[Cell, int, int, Cell],
           info: dict[str, Any], rows_ok: bool, seconds: float) -> str:
    systems = ["oxigraph", "nesy, scores on", "nesy, scores off"]
    table = []
    for c in clients:
        for s in systems:
            table.append([s, str(c), *cells[(s, c)].row()])
    readers, posted, lost, writer = updates
    table.append(["nesy, scores on, 8 readers + 1 writer", "8", *readers.row()])
    top = max(clients)
    ours, peer = cells[("nesy, scores on", top)].rate(), cells[("oxigraph", top)].rate()
    ratio = ours / peer if peer else 0.0
    errors = sum(c.errors for c in cells.values()) + readers.errors + writer.errors
    met = ratio >= 0.5 and errors == 0 and lost == 0 and rows_ok
    lines = [
        f"LUBM(1) with its OWL 2 RL closure: {info['triples']:,} triples ({info['inferred']:,} inferred; built in "
        f"{info['build_s']:.1f} s); the 14 LUBM queries; {seconds:g} s per cell; client threads on the same machine.",
        "",
        markdown_table(["server", "clients", "requests/s", "p50 ms", "p99 ms", "errors"], table, "llrrrr"),
        "",
        f"Updates during the last row: {posted} posted ({fmt_num(posted / writer.seconds if writer.seconds else 0, 1)}"
        f"/s, p50 {writer.row()[1]} ms each), {lost} lost, {writer.errors} failed. Rows per query equal to the "
        f"peer's: {'yes' if rows_ok else 'NO'}.",
        f"Goal: scores on >= 1/2 of oxigraph's throughput at {top} clients, zero errors, no update lost — "
        f"{ratio:.2f}x, {errors} errors, {lost} lost: {'MET' if met else 'NOT MET'}.",
        "",
        f"Machine: {machine_line(['pyoxigraph', 'oxigraph', 'starlette', 'uvicorn'])}",
    ]
    return "\n".join(lines)


def measure(queries: dict[str, str], ports: dict[str, int], clients: list[int], seconds: float,
            progress: Callable[[str], None]) -> dict[tuple[str, int], Cell]:
    systems = {"oxigraph": (ports["oxigraph"], paths("/query", queries, {})),
               "nesy, scores on": (ports["nesy"], paths("/sparql", queries, {})),
               "nesy, scores off": (ports["nesy"], paths("/sparql", queries, {"scores": "false"}))}
    cells = {}
    for c in clients:
        for name, (port, qp) in systems.items():
            cells[(name, c)] = load(port, qp, c, seconds)
            progress(f"{name}, {c} clients: {cells[(name, c)].row()}")
    return cells


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per measured cell (default 10)")
    parser.add_argument("--clients", default="1,8,32", help="client thread counts (default 1,8,32)")
    parser.add_argument("--work", type=Path, help="working directory (default: a temporary one, removed)")
    parser.add_argument("--nesy-args", default="", help="more options for nesy serve (e.g. '--threads 4')")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="nesy-serve-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    kb_dir, ox_dir, queries, info = build(args.data, work)
    progress(f"built: {info}")
    nesy_proc, nesy_port = start_nesy(kb_dir, work, args.nesy_args.split())
    ox_proc, ox_port = start_oxigraph(ox_dir, work)
    try:
        names = list(queries)
        ours = check_rows(nesy_port, paths("/sparql", queries, {}), names)
        peer = check_rows(ox_port, paths("/query", queries, {}), names)
        progress(f"rows nesy {ours}\nrows oxigraph {peer}")
        cells = measure(queries, {"nesy": nesy_port, "oxigraph": ox_port}, clients, args.seconds, progress)
        updates = during_updates(nesy_port, paths("/sparql", queries, {}), args.seconds)
        print(report(cells, clients, updates, info, ours == peer and min(ours.values()) >= 0, args.seconds))
    finally:
        for proc in (nesy_proc, ox_proc):
            proc.terminate()
            proc.wait(timeout=60)
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
