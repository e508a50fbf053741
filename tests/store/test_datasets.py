"""Users' named graphs: loading into them, the query dataset (default graph, ``GRAPH ?g``,
``FROM``/``FROM NAMED``, one provenance kind), TriG/N-Quads graphs kept, persistence and
crash safety of new graphs, and the move of an old KB's asserted data to the default graph."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from nesy.errors import StoreError
from nesy.kb import KnowledgeBase
from nesy.store import commit
from nesy.store.check import check_store

EX = "http://ex.org/"
G1, G2 = EX + "g1", EX + "g2"


def ttl(path: Path, body: str) -> Path:
    path.write_text(f"@prefix ex: <{EX}> .\n{body}\n")
    return path


def select(kb: KnowledgeBase, query: str, **kw: object) -> list[tuple[str, ...]]:
    """Sorted result rows, ``ex:`` names shortened."""
    found = kb.sparql(f"PREFIX ex: <{EX}>\n{query}", **kw)
    return sorted(tuple(str(row.bindings.get(v, "")).replace(EX, "ex:") for v in found.variables) for row in found)


@pytest.fixture
def two_graphs(tmp_path: Path) -> KnowledgeBase:
    """A KB with asserted data and two user graphs that share one triple."""
    kb = KnowledgeBase()
    kb.load(ttl(tmp_path / "base.ttl", "ex:a ex:knows ex:b ."))
    kb.load(ttl(tmp_path / "one.ttl", "ex:a ex:likes ex:c . ex:shared ex:p ex:o ."), graph=G1)
    kb.load(ttl(tmp_path / "two.ttl", "ex:d ex:likes ex:e . ex:shared ex:p ex:o ."), graph=G2, score=0.5)
    return kb


def test_graph_over_two_user_graphs(two_graphs: KnowledgeBase) -> None:
    assert select(two_graphs, "SELECT ?g ?s ?o WHERE { GRAPH ?g { ?s ex:likes ?o } }") == [
        ("ex:g1", "ex:a", "ex:c"), ("ex:g2", "ex:d", "ex:e")]
    assert select(two_graphs, "SELECT ?g WHERE { GRAPH ?g { ex:shared ex:p ex:o } }") == [("ex:g1",), ("ex:g2",)]
    assert select(two_graphs, "SELECT ?g WHERE { GRAPH ?g { } }") == [("ex:g1",), ("ex:g2",)]
    # The default graph is the asserted data (and nesy's other provenance kinds), not the users' graphs.
    assert select(two_graphs, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }") == [("ex:a", "ex:knows", "ex:b")]
    assert select(two_graphs, f"SELECT ?s WHERE {{ GRAPH <{G2}> {{ ?s ex:likes ?o }} }}") == [("ex:d",)]


def test_user_graphs_are_counted_listed_and_named_in_provenance(two_graphs: KnowledgeBase) -> None:
    kb = two_graphs
    assert kb.named_graphs() == [G1, G2]
    stats = kb.stats()["graphs"]
    assert stats["asserted"] == 1 and stats[G1] == 2 and stats[G2] == 2 and stats["inferred"] == 0
    from rdflib import URIRef

    prov = kb.provenance(URIRef(EX + "shared"), URIRef(EX + "p"), URIRef(EX + "o"))
    assert [(p["graph"], p["score"]) for p in prov] == [(G1, 1.0), (G2, 0.5)]
    assert {kb.store.source(s).kind for s in kb.store.table.src} == {"asserted"}  # their provenance
    assert kb.store.count(G2) == 2 and kb.store.count(EX + "none") == 0
    with pytest.raises(StoreError, match="unknown graph"):
        kb.load(Path("x.ttl"), graph="inferrred")
    with pytest.raises(StoreError, match="reserved"):
        kb.store.add_triples([(URIRef(EX + "a"), URIRef(EX + "b"), URIRef(EX + "c"))], "urn:nesy:graph:mine")


def test_from_and_from_named_and_one_provenance_kind(two_graphs: KnowledgeBase, tmp_path: Path) -> None:
    kb = two_graphs
    assert select(kb, f"SELECT ?s ?o FROM <{G1}> WHERE {{ ?s ex:likes ?o }}") == [("ex:a", "ex:c")]
    assert select(kb, f"SELECT ?s FROM <{G1}> FROM <{G2}> WHERE {{ ?s ex:likes ?o }}") == [("ex:a",), ("ex:d",)]
    assert select(kb, f"SELECT ?g ?s FROM NAMED <{G2}> WHERE {{ GRAPH ?g {{ ?s ex:likes ?o }} }}") == [
        ("ex:g2", "ex:d")]
    assert select(kb, f"SELECT ?s ?p FROM <urn:nesy:graph:asserted> FROM <{G2}> WHERE {{ ?s ?p ?o }}") == [
        ("ex:a", "ex:knows"), ("ex:d", "ex:likes"), ("ex:shared", "ex:p")]
    rules = tmp_path / "r.rules"
    rules.write_text(f"@prefix ex: <{EX}> .\nex:friend(X, Y) :- ex:knows(X, Y).\n")
    kb.add_rules(rules)
    assert select(kb, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", graph="inferred") == [("ex:a", "ex:friend", "ex:b")]
    assert select(kb, "SELECT ?s ?o FROM <urn:nesy:graph:inferred> WHERE { ?s ex:friend ?o }") == [("ex:a", "ex:b")]
    assert select(kb, "SELECT ?s WHERE { ?s ex:likes ?o }", graph=G2) == [("ex:d",)]
    # nesy's provenance graphs are never named graphs of the query.
    assert select(kb, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }") == [("ex:g1",), ("ex:g2",)]


def test_union_default_graph_setting(two_graphs: KnowledgeBase) -> None:
    kb = two_graphs
    kb.store.union_default_graph = True
    assert select(kb, "SELECT DISTINCT ?s WHERE { ?s ?p ?o }") == [("ex:a",), ("ex:d",), ("ex:shared",)]


def test_trig_and_nquads_keep_their_graphs(tmp_path: Path) -> None:
    trig = tmp_path / "data.trig"
    trig.write_text(f"@prefix ex: <{EX}> .\nex:g1 {{ ex:a ex:p ex:b }}\n{{ ex:c ex:p ex:d }}\n"
                    "_:anon { ex:e ex:p ex:f }\n")
    nq = tmp_path / "data.nq"
    nq.write_text(f"<{EX}x> <{EX}p> <{EX}y> <{G2}> .\n<{EX}x> <{EX}p> <{EX}z> .\n")
    kb = KnowledgeBase()
    kb.load(trig)
    kb.load(nq, graph=EX + "target")
    got = {(str(s).replace(EX, ""), g) for s, _, _, g in kb.triples()}
    assert got == {("a", G1), ("c", "asserted"), ("e", "asserted"), ("x", G2), ("x", EX + "target")}
    from rdflib import URIRef

    (anon,) = kb.provenance(URIRef(EX + "e"), URIRef(EX + "p"), URIRef(EX + "f"))
    assert anon["source"]["graph_in_file"]  # a blank-node graph name is kept as where it came from
    out = tmp_path / "all.nq"
    kb.export(out, format="nquads")
    again = KnowledgeBase()
    again.load(out)
    assert set(again.named_graphs()) == {G1, G2, EX + "target"}
    assert again.stats()["graphs"][G2] == 1


def test_user_graphs_survive_reopening_and_check_store(tmp_path: Path) -> None:
    path = tmp_path / "kb"
    with KnowledgeBase(path) as kb:
        kb.load(ttl(tmp_path / "one.ttl", "ex:a ex:likes ex:c ."), graph=G1)
        # A graph created and dropped by one update never existed for the KB; g3 did.
        kb.update(f"CREATE GRAPH <{G2}> ; INSERT DATA {{ GRAPH <{EX}g3> {{ <{EX}a> <{EX}p> <{EX}b> }} }} ; "
                  f"CREATE GRAPH <{EX}g4> ; DROP GRAPH <{EX}g4>")
        kb.update(f"DROP GRAPH <{EX}g3>")
    manifest = commit.read_manifest(path)
    assert manifest["asserted_graph"] == "default"
    assert manifest["user_graphs"] == [{"iri": G1, "live": True}, {"iri": G2, "live": True},
                                       {"iri": EX + "g3", "live": False}]
    with KnowledgeBase(path, read_only=True) as kb:
        assert kb.named_graphs() == [G1, G2]
        assert select(kb, "SELECT ?g ?s WHERE { GRAPH ?g { ?s ?p ?o } }") == [("ex:g1", "ex:a")]
    report = check_store(path)
    assert report.remaining == [] and report.graphs[G1] == {"table": 1, "oxigraph": 1}
    # A quad in a user graph without a row is found, and repaired.
    db = ox.Store(str(path / "oxigraph"))
    db.add(ox.Quad(ox.NamedNode(EX + "x"), ox.NamedNode(EX + "y"), ox.NamedNode(EX + "z"), ox.NamedNode(G1)))
    del db
    assert [p.where for p in check_store(path).remaining] == [f"oxigraph graph {G1}"]
    assert check_store(path, repair=True).remaining == []
    with KnowledgeBase(path) as kb:
        assert kb.store.count(G1) == 1 and kb.named_graphs() == [G1, G2]


CRASHING_LOAD = """
import sys
from nesy.kb import KnowledgeBase
with KnowledgeBase(sys.argv[1]) as kb:
    kb.load(sys.argv[2], graph=sys.argv[3])
