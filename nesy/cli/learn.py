"""``nesy learn``: weighted chain rules learned from the knowledge base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from nesy.cli.common import friendly, open_kb
from nesy.errors import NesyError
from nesy.ml.tuning import summary


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The rule file to write.")
@click.option("--relations", help="Comma-separated head relations (default: every relation).")
@click.option("--max-len", type=int, help="Longest rule body (T, 1-6; default 3).")
@click.option("--train", "train_file", type=click.Path(exists=True, dir_okay=False),
              help="Training triples; default: every KB triple, its own edge hidden while scored.")
@click.option("--valid", type=click.Path(exists=True, dir_okay=False), help="Validation triples (early stopping).")
@click.option("--epochs", type=int, help="Most epochs (default 10).")
@click.option("--learner", type=click.Choice(["paths", "neural-lp"]),
              help="paths (default): mined path rules weighted for noisy-or over rules; neural-lp: "
                   "Neural LP's operator attention, rules weighted by confidence.")
@click.option("--top", type=int, help="Rules kept per relation (default 200 with paths, 20 with neural-lp).")
@click.option("--min-confidence", type=float, help="Leave out rules below this confidence (default 0).")
@click.option("--text", "text", is_flag=True,
              help="Also learn from the entities' labels and descriptions which entities fit each relation "
                   "(OUT.text.safetensors; `nesy eval --rules OUT --text` adds it). With neural-lp: the "
                   "relations' names join the query representation.")
@click.option("--no-kge", is_flag=True, help="Do not fuse the link predictor's relation embeddings.")
@click.option("--soft-links", is_flag=True, help="Use the link predictor's top links as soft steps.")
@click.option("--seed", type=int, help="Random seed (default 0).")
@click.option("--device", help="auto (default), cpu, cuda.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="A TOML file of options (LearnConfig fields and the options above); options "
                   "given on the command line win. OUT.config.toml repeats a run.")
@click.option("--tune", type=int, help="Search hyper-parameters with N Optuna trials on --valid; keep the best.")
@click.option("--timeout", type=float, help="With --tune: start no new trial after S seconds.")
@friendly
def learn(directory: str, out: str, relations: str | None, max_len: int | None, train_file: str | None,
          valid: str | None, epochs: int | None, top: int | None, min_confidence: float | None,
          no_kge: bool, soft_links: bool, seed: int | None, device: str | None,
          config_file: str | None, tune: int | None, timeout: float | None, learner: str | None,
          text: bool) -> None:
    """Learn weighted chain rules from the knowledge base and write them to OUT.

    Load OUT back with `nesy rules DIR OUT`: answers it derives have proofs whose rule
    steps say `learned`. The default learner's weights are for the noisyor-rules semiring
    (`nesy materialize DIR --semiring noisyor-rules`). The resolved configuration goes to
    OUT.config.toml (and a tuning study to OUT.tune.json).
    """
    given = {"max_len": max_len, "epochs": epochs, "seed": seed, "device": device, "top": top,
             "min_confidence": min_confidence, "train": train_file, "valid": valid,
             "relations": [r.strip() for r in relations.split(",") if r.strip()] if relations else None,
             "use_kge": False if no_kge else None, "soft_links": True if soft_links else None,
             "learner": learner, "use_text": True if text else None}
    options = _with_config(config_file, {k: v for k, v in given.items() if v is not None})
    if timeout is not None and tune is None:
        raise NesyError("--timeout limits a tuning run: give --tune N too")
    with open_kb(directory) as kb:
        r = kb.learn(out=out, tune=tune, timeout=timeout, **options)
    if r.get("tune"):
        click.echo(summary(r["tune"]))
    mrr = "n/a" if r["best_valid_mrr"] is None else f"{r['best_valid_mrr']:.4f}"
    click.echo(f"{r['count']} rules for {len(r['relations'])} relation(s) in {r['seconds']:.1f} s "
               f"(validation MRR {mrr}; query representation: {', '.join(r['features'])}) -> {out}")
    for text, w, verdict in r["user_rules"]:
        click.echo(f"user rule {verdict} (weight {w:.2f}): {text}")
    for text, why in r["not_chain"]:
        click.echo(f"user rule left out ({why}): {text}")


def _with_config(path: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """The options of the config file at ``path`` (if any) overridden by ``given``; relative
    ``train`` / ``valid`` paths in the file are taken relative to the file's folder."""
    if path is None:
        return given
    from dataclasses import fields

    from nesy.ml.tomlconfig import read_config
    from nesy.rulelearn.kblearn import RUN_OPTIONS
    from nesy.rulelearn.neural_lp import LearnConfig

    data = read_config(path, [f.name for f in fields(LearnConfig)] + list(RUN_OPTIONS), what="nesy learn")
    for key in ("train", "valid"):
        if isinstance(data.get(key), str):
            data[key] = str(Path(path).parent / data[key])
    return {**data, **given}
