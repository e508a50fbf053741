"""``nesy remove DIR FILE|--pattern S P O``: triples go, derived ones follow, errors are one line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from rdflib import URIRef

from nesy.cli.remove import remove
from nesy.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
FAMILY = ROOT / "examples" / "family"
FAM = "http://example.org/family#"


def _make_kb(path: Path) -> str:
    with KnowledgeBase(path) as kb:
        kb.load(FAMILY / "family.ttl")
        kb.add_rules(FAMILY / "family.rules")
        kb.materialize()
    return str(path)


def _has(kb: KnowledgeBase, s: str, p: str, o: str, graph: str) -> bool:
    return (URIRef(FAM + s), URIRef(FAM + p), URIRef(FAM + o)) in {t[:3] for t in kb.triples(graph)}


def test_remove_a_file_then_a_pattern(tmp_path: Path) -> None:
    kb_dir = _make_kb(tmp_path / "kb")
    data = tmp_path / "gone.ttl"
    data.write_text("@prefix fam: <http://example.org/family#> .\nfam:bob fam:parent fam:cid .\n")
    result = CliRunner().invoke(remove, [kb_dir, str(data)])
    assert result.exit_code == 0, result.output
    assert f"{data}: 1 triples removed from asserted" in result.output
    assert "inferred triples" in result.output
    with KnowledgeBase(kb_dir, read_only=True) as kb:
        assert not _has(kb, "bob", "parent", "cid", "asserted")
        assert not _has(kb, "ann", "grandparent", "cid", "inferred")
        assert _has(kb, "ann", "grandparent", "cora", "inferred")
    result = CliRunner().invoke(remove, [kb_dir, "--pattern", "_", "fam:parent", "fam:cora"])
    assert result.exit_code == 0, result.output
    assert "2 triples matching _ fam:parent fam:cora removed from asserted" in result.output
    with KnowledgeBase(kb_dir, read_only=True) as kb:
        assert not _has(kb, "ann", "grandparent", "cora", "inferred")
        assert not _has(kb, "bob", "ancestor", "cora", "inferred")
        assert _has(kb, "ann", "grandparent", "dan", "inferred")


def test_without_materialize_the_inferred_graph_waits(tmp_path: Path) -> None:
    kb_dir = _make_kb(tmp_path / "kb")
    result = CliRunner().invoke(remove, [kb_dir, "--pattern", "fam:beth", "fam:parent", "fam:dan", "--no-materialize"])
    assert result.exit_code == 0, result.output
    with KnowledgeBase(kb_dir) as kb:
        assert kb.config["inferred_stale"] and _has(kb, "ann", "grandparent", "dan", "inferred")
        kb.materialize()
        assert not _has(kb, "ann", "grandparent", "dan", "inferred")


def test_errors_are_one_line_and_change_nothing(tmp_path: Path) -> None:
    kb_dir = _make_kb(tmp_path / "kb")
    result = CliRunner().invoke(remove, [kb_dir])
    assert result.exit_code == 2 and "give data FILES or --pattern" in result.output
    result = CliRunner().invoke(remove, [kb_dir, "--pattern", "fam:ann", "fam:grandparent", "_", "-g", "inferred"])
    assert result.exit_code == 1
    assert result.output.startswith("error: the inferred graph holds derived triples") and "Traceback" not in result.output
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix fam: <http://example.org/family#> .\nfam:bob fam:parent .\n")
    result = CliRunner().invoke(remove, [kb_dir, str(bad)])
    assert result.exit_code == 1 and result.output.startswith("error: ")
    with KnowledgeBase(kb_dir, read_only=True) as kb:
        assert _has(kb, "bob", "parent", "cid", "asserted") and _has(kb, "ann", "grandparent", "dan", "inferred")
