"""``nesy train``, ``eval`` and ``predict``: the link predictor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from nesy.cli.common import friendly, open_kb
from nesy.errors import NesyError
from nesy.ml.tuning import summary


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--model", help="transe, distmult, complex (default), rotate or rgcn.")
@click.option("--dim", type=int, help="Embedding size (default 200).")
@click.option("--epochs", type=int, help="Most epochs (default 100; early stopping ends sooner).")
@click.option("--lr", type=float, help="Learning rate (default 0.1, Adagrad).")
@click.option("--batch-size", type=int, help="Queries per step (default: from the graph's size, 128-1024).")
@click.option("--seed", type=int, help="Random seed (default 0).")
@click.option("--device", help="auto (default: CUDA when present), cpu, cuda, cuda:N.")
@click.option("--valid", type=click.Path(exists=True, dir_okay=False),
              help="Validation triples (TSV or RDF) for early stopping; default: hold out 5%.")
@click.option("--resume", is_flag=True, help="Continue the current model with the data loaded since.")
@click.option("--nproc", type=int, help="Data-parallel processes (torchrun; default 1).")
@click.option("--name", help="Checkpoint name under DIR/models (default: the model name).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="TOML file of training options (TrainConfig fields, valid, name, nproc); "
                   "options given on the command line win. DIR/models/NAME/config.toml repeats a run.")
@click.option("--log-dir", type=click.Path(file_okay=False),
              help="Also write TensorBoard events here (needs tensorboard).")
@click.option("--tune", type=int, help="Search hyper-parameters with N Optuna trials; keep the best.")
@click.option("--timeout", type=float, help="With --tune: start no new trial after S seconds.")
@friendly
def train(directory: str, model: str | None, dim: int | None, epochs: int | None, lr: float | None,
          batch_size: int | None, seed: int | None, device: str | None, valid: str | None, resume: bool,
          nproc: int | None, name: str | None, config_file: str | None, log_dir: str | None,
          tune: int | None, timeout: float | None) -> None:
    """Train the link predictor on the knowledge base's triples.

    The checkpoint (safetensors + JSON) goes to DIR/models/NAME and becomes the model that
    `~p(X, Y)` rule atoms, `nesy predict` and `nesy eval` use. Per-epoch metrics go to
    DIR/models/NAME/metrics.jsonl (`nesy plot DIR` draws them), the resolved options to
    DIR/models/NAME/config.toml.
    """
    given = {"model": model, "dim": dim, "epochs": epochs, "lr": lr, "batch_size": batch_size,
             "seed": seed, "device": device, "valid": valid, "name": name, "nproc": nproc}
    options = _with_config(config_file, {k: v for k, v in given.items() if v is not None})
    valid, name, nproc = options.pop("valid", None), options.pop("name", None), options.pop("nproc", 1)
    if not isinstance(nproc, int) or nproc < 1:
        raise NesyError("--nproc must be at least 1")
    if timeout is not None and tune is None:
        raise NesyError("--timeout limits a tuning run: give --tune N too")
    with open_kb(directory) as kb:
        r = kb.train(valid=valid, resume=resume, nproc=nproc, name=name, log_dir=log_dir, tune=tune,
                     timeout=timeout, **options)
    if r.get("tune"):
        click.echo(summary(r["tune"]))
    mrr = "n/a" if r["best_valid_mrr"] is None else f"{r['best_valid_mrr']:.4f}"
    click.echo(f"{r['model']}: {r['triples']} training triples, {r['entities']} entities, "
               f"{r['relations']} relations; {r['epochs']} epochs in {r['seconds']:.1f} s; "
               f"validation MRR {mrr} ({r['valid']} triples)")
    if resume:
        click.echo(f"{r['new_entities']} new entities started from their neighbours")
    click.echo(f"checkpoint: {r['checkpoint']}")


def _with_config(path: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """The options of the config file at ``path`` (if any) overridden by ``given``; a relative
    ``valid`` in the file is taken relative to the file's folder."""
    if path is None:
        return given
    from dataclasses import fields

    from nesy.linkpred.kbtrain import RUN_OPTIONS
    from nesy.linkpred.train import TrainConfig
    from nesy.ml.tomlconfig import read_config

    data = read_config(path, [f.name for f in fields(TrainConfig)] + list(RUN_OPTIONS), what="nesy train")
    if isinstance(data.get("valid"), str):
        data["valid"] = str(Path(path).parent / data["valid"])
    return {**data, **given}


