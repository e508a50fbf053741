"""SPARQL 1.1 Update through ``kb.update`` (``nesy.store.update``): each form, provenance,
all or nothing (a failing update leaves the files byte for byte), refusals, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import URIRef

from nesy.cli.update import update as update_command
from nesy.errors import QueryError, QueryTimeout, StoreError
from nesy.kb import KnowledgeBase

EX = "http://ex.org/"
P = f"PREFIX ex: <{EX}>\n"


def rows(kb: KnowledgeBase, graph: str | None = None) -> set[tuple[str, str, str, str]]:
    """The KB's triples (``ex:`` names shortened) with their graph."""
    def short(t: object) -> str:
        return str(t).replace(EX, "ex:")
    return {(short(s), short(p), short(o), short(g)) for s, p, o, g in kb.triples(graph)}


def oxigraph_quads(kb: KnowledgeBase) -> set[str]:
    return {str(q) for q in kb.store.backend.native}


@pytest.fixture
def kb() -> KnowledgeBase:
    kb = KnowledgeBase()
    kb.update(P + "INSERT DATA { ex:a ex:p ex:b . ex:b ex:p ex:c . GRAPH ex:g1 { ex:a ex:q ex:x } }")
    return kb


def test_insert_and_delete_data_write_the_default_graph_and_named_graphs(kb: KnowledgeBase) -> None:
    assert rows(kb) == {("ex:a", "ex:p", "ex:b", "asserted"), ("ex:b", "ex:p", "ex:c", "asserted"),
                        ("ex:a", "ex:q", "ex:x", "ex:g1")}
    report = kb.update(P + "DELETE DATA { ex:a ex:p ex:b . GRAPH ex:g1 { ex:a ex:q ex:x } } ;\n"
                           "INSERT DATA { GRAPH ex:g2 { ex:z ex:p ex:z } }")
    assert (report.inserted, report.deleted) == (1, 2)
    assert report.graphs == {"http://ex.org/g2": [1, 0], "asserted": [0, 1], "http://ex.org/g1": [0, 1]}
    assert report.compared == []  # data only: no graph was compared
    assert rows(kb) == {("ex:b", "ex:p", "ex:c", "asserted"), ("ex:z", "ex:p", "ex:z", "ex:g2")}
    assert kb.named_graphs() == [EX + "g1", EX + "g2"]  # g1 is empty but still exists


def test_delete_insert_where_with_using_and_delete_where(kb: KnowledgeBase) -> None:
    report = kb.update(P + "DELETE { ?s ex:p ?o } INSERT { ?o ex:back ?s } WHERE { ?s ex:p ?o }")
    assert report.operations == ["MODIFY"] and report.compared == ["asserted"]
    assert rows(kb, "asserted") == {("ex:b", "ex:back", "ex:a", "asserted"), ("ex:c", "ex:back", "ex:b", "asserted")}
    kb.update(P + "WITH ex:g1 INSERT { ?s ex:r ?o } WHERE { ?s ex:q ?o }")
    assert ("ex:a", "ex:r", "ex:x", "ex:g1") in rows(kb)
    kb.update(P + "INSERT { GRAPH ex:g3 { ?s ex:copy ?o } } USING ex:g1 WHERE { ?s ex:q ?o }")
    assert rows(kb, EX + "g3") == {("ex:a", "ex:copy", "ex:x", "ex:g3")}
    kb.update(P + "DELETE WHERE { GRAPH ex:g1 { ?s ?p ?o } }")
    assert rows(kb, EX + "g1") == set()


