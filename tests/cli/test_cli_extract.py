"""`nesy extract`, `nesy extract-train` and `nesy link`, run as a user runs them: as subprocesses.

The extractor is a user's plugin (tests/extract_plugin.py, trusted in kb.json), except in
the demo test, which runs the real default extractor on the bundled text.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NESY = [sys.executable, "-m", "nesy"]


def _plugin_site() -> Path:
    """tests/extract_plugin.py installed as pip would (a dist-info announcing it under the
    ``nesy.plugins`` entry point), outside the working directory: nesy loads trusted
    plugins only from installed entry points."""
    site = Path(tempfile.mkdtemp(prefix="nesy-extract-plugin-"))
    shutil.copy(ROOT / "tests" / "extract_plugin.py", site / "extract_plugin.py")
    info = site / "extract_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: extract-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[nesy.plugins]\nregex = extract_plugin\n")
    return site


ENV = dict(os.environ, PYTHONPATH=str(_plugin_site()), HF_HUB_OFFLINE="1")
DATA = """@prefix ex: <http://example.org/text#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:worksFor rdfs:label "works for" .
ex:basedIn rdfs:label "is based in" .
ex:alice rdfs:label "Alice Martin" .
ex:acme rdfs:label "Acme" .
"""
RULES = """@prefix ex: <http://example.org/text#> .
[worksIn] ex:worksIn(X, C) :- ex:worksFor(X, O), ex:basedIn(O, C).
"""


def run(*args: str, ok: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*NESY, *args], capture_output=True, text=True, timeout=300, env=ENV, cwd=cwd)
    if ok:
        assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KB directory with labelled properties, a rule, and the regex extractor plugin trusted."""
    tmp = tmp_path_factory.mktemp("template")
    d = tmp / "kb"
    run("init", str(d), "--namespace", "http://example.org/text#")
    (tmp / "data.ttl").write_text(DATA)
    (tmp / "company.rules").write_text(RULES)
    run("load", str(d), str(tmp / "data.ttl"))
    run("rules", str(d), str(tmp / "company.rules"))
    cfg = json.loads((d / "kb.json").read_text())
    cfg["trusted_plugins"] = ["extract_plugin"]
    (d / "kb.json").write_text(json.dumps(cfg))
    return d


@pytest.fixture
def kb(template: Path, tmp_path: Path) -> str:
    """A fresh copy of the template KB for one test."""
    return str(shutil.copytree(template, tmp_path / "kb"))


def test_extract_print_and_explain_end_to_end(kb: str, tmp_path: Path) -> None:
    doc = tmp_path / "news.txt"
    doc.write_text("Alice Martin works for Acme. Acme is based in Lyon.\n")
    out = run("extract", kb, str(doc), "--extractor", "regex", "--print", "tsv")
    assert out.stdout.splitlines() == [f"{doc}\tAlice Martin\tworks for\tAcme\t0.9",
                                       f"{doc}\tAcme\tis based in\tLyon\t0.9"]
    assert "1 document, 2 sentences: 2 triples added to extracted, 1 new entity (regex" in out.stderr
    stats = json.loads(run("stats", kb, "--format", "json").stdout)
    assert stats["graphs"]["extracted"] == 3           # two facts and the label of the new entity
    proof = run("explain", kb, "ex:worksIn(ex:alice, ex:Lyon)").stdout
    assert f'extracted from {doc}, sentence 1, chars 0–27: "Alice Martin works for Acme."' in proof
    assert f'extracted from {doc}, sentence 2, chars 29–50: "Acme is based in Lyon."' in proof
    leaf = json.loads(run("explain", kb, "ex:worksIn(ex:alice, ex:Lyon)", "--format", "json").stdout)["premises"][0]
    assert leaf["source"]["span"] == [0, 27] and leaf["source"]["extra"]["sentence_index"] == 0
    answers = json.loads(run("query", kb, "?- ex:worksIn(X, C).", "--format", "json").stdout)
    assert [a["bindings"] for a in answers] == [{"X": "alice", "C": ":Lyon"}]     # bare: the default namespace


