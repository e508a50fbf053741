"""Proofs in bulk: one serialiser for many proofs gives each proof's own dict, shares sub-proofs, and caches terms safely."""

from __future__ import annotations

import gc
import json
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from nesy.engine.proofjson import ProofSerializer, paused_gc
from nesy.engine.proofs import GroundAtom, Proof, proof_dicts, term_text

FAM = "http://example.org/family#"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "family"


def _kb() -> object:
    from nesy.kb import KnowledgeBase

    kb = KnowledgeBase()
    kb.load(EXAMPLES / "family.ttl", progress=False)
    kb.add_rules(EXAMPLES / "family.rules")
    return kb


def test_bulk_equals_one_by_one_and_shares_sub_proofs() -> None:
    kb = _kb()
    answers = kb.ask("?- fam:ancestor(X, Y).")
    proofs = [a.proof for a in answers]
    bulk = proof_dicts(proofs, kb.prefixes, default_ns=kb.default_namespace)
    alone = [p.to_dict(kb.prefixes, default_ns=kb.default_namespace) for p in proofs]
    assert json.dumps(bulk) == json.dumps(alone)
    # The outer dicts are each proof's own (a caller may add keys) ...
    assert len({id(d) for d in bulk}) == len(bulk)
    # ... and a sub-proof several answers share is serialised once: the same dict.
    seen: dict[int, int] = {}
    for d in bulk:
        for p in d.get("premises", []):
            seen[id(p)] = seen.get(id(p), 0) + 1
    assert max(seen.values()) > 1


def test_equal_rdflib_literals_keep_their_own_text() -> None:
    """rdflib finds "a"@en and "a"@EN equal (same hash): the term cache must not mix them up."""
    en, up = Literal("a", lang="en"), Literal("a", lang="EN")
    assert en == up and hash(en) == hash(up)
    p = URIRef(FAM + "label")
    a = Proof(GroundAtom(p, (URIRef(FAM + "x"), en)), "asserted", 1.0)
    b = Proof(GroundAtom(p, (URIRef(FAM + "x"), up)), "asserted", 1.0)
    prefixes = {"fam": FAM}
    da, db = proof_dicts([a, b], prefixes)
    assert (da["fact"], da["args"][1]) == ('fam:label(fam:x, "a"@en)', '"a"@en')
    assert (db["fact"], db["args"][1]) == ('fam:label(fam:x, "a"@EN)', '"a"@EN')
    assert (term_text(en, prefixes), term_text(up, prefixes)) == ('"a"@en', '"a"@EN')
    one, zero_one = Literal("1", datatype=XSD.integer), Literal("01", datatype=XSD.integer, normalize=False)
    assert ProofSerializer(prefixes).text(one) != ProofSerializer(prefixes).text(zero_one)


def test_term_text_follows_the_prefixes() -> None:
    iri = URIRef(FAM + "ann")
    assert term_text(iri, {"fam": FAM}) == "fam:ann"
    assert term_text(iri, {"f": FAM}) == "f:ann"
    assert term_text(iri, {}) == f"<{FAM}ann>"


def test_paused_gc_restores_the_collector() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_sparql_rows_share_one_builder_and_follow_changes() -> None:
    kb = _kb()
    rows = kb.sparql("SELECT ?X ?Y WHERE { ?X fam:ancestor ?Y }").rows
    proofs = [p for row in rows for p in row.proofs]
    # Sub-proofs the rows share are the same nodes (one builder for the result).
    ids: dict[int, int] = {}
    for p in proofs:
        for node in p.premises:
            ids[id(node)] = ids.get(id(node), 0) + 1
    assert max(ids.values()) > 1
    # Each equals the proof `why` gives for the same triple.
    for row in rows:
        [p] = row.proofs
        alone = kb.why(f"fam:ancestor({kb.shorten(row['X'])}, {kb.shorten(row['Y'])})")
        assert p.to_dict(kb.prefixes) == alone.to_dict(kb.prefixes)


def test_prover_rebuilds_after_the_model_changes() -> None:
    kb = _kb()
    v = kb.vocab
    anc, parent = URIRef(FAM + "ancestor"), URIRef(FAM + "parent")
    abe, eve, zed = (URIRef(FAM + n) for n in ("abe", "eve", "zed"))
    prove = kb.reasoner.prover()
    before = prove(v.id(anc), (v.id(abe), v.id(eve)))
    assert prove(v.id(anc), (v.id(abe), v.id(eve))) is before  # one builder: the same node
    kb.add(eve, parent, zed)
    kb.materialize()
    after = prove(v.id(anc), (v.id(abe), v.id(zed)))
    assert after.fact.args == (abe, zed) and after.kind == "derived"
    assert after.to_dict(kb.prefixes) == kb.why("fam:ancestor(fam:abe, fam:zed)").to_dict(kb.prefixes)


def test_proofs_written_from_the_records_equal_the_built_ones() -> None:
    """`answer_proof_dicts` writes dicts without proof nodes; they must be what the nodes give."""
    from proof_golden import FAMILY_QUERIES

    from nesy.engine.proofdata import answer_proof_dicts

    kb = _kb()
    # Goal-directed (magic sets, rewritten rules) first, then on the materialised model.
    for q in FAMILY_QUERIES + ("materialize", *FAMILY_QUERIES):
        if q == "materialize":
            kb.materialize()
            continue
        written = answer_proof_dicts(kb.ask(q), kb.prefixes, default_ns=kb.default_namespace)
        answers = kb.ask(q)
        answers[0].proof  # noqa: B018 - one answer built first: it is serialised from its node
        mixed = answer_proof_dicts(answers, kb.prefixes, default_ns=kb.default_namespace)
        built = [a.proof.to_dict(kb.prefixes, default_ns=kb.default_namespace) for a in answers]
        assert json.dumps(written) == json.dumps(built) == json.dumps(mixed), q


def test_sparql_row_proofs_written_from_the_records_equal_the_built_ones() -> None:
    from proof_golden import FAMILY_SPARQL

    from nesy.engine.proofdata import row_proof_dicts

    kb = _kb()
    for q in FAMILY_SPARQL:
        written = row_proof_dicts(kb.sparql(q).rows, kb.prefixes, default_ns=kb.default_namespace)
        rows = kb.sparql(q).rows
        built = [[p.to_dict(kb.prefixes, default_ns=kb.default_namespace) for p in row.proofs] for row in rows]
        assert any(written) and json.dumps(written) == json.dumps(built), q
