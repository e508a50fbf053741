"""Benchmark text-to-graph alignment: does an entity's projected name find its KGE vector?

Builds a knowledge base from the entity-to-entity triples of WebNLG 2020 (train + dev,
``text/webnlg`` under ``--data``; DBpedia names such as ``Aarhus_Airport``, objects that are
quoted strings or numbers left out), trains a link predictor on it, and aligns the entities'
text vectors (their local names in words, encoded by all-MiniLM-L6-v2) with the predictor's
entity vectors (:func:`nesy.text.fusion.align`, InfoNCE). A share of the entities is held
out of the alignment; for each of them the projected text ranks every entity's KGE vector
by cosine. Prints, per seed and on average, the MRR and Hits@1/10 of the true entity among
all entities and among the held-out ones, beside the MRR of a random ranking (chance)::

    .venv/bin/python benchmarks/fusion.py [--data ../shared/data] [--model transe] [--dim 64]
        [--epochs 100] [--align-epochs 100] [--held-out 0.2] [--seeds 3]
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Timer, bench_parser, fmt_num, machine_line, markdown_table  # noqa: E402

NS = "http://dbpedia.org/resource/"
_LITERAL = re.compile(r'^"|^[\d.,\-/ ]+$|\(.*\)$')  # strings, numbers, dates, "5.3 (litres)"


def webnlg_triples(root: Path) -> list[tuple[str, str, str]]:
    """Distinct entity-to-entity ``<mtriple>`` rows of every XML file under ``root``."""
    out = set()
    for path in sorted(root.rglob("*.xml")):
        for node in ET.parse(path).getroot().iter("mtriple"):
            parts = [x.strip() for x in (node.text or "").split("|")]
            if len(parts) == 3 and all(parts) and not _LITERAL.search(parts[2]):
                out.add(tuple(p.replace(" ", "_") for p in parts))
    return sorted(out)  # type: ignore[arg-type]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--model", default="transe")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=100, help="link-predictor training epochs")
    parser.add_argument("--align-epochs", type=int, default=100)
    parser.add_argument("--held-out", type=float, default=0.2)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    root = args.data / "text" / "webnlg"
    if not root.is_dir():
        sys.exit(f"WebNLG data not found at {root} (give --data)")

    import numpy as np
    import torch

    import nesy
    from nesy.text.encoder import get_encoder, term_texts
    from nesy.text.fusion import align, entity_matrix

    triples = webnlg_triples(root)
    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "webnlg.tsv"
        tsv.write_text("".join(f"{s}\t{p}\t{o}\n" for s, p, o in triples), encoding="utf-8")
        kb = nesy.KnowledgeBase()
        kb.load(tsv, namespace=NS)
    with Timer() as train_time:
        summary = kb.train(model=args.model, dim=args.dim, epochs=args.epochs, device="cpu", progress=False)
    lp = kb.link_predictor
    terms = kb.vocab.terms(lp.data.entity_ids)
    encoder = get_encoder()
    with Timer() as encode_time:
        text = encoder.encode(term_texts(kb, terms))
    kge = entity_matrix(lp)
    rows, runs = [], []
    for seed in range(args.seeds):
        train = torch.from_numpy(np.random.default_rng(seed).random(len(terms)) >= args.held_out)
        m = align(kge, text, train=train, epochs=args.align_epochs, seed=seed)[1]
        runs.append(m)
        rows.append([seed, m["held_out"], fmt_num(m["mrr_all"], 3), fmt_num(m["hits1_all"], 3),
                     fmt_num(m["hits10_all"], 3), fmt_num(m["chance_all"], 4),
                     fmt_num(m["mrr_held_out"], 3), fmt_num(m["chance_held_out"], 4), fmt_num(m["seconds"], 1)])
    mean = {k: float(np.mean([r[k] for r in runs])) for k in
            ("mrr_all", "hits1_all", "hits10_all", "chance_all", "mrr_held_out", "chance_held_out")}
    rows.append(["mean", "", fmt_num(mean["mrr_all"], 3), fmt_num(mean["hits1_all"], 3),
                 fmt_num(mean["hits10_all"], 3), fmt_num(mean["chance_all"], 4),
                 fmt_num(mean["mrr_held_out"], 3), fmt_num(mean["chance_held_out"], 4), ""])
    print(f"WebNLG 2020 train+dev entity graph: {len(terms):,} entities, {len(triples):,} triples, "
          f"{len(lp.data.relation_ids)} relations; link predictor {args.model} dim {args.dim}, "
          f"{summary['epochs']} epochs in {train_time.seconds:.0f} s (valid MRR "
          f"{fmt_num(summary.get('best_valid_mrr'), 3)}); {len(terms):,} names encoded in "
          f"{encode_time.seconds:.1f} s; alignment {args.align_epochs} epochs, "
          f"{args.held_out:.0%} of the entities held out\n")
    print(markdown_table(["seed", "held out", "MRR (all)", "Hits@1", "Hits@10", "chance MRR",
                          "MRR (held out)", "chance", "align s"], rows, "lrrrrrrrr"))
    print(f"\nHeld-out entities find their own KGE vector {mean['mrr_all'] / mean['chance_all']:.1f}x "
          f"better than chance among all entities, {mean['mrr_held_out'] / mean['chance_held_out']:.1f}x "
          "among the held-out ones.")
    print(machine_line(["torch", "transformers"]))


if __name__ == "__main__":
    main()