def test_graph_management_clear_drop_create_add_move_copy(kb: KnowledgeBase) -> None:
    kb.update(P + "CREATE GRAPH ex:empty")
    assert EX + "empty" in kb.named_graphs()
    found = kb.sparql("SELECT ?g WHERE { GRAPH ?g { } }")
    assert {str(r["g"]) for r in found} == {EX + "g1", EX + "empty"}
    with pytest.raises(QueryError, match="already exists"):
        kb.update(P + "CREATE GRAPH ex:empty")
    kb.update(P + "COPY DEFAULT TO ex:g2 ; ADD ex:g1 TO ex:g2 ; MOVE ex:g1 TO ex:g4")
    assert rows(kb, EX + "g2") == {("ex:a", "ex:p", "ex:b", "ex:g2"), ("ex:b", "ex:p", "ex:c", "ex:g2"),
                                   ("ex:a", "ex:q", "ex:x", "ex:g2")}
    assert rows(kb, EX + "g4") == {("ex:a", "ex:q", "ex:x", "ex:g4")} and EX + "g1" not in kb.named_graphs()
    kb.update(P + "CLEAR GRAPH ex:g2 ; DROP GRAPH ex:empty")
    assert rows(kb, EX + "g2") == set() and kb.named_graphs() == [EX + "g2", EX + "g4"]
    kb.update("DROP NAMED")
    assert kb.named_graphs() == [] and len(rows(kb, "asserted")) == 2
    kb.update("CLEAR ALL")
    assert len(kb) == 0
    with pytest.raises(QueryError, match="does not exist"):
        kb.update(P + "DROP GRAPH ex:nowhere")
    kb.update(P + "DROP SILENT GRAPH ex:nowhere")


def test_load_reads_a_local_file_only_when_allowed(tmp_path: Path) -> None:
    data = tmp_path / "more.ttl"
    data.write_text(f"@prefix ex: <{EX}> .\nex:l1 ex:p [ ex:q ex:l2 ] .\n")
    kb = KnowledgeBase()
    with pytest.raises(QueryError, match="allow_load=True") as info:
        kb.update(f"LOAD <{data.as_uri()}>")
    assert info.value.line == 1 and len(kb) == 0
    kb.update(f"LOAD <{data.as_uri()}> INTO GRAPH <{EX}loaded>", allow_load=True)
    assert len(rows(kb, EX + "loaded")) == 2
    with pytest.raises(QueryError, match="only local file"):
        kb.update("LOAD <http://example.org/remote.ttl>", allow_load=True)
    kb.update("LOAD SILENT <http://example.org/remote.ttl>", allow_load=True)
    with pytest.raises(QueryError, match="failed"):
        kb.update(f"LOAD <{(tmp_path / 'missing.ttl').as_uri()}>", allow_load=True)
    assert len(kb) == 2


def test_new_triples_carry_an_update_source_with_its_time(kb: KnowledgeBase) -> None:
    kb.update(P + "INSERT { ?s ex:seen true } WHERE { ?s ex:p ex:b }")
    (prov,) = kb.provenance(URIRef(EX + "a"), URIRef(EX + "seen"), _true())
    assert prov["graph"] == "asserted" and "ex:seen true" in prov["source"]["extra"]["update"]
    src = kb.store.sources[-1]
    assert src.kind == "sparql-update" and src.created[:2] == "20"
    (named,) = kb.provenance(URIRef(EX + "a"), URIRef(EX + "q"), URIRef(EX + "x"))
    assert named["graph"] == EX + "g1" and kb.store.source(len(kb.store.sources) - 2).kind == "sparql-update"


