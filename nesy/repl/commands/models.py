"""The learned-model commands: ``:train`` (link predictor), ``:learn`` (rules), ``:predict``."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nesy.repl.commands import CommandError, command, option_value

if TYPE_CHECKING:
    from nesy.repl.session import Session


def _epochs(config: Any, options: dict[str, Any]) -> int:
    """The most epochs a run of ``config`` (a learner's Config class) with ``options`` takes."""
    from dataclasses import fields

    names = {f.name for f in fields(config)}
    return int(config.from_dict({k: v for k, v in options.items() if k in names}).epochs)


@contextmanager
def epoch_progress(s: Session, label: str, total: int) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A live bar for a training run: epochs done, the loss, the latest validation MRR.

    Yields the ``on_epoch`` callback the learners call with each epoch's record. On a
    terminal the bar redraws as epochs finish; elsewhere its last state is printed once.
    """
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("epoch {task.completed}/{task.total}"),
                   TextColumn("{task.fields[loss]}"), TextColumn("{task.fields[mrr]}"), TimeElapsedColumn(),
                   console=s.console, transient=False)
    task = bar.add_task(label, total=total, loss="", mrr="valid MRR —")

    def on_epoch(record: dict[str, Any]) -> None:
        fields: dict[str, Any] = {"completed": int(record.get("epoch", 0))}
        if record.get("loss") is not None:
            fields["loss"] = f"loss {record['loss']:.4f}"
        if record.get("valid_mrr") is not None:
            fields["mrr"] = f"valid MRR {record['valid_mrr']:.4f}"
        # Drawn now, not by the bar's timer thread: a busy training loop may starve the
        # thread, and each epoch's figures should reach the terminal as they happen.
        bar.update(task, refresh=True, **fields)

    with bar:
        yield on_epoch
        # An early stop is a finished run: the bar ends where training ended.
        bar.update(task, total=bar.tasks[0].completed or total)


@command("train", "[OPTION=VALUE...]", "train the link predictor (model=rotate dim=200 epochs=100 ...)")
def _train(s: Session, args: str) -> None:
    options: dict[str, Any] = {}
    for word in shlex.split(args):
        key, eq, value = word.partition("=")
        if not eq or not value:
            raise CommandError(f":train takes OPTION=VALUE words (model=rotate dim=100 epochs=50), not {word!r}")
        options[key.replace("-", "_")] = option_value(value)
    from nesy.linkpred.train import TrainConfig

    with epoch_progress(s, "training", _epochs(TrainConfig, options)) as on_epoch:
        r = s.kb.train(progress=False, on_epoch=on_epoch, **options)
    mrr = "n/a" if r["best_valid_mrr"] is None else f"{r['best_valid_mrr']:.4f}"
    s.say(f"{r['model']}: {r['epochs']} epochs in {r['seconds']:.1f} s, validation MRR {mrr}"
          + (f"; checkpoint {r['checkpoint']}" if r["checkpoint"] else ""), style="green")


@command("learn", "OUT.rules [OPTION=VALUE...]", "learn weighted chain rules (mined paths, or learner=neural-lp) into a rule file")
def _learn(s: Session, args: str) -> None:
    words = shlex.split(args)
    if not words or "=" in words[0]:
        raise CommandError(":learn needs the rule file to write, e.g. :learn learned.rules max_len=2 epochs=5")
    options: dict[str, Any] = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if not eq or not value:
            raise CommandError(f":learn takes OPTION=VALUE words after the file, not {word!r}")
        options[key.replace("-", "_")] = option_value(value)
    if isinstance(options.get("relations"), str):
        options["relations"] = options["relations"].split(",")
    from nesy.rulelearn.neural_lp import LearnConfig

    with epoch_progress(s, "learning rules", _epochs(LearnConfig, options)) as on_epoch:
        r = s.kb.learn(out=words[0], progress=False, on_epoch=on_epoch, **options)
    s.say(f"{r['count']} rules in {r['seconds']:.1f} s -> {words[0]} (:load it to use them)", style="green")
    for line in r["rules"].splitlines():
        if line and not line.startswith(("#", "@")):
            s.say(line)


@command("predict", "HEAD RELATION [K]", "the K (default 10) most probable tails by the link predictor")
def _predict(s: Session, args: str) -> None:
    words = shlex.split(args)
    if len(words) not in (2, 3) or (len(words) == 3 and not words[2].isdigit()):
        raise CommandError(":predict needs HEAD RELATION [K], e.g. :predict fam:ann fam:parent 5")
    k = int(words[2]) if len(words) == 3 else 10
    table = Table("#", "tail", "probability", header_style="bold")
    for i, (term, p) in enumerate(s.kb.predict(words[0], words[1], k), 1):
        table.add_row(str(i), s.kb.shorten(term), f"{p:.4f}")
    s.console.print(table)
