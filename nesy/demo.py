"""``nesy demo``: a short scripted tour on the bundled family example."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_demo() -> None:
    """Load the family example into a fresh KB and show what nesy makes of it."""
    from nesy.kb import KnowledgeBase

    family = EXAMPLES / "family"
    with tempfile.TemporaryDirectory(prefix="nesy-demo-") as tmp:
        kb_dir = Path(tmp) / "kb"
        click.secho(f"$ nesy load {kb_dir} examples/family/family.ttl", bold=True)
        with KnowledgeBase(kb_dir) as kb:
            click.echo(str(kb.load(family / "family.ttl")))
        click.secho("\n# reopened from disk:", bold=True)
        with KnowledgeBase(kb_dir) as kb:
            st = kb.stats()
            click.echo(f"{st['triples']} triples, {st['terms']} terms; per graph: {st['graphs']}")
            for pred, n in list(st["predicates"].items())[:5]:
                click.echo(f"  {n:4d}  {pred}")
