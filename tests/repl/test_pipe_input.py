"""Statements read from a pipe: one left open never swallows the rest of the script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nesy.kb import KnowledgeBase
from nesy.repl.commands import COMMANDS
from nesy.repl.shell import PIPE_TIMEOUT, run_lines
from nesy.repl.statements import is_blank, starts_statement, unterminated

ROOT = Path(__file__).resolve().parents[2]
FAMILY = ROOT / "examples" / "family"
sys.path.insert(0, str(ROOT / "tests"))
from session_capture import Captured  # noqa: E402


@pytest.fixture
def s() -> Captured:
    session = Captured(KnowledgeBase())
    session.run(f":load {FAMILY / 'family.ttl'}")
    return session


def _pipe(s: Captured, *lines: str) -> str:
    start = len(s.console.file.getvalue())
    run_lines(s, (line + "\n" for line in lines))
    return s.console.file.getvalue()[start:]


@pytest.mark.parametrize(("opened", "lack"), [
    ("SELECT * WHERE {", "1 '{' never closed in this SPARQL query"),
    ("SELECT *", "a SPARQL query needs a { ... } block"),
    ("fam:x(fam:a,", "a statement ends with '.'"),
])
@pytest.mark.parametrize("new", ["?- fam:parent(fam:ann, X).", ":stats"])
def test_an_open_statement_is_refused_when_a_new_one_starts(s: Captured, opened: str, lack: str, new: str) -> None:
    out = _pipe(s, "# a script", opened, new, "?- fam:parent(X, fam:bob).")
    assert f"<input>:2: unterminated statement ({lack}; line 3 starts a new statement); it was not run" in out
    assert "fam:ann" in out  # the last query still ran
    if new.startswith("?-"):
        assert "fam:bob" in out and "fam:beth" in out
    assert len(s.kb.rules) == 0


def test_an_open_statement_at_the_end_of_the_input_is_an_error(s: Captured) -> None:
    before = len(s.kb)
    out = _pipe(s, "?- fam:parent(fam:ann, X).", "fam:p(fam:a, fam:b) :-", "   fam:parent(fam:a, fam:b)")
    assert "fam:bob" in out
    assert out.rstrip().endswith(
        "<input>:2: unterminated statement (a statement ends with '.'; the input ends here); it was not run")
    assert len(s.kb) == before and len(s.kb.rules) == 0
    # In a long string the `?-` line is part of the string, not a new statement.
    out = _pipe(s, 'fam:name(fam:a, """open', '?- fam:parent(X, Y).')
    assert "new statement" not in out and "fam:bob" not in out
    out = _pipe(s, 'fam:name(fam:a, "open', '?- fam:parent(X, fam:bob).')
    assert "a string is never closed; line 2 starts a new statement" in out and "fam:ann" in out


def test_continuation_lines_that_look_like_commands_stay_in_the_statement(s: Captured) -> None:
    out = _pipe(s, "PREFIX : <http://example.org/family#>", "SELECT ?x WHERE {", ":ann :parent ?x .", "}")
    assert "fam:bob" in out and "unterminated" not in out
    out = _pipe(s, "# only a comment", "# and another")
    assert out == ""


def test_statement_helpers() -> None:
    assert starts_statement("  ?- p(X).", COMMANDS) and starts_statement("?? who", COMMANDS)
    assert starts_statement(":stats", COMMANDS) and not starts_statement(":ann :parent ?x .", COMMANDS)
    assert not starts_statement("fam:p(X) .", COMMANDS)
    assert is_blank("# c\n  \n") and not is_blank("# c\np(a")
    assert unterminated("SELECT * { { ?s ?p ?o }") == "1 '{' never closed in this SPARQL query"


def test_piped_session_has_a_default_time_limit(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    KnowledgeBase(kb).close()
    env = {k: v for k, v in os.environ.items() if k != "NESY_DEBUG"}
    done = subprocess.run([sys.executable, "-m", "nesy", "repl", str(kb)], input=":limits\n", capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.split()[:1] == ["timeout"])
    assert line.split()[1:] == [f"{PIPE_TIMEOUT:g}", "s", "session"]
