"""``nesy check-store``, the refusal to take over a directory that is not a KB, and reading
a KB the user may not write, run as a user runs them: as subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox

from nesy.store.graphs import graph_iri

NESY = [sys.executable, "-m", "nesy"]
EX = "http://ex.org/"


def run(*args: str, ok: bool | None = True, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*prefix, *NESY, *args], capture_output=True, text=True, timeout=120)
    if ok is True:
        assert proc.returncode == 0, proc.stderr
    if ok is False:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
    return proc


def make_kb(tmp_path: Path) -> Path:
    data = tmp_path / "data.nt"
    data.write_text("".join(f"<{EX}e{i}> <{EX}next> <{EX}e{i + 1}> .\n" for i in range(20)))
    kb = tmp_path / "kb"
    run("load", str(kb), str(data))
    return kb


def test_check_store_reports_clean_damaged_and_repaired(tmp_path: Path) -> None:
    kb = make_kb(tmp_path)
    out = run("check-store", str(kb)).stdout
    assert "asserted     table        20  oxigraph        20" in out and "ok: no problem found" in out
    db = ox.Store(str(kb / "oxigraph"))
    db.add(ox.Quad(ox.NamedNode(f"{EX}x"), ox.NamedNode(f"{EX}y"), ox.NamedNode(f"{EX}z"),
                   ox.NamedNode(str(graph_iri("asserted")))))
    del db
    bad = run("check-store", str(kb), "--format", "json", ok=False)
    report = json.loads(bad.stdout)
    assert report["graphs"]["asserted"] == {"table": 20, "oxigraph": 21}
    assert [p["where"] for p in report["problems"]] == ["oxigraph graph asserted"]
    fixed = run("check-store", str(kb), "--repair").stdout
    assert "repaired: oxigraph graph asserted: 1 quads without a table row" in fixed
    assert "ok: every problem repaired" in fixed
    run("check-store", str(kb))


def test_check_store_names_a_damaged_file_and_exits_1(tmp_path: Path) -> None:
    kb = make_kb(tmp_path)
    (kb / "sources.jsonl").write_text("not json\n")
    out = run("check-store", str(kb), "--repair", ok=False).stdout
    assert "sources.jsonl: sources.jsonl is damaged" in out and "1 problem remaining" in out
    err = run("stats", str(kb), ok=False).stderr
    assert "sources.jsonl is damaged" in err and f"nesy check-store {kb}" in err


def test_load_and_init_refuse_a_directory_that_is_not_a_kb(tmp_path: Path) -> None:
    data = tmp_path / "data.nt"
    data.write_text(f"<{EX}a> <{EX}b> <{EX}c> .\n")
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"\xff\xd8")
    for args in (("load", str(other), str(data)), ("init", str(other))):
        err = run(*args, ok=False).stderr
        assert "is not empty and is not a knowledge base (it holds cat.jpg)" in err
        assert sorted(p.name for p in other.iterdir()) == ["cat.jpg"]
    empty = tmp_path / "empty"
    empty.mkdir()
    run("load", str(empty), str(data))
    run("load", str(empty), str(data))  # a KB now: loading again is fine


def read_only_prefix() -> tuple[str, ...]:
    """How to run a command that may not write: as root, permission bits do not stop
    writes, so the command runs as an unprivileged user of a user namespace."""
    if os.geteuid() != 0:
        return ()
    unshare = shutil.which("unshare")
    assert unshare is not None, "running as root: this test needs unshare(1) to drop write permission"
    return (unshare, "--user", "--map-user=1000", "--map-group=1000")


def test_query_stats_export_work_on_a_kb_the_user_cannot_write(tmp_path: Path) -> None:
    kb = make_kb(tmp_path)
    rules = tmp_path / "next.rules"
    rules.write_text(f"@prefix ex: <{EX}> .\nex:reach(X, Y) :- ex:next(X, Y).\n"
                     "ex:reach(X, Z) :- ex:next(X, Y), ex:reach(Y, Z).\n")
    run("rules", str(kb), str(rules), "--no-materialize")  # inferred is stale: a query would refresh it
    before = {p: p.stat().st_mtime_ns for p in kb.rglob("*")}
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for p in [kb, *kb.rglob("*")]:
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        ro = read_only_prefix()
        probe = subprocess.run([*ro, sys.executable, "-c", f"open({str(kb / 'x')!r}, 'w')"], capture_output=True)
        assert probe.returncode != 0, "the directory is still writable: the test would prove nothing"
        q = run("query", str(kb), "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "--format", "json",
                prefix=ro)
        assert json.loads(q.stdout)[0]["bindings"] == {"n": "20"}
        answers = run("query", str(kb), f"?- <{EX}reach>(<{EX}e0>, X).", "--format", "csv", prefix=ro).stdout
        assert len(answers.strip().splitlines()) == 21  # header + e1..e20
        stats = json.loads(run("stats", str(kb), "--format", "json", prefix=ro).stdout)
        assert stats["triples"] == 20
        run("export", str(kb), str(out_dir / "all.nt"), prefix=ro)
        assert len((out_dir / "all.nt").read_text().splitlines()) == 20
    finally:
        for p in [kb, *kb.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
    assert {p: p.stat().st_mtime_ns for p in kb.rglob("*")} == before


def _files(kb: Path) -> dict[str, bytes]:
    """Every file nesy keeps in the KB directory except the RDF database (RocksDB rewrites
    its own logs on open), by relative path."""
    return {str(p.relative_to(kb)): p.read_bytes() for p in sorted(kb.rglob("*"))
            if p.is_file() and "oxigraph" not in p.parts}


def test_a_query_that_only_mentions_new_terms_leaves_the_files_as_they_were(tmp_path: Path) -> None:
    kb = make_kb(tmp_path)
    rules = tmp_path / "r.rules"
    rules.write_text(f"@prefix ex: <{EX}> .\nex:reach(X, Y) :- ex:next(X, Y).\n")
    run("rules", str(kb), str(rules))
    before = _files(kb)
    out = run("query", str(kb), "?- ex:reach(ex:e1, Y), Z = 7 * 6 + 1, W = \"never seen\".").stdout
    assert "43" in out
    run("query", str(kb), "?- ex:nosuch(ex:new_thing, Y).")
    assert _files(kb) == before


def test_a_refused_score_changes_nothing(tmp_path: Path) -> None:
    kb = make_kb(tmp_path)
    rules = tmp_path / "r.rules"
    rules.write_text(f"@prefix ex: <{EX}> .\nex:reach(X, Y) :- ex:next(X, Y).\n")
    run("rules", str(kb), str(rules))
    before = _files(kb)
    more = tmp_path / "more.nt"
    more.write_text(f"<{EX}a> <{EX}next> <{EX}b> .\n")
    for score in ("-1", "2", "nan", "inf", "0"):
        err = run("load", str(kb), str(more), "--score", score, ok=False).stderr
        assert "score must be in (0, 1]" in err
    assert _files(kb) == before


def test_a_damaged_rdf_database_is_named_and_rebuilt_by_repair(tmp_path: Path) -> None:
    kb = make_kb(tmp_path)
    for sst in (kb / "oxigraph").glob("*.sst"):
        body = bytearray(sst.read_bytes())
        for i in range(0, len(body), 7):
            body[i] ^= 0x5A
        sst.write_bytes(bytes(body))
    err = run("stats", str(kb), ok=False).stderr
    assert "damaged" in err and "check-store" in err and "--repair" in err
    assert run("check-store", str(kb), ok=False).returncode == 1
    fixed = run("check-store", str(kb), "--repair")
    assert "oxigraph.damaged" in fixed.stdout
    assert (kb / "oxigraph.damaged").is_dir()
    count = run("query", str(kb), f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{EX}next> ?o }}").stdout
    assert "20" in count
