"""Answers and proofs render as HTML (Jupyter) and rich renderables."""

from __future__ import annotations

import html
from pathlib import Path

from rich.console import Console

from nesy.kb import KnowledgeBase

FAMILY = Path(__file__).resolve().parents[2] / "examples" / "family"


def test_answers_and_proofs_render(family_kb: KnowledgeBase) -> None:
    kb = family_kb
    answers = kb.ask("?- fam:livesIn(fam:bob, C).")
    page = answers._repr_html_()
    assert "<table>" in page and "fam:leeds" in page and "lives" in page and "asserted" in page
    assert "<ul" in answers[0].proof._repr_html_()
    console = Console(record=True, width=200)
    console.print(answers)
    console.print(answers[0].proof)
    text = console.export_text()
    assert "fam:leeds" in text and "derived" in text and "asserted" in text
    assert kb.ask("?- fam:livesIn(fam:eve, C).")._repr_html_() == "<i>no answers</i>"


def test_answers_and_proofs_print_terms_as_kb_shorten() -> None:
    """With the KB's default namespace, a proof line, an answer cell and kb.shorten agree
    (bare names for that namespace); without ``shorten``, ``Answers`` uses the same printer."""
    from rdflib import Literal, Namespace

    from nesy.engine.display import Answers, proof_html, proof_rich

    ns = Namespace("http://example.org/shop#")
    kb = KnowledgeBase(default_namespace=str(ns))
    kb.add(ns.cafe, ns.label, Literal("café"))
    kb.add_rules("[named] named(X, L) :- label(X, L).\n")
    [answer] = kb.ask("?- named(cafe, L).")
    assert kb.shorten(ns.cafe) == "cafe" and kb.shorten(answer["L"]) == '"café"'
    line = 'label(cafe, "café")'
    assert line in answer.proof.to_text(kb.prefixes, default_ns=kb.default_namespace)
    tree = answer.proof.to_dict(kb.prefixes, default_ns=kb.default_namespace)
    assert tree["premises"][0]["fact"] == line and tree["bindings"]["X"] == "cafe"
    assert html.escape(line) in proof_html(answer.proof, kb.prefixes, kb.default_namespace)
    console = Console(record=True, width=200)
    console.print(proof_rich(answer.proof, kb.prefixes, kb.default_namespace))
    assert line in console.export_text()
    plain = Answers(list(kb.ask("?- named(X, L).")), kb.prefixes, default_ns=kb.default_namespace)
    assert plain.shorten(ns.cafe) == kb.shorten(ns.cafe) and "<td>cafe</td>" in plain._repr_html_()
