"""``nesy init``, ``load``, ``stats``, ``export`` and ``check``: the knowledge base's data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from nesy.cli.common import GRAPH_CHOICE, friendly, open_kb
from nesy.errors import NesyError


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--namespace", help="Default namespace for bare names and TSV triples.")
@friendly
def init(directory: str, namespace: str | None) -> None:
    """Create an empty knowledge base in DIRECTORY."""
    from nesy.kb import KnowledgeBase
    from nesy.store.commit import check_new_kb_dir, is_kb

    path = Path(directory)
    if is_kb(path):
        raise NesyError(f"{directory} is already a knowledge base")
    check_new_kb_dir(path)
    with KnowledgeBase(path, default_namespace=namespace) as kb:
        click.echo(f"created knowledge base {directory} (default namespace {kb.default_namespace})")


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--graph", "-g", type=GRAPH_CHOICE, default="asserted", show_default=True,
              help="Provenance graph, or a named graph's IRI.")
@click.option("--format", "-f", "fmt", help="Data format (default: from each file's extension).")
@click.option("--namespace", "-n", help="Namespace for TSV names (remembered by the KB).")
@click.option("--score", type=float, default=1.0, show_default=True, help="Confidence of every triple.")
@click.option("--ontology", is_flag=True, help="Reason over the files with an ontology rule pack and materialise.")
@click.option("--profile", type=click.Choice(["rl", "rdfs"]), default=None,
              help="Rule pack for --ontology: OWL 2 RL (default) or RDFS.")
@friendly
def load(directory: str, files: tuple[str, ...], graph: str, fmt: str | None, namespace: str | None, score: float,
         ontology: bool, profile: str | None) -> None:
    """Load data FILES into the knowledge base in DIRECTORY (each file all or nothing).

    With --ontology, the OWL 2 RL (or --profile rdfs) rules are enabled and the closure is
    materialised; inconsistencies are reported.
    """
    with open_kb(directory, must_exist=False) as kb:
        for f in files:
            if ontology:
                info = kb.load_ontology(f, profile=profile, format=fmt, graph=graph)
                kb.store.checkpoint()
                click.echo(str(info["load"]))
                n = info["violations"]
                click.echo(f"{info['profile']} profile: {info['inferred']} inferred triples, "
                           f"{n} {'inconsistency' if n == 1 else 'inconsistencies'} ({info['seconds']:.2f}s)"
                           + (f"; see them with: nesy check {directory}" if n else ""))
                continue
            report = kb.load(f, graph=graph, format=fmt, namespace=namespace, score=score)
            kb.store.checkpoint()  # each file is its own commit: a later bad file keeps this one
            click.echo(str(report))
        click.echo(f"{len(kb)} triples in {directory}")


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--top", type=int, default=20, show_default=True, help="How many predicates to list.")
@friendly
def stats(directory: str, fmt: str, top: int) -> None:
    """Triples per graph and per predicate."""
    with open_kb(directory, read_only=True) as kb:
        st = kb.stats()
    if fmt == "json":
        click.echo(json.dumps(st, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"{directory}: {st['triples']} triples, {st['terms']} terms")
    t.add_column("graph")
    t.add_column("triples", justify="right")
    for g, n in st["graphs"].items():
        t.add_row(g, str(n))
    console.print(t)
    p = Table(title=f"predicates ({len(st['predicates'])})")
    p.add_column("predicate")
    p.add_column("triples", justify="right")
    for name, n in list(st["predicates"].items())[:top]:
        p.add_row(name, str(n))
    console.print(p)


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--graph", "-g", type=GRAPH_CHOICE, help="Export one graph only.")
@click.option("--format", "-f", "fmt", help="Output format (default: from OUT's extension).")
@friendly
def export(directory: str, out: str, graph: str | None, fmt: str | None) -> None:
    """Write the knowledge base (or one graph) to OUT."""
    with open_kb(directory, read_only=True) as kb:
        n = kb.export(out, format=fmt, graph=graph)
    click.echo(f"wrote {n} statements to {out}")


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["tree", "json"]), default="tree", show_default=True)
@friendly
def check(directory: str, fmt: str) -> None:
    """List the violated constraints (``false :- ...``, OWL inconsistencies) with proofs.

    Exits 1 when there is at least one violation, 0 when the knowledge base is consistent.
    """
    with open_kb(directory, read_only=True) as kb:
        found = kb.violations()
        if fmt == "json":
            click.echo(json.dumps([{"rule": v.rule.label, "score": v.score,
                                    "bindings": {k: str(t) for k, t in v.bindings.items()},
                                    "proof": json.loads(v.proof.to_json(kb.prefixes))} for v in found], indent=2))
        else:
            for i, v in enumerate(found, 1):
                click.echo(f"{i}. {v.rule.label or 'constraint'} (score {v.score:.3g})")
                click.echo(v.proof.to_text(kb.prefixes, default_ns=kb.default_namespace))
            click.echo("consistent: no constraint is violated" if not found else
                       f"{len(found)} {'violation' if len(found) == 1 else 'violations'}")
        if found:
            sys.exit(1)
