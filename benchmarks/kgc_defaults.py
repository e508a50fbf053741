"""The study behind the link predictor's adaptive defaults: validation MRR of each setting.

For every small split in ``../shared/data/kgc`` (Neural-LP family, kinship, umls; ConvE
kinship, umls) this trains nesy's ComplEx (``nesy.linkpred.train.train``) with

* ``fixed``: the fixed defaults used before the rule (dim 200, Adagrad lr 0.1, batch 1024,
  N3 1e-2, label smoothing 0.1, at most 100 epochs, validation every 5, patience 3);
* one setting changed at a time from ``fixed`` (:data:`VARIANTS`: dimension, lr, N3 weight,
  label smoothing, batch);
* ``rule``: ``TrainConfig()`` as it is now, its unset fields resolved from the graph's
  statistics by ``nesy.linkpred.defaults.auto_values``;

and prints one markdown table per question: the graph statistics with what the rule picks,
and the filtered validation MRR (realistic ranks; filter train + valid) of every setting.
Only validation triples are ranked: test triples are never read. Neural-LP family gets
only ``fixed`` and ``rule`` by default (about 5 s an epoch on one core: the full grid
would take an hour); ``--grid-datasets`` changes that::

    .venv/bin/python benchmarks/kgc_defaults.py [--data ../shared/data] [--datasets a,b]
        [--grid-datasets a,b] [--threads 1]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_parser, machine_line, markdown_table, prepared  # noqa: E402
from kgc import DATASETS, load_split, prepare  # noqa: E402

#: The splits of the study (the small ones: CPU-sized).
SMALL = ("nlp-family", "nlp-kinship", "nlp-umls", "conve-kinship", "conve-umls")
#: Splits that get the whole one-at-a-time grid by default.
GRID = ("nlp-kinship", "nlp-umls", "conve-kinship", "conve-umls")
#: The fixed defaults before the rule (TrainConfig of 2026-11).
FIXED = {"model": "complex", "dim": 200, "optimizer": "adagrad", "lr": 0.1, "batch_size": 1024,
         "epochs": 100, "label_smoothing": 0.1, "regularization": 1e-2, "eval_every": 5,
         "patience": 3, "seed": 0, "device": "cpu"}
#: One change at a time from FIXED: (column label, changed fields).
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("dim 100", {"dim": 100}), ("dim 400", {"dim": 400}),
    ("lr 0.03", {"lr": 0.03}), ("lr 0.3", {"lr": 0.3}),
    ("N3 1e-3", {"regularization": 1e-3}), ("N3 3e-3", {"regularization": 3e-3}),
    ("N3 3e-2", {"regularization": 3e-2}),
    ("LS 0", {"label_smoothing": 0.0}), ("LS 0.2", {"label_smoothing": 0.2}),
    ("batch 128", {"batch_size": 128}), ("batch 256", {"batch_size": 256}),
    ("batch 512", {"batch_size": 512}),
]


def fit(split: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Train with ``config`` (TrainConfig fields; unset ones automatic) on ``split``'s train,
    early-stopped on its valid; the best valid MRR, epochs, seconds and the resolved config."""
    import numpy as np

    from nesy.linkpred.train import TrainConfig, train

    E, R = len(split.entity_to_id), len(split.relation_to_id)
    tr, va = split.ids["train"], split.ids["valid"]
    began = time.perf_counter()
    res = train(tr, E, R, TrainConfig.from_dict(config), valid=va, known=np.concatenate([tr, va]),
                progress=False)
    assert res.config is not None
    return {"valid": float(res.best_valid_mrr or 0.0), "epochs": res.epochs_run,
            "seconds": time.perf_counter() - began, "config": res.config.to_dict()}


