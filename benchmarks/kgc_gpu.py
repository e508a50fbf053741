"""One prepared GPU run: nesy's ComplEx-N3 on WN18RR and FB15k-237, filtered test MRR/Hits.

Trains ``nesy.linkpred.train.train`` (1-N cross-entropy over reciprocal queries, Adagrad,
N3, label smoothing, early stopping on the filtered valid MRR, a wall-clock budget per
dataset) on the ConvE splits ``kgc/conve/{WN18RR,FB15k-237}.tar.gz`` (unpacked into a
temporary directory), then ranks the test triples: filtered by train + valid + test, both
directions, realistic ranks (ties: mean of optimistic and pessimistic), optimistic MRR beside
it. Valid chooses (early stopping); test is only reported. Needs only torch, numpy and nesy::

    python benchmarks/kgc_gpu.py [--data ../shared/data] [--datasets wn18rr,fb15k-237]
        [--device auto] [--budget-s S] [--dim D] [--smoke]

On CUDA it uses bfloat16 autocast for the training loss and TF32 matmuls. Each dataset's
row is printed (and flushed) as soon as it finishes; the final markdown table with the
machine line is printed and, when ``$OUT`` is set, written to ``$OUT/kgc_gpu.md`` (and the
rows to ``$OUT/kgc_gpu.json``). ``--smoke`` runs on CPU in seconds: a slice of each split,
dim 16, one epoch (a check of the path, not a result).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

#: name -> (archive under kgc/, TrainConfig overrides on a GPU). Lacroix et al. (2018) reach
#: 0.48 / 0.37 with ComplEx-N3 at rank 2000 / 1000 and N3 weight 0.1 / 0.05 after hundreds
#: of epochs; these are sized for a ~4-minute budget each on one H200.
DATASETS: dict[str, tuple[str, dict[str, Any]]] = {
    "wn18rr": ("conve/WN18RR.tar.gz", {"dim": 500, "regularization": 0.1, "budget": 200}),
    "fb15k-237": ("conve/FB15k-237.tar.gz", {"dim": 500, "regularization": 0.05, "budget": 230}),
}
#: Published filtered test MRRs (optimistic ranks) for the table.
PUBLISHED = {"wn18rr": "ComplEx-N3 0.48", "fb15k-237": "ComplEx-N3 0.37"}
#: Triples per split kept by --smoke.
SMOKE_TRIPLES = {"train": 3000, "valid": 100, "test": 100}
HEADER = ("| dataset | device | dim | epochs | train s | valid MRR | test MRR | optimistic MRR "
          "| Hits@1 | Hits@10 | published |\n|---|---|---|---|---|---|---|---|---|---|---|")


def load(archive: Path, tmp: Path, smoke: bool) -> tuple[dict[str, Any], int, int]:
    """The three splits of a ConvE archive as int64 (n, 3) id arrays, E and R (ids from the
    sorted labels of all three splits)."""
    import numpy as np

    if not archive.is_file():
        raise SystemExit(f"missing {archive}: pass --data (the folder that holds kgc/)")
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(tmp, filter="data")
    raw: dict[str, list[tuple[str, str, str]]] = {}
    for split in ("train", "valid", "test"):
        path = next(tmp.rglob(f"{split}.txt"))
        rows = [tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines()]
        rows = list(dict.fromkeys(r for r in rows if len(r) == 3))
        raw[split] = rows[: SMOKE_TRIPLES[split]] if smoke else rows  # type: ignore[assignment]
    ents = sorted({e for rows in raw.values() for h, _, t in rows for e in (h, t)})
    rels = sorted({r for rows in raw.values() for _, r, _ in rows})
    e2i, r2i = {e: i for i, e in enumerate(ents)}, {r: i for i, r in enumerate(rels)}
    ids = {s: np.array([(e2i[h], r2i[r], e2i[t]) for h, r, t in rows], dtype=np.int64).reshape(-1, 3)
           for s, rows in raw.items()}
    return ids, len(ents), len(rels)


def run_dataset(name: str, args: argparse.Namespace, device: str) -> dict[str, Any]:
    """Train and evaluate one dataset; its row as a dict."""
    import numpy as np

    from nesy.linkpred.evaluate import evaluate
    from nesy.linkpred.train import TrainConfig, train

    archive, preset = DATASETS[name]
    with tempfile.TemporaryDirectory(prefix="kgc-gpu-") as tmp:
        ids, num_e, num_r = load(Path(args.data) / "kgc" / archive, Path(tmp), args.smoke)
    tr, va, te = ids["train"], ids["valid"], ids["test"]
    budget = args.budget_s if args.budget_s is not None else preset["budget"]
    config = TrainConfig(
        dim=args.dim or (16 if args.smoke else preset["dim"]),
        regularization=preset["regularization"], epochs=1 if args.smoke else args.epochs,
        eval_every=5, patience=4, batch_size=args.batch_size, eval_batch_size=1024,
        device=device, max_seconds=0.0 if args.smoke else float(budget), amp=device != "cpu")
    began = time.perf_counter()
    result = train(tr, num_e, num_r, config, valid=va, known=np.concatenate([tr, va]), progress=False)
    seconds = time.perf_counter() - began
    metrics = evaluate(result.model, te, np.concatenate([tr, va, te]), num_r,
                       batch_size=config.eval_batch_size, device=device)
    return {"dataset": name, "device": device, "dim": config.dim, "epochs": result.epochs_run,
            "train_s": round(seconds, 1), "valid_mrr": result.best_valid_mrr, "mrr": metrics["mrr"],
            "optimistic_mrr": metrics["optimistic_mrr"], "hits@1": metrics["hits@1"],
            "hits@10": metrics["hits@10"], "entities": num_e, "relations": num_r,
            "train_triples": len(tr), "smoke": args.smoke, "config": config.to_dict()}


def row(r: dict[str, Any]) -> str:
    """One markdown table row."""
    return (f"| {r['dataset']}{' (smoke)' if r['smoke'] else ''} | {r['device']} | {r['dim']} | "
            f"{r['epochs']} | {r['train_s']:.0f} | {r['valid_mrr']:.4f} | {r['mrr']:.4f} | "
            f"{r['optimistic_mrr']:.4f} | {r['hits@1']:.4f} | {r['hits@10']:.4f} | "
            f"{PUBLISHED[r['dataset']]} |")


def machine(device: str) -> str:
    """Date, host, accelerator, torch and CUDA versions."""
    import torch

    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "no GPU"
    return (f"{time.strftime('%Y-%m-%d')}; {platform.node()}; {gpu}; {os.cpu_count()} CPU cores; "
            f"Python {platform.python_version()}; torch {torch.__version__}; CUDA {torch.version.cuda}")


def main(argv: list[str] | None = None) -> int:
    """Run the datasets in order; print rows as they finish and the table at the end."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--datasets", default="wn18rr,fb15k-237")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    parser.add_argument("--budget-s", type=float, help="training seconds per dataset (default: preset)")
    parser.add_argument("--epochs", type=int, default=400, help="epoch ceiling (the budget ends sooner)")
    parser.add_argument("--dim", type=int, help="embedding size (default: preset)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--smoke", action="store_true", help="CPU, a slice of each split, one epoch")
    args = parser.parse_args(argv)
    try:
        import torch

        import nesy.linkpred.train  # noqa: F401 - fail here, not after the first dataset
    except ImportError as e:
        raise SystemExit(f"kgc_gpu.py needs torch, numpy and nesy's own imports (torch_geometric, "
                         f"safetensors, rdflib, tqdm...): {e}; run it from the repo root with "
                         "PYTHONPATH=. or after pip install -e '.[neural]'") from None

    if args.smoke:
        device = "cpu"
    elif args.device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        device = args.device
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; known: {', '.join(DATASETS)}")
    line = machine(device)
    print(line, flush=True)
    print(HEADER, flush=True)
    rows = []
    for name in names:
        r = run_dataset(name, args, device)
        rows.append(r)
        print(row(r), flush=True)
    table = "\n".join([line, "", HEADER, *map(row, rows)]) + "\n"
    print("\n" + table, flush=True)
    out = os.environ.get("OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "kgc_gpu.md").write_text(table, encoding="utf-8")
        (Path(out) / "kgc_gpu.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
