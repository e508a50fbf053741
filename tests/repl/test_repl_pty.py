"""``nesy repl`` end to end in a pseudo-terminal: load, ask, ``:why``, an error, SPARQL, quit."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
#: CSI and OSC escape sequences, keypad-mode switches, and carriage returns.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>()][0-9A-Za-z]?|\r")


class Terminal:
    """A child process in a pty whose output is matched with escape sequences removed."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.raw = ""
        self.pos = 0  # matches start after the previous match

    @property
    def text(self) -> str:
        """Everything printed so far, without escape sequences."""
        return ANSI.sub("", self.raw)

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> str:
        """Wait until ``pattern`` (a regex) appears after the last match; return the text up to it."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            text = self.text
            m = regex.search(text, self.pos)
            if m:
                before = text[self.pos:m.start()]
                self.pos = m.end()
                return before + m.group()
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not seen within {timeout}s; output since last match:\n"
                                     f"{text[self.pos:]}")
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=0.5)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                if not regex.search(self.text, self.pos):
                    raise AssertionError(f"process ended before {pattern!r}; output:\n{self.text[self.pos:]}") from None

    def send_line(self, line: str) -> None:
        """Type ``line`` and Enter."""
        self.child.send(line + "\r")


@pytest.fixture
def terminal(tmp_path: Path) -> Terminal:
    env = dict(
        os.environ,
        NESY_HISTORY=str(tmp_path / "history"),
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",  # pexpect does not answer cursor-position requests
        COLUMNS="200",
        LINES="50",
    )
    env.pop("NESY_DEBUG", None)
    child = pexpect.spawn(sys.executable, ["-m", "nesy", "repl"], cwd=str(ROOT), env=env,
                          dimensions=(50, 200), encoding="utf-8", timeout=TIMEOUT)
    term = Terminal(child)
    yield term
    if child.isalive():
        child.terminate(force=True)


def test_session_with_proofs_errors_and_sparql(terminal: Terminal, tmp_path: Path) -> None:
    t = terminal
    t.expect(r"nesy>")
    t.send_line(":load examples/family/family.ttl examples/family/family.rules")
    t.expect(r"41 triples added")
    t.expect(r"10 rules")

    t.send_line("?- fam:grandparent(fam:ann, X).")
    out = t.expect(r"fam:dan")
    assert "fam:cid" in out and "fam:cora" in out

    t.send_line(":why 1")
    proof = t.expect(r"fam:parent\(fam:bob, fam:cid\)")
    assert "derived" in proof and "fam:grandparent(fam:ann, fam:cid)" in proof
    assert "gp" in proof.split("fam:grandparent(fam:ann, fam:cid)", 1)[1]
    assert "fam:parent(fam:ann, fam:bob)" in proof

    t.send_line("fam:parent(fam:eve fam:fay).")
    err = t.expect(r"\^")
    assert "expected ')' or ','" in err and "fam:parent(fam:eve fam:fay)." in err

    # The session goes on, with its state intact; a query may span two lines.
    t.send_line("?- fam:grandparent(")
    t.expect(r"\.\.\.")
    t.send_line("fam:ann, X).")
    out = t.expect(r"fam:dan")
    assert "fam:cid" in out and "fam:cora" in out and "Traceback" not in t.text

    t.send_line("SELECT ?x WHERE { fam:ann fam:grandparent ?x }")
    out = t.expect(r"┃ x")  # the header of the result table
    out = t.expect(r"└")
    assert all(name in out for name in ("fam:cid", "fam:cora", "fam:dan"))

    t.send_line(":quit")
    t.child.expect(pexpect.EOF, timeout=TIMEOUT)
    t.child.close()
    assert t.child.exitstatus == 0
    assert "fam:grandparent(fam:ann, X)." in (tmp_path / "history").read_text(encoding="utf-8")


def test_ctrl_c_clears_the_line_and_ctrl_d_quits(terminal: Terminal) -> None:
    t = terminal
    t.expect(r"nesy>")
    t.child.send("fam:parent(fam:ann")
    t.expect(r"fam:parent\(fam:ann")
    t.child.send("\x03")  # Ctrl-C at the prompt: a fresh, empty line
    t.expect(r"nesy>")
    t.send_line(":stats")
    t.expect(r"total")
    t.child.send("\x04")  # Ctrl-D
    t.child.expect(pexpect.EOF, timeout=TIMEOUT)
    t.child.close()
    assert t.child.exitstatus == 0


def test_train_shows_a_live_bar_with_the_validation_mrr(terminal: Terminal, tmp_path: Path) -> None:
    ring = tmp_path / "ring.tsv"
    ring.write_text("".join(f"e{i}\tnext\te{(i + 1) % 60}\n" for i in range(60))
                    + "".join(f"e{(i + 1) % 60}\tprev\te{i}\n" for i in range(60)), encoding="utf-8")
    t = terminal
    t.expect(r"nesy>")
    t.send_line(f":load {ring}")
    t.expect(r"120 triples added")
    t.send_line(":train model=distmult dim=8 epochs=60 eval_every=1 patience=100 device=cpu")
    # The bar is redrawn while training runs: an epoch before the last, with its valid MRR.
    # Importing torch and training on a busy CI machine may take a while: a longer wait.
    t.expect(r"training .* epoch ([1-9]|[1-5][0-9])/60 loss \d\.\d{4} valid MRR 0\.\d{4}", timeout=180)
    t.expect(r"distmult: 60 epochs in", timeout=180)
    assert "Traceback" not in t.text
