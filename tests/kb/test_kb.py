"""KnowledgeBase: loading every format, atomic loads, persistence and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef

from nesy.errors import LoadError, StoreError
from nesy.kb import KnowledgeBase

EX = "http://ex.org/"
TTL = f"@prefix ex: <{EX}> .\nex:a ex:p ex:b .\nex:b ex:p ex:c .\nex:c ex:age 3 .\n"
FORMS = {
    "data.ttl": TTL,
    "data.nt": f"<{EX}a> <{EX}p> <{EX}b> .\n<{EX}b> <{EX}p> <{EX}c> .\n<{EX}c> <{EX}age> \"3\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n",
    "data.nq": f"<{EX}a> <{EX}p> <{EX}b> <{EX}g1> .\n<{EX}b> <{EX}p> <{EX}c> <{EX}g2> .\n<{EX}c> <{EX}age> \"3\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n",
    "data.trig": f"@prefix ex: <{EX}> .\nex:g1 {{ ex:a ex:p ex:b . ex:b ex:p ex:c . }}\n{{ ex:c ex:age 3 }}\n",
    "data.rdf": f"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="{EX}">
  <rdf:Description rdf:about="{EX}a"><ex:p rdf:resource="{EX}b"/></rdf:Description>
  <rdf:Description rdf:about="{EX}b"><ex:p rdf:resource="{EX}c"/></rdf:Description>
  <rdf:Description rdf:about="{EX}c"><ex:age rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">3</ex:age></rdf:Description>
</rdf:RDF>
""",
    "data.jsonld": json.dumps({
        "@context": {"ex": EX},
        "@graph": [
            {"@id": "ex:a", "ex:p": {"@id": "ex:b"}},
            {"@id": "ex:b", "ex:p": {"@id": "ex:c"}},
            {"@id": "ex:c", "ex:age": 3},
        ],
    }),
}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_rdf_format_loads_the_same_triples(tmp_path: Path, name: str) -> None:
    f = tmp_path / name
    f.write_text(FORMS[name])
    kb = KnowledgeBase()
    report = kb.load(f)
    assert report.added == 3 and len(kb) == 3
    rows, scores = kb.encoded(URIRef(EX + "p"))
    assert rows.shape == (2, 2) and np.all(scores == 1.0)
    got = {(str(s), str(p), str(o)) for s, p, o, _ in kb.triples()}
    assert (EX + "c", EX + "age", "3") in got


def test_owl_file_in_rdfxml_is_sniffed(tmp_path: Path) -> None:
    f = tmp_path / "onto.owl"
    f.write_text(FORMS["data.rdf"])
    assert KnowledgeBase().load(f).format == "rdfxml"


def test_quad_files_keep_their_graph_names_in_sources(tmp_path: Path) -> None:
    f = tmp_path / "data.trig"
    f.write_text(FORMS["data.trig"])
    kb = KnowledgeBase()
    kb.load(f)
    prov = kb.provenance(URIRef(EX + "a"), URIRef(EX + "p"), URIRef(EX + "b"))
    assert prov[0]["graph"] == EX + "g1"
    assert prov[0]["source"]["graph"] == EX + "g1" and prov[0]["source"]["file"].endswith("data.trig")
    assert kb.named_graphs() == [EX + "g1"]


def test_tsv_namespace_is_remembered(tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text("/m/01\t/people/parent\t/m/02\nann\tparent\tbob\n")
    (tmp_path / "test.tsv").write_text("bob\tparent\tcid\n")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.load(tmp_path / "train.tsv", namespace="http://kg.org/")
    kb.close()
    kb = KnowledgeBase(tmp_path / "kb")
    kb.load(tmp_path / "test.tsv")  # no namespace: the remembered one
    names = {str(s) for s, _, _, _ in kb.triples()}
    assert {"http://kg.org/bob", "http://kg.org/ann", "http://kg.org/%2Fm%2F01"} <= names
    kb.close()


def test_tsv_error_names_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.tsv"
    f.write_text("a\tr\tb\nc\tr\n")
    kb = KnowledgeBase()
    with pytest.raises(LoadError, match=r"bad.tsv:2:1: expected head<TAB>relation<TAB>tail"):
        kb.load(f, namespace="http://kg.org/")
    assert len(kb) == 0


def test_failed_load_changes_nothing(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    good = tmp_path / "good.ttl"
    good.write_text(TTL)
    kb.load(good)
    before = (len(kb), len(kb.vocab), len(kb.store.sources), kb.stats())
    bad = tmp_path / "bad.ttl"
    bad.write_text(f"@prefix ex: <{EX}> .\nex:new ex:q ex:thing .\nex:x ex:y \"unterminated .\n")
    with pytest.raises(LoadError) as info:
        kb.load(bad)
    assert info.value.line == 3
    assert (len(kb), len(kb.vocab), len(kb.store.sources), kb.stats()) == before
    kb.close()
    kb = KnowledgeBase(tmp_path / "kb")
    assert (len(kb), len(kb.vocab), len(kb.store.sources)) == before[:3]
    assert URIRef(EX + "new") not in kb.vocab
    kb.close()


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("missing.ttl", {}, "no such file"),
        ("data.xyz", {}, "cannot tell the format"),
        ("data.ttl", {"format": "yaml"}, "unknown format 'yaml'"),
        ("data.ttl", {"graph": "mine"}, "unknown graph 'mine'"),
        ("data.ttl", {"score": 1.5}, "score must be in"),
    ],
)
def test_bad_requests_are_clear(tmp_path: Path, name: str, kwargs: dict, message: str) -> None:
    for n in ("data.xyz", "data.ttl"):
        (tmp_path / n).write_text(TTL)
    kb = KnowledgeBase()
    with pytest.raises((LoadError, StoreError), match=message):
        kb.load(tmp_path / name, **kwargs)
    assert len(kb) == 0


