"""``nesy demo``: a short scripted tour on the bundled family example, then text extraction."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from nesy.cli.common import friendly

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _say(text: str) -> None:
    click.secho(text, bold=True)


def run_demo() -> None:
    """Load the family example into a fresh KB, add its rules, ask, and explain."""
    from nesy.kb import KnowledgeBase

    family = EXAMPLES / "family"
    with tempfile.TemporaryDirectory(prefix="nesy-demo-", ignore_cleanup_errors=True) as tmp:
        kb_dir = Path(tmp) / "kb"
        _say("$ nesy load KB examples/family/family.ttl")
        with KnowledgeBase(kb_dir) as kb:
            click.echo(str(kb.load(family / "family.ttl")))
            _say("\n$ nesy rules KB examples/family/family.rules")
            program = kb.add_rules(family / "family.rules")
            click.echo(f"{len(program.rules)} rules added")

        _say("\n# reopened from disk: data, provenance and rules are all still there")
        with KnowledgeBase(kb_dir) as kb:
            st = kb.stats()
            click.echo(f"{st['triples']} triples, {len(kb.rules)} rules")
            prefixes = kb.prefixes

            query = "?- fam:grandparent(fam:ann, X)."
            _say(f"\n{query}")
            for i, a in enumerate(kb.ask(query), 1):
                click.echo(f"  {i}. X = {kb.shorten(a.bindings['X'])}   score {a.score:g}")

            query = "?- fam:livesIn(X, C)."
            _say(f"\n{query}")
            answers = kb.ask(query)
            for i, a in enumerate(answers, 1):
                b = ", ".join(f"{k} = {kb.shorten(v)}" for k, v in a.bindings.items())
                click.echo(f"  {i}. {b}   score {a.score:g}")
            weakest = len(answers)
            _say(f"\n:why {weakest}   (a weighted rule: 0.8 × the scores of its premises)")
            click.echo(answers[-1].proof.to_text(prefixes))

            sparql = "SELECT ?x WHERE { fam:ann fam:grandparent ?x }"
            _say(f"\n{sparql}   (SPARQL sees the rule-derived predicate)")
            for i, row in enumerate(kb.sparql(sparql).rows, 1):
                click.echo(f"  {i}. x = {kb.shorten(row.bindings['x'])}   score {row.score:g}")

            _say("\n?- fam:Childless(X).   (negation)   and   ?- fam:kids(X, N).   (aggregate)")
            childless = sorted(a.bindings["X"].split("#")[1] for a in kb.ask("?- fam:Childless(X)."))
            click.echo(f"  childless: {', '.join(childless)}")
            kids = sorted((a.bindings["X"].split("#")[1], int(a.bindings["N"])) for a in kb.ask("?- fam:kids(X, N), N > 0."))
            click.echo("  kids: " + ", ".join(f"{p}={n}" for p, n in kids))

            _say("\n:whynot fam:grandparent(fam:eve, fam:ann)")
            click.echo(str(kb.why_not("fam:grandparent(fam:eve, fam:ann)")))

            _say("\n$ nesy materialize KB")
            stats = kb.materialize()
            click.echo(f"{stats['facts']} facts derived; {stats['stored']} of them are triples, "
                       "now stored in the inferred graph with their scores")

        _text_demo(Path(tmp) / "text-kb")


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (document ids are paths as given)."""
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else str(path)


def _text_demo(kb_dir: Path) -> None:
    """Extract facts from the bundled text, reason over them, and show a proof quoting the sentence."""
    from nesy.engine.proofs import term_text
    from nesy.kb import KnowledgeBase
    from nesy.text.ingest import extracted_lines

    text = EXAMPLES / "text"
    news = _shown(text / "news.txt")
    _say("\n# text: facts read from a document keep the sentence they were read from")
    with KnowledgeBase(kb_dir, default_namespace="http://example.org/company#") as kb:
        _say("$ nesy load KB examples/text/company.ttl && nesy rules KB examples/text/company.rules")
        click.echo(str(kb.load(text / "company.ttl")))
        kb.add_rules(text / "company.rules")
        _say(f"\n$ cat {news}")
        click.echo(Path(text / "news.txt").read_text(encoding="utf-8").strip())
        _say(f"\n$ nesy extract KB {news} --print tsv")
        report = kb.extract(news, progress=False)
        for line in extracted_lines(kb, report.extracted):
            click.echo(line)
        click.echo(str(report))
        query = "?- ex:worksIn(X, C)."
        _say(f"\n{query}   (rule: someone works in the city their employer is based in)")
        answers = kb.ask(query)
        for i, a in enumerate(answers, 1):
            click.echo(f"  {i}. X = {term_text(a.bindings['X'], kb.prefixes)}, "
                       f"C = {term_text(a.bindings['C'], kb.prefixes)}   score {a.score:.3g}")
        if answers:
            _say("\n:why 1   (an extracted premise quotes its sentence; the other was loaded from a file)")
            click.echo(answers[0].proof.to_text(kb.prefixes))


@click.command()
@friendly
def demo() -> None:
    """A short tour on the bundled family example."""
    run_demo()
