"""Explanations keep their content: `--explain` JSON and tables, SPARQL rows' proofs and `why` match golden files.

The files under ``tests/golden/proofs/`` were written from the node-by-node proof code
before proofs became shared arrays (``python tests/engine/proof_golden.py --write``);
every answer, score, proof and JSON key order must stay as they are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from proof_golden import (
    FAMILY,
    FAMILY_QUERIES,
    FAMILY_WHY,
    GOLDEN,
    ROOT,
    family_outputs,
    lubm_outputs,
)


def _compare(got: dict[str, Any], name: str) -> None:
    want = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert list(got) == list(want)
    for case, expected in want.items():
        assert got[case] == expected, f"{name}: {case} differs from the golden file"


def test_family_explanations_match_golden() -> None:
    _compare(family_outputs(), "family")


def test_lubm_explanations_match_golden(shared_data: Path) -> None:
    if not (shared_data / "owl" / "lubm" / "lubm1").is_dir():
        pytest.skip("LUBM(1) files not found")
    _compare(lubm_outputs(shared_data), "lubm")


def test_cli_explain_json_matches_golden(tmp_path: Path) -> None:
    """`nesy query --explain --format json` and `nesy explain --format json` on a KB on disk."""
    from nesy.cli.main import cli

    kb_dir = tmp_path / "kb"
    runner = CliRunner()
    for args in (["init", str(kb_dir)], ["load", str(kb_dir), str(FAMILY / "family.ttl")],
                 ["rules", str(kb_dir), str(FAMILY / "family.rules")]):
        assert runner.invoke(cli, args).exit_code == 0
    want = json.loads((GOLDEN / "family.json").read_text(encoding="utf-8"))
    saved_rules = sorted((kb_dir / "rules").glob("*.rules"))[0]

    def portable(text: str) -> str:
        # The CLI's KB cites its own copy of the rule file.
        return text.replace(str(saved_rules), "$ROOT/examples/family/family.rules").replace(str(ROOT), "$ROOT")

    for q in (FAMILY_QUERIES[1], FAMILY_QUERIES[6], FAMILY_QUERIES[9]):
        res = runner.invoke(cli, ["query", str(kb_dir), q, "--explain", "--format", "json"])
        assert res.exit_code == 0, res.output
        assert portable(res.output) == want[f"query json {q}"]
    res = runner.invoke(cli, ["explain", str(kb_dir), FAMILY_WHY[0], "--format", "json"])
    assert res.exit_code == 0, res.output
    assert portable(res.output) == want[f"why json {FAMILY_WHY[0]}"] + "\n"
