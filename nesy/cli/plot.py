"""``nesy plot``: draw a model's training curves (or its reliability diagram) to a PNG.

Reads ``DIR/models/NAME/metrics.jsonl`` (written by ``nesy train``, one record per epoch)
and draws the training loss and the validation MRR / Hits@1 / Hits@10 against the epoch;
``--calibration`` draws the reliability diagram that the last ``nesy eval`` stored in
``DIR/models/NAME/calibration.json``. matplotlib is imported only here (Agg backend, no
display needed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from nesy.cli.common import friendly, open_kb
from nesy.errors import NesyError

#: Validation curves drawn on the right panel (record key -> label).
VALID_CURVES = {"valid_mrr": "MRR", "valid_hits@1": "Hits@1", "valid_hits@10": "Hits@10"}


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise NesyError("nesy plot draws with matplotlib, which is not installed: "
                        "pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(records: list[dict[str, Any]], out: Path, title: str) -> dict[str, int]:
    """Draw loss (left) and validation metrics (right) per epoch to ``out``; returns the
    number of points of each drawn line (``loss``, and each validation key present)."""
    if not records:
        raise NesyError("the training log is empty: no epoch finished")
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    points: dict[str, int] = {}
    try:
        epochs = [r["epoch"] for r in records]
        left.plot(epochs, [r.get("loss") for r in records], marker=".", label="training loss")
        points["loss"] = len(records)
        left.set(xlabel="epoch", ylabel="loss (1-N cross-entropy)", title="training loss")
        for key, label in VALID_CURVES.items():
            xs = [r["epoch"] for r in records if r.get(key) is not None]
            if xs:
                right.plot(xs, [r[key] for r in records if r.get(key) is not None], marker="o",
                           label=label)
                points[key] = len(xs)
        right.set(xlabel="epoch", ylabel="filtered, realistic ranks", title="validation",
                  ylim=(0, 1))
        if len(points) > 1:
            right.legend()
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(out, dpi=100)
    finally:
        plt.close(fig)
    return points


def plot_reliability(report: dict[str, Any], out: Path, title: str) -> dict[str, int]:
    """Draw the reliability diagram (mean label against mean probability per bin, before and
    after Platt scaling) of a calibration report to ``out``; returns points per line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    points: dict[str, int] = {}
    try:
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
        for key, label, ece in (("bins_raw", "sigmoid(score)", report.get("ece_raw")),
                                ("bins", "after Platt scaling", report.get("ece"))):
            bins = report.get(key) or []
            if bins:
                ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                        label=f"{label} (ECE {ece:.3f})")
                points[key] = len(bins)
        if not points:
            raise NesyError("the calibration report has no bins")
        ax.set(xlabel="mean predicted probability", ylabel="fraction true", xlim=(0, 1),
               ylim=(0, 1), title=title)
        ax.legend(loc="upper left")
        fig.tight_layout()
        fig.savefig(out, dpi=100)
    finally:
        plt.close(fig)
    return points


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--name", help="The model under DIR/models (default: the current link predictor).")
@click.option("--out", type=click.Path(dir_okay=False),
              help="The PNG to write (default: DIR/models/NAME/curves.png or reliability.png).")
@click.option("--calibration", is_flag=True,
              help="Draw the reliability diagram of the last `nesy eval` instead of the curves.")
@friendly
def plot(directory: str, name: str | None, out: str | None, calibration: bool) -> None:
    """Draw the training curves of a model (loss, validation MRR and Hits per epoch) to a PNG."""
    from nesy.linkpred.kbtrain import CALIBRATION_FILE
    from nesy.ml.tracking import METRICS_FILE, read_metrics

    with open_kb(directory, read_only=True) as kb:
        name = name or kb.config.get("link_predictor")
        if not name:
            raise NesyError(f"{directory} has no trained model: run `nesy train {directory}` first")
        folder = kb.models.require_dir(name)
    if calibration:
        source = folder / CALIBRATION_FILE
        if not source.is_file():
            raise NesyError(f"no calibration report for {name}: run `nesy eval {directory} --test FILE` first",
                            file=str(source))
        try:
            report = json.loads(source.read_text(encoding="utf-8"))
        except ValueError:
            raise NesyError("the calibration report is not JSON; run nesy eval again", file=str(source)) from None
        target = Path(out) if out else folder / "reliability.png"
        points = plot_reliability(report, target, f"{name}: reliability on {Path(report.get('test', '?')).name}")
    else:
        records = read_metrics(folder / METRICS_FILE)
        target = Path(out) if out else folder / "curves.png"
        points = plot_curves(records, target, f"{name}: {len(records)} epochs")
    drawn = ", ".join(f"{k} {v}" for k, v in points.items())
    click.echo(f"wrote {target} (points per line: {drawn})")
