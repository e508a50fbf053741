"""Data loaded after an ontology is reasoned over: same process, reopened KB, and CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nesy
from nesy.ontologies.packs import is_template

OWL = "http://www.w3.org/2002/07/owl#"
TBOX = f"""@prefix ex: <http://e.org/#> . @prefix owl: <{OWL}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:anc a owl:TransitiveProperty . ex:Grad rdfs:subClassOf ex:Student .
"""
# The inverse property is declared only with the later data: its prp-inv copies must be
# made then, not at load_ontology time.
ABOX = f"""@prefix ex: <http://e.org/#> .
ex:a ex:anc ex:b . ex:b ex:anc ex:c . ex:x a ex:Grad .
ex:par <{OWL}inverseOf> ex:child . ex:p ex:par ex:q .
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "tbox.ttl").write_text(TBOX)
    (tmp_path / "abox.ttl").write_text(ABOX)
    return tmp_path / "tbox.ttl", tmp_path / "abox.ttl"


def _closure_checks(kb: nesy.KnowledgeBase) -> None:
    anc = {str(a["X"]) for a in kb.ask("?- <http://e.org/#anc>(<http://e.org/#a>, X).")}
    assert anc == {"http://e.org/#b", "http://e.org/#c"}
    [child] = kb.ask("?- <http://e.org/#child>(X, Y).")
    assert (str(child["X"]), str(child["Y"])) == ("http://e.org/#q", "http://e.org/#p")
    assert child.proof.rule.label in {"prp-inv1", "prp-inv2"}
    types = {str(a["C"]) for a in kb.ask("?- rdf:type(<http://e.org/#x>, C).")}
    assert "http://e.org/#Student" in types


def test_later_load_in_a_reopened_kb_is_reasoned_over(files: tuple[Path, Path], tmp_path: Path) -> None:
    tbox, abox = files
    with nesy.KnowledgeBase(tmp_path / "kb") as kb:
        kb.load_ontology(tbox)
    with nesy.KnowledgeBase(tmp_path / "kb") as kb:
        kb.load(abox)
        _closure_checks(kb)
        stored = {(str(s), str(p), str(o)) for s, p, o, _ in kb.triples("inferred")}
    assert ("http://e.org/#a", "http://e.org/#anc", "http://e.org/#c") in stored


def test_later_load_in_the_same_process(files: tuple[Path, Path]) -> None:
    tbox, abox = files
    kb = nesy.KnowledgeBase()
    kb.load_ontology(tbox)
    kb.load(abox)
    _closure_checks(kb)


def test_cli_query_sees_the_closure_after_a_plain_load(files: tuple[Path, Path], tmp_path: Path) -> None:
    tbox, abox = files
    kb = str(tmp_path / "kb")

    def nesy_cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    nesy_cli("init", kb)
    nesy_cli("load", kb, str(tbox), "--ontology")
    nesy_cli("load", kb, str(abox))
    out = nesy_cli("query", kb, "?- <http://e.org/#child>(X, Y).", "--format", "json")
    assert '"X": "ex:q"' in out and '"Y": "ex:p"' in out  # the file's prefix is remembered


def test_user_negation_over_classes_after_an_ontology(files: tuple[Path, Path], tmp_path: Path) -> None:
    # The pack's unexpanded templates (tpl:P) must not count in stratification: with them,
    # `not ex:takes` under a class head was a cycle through owl:sameAs and rdf:type.
    tbox, _ = files
    data = tmp_path / "takes.ttl"
    data.write_text("@prefix ex: <http://e.org/#> .\nex:a ex:takes ex:c1, ex:c2 .\n")
    rules = "@prefix ex: <http://e.org/#> .\nex:Idle(X) :- ex:takes(_, X), not ex:takes(X, _).\n"
    with nesy.KnowledgeBase(tmp_path / "kb") as kb:
        kb.load_ontology(tbox)
        kb.load(data)
        kb.add_rules(rules)
        idle = {str(a["X"]) for a in kb.ask("?- ex:Idle(X).")}
    assert idle == {"http://e.org/#c1", "http://e.org/#c2"}
    with nesy.KnowledgeBase(tmp_path / "kb") as kb:
        assert {str(a["X"]) for a in kb.ask("?- ex:Idle(X).")} == idle
        # The templates are still listed as the KB's rules; only the reasoner skips them.
        assert any(is_template(r) for r in kb.rules)
