"""The CLI's error boundary: any exception a command lets out is one ``error:`` line and a
non-zero exit, a bug says it is one, ``--debug`` / ``NESY_DEBUG=1`` show the traceback."""

from __future__ import annotations

import errno
import gzip
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from nesy.cli.common import MAX_LINE, render_error
from nesy.cli.main import cli
from nesy.errors import NesyError, ParseError

FAMILY = Path(__file__).resolve().parents[2] / "examples" / "family"


@pytest.fixture
def raising() -> Iterator[list[BaseException]]:
    """A command ``nesy boom`` on the real group that raises what the test puts in the list."""
    box: list[BaseException] = []

    @click.command(name="boom")
    def boom() -> None:
        raise box[0]

    cli.add_command(boom)
    try:
        yield box
    finally:
        cli.commands.pop("boom", None)


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, BaseException | None]:
    result = CliRunner(env={"NESY_DEBUG": "", **(env or {})}).invoke(cli, list(args))
    escaped = None if isinstance(result.exception, SystemExit) else result.exception
    return result.exit_code, result.output, escaped


def nesy(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "NESY_DEBUG"}
    return subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True, timeout=120,
                          env={**base, **(env or {})}, cwd=cwd)


def test_a_bug_is_one_line_that_says_it_is_a_bug(raising: list[BaseException]) -> None:
    raising.append(ZeroDivisionError("division by zero\nsecond line"))
    code, out, escaped = invoke("boom")
    assert escaped is None and code == 1
    assert out == ("error: internal error: ZeroDivisionError: division by zero second line "
                   "(this is a bug; rerun with --debug and report it)\n")


def test_a_nesy_error_is_its_message(raising: list[BaseException]) -> None:
    raising.append(NesyError("x is not a knowledge base"))
    assert invoke("boom")[:2] == (1, "error: x is not a knowledge base\n")


def test_ctrl_c_is_interrupted_and_exit_130(raising: list[BaseException]) -> None:
    raising.append(KeyboardInterrupt())
    code, out, escaped = invoke("boom")
    assert (code, out, escaped) == (130, "error: interrupted\n", None)


def test_out_of_memory_names_the_budget(raising: list[BaseException]) -> None:
    raising.append(MemoryError("Unable to allocate 7.45 GiB for an array with shape (1000000000,)"))
    code, out, _ = invoke("boom")
    assert code == 1 and out.startswith("error: out of memory (Unable to allocate 7.45 GiB")
    assert "max_memory" in out and "--max-memory" in out and out.count("\n") == 1


def test_os_error_on_a_file_names_the_file_and_reason(raising: list[BaseException]) -> None:
    raising.append(PermissionError(errno.EACCES, "Permission denied", "/data/kb/vocab.nt"))
    assert invoke("boom")[:2] == (1, "error: /data/kb/vocab.nt: Permission denied\n")
    raising[0] = OSError(errno.ENOSPC, "No space left on device")
    assert invoke("boom")[:2] == (1, "error: No space left on device\n")


def test_an_eof_error_is_not_a_bare_aborted(raising: list[BaseException]) -> None:
    # click turns an escaping EOFError into "Aborted!"; the boundary reports it first.
    raising.append(EOFError("Compressed file ended before the end-of-stream marker was reached"))
    code, out, _ = invoke("boom")
    assert code == 1 and "Aborted!" not in out
    assert out.startswith("error: internal error: EOFError: Compressed file ended")


def test_debug_lets_the_exception_through(raising: list[BaseException]) -> None:
    raising.append(ZeroDivisionError("boom"))
    for args, env in ((("--debug", "boom"), None), (("boom",), {"NESY_DEBUG": "1"})):
        code, _, escaped = invoke(*args, env=env)
        assert code == 1 and isinstance(escaped, ZeroDivisionError)
    raising[0] = NesyError("bad input")
    assert isinstance(invoke("--debug", "boom")[2], NesyError)


def test_a_huge_excerpt_is_windowed_around_the_caret() -> None:
    line = "x" * 2_000_000 + "@" + "y" * 1000
    text = render_error(ParseError("unexpected '@'", file="big.rules", line=1, column=2_000_001, excerpt=line))
    first, shown, caret = text.split("\n")
    assert first == "big.rules:1:2000001: unexpected '@'"
    assert len(shown) < MAX_LINE + 10 and shown[caret.index("^")] == "@"


def test_truncated_gzip_through_the_real_command(tmp_path: Path) -> None:
    data = tmp_path / "family.ttl.gz"
    data.write_bytes(gzip.compress((FAMILY / "family.ttl").read_bytes())[:60])
    done = nesy("load", str(tmp_path / "kb"), str(data))
    assert done.returncode != 0 and "Traceback" not in done.stderr and "Aborted!" not in done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") <= 3


def test_debug_flag_and_environment_show_the_traceback(tmp_path: Path) -> None:
    data = tmp_path / "family.ttl.gz"
    data.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6)
    for args, env in ((("--debug",), None), ((), {"NESY_DEBUG": "1"})):
        done = nesy(*args, "load", str(tmp_path / "kb"), str(data), env=env)
        assert done.returncode != 0 and "Traceback (most recent call last)" in done.stderr


def test_missing_file_and_usage_errors_stay_one_message(tmp_path: Path) -> None:
    code, out, escaped = invoke("load", str(tmp_path / "kb"), str(tmp_path / "nope.ttl"))
    assert escaped is None and code == 1 and out.startswith("error: ") and "nope.ttl" in out
    code, out, escaped = invoke("query", str(tmp_path))
    assert escaped is None and code == 2 and "Error: Missing argument" in out


def test_repl_never_shows_a_traceback_for_bad_statements(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert nesy("load", str(kb), str(FAMILY / "family.ttl")).returncode == 0
    # A good query first (the session answers it), then complete bad statements, then ones
    # whose open brackets make the shell wait for more lines until the input ends.
    statements = "\n".join([
        "?- fam:parent(fam:ann, X).", "INSERT DATA { <a> <b> <c> }", ":nosuch", ":why 99",
        '@import "/etc/passwd" .', '@plugin "os" .', "n(Y) :- n(X), Y = X + 1. n(0).",
        "v(Y) :- fam:age(X, A), Y = " + "(" * 3000 + "1" + ")" * 3000 + ".",
        "SELECT * WHERE { SERVICE ?x { ?s ?p ?o } }", "?- fam:parent(X, .", "SELECT * WHERE {", "fam:x(",
    ]) + "\n"
    done = subprocess.run([sys.executable, "-m", "nesy", "repl", str(kb)], input=statements, capture_output=True,
                          text=True, timeout=300, env={k: v for k, v in os.environ.items() if k != "NESY_DEBUG"})
    both = done.stdout + done.stderr
    assert "Traceback" not in both and "internal error" not in both, both[-3000:]
    assert "fam:bob" in both and "max_iterations" in both  # answered, and the runaway rule refused


def test_rocksdb_corruption_found_while_reading_points_at_check_store() -> None:
    from nesy.cli.common import describe

    text = describe(RuntimeError("Corruption: block checksum mismatch in /kb/oxigraph/000027.sst"))
    assert "damaged" in text and "check-store" in text and "internal error" not in text
    assert "internal error" in describe(RuntimeError("something else"))
