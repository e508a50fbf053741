"""Rules in the knowledge base: golden answers with checked proofs, persistence, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import URIRef

from nesy.errors import NesyError, ParseError, RuleError, StratificationError
from nesy.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
FAMILY = ROOT / "examples" / "family"
FAM = "http://example.org/family#"


def golden_blocks(path: Path) -> list[tuple[str, list[str]]]:
    blocks: list[tuple[str, list[str]]] = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("?-"):
            blocks.append((line, []))
        else:
            blocks[-1][1].append(line)
    return blocks


@pytest.mark.parametrize(("query", "expected"), golden_blocks(ROOT / "tests" / "golden" / "family.golden"))
def test_golden_answers_with_checked_proofs(family_kb: KnowledgeBase, query: str, expected: list[str]) -> None:
    answers = family_kb.ask(query)
    got = [
        (" ".join(f"{k}={family_kb.shorten(v)}" for k, v in a.bindings.items()) or "yes") + f" {a.score:g}"
        for a in answers
    ]
    assert got == expected
    for a in answers:
        check = family_kb.check_proof(a.proof)
        assert check.ok, check.problems


def test_materialize_fills_the_inferred_graph_with_scores(family_kb: KnowledgeBase) -> None:
    stats = family_kb.materialize()
    assert stats["stored"] == family_kb.stats()["graphs"]["inferred"] > 0
    [copy] = family_kb.provenance(URIRef(FAM + "bob"), URIRef(FAM + "livesIn"), URIRef(FAM + "leeds"))
    assert copy["graph"] == "inferred" and copy["score"] == pytest.approx(0.8)


def test_check_proof_rejects_a_tampered_proof(family_kb: KnowledgeBase) -> None:
    [a] = [a for a in family_kb.ask("?- fam:livesIn(fam:bob, C).")]
    proof = a.proof
    assert family_kb.check_proof(proof).ok
    proof.score = 0.9  # claim more than 0.8 × 1 × 1
    assert not family_kb.check_proof(proof).ok


def test_rules_persist_across_processes(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    with KnowledgeBase(kb_dir) as kb:
        kb.load(FAMILY / "family.ttl")
        kb.add_rules(FAMILY / "family.rules")
        kb.add_rules("@prefix fam: <http://example.org/family#> .\n[sib] fam:sibling(X, Y) :- fam:parent(P, X), fam:parent(P, Y), X != Y.")
    code = (
        "from nesy.kb import KnowledgeBase\n"
        f"kb = KnowledgeBase({str(kb_dir)!r}, read_only=True)\n"
        "print(len(kb.rules), sorted(kb.shorten(a.bindings['Y']) for a in kb.ask('?- fam:sibling(fam:cid, Y).')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "11 ['fam:cora']"


@pytest.mark.parametrize(
    ("text", "error", "fragment"),
    [
        ("p(X) :- q(X", ParseError, "expected"),
        ("p(X, Y) :- q(X).", RuleError, "unsafe"),
        ("p(X) :- q(X), not r(X, Y).", RuleError, "not"),
        ("p(X) :- q(X), not p(X).", StratificationError, "p"),
        ("foo:p(a).", RuleError, "unknown prefix"),
    ],
)
def test_bad_rules_change_nothing(text: str, error: type[NesyError], fragment: str) -> None:
    kb = KnowledgeBase()
    kb.load(FAMILY / "family.ttl")
    kb.add_rules(FAMILY / "family.rules")
    before = (len(kb.rules), [a.bindings for a in kb.ask("?- fam:grandparent(fam:ann, X).")])
    with pytest.raises(error) as info:
        kb.add_rules(text)
    assert fragment in str(info.value)
    assert (len(kb.rules), [a.bindings for a in kb.ask("?- fam:grandparent(fam:ann, X).")]) == before


def test_new_data_is_seen_by_the_next_query() -> None:
    kb = KnowledgeBase()
    kb.load(FAMILY / "family.ttl")
    kb.add_rules(FAMILY / "family.rules")
    assert not kb.ask("?- fam:grandparent(fam:cid, X).")
    kb.add(URIRef(FAM + "eve"), URIRef(FAM + "parent"), URIRef(FAM + "fay"))
    assert [kb.shorten(a.bindings["X"]) for a in kb.ask("?- fam:grandparent(fam:cid, X).")] == ["fam:fay"]


def test_incremental_facts_and_rules_extend_the_model() -> None:
    kb = KnowledgeBase()
    kb.load(FAMILY / "family.ttl")
    kb.add_rules(FAMILY / "family.rules")
    kb.materialize()
    reasoner = kb.reasoner
    kb.add(URIRef(FAM + "eve"), URIRef(FAM + "parent"), URIRef(FAM + "fay"))
    kb.add_rules("@prefix fam: <http://example.org/family#> .\n"
                 "[ggp] fam:greatgrandparent(X, W) :- fam:grandparent(X, Z), fam:parent(Z, W).")
    assert kb.reasoner is reasoner, "new facts and rules must not rebuild the reasoner"
    got = sorted(kb.shorten(a.bindings["W"]) for a in kb.ask("?- fam:greatgrandparent(fam:bob, W)."))
    assert got == ["fam:fay"]
    assert sorted(kb.shorten(a.bindings["X"]) for a in kb.ask("?- fam:ancestor(X, fam:fay).")) == [
        "fam:abe", "fam:ann", "fam:bea", "fam:bob", "fam:cid", "fam:eve"]
    fresh = KnowledgeBase()
    fresh.load(FAMILY / "family.ttl")
    fresh.add(URIRef(FAM + "eve"), URIRef(FAM + "parent"), URIRef(FAM + "fay"))
    fresh.add_rules(FAMILY / "family.rules")
    fresh.add_rules("@prefix fam: <http://example.org/family#> .\n"
                    "[ggp] fam:greatgrandparent(X, W) :- fam:grandparent(X, Z), fam:parent(Z, W).")
    assert kb.materialize()["facts"] == fresh.materialize()["facts"]
    assert sorted(kb.triples("inferred")) == sorted(fresh.triples("inferred"))
    assert not any(t[0] == URIRef(FAM + "eve") for t in kb.triples("inferred") if str(t[2]).endswith("Childless"))


def test_runaway_recursion_stops_at_the_limit_and_the_kb_goes_on() -> None:
    from nesy.errors import LimitExceeded

    kb = KnowledgeBase()
    kb.config["max_facts"] = 5_000
    kb.add_rules("num(0).\nnum(X) :- num(Y), X = Y + 1.")
    with pytest.raises(LimitExceeded, match="num"):
        kb.ask("?- num(X).")
    kb.add_rules("other(1).")
    assert [int(a.bindings["X"]) for a in kb.ask("?- other(X).")] == [1]


def test_derived_triples_with_a_literal_subject_stay_out_of_the_rdf_store() -> None:
    kb = KnowledgeBase()
    kb.add_rules('@prefix ex: <http://example.org/x#> .\nex:name(ex:a, "Ann").\n'
                 'ex:nameOf(N, X) :- ex:name(X, N).')
    stats = kb.materialize()
    assert stats["not_stored"] == 1
    assert [kb.shorten(a.bindings["X"]) for a in kb.ask('?- ex:nameOf("Ann", X).')] == ["ex:a"]
    assert not any(str(p).endswith("nameOf") for _, p, _, _ in kb.triples("inferred"))


def test_learned_rule_files_give_learned_proofs(tmp_path: Path) -> None:
    learned = tmp_path / "learned.rules"
    learned.write_text(
        "# nesy:learned — written by `nesy learn`\n"
        "@prefix fam: <http://example.org/family#> .\n"
        "0.8 :: fam:grandma(X, Z) :- fam:parent(X, Y), fam:parent(Y, Z).\n", encoding="utf-8")
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.load(FAMILY / "family.ttl")
        kb.add_rules(learned)
        kb.add_rules("fam:gp(X, Z) :- fam:parent(X, Y), fam:parent(Y, Z).")  # a user rule
        [a, *_] = kb.ask("?- fam:grandma(fam:ann, X).")
        assert a.proof.kind == "learned" and a.score == pytest.approx(0.8)
        assert kb.check_proof(a.proof)
        assert kb.ask("?- fam:gp(fam:ann, X).")[0].proof.kind == "derived"
    with KnowledgeBase(tmp_path / "kb") as kb:  # the kind is kept on disk
        assert kb.ask("?- fam:grandma(fam:ann, X).")[0].proof.kind == "learned"
        assert kb.ask("?- fam:gp(fam:ann, X).")[0].proof.kind == "derived"