def _true() -> object:
    from rdflib import Literal
    from rdflib.namespace import XSD

    return Literal("true", datatype=XSD.boolean)


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file nesy commits, byte for byte (Oxigraph's own files excluded)."""
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


@pytest.mark.parametrize("bad", [
    P + "INSERT DATA { ex:n1 ex:p ex:n2 } ;\nINSERT DATA { ex:n3 ex:p }",  # syntax error in the second
    P + "INSERT DATA { ex:n1 ex:p ex:n2 } ;\nDROP GRAPH ex:nowhere",  # fails while Oxigraph runs it
    P + "INSERT { GRAPH ?g { ?s ex:p ex:new } } WHERE { GRAPH ?g { ?s ?p ?o } }",  # would write inferred
    P + "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } }",  # would empty inferred
    P + "INSERT DATA { GRAPH <urn:nesy:graph:inferred> { ex:n1 ex:p ex:n2 } }",  # names it
])
def test_a_failing_update_changes_nothing_byte_for_byte(tmp_path: Path, bad: str) -> None:
    rules = tmp_path / "r.rules"
    rules.write_text(f"@prefix ex: <{EX}> .\nex:r(X, Y) :- ex:p(X, Y).\n")
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.update(P + "INSERT DATA { ex:a ex:p ex:b . GRAPH ex:g1 { ex:a ex:q ex:x } }")
        kb.add_rules(rules)
        kb.materialize()
        assert kb.store.count("inferred") == 1
    before = snapshot(tmp_path / "kb")
    with KnowledgeBase(tmp_path / "kb") as kb:
        quads = oxigraph_quads(kb)
        with pytest.raises(QueryError):
            kb.update(bad)
        assert oxigraph_quads(kb) == quads and len(kb) == 3
    assert snapshot(tmp_path / "kb") == before


def test_errors_name_line_and_column_and_apply_nothing(kb: KnowledgeBase) -> None:
    before = rows(kb)
    with pytest.raises(QueryError) as info:
        kb.update(P + "INSERT DATA { ex:n ex:p ex:m } ;\nDELETE WHERE { ?s ?p }")
    assert (info.value.line, info.value.column) == (3, 22) and rows(kb) == before
    with pytest.raises(QueryError, match="does not close") as info:
        kb.update('INSERT DATA { <http://a> <http://b> "open }')
    assert info.value.line == 1
    with pytest.raises(QueryError, match="inferred graph is written only by nesy") as info:
        kb.update(P + "\nCLEAR GRAPH <urn:nesy:graph:inferred>")
    assert info.value.line == 3
    with pytest.raises(QueryError, match="default graph: write it without GRAPH"):
        kb.update(P + "INSERT DATA { GRAPH <urn:nesy:graph:asserted> { ex:a ex:p ex:z } }")
    with pytest.raises(QueryError, match="SERVICE"):
        kb.update(P + "INSERT { ?s ex:p ?o } WHERE { SERVICE <http://example.org/sparql> { ?s ex:p ?o } }")
    assert rows(kb) == before


def test_timeout_undoes_the_update(kb: KnowledgeBase) -> None:
    before, quads = rows(kb), oxigraph_quads(kb)
    with pytest.raises(QueryTimeout, match="nothing was changed"):
        kb.update(P + "INSERT { ?s ex:t ?o } WHERE { ?s ?p ?o }", timeout=1e-9)
    assert rows(kb) == before and oxigraph_quads(kb) == quads


def test_a_read_only_kb_refuses_updates(tmp_path: Path) -> None:
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.update(P + "INSERT DATA { ex:a ex:p ex:b }")
    with KnowledgeBase(tmp_path / "kb", read_only=True) as kb, pytest.raises(StoreError, match="read-only"):
        kb.update(P + "INSERT DATA { ex:c ex:p ex:d }")


def test_updates_mark_derived_facts_stale_and_rules_see_them(tmp_path: Path) -> None:
    rules = tmp_path / "r.rules"
    rules.write_text(f"@prefix ex: <{EX}> .\nex:anc(X, Y) :- ex:par(X, Y).\nex:anc(X, Z) :- ex:par(X, Y), ex:anc(Y, Z).\n")
    kb = KnowledgeBase()
    kb.update(P + "INSERT DATA { ex:a ex:par ex:b }")
    kb.add_rules(rules)
    assert len(kb.ask("?- ex:anc(ex:a, X).")) == 1
    kb.update(P + "INSERT DATA { ex:b ex:par ex:c }")
    assert kb.config["inferred_stale"] is True
    assert len(kb.ask("?- ex:anc(ex:a, X).")) == 2
    # One removed and one added: the reasoner takes the old fact back.
    kb.update(P + "DELETE { ex:b ex:par ?x } INSERT { ex:b ex:par ex:d } WHERE { ex:b ex:par ?x }")
    assert sorted(str(a.bindings["X"]) for a in kb.ask("?- ex:anc(ex:a, X).")) == [EX + "b", EX + "d"]
    kb.update(P + "DELETE WHERE { ex:a ex:par ?x }")
    assert len(kb.ask("?- ex:anc(ex:a, X).")) == 0
    assert len(kb.sparql(P + "SELECT ?x WHERE { ex:b ex:anc ?x }")) == 1  # refreshed before answering


def test_the_update_command(tmp_path: Path) -> None:
    runner = CliRunner()
    with KnowledgeBase(tmp_path / "kb"):
        pass
    out = runner.invoke(update_command, [str(tmp_path / "kb"), P + "INSERT DATA { GRAPH ex:g { ex:a ex:p ex:b } }"])
    assert out.exit_code == 0 and "1 inserted, 0 deleted" in out.output
    request = tmp_path / "u.ru"
    request.write_text(P + "DELETE WHERE { GRAPH ex:g { ?s ?p ?o } }")
    out = runner.invoke(update_command, [str(tmp_path / "kb"), "--file", str(request), "--format", "json"])
    assert out.exit_code == 0 and json.loads(out.output)["deleted"] == 1
    out = runner.invoke(update_command, [str(tmp_path / "kb"), "INSERT DATA { <http://a> }"])
    assert out.exit_code == 1 and "SPARQL syntax error" in out.output and ":1:" in out.output
    out = runner.invoke(update_command, [str(tmp_path / "kb"), f"LOAD <{request.as_uri()}>"])
    assert out.exit_code == 1 and "--allow-load" in out.output
    with KnowledgeBase(tmp_path / "kb", read_only=True) as kb:
        assert len(kb) == 0 and kb.named_graphs() == [EX + "g"]


def test_oxigraph_default_graph_is_the_asserted_data(kb: KnowledgeBase) -> None:
    native = kb.store.backend.native
    default = {str(q.subject) for q in native.quads_for_pattern(None, None, None, ox.DefaultGraph())}
    assert default == {f"<{EX}a>", f"<{EX}b>"}
    assert not list(native.quads_for_pattern(None, None, None, ox.NamedNode("urn:nesy:graph:asserted")))


CRASHING_UPDATE = """
import sys
from nesy.kb import KnowledgeBase
with KnowledgeBase(sys.argv[1]) as kb:
    kb.update(sys.argv[2])
"""


@pytest.mark.parametrize("request_text", [
    # Reads as writing the default graph and ex:g2 only.
    P + "DELETE { ?s ex:p ?o } INSERT { GRAPH ex:g2 { ?s ex:p ?o } } WHERE { ?s ex:p ?o }",
    # May write any graph: every graph is journalled, and graphs it created are dropped.
    P + 'INSERT { GRAPH ?g { ?s ex:seen ?o } } WHERE { ?s ex:p ?o BIND(IRI(CONCAT(STR(?o), "/g")) AS ?g) }',
])
@pytest.mark.parametrize("point", ["after-oxigraph", "before-manifest"])
def test_a_kill_during_an_update_leaves_the_kb_as_before(tmp_path: Path, request_text: str, point: str) -> None:
    import os
    import subprocess
    import sys

    from nesy.store.check import check_store

    path = tmp_path / "kb"
    with KnowledgeBase(path) as kb:
        kb.update(P + "INSERT DATA { ex:a ex:p ex:b . ex:b ex:p ex:c . GRAPH ex:g1 { ex:a ex:q ex:x } }")
        before = rows(kb), kb.named_graphs(), oxigraph_quads(kb)
    proc = subprocess.run([sys.executable, "-c", CRASHING_UPDATE, str(path), request_text], capture_output=True,
                          env={**os.environ, "NESY_CRASH_AT": point}, timeout=120)
    assert proc.returncode == -9, proc.stderr
    with KnowledgeBase(path) as kb:
        assert (rows(kb), kb.named_graphs(), oxigraph_quads(kb)) == before
        kb.update(request_text)  # and the next command works
        assert len(kb.named_graphs()) > 1
    assert check_store(path).remaining == []


def test_the_graphs_an_update_may_write_are_read_from_its_text() -> None:
    from nesy.store.update_text import DEFAULT, read_update

    ops = read_update(P + "WITH ex:w DELETE { ?s ?p ?o } INSERT { GRAPH ex:g { ?s ?p ?o } } WHERE { ?s ?p ?o } ;\n"
                          "DELETE { GRAPH ?g { ?s ?p ?o } } INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } } ;\n"
                          "INSERT DATA { ex:a ex:p ex:b . GRAPH <http://ex.org/h> { ex:a ex:p ex:b } } ;\n"
                          "BASE <http://ex.org/> MOVE DEFAULT TO <m> ; COPY GRAPH ex:g TO DEFAULT ; CLEAR NAMED",
                      {}, None)
    assert [op.kind for op in ops] == ["MODIFY", "MODIFY", "INSERT DATA", "MOVE", "COPY", "CLEAR"]
    assert ops[0].writes == {EX + "w", EX + "g"} and not ops[0].any_graph
    assert ops[1].any_graph  # GRAPH ?g in the first template, a plain one in the second
    assert ops[2].writes == {DEFAULT, EX + "h"}
    assert ops[3].writes == {DEFAULT, EX + "m"} and ops[4].writes == {DEFAULT} and ops[4].source == EX + "g"
    assert ops[5].scope == "NAMED" and ops[5].any_graph
