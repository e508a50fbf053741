"""Proof trees: structure, renderers, and the independent checker (which must reject forgeries)."""

from __future__ import annotations

import copy
import json

from rdflib import Literal
from reasoner_dsl import EX, PREFIXES, program, query

from nesy.engine.proofs import GroundAtom, Proof, check_proof, term_text
from nesy.engine.reasoner import Reasoner
from nesy.store.vocab import Vocab

TEXT = """
parent(ann, bob)
0.8 :: parent(bob, cid)
age(cid, 20)
[gp] 0.9 :: grandparent(X, Z) :- parent(X, Y), parent(Y, Z)
[adult] adult(X) :- age(X, A), A >= 18, not banned(X)
[aunt] both(X, Z) :- grandparent(X, Z), adult(Z)
"""


def _setup() -> tuple[Reasoner, Proof]:
    r = Reasoner(Vocab(), describe_source=lambda i: {"graph": "asserted", "id": i})
    r.prefixes.update(PREFIXES)
    r.add_program(program(TEXT, file="family.rules"))
    [a] = r.ask(query("both(ann, Z)"))
    return r, a.proof


def _ok(r: Reasoner, p: Proof) -> bool:
    return bool(check_proof(p, r.rules, r.input_score, model_contains=r.model_contains))


def test_proof_structure() -> None:
    r, p = _setup()
    assert p.kind == "derived" and p.rule.name == "aunt" and p.rule.file == "family.rules" and p.rule.line == 7
    assert p.score == 0.9 * 0.8
    assert p.bindings == {"X": EX.ann, "Z": EX.cid}
    gp, adult = p.premises
    assert gp.rule.label == "gp" and gp.rule.weight == 0.9 and gp.bindings["Y"] == EX.bob
    assert [n.kind for n in gp.premises] == ["asserted", "asserted"]
    assert gp.premises[1].source == {"file": "family.rules", "line": 3}
    assert [n.kind for n in adult.premises] == ["asserted", "comparison", "negation"]
    assert "A >= 18" in adult.premises[1].note and "20" in adult.premises[1].note
    assert adult.premises[2].fact.render(PREFIXES) == "ex:banned(ex:cid)"
    assert "gp" in gp.rule.text and ":-" in gp.rule.text
    assert _ok(r, p)


def test_renderers() -> None:
    r, p = _setup()
    text = p.to_text(PREFIXES)
    lines = text.splitlines()
    assert lines[0].startswith("derived  ex:both(ex:ann, ex:cid)  score=0.72")
    assert any(line.startswith("    asserted  ex:parent(ex:bob, ex:cid)  score=0.8") for line in lines)
    assert any("negation  not ex:banned(ex:cid)" in line for line in lines)
    d = json.loads(p.to_json(PREFIXES))
    assert d["fact"] == "ex:both(ex:ann, ex:cid)" and d["rule"]["name"] == "aunt"
    assert d["premises"][0]["bindings"]["Y"] == "ex:bob"
    mer = p.to_mermaid(PREFIXES)
    assert mer.startswith("graph TD") and mer.count("-->") == sum(len(n.premises) for n in p.walk())
    assert GroundAtom(EX.p, (EX.a, None)).render(PREFIXES) == "ex:p(ex:a, _)"
    assert term_text(Literal(3)) == "3" and term_text(Literal("x", lang="en")) == '"x"@en'


def test_input_sources_from_describe_source() -> None:
    v = Vocab()
    r = Reasoner(v, describe_source=lambda i: {"graph": "asserted", "file": f"f{i}.ttl"})
    import numpy as np

    r.add_edb(v.id(EX.e), np.array([[v.id(EX.a), v.id(EX.b)]]), sources=np.array([7]), kind="extracted")
    [a] = r.ask(query("e(a, X)"))
    assert a.proof.kind == "extracted" and a.proof.source == {"graph": "asserted", "file": "f7.ttl"}


def test_checker_rejects_forgeries() -> None:
    r, p = _setup()
    forged = copy.deepcopy(p)
    forged.score = 0.9
    assert not _ok(r, forged)
    forged = copy.deepcopy(p)
    forged.premises[0].bindings["Y"] = EX.dan
    assert not _ok(r, forged)
    forged = copy.deepcopy(p)
    forged.premises[0].premises.pop()
    assert not _ok(r, forged)
    forged = copy.deepcopy(p)
    leaf = forged.premises[0].premises[0]
    leaf.fact = GroundAtom(EX.parent, (EX.ann, EX.zed))
    assert not _ok(r, forged)
    forged = copy.deepcopy(p)
    forged.premises[1].bindings["A"] = Literal(12)
    assert not _ok(r, forged)
    forged = copy.deepcopy(p)
    forged.premises[0].rule = copy.copy(forged.premises[0].rule)
    object.__setattr__(forged.premises[0].rule, "label", "nonexistent")
    object.__setattr__(forged.premises[0].rule, "text", "nothing")
    assert _ok(r, forged)  # an unknown label falls back to trying every rule: gp still fits
    r2 = Reasoner(Vocab())
    r2.add_program(program(TEXT.replace("not banned(X)", "age(X, _)")))
    assert not check_proof(p, r2.rules[:1], r.input_score)


def test_negation_is_checked_against_the_model() -> None:
    r, p = _setup()
    assert not check_proof(p, r.rules, r.input_score, model_contains=lambda pred, args: EX.banned in args)


def test_shared_subproofs_form_a_dag() -> None:
    r = Reasoner(Vocab())
    r.add_program(program("e(a, b)\np(X) :- e(X, _)\nq(X) :- p(X), p(X)\nboth(X) :- p(X), q(X)"))
    [a] = r.ask(query("both(X)"))
    nodes = list(a.proof.walk())
    assert len(nodes) == len({id(n) for n in nodes}) == 4
    assert "(see above)" in a.proof.to_text()