def _echo_calibration(c: dict[str, Any]) -> None:
    """The calibration lines of `nesy eval`."""
    click.echo(f"calibration on {c['positives']} test queries and {c['negatives']} sampled "
               f"corruptions ({c['binning']}):")
    click.echo("| probabilities | ECE | Brier |")
    click.echo("|---|---|---|")
    click.echo(f"| sigmoid(score), before Platt scaling | {c['ece_raw']:.4f} | {c['brier_raw']:.4f} |")
    if c.get("ece") is not None:
        click.echo(f"| after Platt scaling (what ~p(X, Y) carries) | {c['ece']:.4f} | {c['brier']:.4f} |")


@click.command(name="eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--test", "test", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Test triples (TSV in the KB's namespace, or RDF).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--rules", "rules", type=click.Path(exists=True, dir_okay=False),
              help="Rank by the chain rules of this rule file (e.g. from `nesy learn`).")
@click.option("--hybrid", is_flag=True, help="With --rules: add the link predictor's probability.")
@click.option("--hybrid-weight", type=float, default=0.5, show_default=True,
              help="Weight of the link predictor's probability in --hybrid ranking.")
@click.option("--text", "text", is_flag=True,
              help="With --rules: add the rule file's entity-text model (from `nesy learn --text`).")
@click.option("--negatives", type=int,
              help="Rank each answer against N random non-answers (GraIL's protocol) instead of all entities.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --negatives draw.")
@friendly
def evaluate(directory: str, test: str, fmt: str, rules: str | None, hybrid: bool, hybrid_weight: float,
             negatives: int | None, seed: int, text: bool) -> None:
    """Rank the test triples (filtered, both directions) with the current model or rules.

    With --rules, a candidate's score is what the reasoner derives for it with that rule
    file from the knowledge base's entity triples, in the semiring the file asks for.
    """
    import json

    if hybrid and not rules:
        raise NesyError("--hybrid combines rules with the link predictor: give --rules FILE too")
    if text and not rules:
        raise NesyError("--text adds the rule file's text model to its rules: give --rules FILE too")
    with open_kb(directory, read_only=False) as kb:
        m = kb.evaluate(test, rules=rules, hybrid=hybrid, hybrid_weight=hybrid_weight, negatives=negatives, seed=seed,
                        text=text)
    if fmt == "json":
        click.echo(json.dumps(m, indent=2))
        return
    against = f"against {negatives} sampled non-answers (seed {seed})" if negatives else "filtered"
    semiring = f" ({m['semiring']} scores)" if m.get("semiring") else ""
    click.echo(f"{m['model']}{semiring} on {m['triples']} test triples ({m['skipped']} skipped: unknown entity "
               f"or relation), {m['n']} ranked queries (head and tail), {against}")
    click.echo("ties: rank = mean of optimistic and pessimistic rank")
    click.echo("| metric | realistic | optimistic |")
    click.echo("|---|---|---|")
    for key in ("mrr", "mr", "hits@1", "hits@3", "hits@10"):
        click.echo(f"| {key.upper() if key in ('mrr', 'mr') else key.capitalize()} | "
                   f"{m[key]:.4f} | {m['optimistic_' + key]:.4f} |")
    if m.get("calibration"):
        _echo_calibration(m["calibration"])


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--relation", help="Only this relation (e.g. fam:parent); default: every relation.")
@click.option("--threshold", type=float, default=0.5, show_default=True, help="Lowest probability kept.")
@click.option("--k", "k", type=int, default=10, show_default=True, help="Candidates per head entity.")
@friendly
def predict(directory: str, relation: str | None, threshold: float, k: int) -> None:
    """Write the model's most probable missing links into the predicted graph.

    Earlier predictions for the same relations are replaced. Query them with
    `nesy query DIR ... --predicted` (SPARQL) or use `~p(X, Y)` in rules.
    """
    if not 0.0 <= threshold <= 1.0:
        raise NesyError("--threshold must be a probability in [0, 1]")
    with open_kb(directory) as kb:
        r = kb.predict_links(relation=relation, threshold=threshold, k=k)
    click.echo(f"{r['added']} predicted triples (probability >= {threshold}) for "
               f"{r['relations']} relation(s) in the predicted graph")
