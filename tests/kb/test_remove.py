"""``kb.remove``: triples, files and patterns go, what they alone supported goes with them,
and the inferred graph, SPARQL and a reopened KB agree with a KB built without them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdflib import Literal, URIRef

from nesy.errors import LoadError, StoreError
from nesy.kb import KnowledgeBase
from nesy.store.graphs import GRAPH_CODE

ROOT = Path(__file__).resolve().parents[2]
FAMILY = ROOT / "examples" / "family"
FAM = "http://example.org/family#"


def f(name: str) -> URIRef:
    return URIRef(FAM + name)


def _kb(path: Path | None = None) -> KnowledgeBase:
    kb = KnowledgeBase(path)
    kb.load(FAMILY / "family.ttl")
    kb.add_rules(FAMILY / "family.rules")
    return kb


def _inferred(kb: KnowledgeBase) -> dict[tuple, float]:
    """The stored ``inferred`` graph as ``{(s, p, o): score}`` (terms as text)."""
    t, term = kb.store.table, kb.vocab.term
    rows = np.flatnonzero(t.g == GRAPH_CODE["inferred"])
    return {(str(term(t.s[i])), str(term(t.p[i])), str(term(t.o[i]))): round(float(t.score[i]), 9) for i in rows}


def _reference(removed: list[tuple]) -> dict[tuple, float]:
    """The closure of a KB that never had ``removed``: loaded, cut, then reasoned from scratch."""
    kb = KnowledgeBase()
    kb.load(FAMILY / "family.ttl")
    kb.remove(removed)
    kb.add_rules(FAMILY / "family.rules")
    kb.materialize()
    return _inferred(kb)


def _grandparents(kb: KnowledgeBase) -> set[tuple[str, str]]:
    rows = kb.sparql("PREFIX fam: <http://example.org/family#> SELECT ?x ?z WHERE { ?x fam:grandparent ?z }")
    return {(str(r["x"]), str(r["z"])) for r in rows}


def test_removed_triples_take_their_consequences_with_them() -> None:
    kb = _kb()
    reasoner = kb.reasoner
    assert (FAM + "ann", FAM + "cid") in _grandparents(kb)
    gone = [(f("ann"), f("parent"), f("bob")), (f("cid"), f("parent"), f("eve"))]
    assert kb.remove(gone) == 2
    assert kb.reasoner is reasoner  # taken back incrementally, not rebuilt
    want = _reference(gone)
    kb.materialize()
    assert _inferred(kb) == want
    assert (FAM + "ann", FAM + "cid") not in _grandparents(kb)
    assert (FAM + "abe", FAM + "cid") in _grandparents(kb)  # abe is bob's parent too
    # Childless (negation) and kids (a count) follow: cid has no child any more.
    assert (FAM + "cid", str(RDF_TYPE), FAM + "Childless") in want
    assert want[(FAM + "cid", FAM + "kids", "0")] == 1.0
    assert kb.remove(gone) == 0  # already gone
    assert kb.reasoner is reasoner


RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def test_sparql_refreshes_inferred_after_a_removal() -> None:
    kb = _kb()
    kb.materialize()
    gone = [(f("bob"), f("parent"), f("cid"))]
    kb.remove(gone)
    assert kb.config["inferred_stale"]
    got = _grandparents(kb)  # SPARQL brings the inferred graph up to date first
    assert got == {(s, o) for (s, p, o) in _reference(gone) if p == FAM + "grandparent"}
    assert _inferred(kb) == _reference(gone)


def test_a_file_a_pattern_and_one_graph(tmp_path: Path) -> None:
    kb = _kb()
    extra = tmp_path / "extra.ttl"
    extra.write_text("@prefix fam: <http://example.org/family#> .\n"
                     "fam:ann fam:parent fam:beth .\nfam:bea fam:livesIn fam:leeds .\nfam:zed fam:parent fam:ann .\n")
    kb.load(extra, graph="extracted", score=0.5)
    kb.materialize()
    assert kb.remove(extra) == 2  # from asserted: the two of its triples stored there (zed is not)
    kb.materialize()
    # ann's parent link to beth survives as the extracted copy: dan is still her grandchild, at 0.5.
    assert _inferred(kb)[(FAM + "ann", FAM + "grandparent", FAM + "dan")] == 0.5
    assert kb.remove(extra, graph="extracted") == 3
    assert kb.remove(pattern=(f("bob"), None, None)) == 6  # label, age, 2 parent, spouse, job
    kb.materialize()
    want = _reference([(f("ann"), f("parent"), f("beth")), (f("bea"), f("livesIn"), f("leeds"))]
                      + [t for t in _family_triples() if t[0] == f("bob")])
    assert _inferred(kb) == want
    assert kb.remove(pattern=(None, f("nosuch"), None)) == 0


def _family_triples() -> list[tuple]:
    kb = KnowledgeBase()
    kb.load(FAMILY / "family.ttl")
    return [(s, p, o) for s, p, o, _ in kb.triples("asserted")]


def test_bad_requests_change_nothing(tmp_path: Path) -> None:
    kb = _kb()
    kb.materialize()
    before = len(kb)
    with pytest.raises(StoreError, match="derived triples"):
        kb.remove([(f("ann"), f("grandparent"), f("cid"))], graph="inferred")
    with pytest.raises(StoreError, match="exactly one"):
        kb.remove()
    with pytest.raises(StoreError, match="exactly one"):
        kb.remove([], pattern=(None, None, None))
    with pytest.raises(StoreError, match="three rdflib terms"):
        kb.remove([(f("ann"), f("parent"), f("bob")), ("ann", "parent")])
    with pytest.raises(StoreError, match="pattern"):
        kb.remove(pattern=(None, "fam:parent", None))
    with pytest.raises(StoreError, match="unknown graph"):
        kb.remove([(f("ann"), f("parent"), f("bob"))], graph="nosuch")
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix fam: <http://example.org/family#> .\nfam:ann fam:parent .\n")
    with pytest.raises(LoadError):
        kb.remove(bad)
    assert len(kb) == before and (f("ann"), f("parent"), f("bob")) in {t[:3] for t in kb.triples("asserted")}


def test_removals_and_additions_in_one_write_block() -> None:
    """A block that adds rows and then removes old and new ones: the reasoner follows both."""
    kb = _kb()
    kb.materialize()
    reasoner = kb.reasoner
    t = kb.store.table
    with kb.changing():
        kb.store.add_triples([(f("eve"), f("parent"), f("fay")), (f("dan"), f("parent"), f("gus"))], "asserted")
        gone = np.zeros(len(t), dtype=bool)
        for s, o in (("bob", "cid"), ("dan", "gus")):
            gone |= (t.s == kb.vocab.id(f(s))) & (t.p == kb.vocab.id(f("parent"))) & (t.o == kb.vocab.id(f(o)))
        kb.store.remove_rows(gone)
    assert kb.reasoner is reasoner
    kb.materialize()
    ref = KnowledgeBase()
    ref.load(FAMILY / "family.ttl")
    ref.remove([(f("bob"), f("parent"), f("cid"))])
    ref.add(f("eve"), f("parent"), f("fay"))
    ref.add_rules(FAMILY / "family.rules")
    ref.materialize()
    assert _inferred(kb) == _inferred(ref)


def test_removal_persists_across_reopening(tmp_path: Path) -> None:
    gone = [(f("beth"), f("parent"), f("dan")), (f("ann"), f("age"), Literal(82))]
    kb = _kb(tmp_path / "kb")
    kb.materialize()
    assert kb.remove(gone) == 2
    kb.close()  # closed stale: the next question refreshes
    kb = KnowledgeBase(tmp_path / "kb")
    assert not {t[:3] for t in kb.triples("asserted")} & set(gone)
    kb.materialize()
    assert _inferred(kb) == _reference(gone)
    kb.close()
    kb = KnowledgeBase(tmp_path / "kb", read_only=True)
    assert _inferred(kb) == _reference(gone)
    with pytest.raises(StoreError, match="read-only"):
        kb.remove(gone)
    kb.close()