def test_print_json_and_lines(kb: str, tmp_path: Path) -> None:
    doc = tmp_path / "rows.txt"
    doc.write_text("Alice Martin works for Acme.\nAcme is based in Lyon.\n")
    out = run("extract", kb, str(doc), "--extractor", "regex", "--lines", "--print", "json", "--min-confidence", "0.8")
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["document"], r["subject"], r["object"]) for r in rows] == [
        (f"{doc}:1", "Alice Martin", "Acme"), (f"{doc}:2", "Acme", "Lyon")]
    assert rows[0]["terms"] == ["<http://example.org/text#alice>", "<http://example.org/text#worksFor>",
                                "<http://example.org/text#acme>"]
    assert "2 documents" in out.stderr


def test_bad_documents_fail_alone_and_exit_1(kb: str, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Alice Martin works for Acme.")
    (tmp_path / "pic.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "latin.md").write_bytes("Caf\xe9 works for Acme.".encode("latin-1"))
    (tmp_path / "boom.txt").write_text("Bob works for Globex. EXPLODE")
    (tmp_path / "empty.txt").write_text("")
    files = [str(tmp_path / n) for n in ("pic.txt", "good.txt", "latin.md", "boom.txt", "empty.txt")]
    proc = run("extract", kb, *files, "--extractor", "regex", ok=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert f"error: {tmp_path}/pic.txt: binary file (NUL byte at byte offset 8)" in err
    assert f"error: {tmp_path}/latin.md:1: not valid utf-8 text: byte 0xe9 at byte offset 3" in err
    assert f"error: {tmp_path}/boom.txt: extractor regex failed: RuntimeError" in err
    assert f"skipped {tmp_path}/empty.txt: empty" in err
    assert proc.stdout.startswith("4 documents, 3 sentences: 1 triple added to extracted")
    assert "1 empty file skipped; 3 documents failed" in proc.stdout
    stats = json.loads(run("stats", kb, "--format", "json").stdout)
    assert stats["graphs"]["extracted"] == 1            # good.txt's triple; nothing of boom.txt


@pytest.mark.parametrize(("args", "message"), [
    (["--extractor", "regx"], "unknown extractor 'regx'"),
    (["--min-confidence", "2"], "min_confidence must be in [0, 1]"),
])
def test_bad_options_change_nothing(kb: str, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "d.txt").write_text("Alice Martin works for Acme.")
    proc = run("extract", kb, str(tmp_path / "d.txt"), *args, ok=False)
    assert proc.returncode == 1 and message in proc.stderr
    assert json.loads(run("stats", kb, "--format", "json").stdout)["graphs"]["extracted"] == 0


def test_extract_train_refuses_bad_input(kb: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Alice Martin works for Acme.")
    proc = run("extract-train", kb, "--examples", str(tmp_path / "notes.txt"), ok=False)
    assert proc.returncode == 1 and "a text document is not a labelled examples file" in proc.stderr
    (tmp_path / "bad.jsonl").write_text('{"text": "A works for B."}\n{oops\n')
    proc = run("extract-train", kb, "--examples", str(tmp_path / "bad.jsonl"), ok=False)
    assert proc.returncode == 1 and "bad.jsonl" in proc.stderr
    assert not (Path(kb) / "models" / "extractor").exists()


def test_link_finds_an_entity_by_its_label(kb: str) -> None:
    out = run("link", kb, "alice  MARTIN", "-k", "1").stdout
    assert out.strip() == '1. alice  "Alice Martin"  score 1.000  (exact)'
    rows = json.loads(run("link", kb, "Acme", "-k", "1", "--format", "json").stdout)
    assert rows == [{"term": "acme", "label": "Acme", "score": 1.0, "method": "exact"}]


def test_demo_extracts_reasons_and_quotes_the_sentence() -> None:
    """The real default extractor on examples/text: facts, a rule, and a proof with its sentence."""
    out = run("demo", cwd=ROOT).stdout
    assert "examples/text/news.txt\tAlice Martin\tworks for\tAcme Corporation\t" in out
    assert "3 triples added to extracted, 4 new entities (zero-shot" in out
    assert "X = ex:Alice_Martin, C = ex:lyon" in out
    assert ('extracted from examples/text/news.txt, sentence 1, chars 0–39: '
            '"Alice Martin works for Acme Corporation, a maker of rockets."') in out
