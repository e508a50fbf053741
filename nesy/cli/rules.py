"""``nesy rules``, ``materialize``, ``query`` and ``explain``: rules, answers and proofs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from nesy.cli.common import friendly, open_kb, open_kb_for_query


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--trust", is_flag=True, help="Allow @plugin directives in these files (they run code).")
@click.option("--materialize/--no-materialize", default=True, show_default=True,
              help="Derive and store the inferred triples right away.")
@friendly
def rules(directory: str, files: tuple[str, ...], trust: bool, materialize: bool) -> None:
    """Add rule FILES to the knowledge base (checked first; all or nothing per file)."""
    with open_kb(directory) as kb:
        for f in files:
            program = kb.add_rules(Path(f), trust=trust)
            click.echo(f"{f}: {len(program.rules)} rules, {len(program.facts)} facts")
        if materialize:
            _report_materialize(kb.materialize())


def _report_materialize(stats: dict[str, Any]) -> None:
    click.echo(f"{stats['facts']} facts derived in {stats['seconds']:.3f} s; "
               f"{stats['stored']} triples in the inferred graph")


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--semiring", help="boolean, maxprod (default), noisyor, topk or topk:K (remembered).")
@friendly
def materialize(directory: str, semiring: str | None) -> None:
    """Derive everything the rules entail and store it in the inferred graph."""
    with open_kb(directory) as kb:
        if semiring:
            kb.semiring = semiring
        _report_materialize(kb.materialize())


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--explain", is_flag=True, help="Print the proof of every answer.")
@click.option("--limit", type=int, help="At most this many answers (rule queries).")
@click.option("--predicted", is_flag=True, help="SPARQL: include the predicted graph.")
@click.option("--allow-service", is_flag=True, help="SPARQL: permit SERVICE (federated) clauses.")
@friendly
def query(directory: str, query: str, fmt: str, explain: bool, limit: int | None, predicted: bool, allow_service: bool) -> None:
    """Answer QUERY: a rule query ("?- fam:grandparent(fam:ann, X).") or SPARQL.

    Every answer has a score; --explain adds its proof (for SPARQL: the proofs of the
    derived triples the row matched).
    """
    from nesy.output import print_answers
    from nesy.store.sparql import is_sparql

    with open_kb_for_query(directory) as kb:
        if is_sparql(query):
            result = kb.sparql(query, predicted=predicted, allow_service=allow_service)
            print_answers(kb, result, fmt, explain)
        else:
            print_answers(kb, kb.ask(query, limit=limit), fmt, explain)


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("atom")
@click.option("--format", "fmt", type=click.Choice(["tree", "json", "mermaid"]), default="tree", show_default=True)
@friendly
def explain(directory: str, atom: str, fmt: str) -> None:
    """Show the proof of ATOM, or why it does not hold."""
    from nesy.errors import QueryError

    with open_kb(directory, read_only=True) as kb:
        try:
            proof = kb.why(atom)
        except QueryError:
            click.echo(str(kb.why_not(atom)))
            sys.exit(2)
        if fmt == "json":
            click.echo(proof.to_json(kb.prefixes, default_ns=kb.default_namespace))
        elif fmt == "mermaid":
            click.echo(proof.to_mermaid(kb.prefixes, default_ns=kb.default_namespace))
        else:
            click.echo(proof.to_text(kb.prefixes, default_ns=kb.default_namespace))
