"""``nesy update``: a SPARQL 1.1 Update on the knowledge base, all of it or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nesy.cli.common import friendly, open_kb
from nesy.errors import NesyError


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("update", required=False)
@click.option("--file", "-f", "file", type=click.Path(exists=True, dir_okay=False),
              help="Read the update from FILE (instead of the UPDATE argument).")
@click.option("--base", metavar="IRI", help="Base IRI for the update's relative IRIs.")
@click.option("--allow-load", is_flag=True, help="Permit LOAD <file:...> of local documents (remote ones are refused).")
@click.option("--allow-service", is_flag=True, help="Permit SERVICE clauses (the update then reaches the network).")
@click.option("--timeout", type=float, metavar="S",
              help="Undo the update when it takes longer than S seconds (0: no limit; default: `timeout` in kb.json).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@friendly
def update(directory: str, update: str | None, file: str | None, base: str | None, allow_load: bool,
           allow_service: bool, timeout: float | None, fmt: str) -> None:
    """Run the SPARQL 1.1 UPDATE (or --file FILE) on the knowledge base in DIRECTORY.

    INSERT DATA, DELETE DATA, DELETE/INSERT ... WHERE, CLEAR, DROP, CREATE, ADD, MOVE, COPY
    and LOAD, joined by ';'. The default graph is the asserted data; GRAPH <iri> writes a
    named graph of yours. nesy's own graphs (inferred, extracted...) are refused as targets.
    An update that fails changes nothing.
    """
    if (update is None) == (file is None):
        raise NesyError("give the update as an argument or with --file FILE (one of them)")
    text = update if file is None else Path(file).read_text(encoding="utf-8")
    with open_kb(directory) as kb:
        report = kb.update(text, base=base, allow_load=allow_load, allow_service=allow_service, timeout=timeout)
    if fmt == "json":
        click.echo(json.dumps({"operations": report.operations, "inserted": report.inserted,
                               "deleted": report.deleted, "graphs": report.graphs,
                               "seconds": round(report.seconds, 3)}))
    else:
        click.echo(str(report))


__all__ = ["update"]
