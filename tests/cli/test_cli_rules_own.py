"""`nesy rules` as a user runs it: the KB owns its rule copies; adds are all or nothing;
--list/--remove/--reload; @import confined; plugins only from installed entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAMILY = ROOT / "examples" / "family"
NESY = [sys.executable, "-m", "nesy"]
SECRET = "TOP-SECRET-FIRST-LINE do not echo me"
GRANDPARENTS = "?- fam:grandparent(X, Y)."
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def run(*args: str, ok: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([*NESY, *args], capture_output=True, text=True, timeout=300, env=env, cwd=cwd or ROOT)
    if ok:
        assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def kb_files(d: Path) -> dict[str, bytes]:
    """Every file of the KB outside Oxigraph's own folder, by relative path."""
    return {str(p.relative_to(d)): p.read_bytes() for p in d.rglob("*") if p.is_file() and "oxigraph" not in p.parts}


@pytest.fixture
def family(tmp_path: Path) -> Path:
    """A KB with the family data and its rules materialised."""
    d = tmp_path / "kb"
    run("init", str(d))
    run("load", str(d), str(FAMILY / "family.ttl"))
    run("rules", str(d), str(FAMILY / "family.rules"))
    return d


def test_a_runaway_rule_is_refused_and_the_kb_is_as_before(family: Path, tmp_path: Path) -> None:
    runaway = write(tmp_path / "run.rules", "n(0).\nn(Y) :- n(X), Y = X + 1.\n")
    before = kb_files(family)
    answers = run("query", str(family), GRANDPARENTS, "--format", "json").stdout
    proc = run("rules", str(family), str(runaway), ok=False)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: ") and "max_iterations" in line and "the rules were not added" in line
    assert kb_files(family) == before  # kb.json, the copies, the vocabulary, the id table: byte for byte
    assert run("query", str(family), GRANDPARENTS, "--format", "json").stdout == answers
    assert json.loads(run("query", str(family), COUNT, "--format", "json").stdout)[0]["bindings"]["n"] == "101"
    assert "60 triples in the inferred graph" in run("materialize", str(family)).stdout
    assert "fam:parent" in run("explain", str(family), "fam:grandparent(fam:abe, fam:cid)").stdout
    assert [s["name"] for s in json.loads(run("rules", str(family), "--list", "--format", "json").stdout)] == \
        ["family"]


def test_an_edited_original_changes_nothing_until_reload(tmp_path: Path) -> None:
    d = tmp_path / "kb"
    src = write(tmp_path / "mine.rules", "@prefix ex: <http://example.org/e#> .\nex:q(ex:a).\nex:p(X) :- ex:q(X).\n")
    run("init", str(d))
    run("rules", str(d), str(src))
    write(src, "@prefix ex: <http://example.org/e#> .\nex:q(ex:zed).\nex:p(X) :- ex:q(X).\n")
    assert "ex:a" in run("query", str(d), "?- ex:p(X).").stdout
    assert "zed" not in run("query", str(d), "?- ex:p(X).").stdout
    [info] = json.loads(run("rules", str(d), "--list", "--format", "json").stdout)
    assert (info["name"], info["original"], info["rules"], info["facts"]) == ("mine", "changed", 1, 1)
    assert "changed" in run("rules", str(d), "--list").stdout
    out = run("rules", str(d), "--reload", str(src)).stdout
    assert f"reloaded {src}: 1 rules, 1 facts" in out
    assert "ex:zed" in run("query", str(d), "?- ex:p(X).").stdout
    sparql = run("query", str(d), "SELECT ?x WHERE { ?x <http://example.org/e#p> ?x }").stdout
    assert "zed" not in sparql  # ex:p is unary: its facts are rdf:type triples, not ex:p ones
    types = run("query", str(d), "SELECT ?x WHERE { ?x a <http://example.org/e#p> }").stdout
    assert "zed" in types and "ex:a" not in types  # SPARQL agrees with the rule query after --reload


def test_deleting_the_original_changes_nothing(family: Path, tmp_path: Path) -> None:
    src = write(tmp_path / "extra.rules", "@prefix fam: <http://example.org/family#> .\n"
                                          "fam:elder(X) :- fam:grandparent(X, Y).\n")
    run("rules", str(family), str(src))
    answers = run("query", str(family), "?- fam:elder(X).").stdout
    src.unlink()
    assert run("query", str(family), "?- fam:elder(X).").stdout == answers
    assert json.loads(run("stats", str(family), "--format", "json").stdout)["graphs"]["inferred"] > 0
    listing = json.loads(run("rules", str(family), "--list", "--format", "json").stdout)
    assert [(s["name"], s["original"]) for s in listing] == [("family", "unchanged"), ("extra", "missing")]
    proc = run("rules", str(family), "--reload", "extra", ok=False)
    assert proc.returncode == 1 and "is gone" in proc.stderr and "nothing was changed" in proc.stderr


