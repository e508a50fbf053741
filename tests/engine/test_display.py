"""Answers and proofs render as HTML (Jupyter) and rich renderables."""

from __future__ import annotations

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
