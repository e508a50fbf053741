"""The ``nesy`` data commands, run as a user runs them: as subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NESY = [sys.executable, "-m", "nesy"]


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*NESY, *args], capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_init_load_reopen_keeps_counts_and_provenance(tmp_path: Path, family_ttl: Path) -> None:
    kb = str(tmp_path / "kb")
    run("init", kb)
    run("load", kb, str(family_ttl))
    tsv = tmp_path / "extra.tsv"
    tsv.write_text("zed\tknows\tann\n")
    out = run("load", kb, str(tsv), "--namespace", "http://example.org/family#", "--graph", "extracted", "--score", "0.5")
    assert "1 triples added to extracted" in out.stdout
    stats = json.loads(run("stats", kb, "--format", "json").stdout)
    assert stats["graphs"] == {"asserted": 41, "extracted": 1, "inferred": 0, "predicted": 0, "dl-reasoner": 0}
    # A new process sees the same counts and the same provenance.
    code = (
        "from nesy.kb import KnowledgeBase; from rdflib import URIRef; import json\n"
        f"kb = KnowledgeBase({kb!r})\n"
        "F='http://example.org/family#'\n"
        "print(json.dumps([kb.stats()['graphs'], kb.provenance(URIRef(F+'zed'), URIRef(F+'knows'), URIRef(F+'ann'))]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    graphs, prov = json.loads(proc.stdout)
    assert graphs == stats["graphs"]
    assert prov[0]["score"] == 0.5 and prov[0]["graph"] == "extracted" and prov[0]["source"]["file"] == str(tsv.resolve())
    out = run("export", kb, str(tmp_path / "all.nq"))
    assert "wrote 42 statements" in out.stdout
    assert len((tmp_path / "all.nq").read_text().splitlines()) == 42


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        ("@prefix ex: <http://ex/> .\nex:a ex:b .\n", "bad.ttl", "bad.ttl:2:"),
        ("a\tb\n", "bad.tsv", "bad.tsv:1:1: expected head<TAB>relation<TAB>tail"),
        ("<a", "bad.rdf", "invalid rdfxml"),
    ],
)
def test_bad_file_exits_1_without_traceback(tmp_path: Path, content: str, name: str, expected: str) -> None:
    kb = str(tmp_path / "kb")
    run("init", kb)
    f = tmp_path / name
    f.write_text(content)
    proc = run("load", kb, str(f), "--namespace", "http://ex/", ok=False)
    assert proc.returncode == 1
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    stats = json.loads(run("stats", kb, "--format", "json").stdout)
    assert stats["triples"] == 0


def test_missing_kb_and_help(tmp_path: Path) -> None:
    proc = run("stats", str(tmp_path), ok=False)
    assert proc.returncode == 1 and "not a knowledge base" in proc.stderr and "Traceback" not in proc.stderr
    out = run("--help")
    for cmd in ("init", "load", "stats", "export", "demo"):
        assert cmd in out.stdout


def test_demo_prints_a_result() -> None:
    out = run("demo")
    assert "triples" in out.stdout
