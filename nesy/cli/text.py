"""``nesy extract``, ``extract-train`` and ``link``: triples from text, and entity linking."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from nesy.cli.common import friendly, open_kb, open_kb_for_query
from nesy.errors import NesyError


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--min-confidence", type=float, default=0.5, show_default=True,
              help="Leave out triples below this confidence.")
@click.option("--lines", is_flag=True, help="Each line of a file is its own document (id FILE:LINE).")
@click.option("--print", "print_fmt", type=click.Choice(["tsv", "json"]),
              help="Also write each extracted triple to stdout: document, subject, predicate, object, confidence.")
@click.option("--extractor",
              help="An extractor by name (a plugin's, or zero-shot); default: the trained model, else zero-shot.")
@friendly
def extract(directory: str, files: tuple[str, ...], min_confidence: float, lines: bool, print_fmt: str | None,
            extractor: str | None) -> None:
    """Extract triples from text FILES (.txt, .md, or directories of them) into the extracted graph.

    Every triple keeps its document, sentence, character span, extractor and confidence;
    proofs that use it quote the sentence. A document that fails adds nothing and is
    reported (exit 1); the other documents' triples are kept.
    """
    with open_kb(directory, must_exist=False) as kb:
        report = kb.extract(list(files), extractor=extractor, min_confidence=min_confidence, lines=lines)
        if print_fmt:
            _print_extracted(kb, report.extracted, print_fmt)
    for name in report.skipped:
        click.echo(f"skipped {name}: empty", err=True)
    for _, message in report.errors:
        click.echo(f"error: {message}", err=True)
    click.echo(str(report), err=bool(print_fmt))
    if report.errors:
        sys.exit(1)


def _print_extracted(kb: Any, rows: list[Any], fmt: str) -> None:
    """One extracted triple a line (TSV or JSON): terms as their labels, else local names."""
    from nesy.text.ingest import extracted_lines

    for line in extracted_lines(kb, rows, fmt):
        click.echo(line)


@click.command(name="extract-train")
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("more", nargs=-1, type=click.Path(), metavar="[FILES]...")
@click.option("--examples", "examples", multiple=True, type=click.Path(),
              help="Labelled examples: WebNLG XML or JSONL ({\"text\":..., \"triples\": [[s, p, o], ...]}).")
@click.option("--valid", "valid", multiple=True, type=click.Path(),
              help="Labelled validation examples (same formats): the F1 after each epoch, the epoch kept and "
                   "the threshold are chosen on them; texts about other predicates and entities than the "
                   "training examples' fit them to new text. Default: about 5% of the training examples, "
                   "those of predicates drawn at random (which training then never sees); once they have chosen, "
                   "the reader is trained again on all the examples (option refit).")
@click.option("--distant", is_flag=True,
              help="Text files (.txt, .md) among FILES are labelled with the facts already in the store.")
@click.option("--epochs", type=int, help="Training epochs (default 2 for the reader, the default model; 6 for the head).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="A TOML file of training options (model: \"reader\", the default, or \"head\"; epochs, lr, batch, "
                   "hidden, out, dropout, use_prior (the head's), holdout, seed, max_examples, patience, pairs_nil, "
                   "encoder, and the reader's encoder_lr, tune_layers, max_tokens, quantize, refit); options given on the command line "
                   "win. The resolved options are written beside the model (config.toml).")
@friendly
def extract_train(directory: str, more: tuple[str, ...], examples: tuple[str, ...], valid: tuple[str, ...],
                  distant: bool, epochs: int | None, config_file: str | None) -> None:
    """Train the extractor on labelled examples (and, with --distant, on text labelled by
    the store's facts); `nesy extract DIR ...` then uses it. The model goes to DIR/models/extractor.

    Prints each epoch's loss, validation precision, recall and F1 (whole triples, the
    WebNLG 2020 normalisation) and the time left. `--examples a.xml b.jsonl` takes several files.
    """
    from nesy.text.documents import TEXT_SUFFIXES

    files = [*examples, *more]
    texts = [f for f in files if distant and f.lower().endswith(TEXT_SUFFIXES)]
    labelled = [f for f in files if f not in texts]
    if not files:
        raise NesyError("give labelled examples (--examples FILE...) or, with --distant, text files")
    options = _train_options(config_file)
    if epochs:
        options["epochs"] = epochs
    from nesy.text.extract_train import check_config

    check_config(options)  # a bad option is refused before a store is created
    with open_kb(directory, must_exist=False) as kb:
        m = kb.train_extractor(labelled, texts=texts, config=options, valid=list(valid), progress=True,
                               on_epoch=_echo_epoch)
    again = ", then trained again on all" if "refit_examples" in m else ""
    held = (f"; validation on {m['held_out']} examples{again}: precision {m['valid_precision']:.3f}, "
            f"recall {m['valid_recall']:.3f}, F1 {m['valid_f1']:.3f}" if "valid_f1" in m
            else "; no validation examples (fewer than 40)")
    click.echo(f"extractor trained on {m.get('refit_examples', m['train'])} of "
               f"{m['labelled_examples'] + m['distant_examples']} examples ({m['labelled_examples']} labelled, "
               f"{m['distant_examples']} by distant supervision), {m['predicates']} properties, "
               f"in {m['seconds']:.1f} s{held}")
    if m.get("saved"):
        click.echo(f"model: {m['saved']} (options: {m['saved']}/config.toml)")


def _train_options(path: str | None) -> dict[str, Any]:
    """The training options of the TOML file at ``path`` (none without one), keys checked."""
    if path is None:
        return {}
    from nesy.ml.tomlconfig import read_config
    from nesy.text.extract_train import DEFAULTS

    return read_config(path, DEFAULTS, what="nesy extract-train")


def _echo_epoch(e: dict[str, Any]) -> None:
    """One line on stderr per epoch: loss, validation P/R/F1, time so far and left."""
    valid = (f", validation P {e['valid_precision']:.3f} R {e['valid_recall']:.3f} F1 {e['valid_f1']:.3f}"
             if "valid_f1" in e else "")
    refit = f"trained again on {e['refit']} examples, " if "refit" in e else ""
    click.echo(f"{refit}epoch {e['epoch']}/{e['epochs']}: loss {e['loss']:.4f}{valid}; {e['seconds']:.0f} s, "
               f"ETA {e['eta_seconds']:.0f} s", err=True)


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("mention")
@click.option("-k", "k", type=int, default=5, show_default=True, help="How many candidates.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@friendly
def link(directory: str, mention: str, k: int, fmt: str) -> None:
    """The knowledge-base entities MENTION most likely names, best first (exact label, alias,
    then text similarity); none when it would be a new entity."""
    with open_kb_for_query(directory) as kb:
        found = kb.link(mention, k)
        rows = [{"term": kb.shorten(c.term), "label": c.label, "score": round(c.score, 4), "method": c.method}
                for c in found]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        click.echo(f"no entity for {mention!r}: extraction would mint a new one")
    for i, r in enumerate(rows if fmt == "table" else [], 1):
        click.echo(f"{i}. {r['term']}  \"{r['label']}\"  score {r['score']:.3f}  ({r['method']})")