def test_second_writer_gets_a_clear_message(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    code = f"from nesy.kb import KnowledgeBase\nKnowledgeBase({str(tmp_path / 'kb')!r})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0 and "open in another process" in proc.stderr
    kb.close()


def test_unusable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create knowledge base directory"):
        KnowledgeBase(blocker / "kb")
    with pytest.raises(StoreError, match="not a knowledge base directory"):
        KnowledgeBase(blocker)


def test_provenance_and_scores_survive_a_restart(tmp_path: Path) -> None:
    f = tmp_path / "d.ttl"
    f.write_text(TTL)
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.load(f, score=0.8)
        kb.add(URIRef(EX + "x"), URIRef(EX + "said"), Literal("hi"), graph="extracted", score=0.6,
               document="doc1", sentence="X said hi.", span=(0, 10), extractor="test")
        stats = kb.stats()
    with KnowledgeBase(tmp_path / "kb") as kb:
        assert kb.stats() == stats
        [p] = kb.provenance(URIRef(EX + "a"), URIRef(EX + "p"), URIRef(EX + "b"))
        assert p["score"] == 0.8 and p["source"]["file"] == str(f.resolve())
        [e] = kb.provenance(URIRef(EX + "x"), URIRef(EX + "said"), Literal("hi"))
        assert e["graph"] == "extracted" and e["score"] == 0.6
        assert e["source"]["sentence"] == "X said hi." and e["source"]["span"] == (0, 10)


def test_export_round_trip(tmp_path: Path) -> None:
    f = tmp_path / "d.ttl"
    f.write_text(TTL)
    kb = KnowledgeBase()
    kb.load(f)
    for fmt in ("out.ttl", "out.nq", "out.nt", "out.trig"):
        kb.export(tmp_path / fmt)
        other = KnowledgeBase()
        other.load(tmp_path / fmt)
        assert len(other) == 3


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(0, 2), st.integers(0, 5),
                          st.floats(0.01, 1.0)), max_size=30), st.integers(1, 4))
