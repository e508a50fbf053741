"""``nesy learn``: weighted chain rules learned from the knowledge base (Neural LP)."""

from __future__ import annotations

import click

from nesy.cli.common import friendly, open_kb


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The rule file to write.")
@click.option("--relations", help="Comma-separated head relations (default: every relation).")
@click.option("--max-len", type=int, help="Longest rule body (T, 1-6; default 3).")
@click.option("--train", "train_file", type=click.Path(exists=True, dir_okay=False),
              help="Training triples; default: every KB triple, its own edge hidden while scored.")
@click.option("--valid", type=click.Path(exists=True, dir_okay=False), help="Validation triples (early stopping).")
@click.option("--epochs", type=int, help="Most epochs (default 10).")
@click.option("--top", type=int, default=20, show_default=True, help="Rules kept per relation.")
@click.option("--min-confidence", type=float, default=0.0, show_default=True)
@click.option("--no-kge", is_flag=True, help="Do not fuse the link predictor's relation embeddings.")
@click.option("--soft-links", is_flag=True, help="Use the link predictor's top links as soft steps.")
@click.option("--seed", type=int, help="Random seed (default 0).")
@click.option("--device", help="auto (default), cpu, cuda.")
@friendly
def learn(directory: str, out: str, relations: str | None, max_len: int | None, train_file: str | None,
          valid: str | None, epochs: int | None, top: int, min_confidence: float, no_kge: bool,
          soft_links: bool, seed: int | None, device: str | None) -> None:
    """Learn weighted chain rules from the knowledge base (Neural LP) and write them to OUT.

    Load OUT back with `nesy rules DIR OUT`: answers it derives have proofs whose rule
    steps say `learned`.
    """
    options = {k: v for k, v in {"max_len": max_len, "epochs": epochs, "seed": seed, "device": device}.items()
               if v is not None}
    if no_kge:
        options["use_kge"] = False
    names = [r.strip() for r in relations.split(",") if r.strip()] if relations else None
    with open_kb(directory) as kb:
        r = kb.learn(out=out, relations=names, train=train_file, valid=valid, top=top,
                     min_confidence=min_confidence, soft_links=soft_links, **options)
    mrr = "n/a" if r["best_valid_mrr"] is None else f"{r['best_valid_mrr']:.4f}"
    click.echo(f"{r['count']} rules for {len(r['relations'])} relation(s) in {r['seconds']:.1f} s "
               f"(validation MRR {mrr}; query representation: {', '.join(r['features'])}) -> {out}")
    for text, w, verdict in r["user_rules"]:
        click.echo(f"user rule {verdict} (weight {w:.2f}): {text}")
    for text, why in r["not_chain"]:
        click.echo(f"user rule left out ({why}): {text}")
