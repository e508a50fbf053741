"""`nesy plugins`: every registered component by kind, name and where it comes from."""

from __future__ import annotations

import json

import click

from nesy.cli.common import friendly


@click.command(name="plugins")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--kind", "kinds", multiple=True,
              help="Only this kind (predicate, aggregate, semiring, kge_model, text_encoder, extractor...); repeatable.")
@friendly
def plugins(fmt: str, kinds: tuple[str, ...]) -> None:
    """List the built-in and plugin components: predicates, operators, aggregates, semirings,
    link-prediction models, text encoders, extractors.

    ORIGIN says where each comes from: `built-in`, `entry point DIST:NAME` (an installed
    plugin), or `module NAME`. Nothing is imported to list them (no torch).
    """
    from nesy.plugins.registry import normalize_kind, shared_registry

    registry = shared_registry()
    wanted = {normalize_kind(k) for k in kinds}
    rows = [{"kind": e.kind, "name": str(e.name), "origin": e.origin, "target": e.target}
            for e in registry.entries() if not wanted or e.kind in wanted]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    headers = ["kind", "name", "origin", "target"]
    widths = [max([len(h), *(len(r[h]) for r in rows)]) for h in headers[:-1]]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, [*widths, 0], strict=True)).rstrip())
    for r in rows:
        click.echo("  ".join(r[h].ljust(w) for h, w in zip(headers, [*widths, 0], strict=True)).rstrip())
    plugins_loaded = [p for p in registry.plugins if p != "nesy.plugins.builtins"]
    click.echo(f"{len(rows)} components; plugins: {', '.join(plugins_loaded) or 'none'}", err=True)
