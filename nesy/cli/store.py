"""``nesy check-store``: verify a KB directory (checksums, ids, Oxigraph against the table) and repair it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from nesy.cli.common import friendly


@click.command("check-store")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--repair", is_flag=True, help="Recover an interrupted write, restore kb.json from the manifest, "
              "rebuild a lost manifest, and bring Oxigraph back to the id table.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@friendly
def check_store(directory: str, repair: bool, fmt: str) -> None:
    """Verify the knowledge base in DIRECTORY: every file against the manifest's checksums,
    the ids between vocabulary, table and sources, and each provenance graph in Oxigraph
    against the id table.

    Exits 0 when no problem remains (after --repair), 1 otherwise.
    """
    from nesy.store.check import check_store as run_check

    report = run_check(Path(directory), repair=repair)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        gen = "" if report.generation is None else f" (generation {report.generation})"
        click.echo(f"{directory}{gen}")
        for graph, n in report.graphs.items():
            mark = "" if n["table"] == n["oxigraph"] else "  <- differs"
            click.echo(f"  {graph:12} table {n['table']:>9}  oxigraph {n['oxigraph']:>9}{mark}")
        for name, n in report.other_graphs.items():
            click.echo(f"  outside the provenance graphs: {name}: {n} quads")
        for i, p in enumerate(report.problems, 1):
            click.echo(f"{i}. {p}")
        left = len(report.remaining)
        click.echo("ok: no problem found" if not report.problems else
                   "ok: every problem repaired" if not left else
                   f"{left} {'problem' if left == 1 else 'problems'} remaining")
    if report.remaining:
        sys.exit(1)