def study(name: str, split: Any, grid: bool) -> dict[str, dict[str, Any]]:
    """Label -> result of every setting run on dataset ``name``."""
    from nesy.linkpred.train import TrainConfig, resolve_config

    settings = [("fixed", FIXED)] + ([(label, {**FIXED, **c}) for label, c in VARIANTS] if grid else [])
    settings.append(("rule", {**TrainConfig().to_dict(), "device": "cpu"}))
    out: dict[str, dict[str, Any]] = {}
    E, R = len(split.entity_to_id), len(split.relation_to_id)
    for label, config in settings:
        resolved = resolve_config(TrainConfig.from_dict(config), split.ids["train"], E, R).to_dict()
        # Training is deterministic for a seed: a setting the rule resolves to (family's rule
        # is the fixed configuration) is the same run, not trained twice.
        same = next((r for r in out.values() if r["config"] == resolved), None)
        out[label] = dict(same, same_as=True) if same else fit(split, config)
        r = out[label]
        print(f"  {name} {label:10} valid MRR {r['valid']:.4f} ({r['epochs']} ep, "
              f"{r['seconds']:.1f} s{', same configuration as above' if same else ''})",
              file=sys.stderr, flush=True)
    return out


def tables(results: dict[str, dict[str, dict[str, Any]]], stats: dict[str, Any]) -> str:
    """The statistics/rule table and the validation-MRR table (best of each row in bold)."""
    rows = []
    for ds, res in results.items():
        s, rule = stats[ds], res["rule"]["config"]
        gain = res["rule"]["valid"] - res["fixed"]["valid"]
        rows.append([DATASETS[ds][0], f"{s.entities:,}", str(s.relations), f"{s.triples:,}",
                     f"{s.mean_degree:.1f}", str(rule["batch_size"]), f"{rule['regularization']:g}",
                     f"{res['fixed']['valid']:.3f}", f"{res['rule']['valid']:.3f}", f"{gain:+.3f}",
                     f"{res['fixed']['seconds']:.0f} / {res['rule']['seconds']:.0f}"])
    first = markdown_table(
        ["Dataset", "Entities", "Relations", "Train triples", "Mean degree", "Rule: batch",
         "Rule: N3", "Valid MRR fixed", "Valid MRR rule", "Rule - fixed", "Train s fixed / rule"],
        rows, align="lrrrrrrrrrr")
    labels = ["fixed"] + [label for label, _ in VARIANTS] + ["rule"]
    grid_rows = []
    for ds, res in results.items():
        best = max(r["valid"] for r in res.values())
        cells = []
        for label in labels:
            if label not in res:
                cells.append("—")
                continue
            v = f"{res[label]['valid']:.3f}"
            cells.append(f"**{v}**" if res[label]["valid"] == best else v)
        grid_rows.append([DATASETS[ds][0], *cells])
    second = markdown_table(["Dataset", *labels], grid_rows, align="l" + "r" * len(labels))
    return first + "\n\n" + second


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--datasets", default=",".join(SMALL), help="comma-separated subset of "
                        f"{','.join(SMALL)} (default: all)")
    parser.add_argument("--grid-datasets", default=",".join(GRID),
                        help="datasets that get the one-at-a-time grid (default: all but family)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args(argv)
    import torch

    from nesy.linkpred.defaults import GraphStats

    if args.threads:
        torch.set_num_threads(args.threads)
    datasets = [d for d in args.datasets.split(",") if d]
    bad = [d for d in datasets if d not in DATASETS]
    if bad:
        parser.error(f"unknown dataset(s) {', '.join(bad)}; known: {', '.join(DATASETS)}")
    grid = set(args.grid_datasets.split(","))
    results, stats = {}, {}
    with tempfile.TemporaryDirectory(prefix="nesy-bench-kgc-defaults-") as tmp:
        for ds, folder in prepared(datasets, prepare, args.data, Path(tmp)):
            split = load_split(folder)
            stats[ds] = GraphStats.of(split.ids["train"], len(split.entity_to_id),
                                      len(split.relation_to_id))
            results[ds] = study(ds, split, ds in grid)
    print(tables(results, stats))
    print()
    print("- Filtered validation MRR (realistic ranks, filter train + valid), ComplEx, seed 0, "
          f"{args.threads} torch thread(s); fixed = {FIXED}; one change at a time from it; "
          "rule = TrainConfig() resolved by nesy.linkpred.defaults; test triples never read.")
    print(machine_line(["nesy", "torch", "numpy"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
