"""The driver's shipped tables are exactly what Lark compiles from grammar.lark today."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nesy.rules import lalr, lalr_build


def test_the_shipped_tables_match_the_grammar() -> None:
    shipped = json.loads(lalr_build.TABLES_PATH.read_text(encoding="utf-8"))
    # A failure here means grammar.lark changed: run `python -m nesy.rules.lalr_build`.
    assert shipped == json.loads(json.dumps(lalr_build.compile_tables()))


def test_a_stale_table_file_is_not_used(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = json.loads(lalr_build.TABLES_PATH.read_text(encoding="utf-8"))
    stale["grammar_sha256"] = "0" * 64
    stale["actions"] = {}  # tables that could not parse anything
    path = tmp_path / "grammar_tables.json"
    path.write_text(json.dumps(stale), encoding="utf-8")
    monkeypatch.setattr(lalr, "TABLES_PATH", path)
    lalr.grammar_tables.cache_clear()
    try:
        tables = lalr.grammar_tables()
        assert tables.actions == lalr.Tables(lalr_build.compile_tables()).actions
    finally:
        lalr.grammar_tables.cache_clear()


def test_parsing_a_rule_file_does_not_import_lark() -> None:
    code = (
        "import sys\n"
        "from nesy.rules.parser import parse_program\n"
        "parse_program('p(X) :- q(X), not r(X).\\nq(a).')\n"
        "print('lark' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