def test_triple_table_is_a_set_keeping_best_scores(rows: list, chunks: int) -> None:
    from nesy.store.triples import TripleTable

    table = TripleTable()
    expected: dict[tuple[int, int, int, int], float] = {}
    size = max(1, len(rows) // chunks)
    for start in range(0, len(rows), size):
        part = rows[start:start + size]
        cols = [np.array([r[i] for r in part], dtype=np.int64) for i in range(4)]
        table.add(*cols, np.array([r[4] for r in part]), np.zeros(len(part), dtype=np.int64))
        for g, s, p, o, sc in part:
            expected[(g, s, p, o)] = max(sc, expected.get((g, s, p, o), 0.0))
    got = {(int(g), int(s), int(p), int(o)): float(sc) for g, s, p, o, sc in zip(table.g, table.s, table.p, table.o, table.score)}
    assert got == expected


def test_progress_bar_path_loads(tmp_path: Path) -> None:
    f = tmp_path / "d.ttl"
    f.write_text(TTL)
    (tmp_path / "d.tsv").write_text("a\tr\tb\n")
    kb = KnowledgeBase()
    assert kb.load(f, progress=True).added == 3
    assert kb.load(tmp_path / "d.tsv", namespace="http://kg.org/", progress=True).added == 1


# -- the facade's seams: KBView, model slots, mutation context ---------------------------------


def test_the_facade_has_every_member_of_the_kbview_protocol():
    from nesy.kbview import KBView

    members = {n for n in dir(KBView) if not n.startswith("_")} | set(KBView.__annotations__)
    kb = KnowledgeBase()
    assert sorted(n for n in members if not hasattr(kb, n)) == []


def test_models_have_one_home_under_the_kb_directory(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb")
    assert kb.models.dir("qa") == tmp_path / "kb" / "models" / "qa"
    memory = KnowledgeBase()
    assert memory.models.dir("qa") is None
    memory.models.keep("qa", ("model", {}))
    assert memory.models.get("qa") == ("model", {}) and memory.models.version("qa") == 1


def test_writes_inside_changing_reach_the_reasoner_incrementally():
    kb = KnowledgeBase()
    kb.add_rules(f"@prefix ex: <{EX}> .\nex:q(X, Z) :- ex:p(X, Y), ex:p(Y, Z).\n")
    assert len(kb.ask(f"?- <{EX}q>(X, Z).")) == 0
    reasoner = kb.reasoner
    with kb.changing():
        kb.store.add_triples([(URIRef(EX + "a"), URIRef(EX + "p"), URIRef(EX + "b")),
                              (URIRef(EX + "b"), URIRef(EX + "p"), URIRef(EX + "c"))], "asserted")
    assert kb.reasoner is reasoner  # fed the new rows, not rebuilt
    assert [a.bindings["Z"] for a in kb.ask(f"?- <{EX}q>(X, Z).")] == [URIRef(EX + "c")]
    assert kb.config["inferred_stale"] is True


def test_rule_programs_and_parse_rules_are_public():
    kb = KnowledgeBase()
    program = kb.parse_rules("p(a, b).\n")
    assert kb.rule_programs() == [] and len(program.facts) == 1
    kb.add_rules("# nesy:learned\nq(X, Y) :- p(X, Y).\n")
    assert [kind for _, kind in kb.rule_programs()] == ["learned"]


def test_reports_live_with_their_features_and_are_re_exported():
    import nesy
    import nesy.kb
    from nesy.kbview import LEARNED_HEADER
    from nesy.namespaces import DEFAULT_NAMESPACE
    from nesy.text.ingest import ExtractedTriple, ExtractReport

    assert nesy.kb.ExtractReport is ExtractReport is nesy.ExtractReport
    assert nesy.kb.ExtractedTriple is ExtractedTriple
    assert nesy.kb.LEARNED_HEADER == LEARNED_HEADER == "# nesy:learned"
    assert KnowledgeBase().default_namespace == DEFAULT_NAMESPACE == nesy.kb.DEFAULT_NAMESPACE


@pytest.mark.parametrize("edit", [
    {"rules": [4e8]},
    {"rules": float("inf")},  # not a list at all: refused before the commit that takes an edit
    {"rules": [{"name": "x", "copy": "../../etc/passwd"}]},
    {"rules": [{"name": "x", "copy": "/etc/passwd"}]},
    {"rules": [{"name": "x", "copy": "rules/a.rules", "imports": [{"copy": "rules/../../x"}]}]},
    {"prefixes": {"ex": 3}},
    {"prefixes": []},
    {"trusted_plugins": "os"},
    {"inferred_stale": "yes"},
    {"version": True},
])
def test_kb_json_of_the_wrong_shape_is_refused_and_the_lock_released(tmp_path: Path, edit: dict) -> None:
    path = tmp_path / "kb"
    KnowledgeBase(path).close()
    config = json.loads((path / "kb.json").read_text())
    good = dict(config)
    config.update(edit)
    (path / "kb.json").write_text(json.dumps(config))
    with pytest.raises(StoreError, match="kb.json|must be"):
        KnowledgeBase(path)
    (path / "kb.json").write_text(json.dumps(good))
    KnowledgeBase(path).close()  # the failed open gave the writer lock back


def test_closing_after_sparql_releases_the_lock_with_packrat_parsing_on(tmp_path: Path) -> None:
    """matplotlib (nesy plot) turns pyparsing's packrat cache on for the whole process; the
    cached parse exceptions must not keep a closed KB's store, and its lock, alive."""
    from pyparsing import ParserElement

    ParserElement.enable_packrat()
    d = tmp_path / "kb"
    with KnowledgeBase(d) as kb:
        kb.load(Path(__file__).resolve().parents[2] / "examples" / "family" / "family.ttl")
        assert len(kb.sparql("SELECT ?s WHERE { ?s ?p ?o }")) == 41
    with KnowledgeBase(d) as kb:  # raised "open in another process" when the lock outlived close
        assert len(kb) == 41
