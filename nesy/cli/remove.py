"""``nesy remove``: take triples out of a knowledge base, and what they alone supported with them."""

from __future__ import annotations

import click

from nesy.cli.common import friendly, open_kb
from nesy.cli.limits import apply_limits, limit_options

#: Pattern positions written as one of these match any term.
WILDCARDS = {"_", "*", "?", "any"}


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--pattern", nargs=3, metavar="S P O",
              help="Remove every triple matching S P O, each a term as in rules (fam:ann, <http://...>, "
                   "\"text\", 42) or _ for any term.")
@click.option("--graph", "-g", default="asserted", show_default=True,
              help="The graph to remove from: asserted, extracted, predicted, dl-reasoner or a named graph's IRI.")
@click.option("--format", "-f", "fmt", help="Data format of FILES (default: from each file's extension).")
@click.option("--namespace", "-n", help="Namespace of TSV names (default: the KB's).")
@click.option("--materialize/--no-materialize", default=True, show_default=True,
              help="Bring the inferred triples up to date right away.")
@limit_options()
@friendly
def remove(directory: str, files: tuple[str, ...], pattern: tuple[str, str, str] | None, graph: str,
           fmt: str | None, namespace: str | None, materialize: bool) -> None:
    """Remove the triples of data FILES, or those matching --pattern, from the KB in DIRECTORY.

    Derived triples that lose all their support go too, and the others keep or lower their
    scores: the reasoner takes the removal back incrementally. The inferred graph itself
    holds no input: remove what it comes from instead. All or nothing per file.
    """
    if bool(files) == bool(pattern):
        raise click.UsageError("give data FILES or --pattern S P O (one of them)")
    with open_kb(directory) as kb:
        apply_limits(kb)
        if pattern:
            terms = tuple(None if t.strip() in WILDCARDS or t.startswith("?") else kb.resolve_term(t)
                          for t in pattern)
            n = kb.remove(pattern=terms, graph=graph)
            click.echo(f"{n} triples matching {' '.join(pattern)} removed from {graph}")
        for f in files:
            n = kb.remove(f, graph=graph, format=fmt, namespace=namespace)
            kb.store.checkpoint()  # each file is its own commit, as with load
            click.echo(f"{f}: {n} triples removed from {graph}")
        if materialize and kb.rules:
            stats = kb.materialize()
            click.echo(f"{stats['stored']} inferred triples")
        click.echo(f"{len(kb)} triples in {directory}")


__all__ = ["remove"]
