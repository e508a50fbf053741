"""Hostile input through the CLI: exit 1, one message, no traceback, nothing fetched, the KB unchanged."""

from __future__ import annotations

import gzip
import os
import random
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAMILY = ROOT / "examples" / "family"


def nesy(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NESY_DEBUG"}
    return subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True, timeout=300,
                          env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "kb"
    assert nesy("load", str(path), str(FAMILY / "family.ttl")).returncode == 0
    return path


def state(kb: Path) -> dict[str, bytes]:
    return {str(p.relative_to(kb)): p.read_bytes() for p in sorted(kb.rglob("*"))
            if p.is_file() and p.suffix in (".nt", ".jsonl", ".json", ".npz")}


def refused(done: subprocess.CompletedProcess[str], match: str) -> None:
    both = done.stdout + done.stderr
    assert done.returncode == 1, both
    assert "Traceback" not in both and match in both, both


def test_service_bypasses_reach_nothing(kb: Path) -> None:
    hits: list[int] = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            hits.append(1)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{srv.getsockname()[1]}/sparql"
    before = state(kb)
    try:
        for query in (f"SELECT * WHERE {{ ?a ?b ?c FILTER(1<2)SERVICE<{url}>{{?s ?p ?o}} }}",
                      f"SELECT * WHERE {{ ?a ?b ?c FILTER(1<2)SERVICE#>\n<{url}>{{?s ?p ?o}} }}",
                      f"PREFIX : <{url}#>\nSELECT * WHERE {{ ?a ?b ?c . service:x {{ ?s ?p ?o }} }}"):
            refused(nesy("query", str(kb), query), "SERVICE is disabled")
        assert hits == []
    finally:
        srv.close()
    assert state(kb) == before


def test_service_failures_and_update_are_one_line_errors(kb: Path) -> None:
    before = state(kb)
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    dead = free.getsockname()[1]
    free.close()
    refused(nesy("query", str(kb), "--allow-service",
                 f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{dead}/x> {{ ?s ?p ?o }} }}"), "SPARQL query failed")
    refused(nesy("query", str(kb), "--allow-service", "SELECT * WHERE { SERVICE ?x { ?s ?p ?o } }"), "unbound")
    refused(nesy("query", str(kb), "INSERT DATA { <http://a/> <http://b/> <http://c/> }"), "read-only")
    refused(nesy("query", str(kb), "# first a comment\nDELETE WHERE { ?s ?p ?o }"), "read-only")
    refused(nesy("query", str(kb), "PREFIX f: <http://f/>\nSELECT (f:g(?o) AS ?y) WHERE { ?s ?p ?o }"),
            "unknown function <http://f/g>")
    assert state(kb) == before


def test_hostile_files_change_nothing(kb: Path, tmp_path: Path) -> None:
    rng = random.Random(1)
    packed = gzip.compress("".join(f"<http://a/{rng.random()}> <http://b/p> <http://c/{rng.random()}> .\n"
                                   for _ in range(4000)).encode())
    cut = tmp_path / "cut.ttl.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    mixed = tmp_path / "mixed.jsonld"
    mixed.write_text('[{"@id": "http://a/", "http://b/p": "c"}, 5]', encoding="utf-8")
    remote = tmp_path / "remote.jsonld"
    remote.write_text('{"@context": "http://127.0.0.1:9/c.jsonld", "@id": "http://a/"}', encoding="utf-8")
    before = state(kb)
    refused(nesy("load", str(kb), str(cut)), "cut.ttl.gz")
    refused(nesy("load", str(kb), str(mixed)), "top-level array")
    refused(nesy("load", str(kb), str(remote)), "never fetches")
    assert state(kb) == before
