"""``nesy classify``: OWL 2 DL classification (HermiT or Pellet through owlready2)."""

from __future__ import annotations

import click

from nesy.cli.common import friendly, open_kb
from nesy.errors import NesyError


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--reasoner", type=click.Choice(["hermit", "pellet"]), default="hermit", show_default=True)
@click.option("--no-property-values", is_flag=True, help="Classify classes only; skip property assertions.")
@click.option("--allow-imports", is_flag=True,
              help="Let owlready2 follow owl:imports (fetches them over the network or reads local files).")
@friendly
def classify(directory: str, reasoner: str, no_property_values: bool, allow_imports: bool) -> None:
    """Classify with an OWL 2 DL reasoner (HermiT or Pellet, via owlready2; needs Java).

    What it entails beyond the stored facts goes to the dl-reasoner graph; proofs that use
    it say `dl-reasoner`. An inconsistent knowledge base stores nothing and exits 1.
    owl:imports in the data are left out unless --allow-imports.
    """
    with open_kb(directory) as kb:
        report = kb.classify(reasoner, property_values=not no_property_values, allow_imports=allow_imports)
    if not report["consistent"]:
        raise NesyError(f"{reasoner}: the knowledge base is inconsistent; nothing was stored")
    click.echo(f"{reasoner}: {report['added']} new triples in the dl-reasoner graph "
               f"in {report['seconds']:.1f} s")
    if report.get("imports_skipped"):
        click.echo(f"left out {report['imports_skipped']} owl:imports (not fetched; --allow-imports follows them)")
    for iri in report["unsatisfiable"]:
        click.echo(f"unsatisfiable class: {iri}")
