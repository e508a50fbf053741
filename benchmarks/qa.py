"""Benchmark question answering on PathQuestion (PQ-2H, PQL-2H): Hits@1, speed, proofs.

Questions come from ``qa/pathquestion`` of the shared data (zmtkeke/IRN): ``PQ-2H.txt`` over
the KB ``2H-kb.txt`` and ``PQL-2H.txt`` over ``PQL2-KB.txt``. There is no official split; a
seeded 80/10/10 split (``random.Random(0)`` shuffle of the non-empty lines) is written once to
``benchmarks/splits/pathquestion/<dataset>/{train,valid,test}.lines`` as 1-based line numbers of
the question file (the data has no licence, so its text is not copied into the repository) and
reused, so other systems can be scored on the very same questions. Each run converts the lines
to nesy's question format (``question<TAB>answer1|...<TAB>topic``) in a temporary directory
(``--write-tsv DIR`` keeps them). The topic column is the first element of the gold path: the
gold topic is *given* in the main Hits@1 column; a second column finds the topic by name.

Per dataset and model seed, in a fresh child process: load the KB (``kb.load`` of the TSV
triples), answer the test questions zero-shot (no training: encoder similarity of verbalised
paths), train the QA model on train (early stopping on valid), then answer the test questions
with the gold topic and with linking. Reported: Hits@1 on test (an unanswered question is a
miss), training wall time (the ``train_qa`` call, encoding the questions included), answers
per second (``answer_many`` on the test set: encoding, paths and proofs, batched), the number
of top answers whose proof ``kb.check_proof`` accepts, peak RSS. Published figures (random 10%
test splits of their own, so not strictly comparable) from ``SCORES.md`` side by side::

    .venv/bin/python benchmarks/qa.py [--data ../shared/data/qa/pathquestion] [--datasets PQ-2H,PQL-2H]
        [--seeds 0,1,2] [--threads 1] [--write-tsv DIR]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - the helpers sit next to this script
    REPO,
    Timer,
    bench_parser,
    emit_result,
    machine_line,
    markdown_table,
    run_child,
)

#: name -> (question file, KB file)
DATASETS = {"PQ-2H": ("PQ-2H.txt", "2H-kb.txt"), "PQL-2H": ("PQL-2H.txt", "PQL2-KB.txt")}
SPLITS = REPO / "benchmarks" / "splits" / "pathquestion"
#: Published Hits@1 (%), from SCORES.md (KGQA leaderboard): IRN, TransferNet, and the best entry.
PUBLISHED = {"PQ-2H": {"IRN": 96.0, "TransferNet": 93.2, "best": ("ISM", 99.1)},
             "PQL-2H": {"IRN": 72.5, "TransferNet": 84.1, "best": ("MRP-QA (accuracy)", 98.4)}}


def data_dir(path: Path) -> Path:
    """``path`` itself when it holds PathQuestion, else ``path/qa/pathquestion``."""
    return path if (path / "PQ-2H.txt").exists() else path / "qa" / "pathquestion"


def answer_set(field: str) -> list[str]:
    """The answers of ``answer(a1/a2/...)``; the main answer may itself contain ``(``."""
    for i, ch in enumerate(field):
        if ch == "(" and field.endswith(")"):
            rest = [a for a in field[i + 1:-1].split("/") if a]
            if field[:i] in rest:
                return rest
    raise ValueError(f"cannot read the answer set {field!r}")


PARTS = ("train", "valid", "test")


def split_lines(name: str, data: Path) -> dict[str, list[int]]:
    """The seeded 80/10/10 split of one dataset as line numbers, written once under SPLITS."""
    folder = SPLITS / name
    if all((folder / f"{s}.lines").exists() for s in PARTS):
        return {s: [int(x) for x in (folder / f"{s}.lines").read_text().split()] for s in PARTS}
    text = (data / DATASETS[name][0]).read_text(encoding="utf-8").splitlines()
    numbers = [i for i, line in enumerate(text, 1) if line.strip()]
    random.Random(0).shuffle(numbers)
    a, b = len(numbers) * 8 // 10, len(numbers) * 9 // 10
    parts = {"train": numbers[:a], "valid": numbers[a:b], "test": numbers[b:]}
    folder.mkdir(parents=True, exist_ok=True)
    for s, nums in parts.items():
        (folder / f"{s}.lines").write_text("\n".join(map(str, nums)) + "\n", encoding="utf-8")
    return parts


def write_split(name: str, data: Path, out: Path) -> Path:
    """The split of one dataset as question files ``out/<name>/{train,valid,test}.tsv``."""
    text = (data / DATASETS[name][0]).read_text(encoding="utf-8").splitlines()
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    for s, nums in split_lines(name, data).items():
        rows = []
        for n in nums:
            question, answers, path = text[n - 1].split("\t")
            rows.append(f"{question.strip()}\t{'|'.join(answer_set(answers))}\t{path.split('#')[0]}")
        (folder / f"{s}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def worker_main(system: str, spec: str) -> None:
    """Child: one dataset, one seed (``spec`` is JSON: kb, split, seed, threads)."""
    s = json.loads(spec)
    import torch

    torch.set_num_threads(s["threads"])
    import nesy

    kb = nesy.KnowledgeBase()
    kb.load(s["kb"], progress=False)
    split = Path(s["split"])
    zero = kb.evaluate_qa(split / "test.tsv", check=False)
    with Timer() as t:
        report = kb.train_qa(split / "train.tsv", valid=split / "valid.tsv", seed=s["seed"])
    enc = kb.question_answerer().encoder
    enc.clear_cache()  # the zero-shot pass encoded these questions: time them from scratch
    gold = kb.evaluate_qa(split / "test.tsv")
    enc.clear_cache()
    linked = kb.evaluate_qa(split / "test.tsv", use_topics=False, check=False)
    emit_result({"zero_shot": zero["hits@1"], "hits@1": gold["hits@1"], "linked": linked["hits@1"],
                 "train_s": t.seconds, "epochs": report["epochs"], "valid": report["valid_hits@1"],
                 "aps": gold["answers_per_second"], "answered": gold["answered"], "questions": gold["questions"],
                 "checked": gold["proofs_checked"], "triples": len(kb)})


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated (default: all)")
    parser.add_argument("--seeds", default="0,1,2", help="model seeds (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per child (default: 1)")
    parser.add_argument("--write-tsv", type=Path, help="keep the question files of the split in this directory")
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(*args.worker)
        return 0
    data = data_dir(args.data)
    with tempfile.TemporaryDirectory(prefix="nesy-bench-qa-") as tmp:
        return run(args, parser, data, args.write_tsv or Path(tmp))


def run(args: Any, parser: Any, data: Path, out: Path) -> int:
    """Run every dataset and seed; print the table."""
    rows, notes = [], []
    goal_parts = []
    for name in [d for d in args.datasets.split(",") if d]:
        if name not in DATASETS:
            parser.error(f"unknown dataset {name}; known: {', '.join(DATASETS)}")
        if not (data / DATASETS[name][0]).exists():
            print(f"skipping {name}: {data / DATASETS[name][0]} is absent", file=sys.stderr)
            continue
        split = write_split(name, data, out)
        runs = []
        for seed in [int(x) for x in args.seeds.split(",")]:
            spec = {"kb": str(data / DATASETS[name][1]), "split": str(split), "seed": seed, "threads": args.threads}
            runs.append(run_child([__file__, "--worker", "qa", json.dumps(spec)]))
            print(f"{name} seed {seed}: {runs[-1]}", file=sys.stderr)

        def pct(key: str, rs: list[dict[str, Any]] = runs) -> str:
            vals = [100 * r[key] for r in rs]
            spread = f" ({min(vals):.1f}–{max(vals):.1f})" if len(vals) > 1 else ""
            return f"{statistics.mean(vals):.1f}{spread}"

        r0 = runs[0]
        pub = PUBLISHED[name]
        best = statistics.mean(100 * r["hits@1"] for r in runs)
        rows.append([name, f"{r0['triples']:,}", r0["questions"], pct("zero_shot"), pct("hits@1"), pct("linked"),
                     f"{statistics.mean(r['train_s'] for r in runs):.1f}",
                     f"{statistics.mean(r['aps'] for r in runs):.0f}",
                     f"{sum(r['checked'] for r in runs)}/{sum(r['answered'] for r in runs)}",
                     f"{max(r['peak_rss_mib'] for r in runs):.0f}",
                     f"IRN {pub['IRN']} · TransferNet {pub['TransferNet']} · best {pub['best'][0]} {pub['best'][1]}"])
        beaten = all(best > pub[k] for k in ("IRN", "TransferNet")) and best > pub["best"][1]
        proofs = sum(r["checked"] for r in runs) == sum(r["answered"] for r in runs)
        goal_parts.append(f"{name}: {'met' if beaten and proofs else 'not met'} ({best:.1f} against IRN "
                          f"{pub['IRN']}, TransferNet {pub['TransferNet']}, best listed {pub['best'][0]} "
                          f"{pub['best'][1]}; one test question is {100 / r0['questions']:.2f} points; "
                          f"checked proofs for {sum(r['checked'] for r in runs)} of "
                          f"{sum(r['answered'] for r in runs)} answers)")
        notes.append(f"{name}: test {r0['questions']} questions; epochs per seed "
                     f"{[r['epochs'] for r in runs]}; valid Hits@1 {[round(r['valid'], 4) for r in runs]}")
    headers = ["Dataset", "KB triples", "Test questions", "Zero-shot Hits@1", "Hits@1 (gold topic)",
               "Hits@1 (linked topic)", "Train s", "Answers/s", "Proofs checked", "Peak RSS MiB", "Published Hits@1"]
    print(markdown_table(headers, rows, "lrrrrrrrrrl"))
    print()
    print("Hits@1 in %: mean over model seeds " + args.seeds + " (min–max); test = the committed split in "
          "benchmarks/splits/pathquestion. Published figures are on other random splits.")
    for n in notes:
        print(n)
    print(machine_line(["torch", "transformers"]))
    print("Goal (above every published figure, with a proof for every answer): " + "; ".join(goal_parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