"""


@pytest.mark.parametrize(("point", "kept"), [("after-oxigraph", False), ("before-manifest", False),
                                             ("after-manifest", True)])
def test_a_kill_while_creating_a_user_graph_leaves_it_whole_or_absent(tmp_path: Path, point: str, kept: bool) -> None:
    path = tmp_path / "kb"
    with KnowledgeBase(path) as kb:
        kb.load(ttl(tmp_path / "base.ttl", "ex:a ex:p ex:b ."))
    data = ttl(tmp_path / "new.ttl", "ex:n1 ex:p ex:n2 . ex:n2 ex:p ex:n3 .")
    proc = subprocess.run([sys.executable, "-c", CRASHING_LOAD, str(path), str(data), G1], capture_output=True,
                          env={**os.environ, "NESY_CRASH_AT": point}, timeout=120)
    assert proc.returncode == -9, proc.stderr
    with KnowledgeBase(path) as kb:  # recovers
        assert kb.named_graphs() == ([G1] if kept else [])
        assert kb.store.count(G1) == (2 if kept else 0) and kb.store.count("asserted") == 1
        assert (ox.NamedNode(G1) in set(kb.store.backend.native.named_graphs())) == kept
    assert check_store(path).remaining == []


def _to_old_layout(path: Path) -> None:
    """Make a KB look like one written before users' graphs: the asserted data in the named
    graph ``urn:nesy:graph:asserted`` and a manifest without the graph registry."""
    db = ox.Store(str(path / "oxigraph"))
    old = ox.NamedNode("urn:nesy:graph:asserted")
    quads = list(db.quads_for_pattern(None, None, None, ox.DefaultGraph()))
    db.bulk_extend([ox.Quad(q.subject, q.predicate, q.object, old) for q in quads])
    db.remove_graph(ox.DefaultGraph())
    db.flush()
    del db
    body = commit.read_manifest(path)
    for key in ("asserted_graph", "user_graphs", "checksum", "format"):
        body.pop(key)
    commit.write_manifest(path, body)


def test_an_old_kb_is_read_as_it_is_and_moved_on_its_first_writable_open(tmp_path: Path) -> None:
    path = tmp_path / "kb"
    with KnowledgeBase(path) as kb:
        kb.load(ttl(tmp_path / "base.ttl", "ex:a ex:p ex:b . ex:b ex:p ex:c ."))
    _to_old_layout(path)
    manifest = commit.read_manifest(path)
    with KnowledgeBase(path, read_only=True) as kb:
        assert select(kb, "SELECT ?s WHERE { ?s ex:p ?o }") == [("ex:a",), ("ex:b",)]
    assert commit.read_manifest(path) == manifest  # reading changed nothing
    assert check_store(path).remaining == []
    with KnowledgeBase(path) as kb:
        native = kb.store.backend.native
        assert len(list(native.quads_for_pattern(None, None, None, ox.DefaultGraph()))) == 2
        assert not list(native.quads_for_pattern(None, None, None, ox.NamedNode("urn:nesy:graph:asserted")))
        assert select(kb, "SELECT ?s WHERE { ?s ex:p ?o }") == [("ex:a",), ("ex:b",)]
        kb.update(f"PREFIX ex: <{EX}> DELETE DATA {{ ex:a ex:p ex:b }}")
        assert len(kb) == 1
    moved = commit.read_manifest(path)
    assert moved["asserted_graph"] == "default" and moved["generation"] > manifest["generation"]
    assert check_store(path).remaining == []


def test_a_kill_while_moving_an_old_kb_is_finished_by_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "kb"
    with KnowledgeBase(path) as kb:
        kb.load(ttl(tmp_path / "base.ttl", "ex:a ex:p ex:b . ex:b ex:p ex:c ."))
    _to_old_layout(path)
    opener = "import sys\nfrom nesy.kb import KnowledgeBase\nKnowledgeBase(sys.argv[1]).close()\n"
    for point in ("after-oxigraph", "before-manifest"):
        proc = subprocess.run([sys.executable, "-c", opener, str(path)], capture_output=True,
                              env={**os.environ, "NESY_CRASH_AT": point}, timeout=120)
        assert proc.returncode == -9, proc.stderr
        assert "asserted_graph" not in commit.read_manifest(path)
    with KnowledgeBase(path, read_only=True) as kb:  # recovers through a short writable open
        assert select(kb, "SELECT ?s WHERE { ?s ex:p ?o }") == [("ex:a",), ("ex:b",)]
    assert commit.read_manifest(path)["asserted_graph"] == "default"
    assert check_store(path).remaining == []


def test_rules_see_every_graph(tmp_path: Path) -> None:
    kb = KnowledgeBase()
    kb.load(ttl(tmp_path / "base.ttl", "ex:a ex:par ex:b ."))
    kb.load(ttl(tmp_path / "more.ttl", "ex:b ex:par ex:c ."), graph=G1)
    rules = tmp_path / "anc.rules"
    rules.write_text(f"@prefix ex: <{EX}> .\nex:anc(X, Y) :- ex:par(X, Y).\nex:anc(X, Z) :- ex:par(X, Y), ex:anc(Y, Z).\n")
    kb.add_rules(rules)
    answers = kb.ask("?- ex:anc(ex:a, X).")
    assert sorted(str(a.bindings["X"]) for a in answers) == [EX + "b", EX + "c"]
    leaves = [leaf for a in answers for leaf in a.proof.leaves()]
    assert len(leaves) == 3 and {leaf.kind for leaf in leaves} == {"asserted"}  # a user graph's rows are asserted
    assert EX + "g1" in {str(leaf.source.get("graph")) for leaf in leaves if isinstance(leaf.source, dict)}
    # Derived facts go to inferred, whatever graphs their premises were in.
    kb.materialize()
    assert kb.store.count("inferred") == 3 and kb.store.count(G1) == 1


def test_many_user_graphs_score_their_rows() -> None:
    kb = KnowledgeBase()
    quads = " ".join(f"GRAPH <{EX}g{i}> {{ <{EX}a> <{EX}p> <{EX}b{i}> }}" for i in range(20))
    kb.update(f"INSERT DATA {{ {quads} }}")
    found = kb.sparql(f"SELECT ?g ?o WHERE {{ GRAPH ?g {{ <{EX}a> <{EX}p> ?o }} }}")
    assert len(found) == 20 and all(row.matched and row.matched[0][3] == str(row["g"]) for row in found)
    assert len(kb.named_graphs()) == 20 and max(kb.store.table.g) == 24