def test_list_and_remove_by_name_or_file(family: Path, tmp_path: Path) -> None:
    src = write(tmp_path / "elder.rules", "@prefix fam: <http://example.org/family#> .\n"
                                          "fam:elder(X) :- fam:grandparent(X, Y).\n")
    run("rules", str(family), str(src), "--name", "old-folks")
    table = run("rules", str(family), "--list").stdout.splitlines()
    assert table[0].split() == ["name", "kind", "rules", "facts", "original", "file"]
    assert table[2].split() == ["old-folks", "derived", "1", "0", "unchanged", str(src.resolve())]
    out = run("rules", str(family), "--remove", "old-folks").stdout
    assert "removed rule set old-folks (1 rules, 0 facts)" in out
    assert json.loads(run("query", str(family), "?- fam:elder(X).", "--format", "json").stdout) == []
    assert not list((family / "rules").glob("*elder*")) and not list((family / "rules").glob("*old-folks*"))
    run("rules", str(family), "--remove", str(FAMILY / "family.rules"))
    assert json.loads(run("rules", str(family), "--list", "--format", "json").stdout) == []
    count = json.loads(run("query", str(family), "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                           "--format", "json").stdout)
    assert count[0]["bindings"]["n"] == "41"  # the inferred graph is empty again
    proc = run("rules", str(family), "--remove", "nope", ok=False)
    assert proc.returncode == 1 and "no rule set named 'nope'" in proc.stderr
    proc = run("rules", str(family), ok=False)
    assert proc.returncode == 2 and "--list" in proc.stderr


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside.rules", "/proc/self/environ"])
def test_imports_outside_the_rule_folder_are_refused_without_echo(family: Path, tmp_path: Path,
                                                                  target: str) -> None:
    write(tmp_path / "outside.rules", SECRET + "\n")
    main = write(tmp_path / "mine" / "main.rules", f'p(a).\n@import "{target}" .\n')
    before = kb_files(family)
    proc = run("rules", str(family), str(main), ok=False)
    assert proc.returncode == 1
    assert f'{main}:2:1: @import "{target}" refused' in proc.stderr and "--allow-import-dir" in proc.stderr
    both = proc.stdout + proc.stderr
    assert SECRET not in both and "root:x" not in both and "PATH=" not in both
    assert kb_files(family) == before


def test_allow_import_dir_reads_more_but_quotes_nothing(family: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "outside.rules", SECRET + "\n")
    main = write(tmp_path / "mine" / "main.rules", 'p(a).\n@import "../outside.rules" .\n')
    proc = run("rules", str(family), str(main), "--allow-import-dir", str(tmp_path), ok=False)
    assert "is not a rule file (syntax error at line 1" in proc.stderr and SECRET not in proc.stderr
    write(outside, "@prefix fam: <http://example.org/family#> .\nfam:elder(X) :- fam:grandparent(X, Y).\n")
    run("rules", str(family), str(main), "--allow-import-dir", str(tmp_path))
    outside.unlink()  # the import was copied into the KB
    assert "fam:abe" in run("query", str(family), "?- fam:elder(X).").stdout


def test_trusted_plugins_must_be_installed_entry_points(family: Path, tmp_path: Path) -> None:
    config = json.loads((family / "kb.json").read_text())
    (family / "kb.json").write_text(json.dumps({**config, "trusted_plugins": ["json"]}))
    proc = run("query", str(family), GRANDPARENTS, ok=False)
    assert proc.returncode == 1
    assert "plugin 'json' refused: no installed package announces it" in proc.stderr


def test_a_plugin_planted_in_the_working_directory_is_not_loaded(family: Path, tmp_path: Path) -> None:
    # A module and a dist-info announcing it, dropped where the user runs nesy: `python -m
    # nesy` puts that folder first on sys.path, yet nothing of it may run.
    cwd = tmp_path / "downloads"
    marker = tmp_path / "PWNED"
    write(cwd / "planted.py", f"open({str(marker)!r}, 'w').close()\ndef register(registry):\n    pass\n")
    write(cwd / "planted-0.1.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: planted\nVersion: 0.1\n")
    write(cwd / "planted-0.1.dist-info" / "entry_points.txt", "[nesy.plugins]\nplanted = planted\n")
    config = json.loads((family / "kb.json").read_text())
    (family / "kb.json").write_text(json.dumps({**config, "trusted_plugins": ["planted"]}))
    proc = run("query", str(family), GRANDPARENTS, ok=False, cwd=cwd)
    assert proc.returncode == 1 and "plugin 'planted' refused" in proc.stderr
    rules = write(cwd / "p.rules", '@plugin "planted" .\np(a).\n')
    (family / "kb.json").write_text(json.dumps(config))
    proc = run("rules", str(family), str(rules), "--trust", ok=False, cwd=cwd)
    assert proc.returncode == 1 and "plugin 'planted' refused" in proc.stderr
    assert not marker.exists()
