"""benchmarks/kgc.py --tune: the tuned rows (nesy's search and PyKEEN's hpo_pipeline) on a tiny
budget — both rows are in the table with numbers, and the summary has the tuned columns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("pykeen")
pytest.importorskip("optuna")

ROOT = Path(__file__).resolve().parents[2]


def tables(text: str) -> list[list[list[str]]]:
    """Every markdown table printed: rows of cells, the header first, the rule left out."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            if not line.startswith("|-"):
                current.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif current:
            found.append(current)
            current = []
    return found


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


@pytest.mark.timeout(300)
def test_kgc_tune_prints_the_tuned_rows_with_numbers(shared_data: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kgc.py"), "--data", str(shared_data),
                           "--quick", "--datasets", "nlp-umls", "--models", "complex",
                           "--pykeen-models", "complex", "--tune", "2", "--epochs", "2", "--threads", "1"],
                          capture_output=True, text=True, timeout=280, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    results, summary = tables(done.stdout)[:2]
    header = results[0]
    rows = {(r[header.index("System")], r[header.index("Model")]): dict(zip(header, r)) for r in results[1:]}
    assert set(rows) == {("pykeen", "complex"), ("nesy", "complex"), ("nesy tuned (2 trials)", "complex"),
                         ("PyKEEN tuned (2 trials)", "complex")}, rows
    for system in ("nesy tuned (2 trials)", "PyKEEN tuned (2 trials)"):
        row = rows[(system, "complex")]
        assert "trial" in row["Training"], row  # the kept configuration is shown
        for column in ("MRR", "Hits@1", "Hits@10"):
            assert 0 < number(row[column]) <= 1, (column, row)
        assert number(row["Hits@1"]) <= number(row["MRR"]) <= number(row["Hits@10"]), row
        assert number(row["Train s"]) > 0 and number(row["Peak RSS MiB"]) > 100, row
        assert 1 <= int(row["Epochs"]) <= 2, row
    assert 0 <= number(rows[("nesy tuned (2 trials)", "complex")]["ECE"]) < 1
    cells = dict(zip(summary[0], summary[1]))
    assert cells["nesy tuned best"].startswith("complex 0.") and cells["PyKEEN tuned best"].startswith("complex 0.")
    assert number(cells["Tuned MRR ratio"]) > 0 and cells["nesy tuned − default"].startswith("complex ")
    assert "Tuned (2 trials each):" in done.stdout and "Studies: Neural-LP umls nesy complex: 2 trials" in done.stdout
