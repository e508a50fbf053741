"""docs/rules.md stays true: its ```nesy examples parse, its ```nesy-error examples fail as shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nesy.errors import NesyError
from nesy.rules import parse_program

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```\n?", re.S | re.M)


def fenced_blocks() -> list[tuple[str, str, str | None]]:
    """(kind, code, the ```text block right after it, if any) for each fenced block."""
    text = DOC.read_text(encoding="utf-8")
    matches = list(FENCE.finditer(text))
    out = []
    for i, m in enumerate(matches):
        following = None
        if (
            i + 1 < len(matches)
            and matches[i + 1].start() == m.end()
            and matches[i + 1].group(1) == "text"
        ):
            following = matches[i + 1].group(2)
        out.append((m.group(1), m.group(2), following))
    return out


BLOCKS = fenced_blocks()
VALID = [(f"rules.md#{i}", code) for i, (kind, code, _) in enumerate(BLOCKS) if kind == "nesy"]
INVALID = [
    (f"rules.md#{i}", code, shown)
    for i, (kind, code, shown) in enumerate(BLOCKS)
    if kind == "nesy-error"
]


def test_the_doc_has_examples() -> None:
    assert len(VALID) >= 10 and len(INVALID) >= 30


@pytest.mark.parametrize(("where", "code"), VALID, ids=[v[0] for v in VALID])
def test_nesy_blocks_parse(where: str, code: str, tmp_path: Path) -> None:
    # Imports in the examples name files next to the example; give them something to read.
    (tmp_path / "common.rules").write_text("# shared rules\n", encoding="utf-8")
    program = parse_program(code, file=str(tmp_path / "example.rules"))
    assert program.rules or program.facts or program.queries, where


@pytest.mark.parametrize(("where", "code", "shown"), INVALID, ids=[v[0] for v in INVALID])
def test_nesy_error_blocks_fail_as_shown(
    where: str, code: str, shown: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # so that imports in the examples find nothing
    with pytest.raises(NesyError) as info:
        parse_program(code)
    if shown is not None:
        assert str(info.value) == shown.rstrip("\n"), where


def test_every_error_message_of_the_parser_is_documented() -> None:
    # Each message family the parser can raise appears in the doc's error section.
    doc = DOC.read_text(encoding="utf-8")
    for fragment in [
        "expected ':-' or '.' after the rule head",
        "missing '.' at the end of the statement",
        "expected ')'",
        "expected a term",
        "an atom needs at least one argument",
        "expected a body literal",
        "expected a predicate",
        "expected '::' after the weight",
        "must come before the weight",
        "a rule head cannot be negated",
        "expected an expression",
        "comparisons cannot be chained",
        "expected ':' after the aggregated terms",
        "expected '}' to close the aggregate",
        "unterminated string",
        "unterminated IRI",
        "invalid escape",
        "expected a language tag",
        "unexpected character",
        "expected a prefix name",
        "expected an <IRI>",
        "expected a quoted name",
        "unknown directive",
        "cannot import",
        "unknown prefix",
        "unsafe rule: head variable",
        "unsafe rule: '_' cannot appear in a rule head",
        "unsafe negation",
        "unsafe comparison",
        "unsafe assignment",
        "aggregate term",
        "the aggregate result",
        "the result of an aggregate must be a variable",
        "aggregates cannot be nested",
        "a fact must be ground",
        "a fact cannot have a name",
        "confidence 1.5 is outside (0, 1]",
        "weight 0 is outside (0, 1]",
        "a constraint (false :- ...) cannot have a weight",
        "predicate parent is used with 1 argument here",
        "ill-typed literal",
        "unknown aggregate",
        "import cycle",
        "refused: rule files are data",
    ]:
        assert fragment in doc, fragment
