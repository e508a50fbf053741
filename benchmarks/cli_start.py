"""Benchmark a one-shot CLI query: the whole `nesy query` process, start to exit.

A user who types ``nesy query kb "?- fam:grandparent(fam:ann, X)."`` waits for Python to
start, nesy to import, the KB to open, its rules to be read and the answer to print. This
times that whole process (wall clock, median of ``--repeat`` runs) on the family example,
beside what bounds it from below and a peer that answers from the same kind of store:

* ``nesy query`` (rule query), with ``--explain``, and the same question in SPARQL;
* ``nesy --help`` (the CLI alone) and ``python -c "import numpy, rdflib"`` (the libraries
  the KB cannot open without);
* ``oxigraph query`` (the Oxigraph server binary's one-shot query) on a copy of the KB's
  own RDF database, the grandparent question as a SPARQL property path.

Prints one markdown table, the machine, and the goal line (a one-shot rule query under
0.3 s)::

    .venv/bin/python benchmarks/cli_start.py [--repeat N]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, bench_parser, machine_line, markdown_table  # noqa: E402

#: The goal for a one-shot rule query on the family example (seconds, whole process).
GOAL_S = 0.3

BIN = Path(sys.executable).parent
FAMILY = REPO / "examples" / "family"
RULE_QUERY = "?- fam:grandparent(fam:ann, X)."
SPARQL_QUERY = "SELECT ?x WHERE { fam:ann fam:grandparent ?x }"
OX_QUERY = (
    "PREFIX fam: <http://example.org/family#> "
    "SELECT DISTINCT ?x WHERE { fam:ann fam:parent/fam:parent ?x }"
)


def _run(argv: Sequence[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(list(argv), capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds, proc.stdout


def _build_kb(work: Path, env: dict[str, str]) -> Path:
    kb = work / "family"
    nesy = str(BIN / "nesy")
    _run([nesy, "init", str(kb)], env)
    _run([nesy, "load", str(kb), str(FAMILY / "family.ttl")], env)
    _run([nesy, "rules", str(kb), str(FAMILY / "family.rules")], env)
    return kb


def _median(argv: Sequence[str], env: dict[str, str], repeat: int) -> tuple[float, float, str]:
    _run(argv, env)  # one untimed run: the page cache and .pyc files are warm for all systems
    times = []
    out = ""
    for _ in range(repeat):
        seconds, out = _run(argv, env)
        times.append(seconds)
    return statistics.median(times), max(times), out


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per command (default: %(default)s)")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    nesy = str(BIN / "nesy")
    with tempfile.TemporaryDirectory(prefix="nesy-cli-start-") as tmp:
        work = Path(tmp)
        kb = _build_kb(work, env)
        ox_copy = work / "oxigraph-copy"
        shutil.copytree(kb / "oxigraph", ox_copy)
        commands = [
            ("nesy query (rule)", [nesy, "query", str(kb), RULE_QUERY]),
            ("nesy query --explain (rule)", [nesy, "query", str(kb), RULE_QUERY, "--explain"]),
            ("nesy query (SPARQL)", [nesy, "query", str(kb), SPARQL_QUERY]),
            ("nesy --help", [nesy, "--help"]),
            ("python -c 'import numpy, rdflib'", [sys.executable, "-c", "import numpy, rdflib"]),
            ("oxigraph query (SPARQL path)", [str(BIN / "oxigraph"), "query", "--location", str(ox_copy),
                                              "--query", OX_QUERY, "--results-format", "tsv"]),
        ]
        rows = []
        results = {}
        for name, argv in commands:
            med, worst, out = _median(argv, env, args.repeat)
            results[name] = (med, out)
            rows.append([name, f"{med:.3f}", f"{worst:.3f}"])
    base = results["nesy query (rule)"][0]
    for row in rows:
        row.append(f"{results[row[0]][0] / base:.2f}x")
    print(markdown_table(["Command (family example)", "Median s", "Max s", "Time / nesy query"], rows, "lrrr"))
    print()
    answers = sum(1 for line in results["nesy query (rule)"][1].splitlines() if "score" in line)
    ox_answers = max(0, len(results["oxigraph query (SPARQL path)"][1].strip().splitlines()) - 1)
    print(f"Answers: nesy {answers}, oxigraph {ox_answers} (the same question; median of {args.repeat} "
          "whole-process runs after one untimed run).")
    print(machine_line(["pyoxigraph", "rdflib", "numpy"]))
    verdict = "met" if base < GOAL_S else "not met"
    print(f"Goal: a one-shot `nesy query` rule query on the family example under {GOAL_S} s — "
          f"{verdict} ({base:.3f} s median)")


if __name__ == "__main__":
    main()
