"""The prompt loop: read statements (prompt_toolkit, or plain lines from a pipe) and run them.

Enter sends a statement when :func:`~nesy.repl.statements.is_complete` says so, and
otherwise starts a continuation line (``...``); Escape then Enter sends it as it is.
History lives in ``~/.nesy_history`` (or ``$NESY_HISTORY``). Ctrl-C at the prompt clears
the line, Ctrl-C while a statement runs cancels it, Ctrl-D (or ``:quit``) leaves.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from nesy.repl.commands import COMMANDS
from nesy.repl.session import Session
from nesy.repl.statements import (
    in_long_string,
    is_blank,
    is_complete,
    starts_statement,
    unterminated,
)

PROMPT = "nesy> "
CONTINUATION = "...   "
#: Output width when standard output is not a terminal.
PIPE_WIDTH = 200
#: Time limit (seconds) of each query in a piped session when ``kb.json`` sets none: as
#: for ``nesy query``, a runaway rule or Cartesian product must not hang a script, and
#: there is nobody at a terminal to press Ctrl-C. ``:set timeout 0`` lifts it.
PIPE_TIMEOUT = 60.0


def history_path() -> Path:
    """``$NESY_HISTORY`` when set, else ``~/.nesy_history``."""
    return Path(os.environ.get("NESY_HISTORY") or Path.home() / ".nesy_history").expanduser()


def run_repl(directory: str | None) -> None:
    """Open the knowledge base (created when missing; in memory when None) and run the shell."""
    from nesy.kb import KnowledgeBase

    tty = sys.stdin.isatty() and sys.stdout.isatty()
    # Piped output is not cut at 80 columns (unless $COLUMNS says so): proofs stay one line a node.
    console = Console(highlight=False, width=None if tty or "COLUMNS" in os.environ else PIPE_WIDTH)
    kb = KnowledgeBase(Path(directory)) if directory else KnowledgeBase()
    try:
        # A terminal shows a screenful of answers; piped output shows them all.
        session = Session(kb, console, max_rows=None if tty else sys.maxsize)
        if tty:
            where = directory or "memory"
            console.print(f"nesy — knowledge base: {where} ({len(kb)} triples, {len(kb.rules)} rules). "
                          ":help lists the commands, Ctrl-D quits.", markup=False)
            interactive(session)
        else:
            if kb.limits.origin("timeout") == "default" and kb.limits.timeout is None:
                kb.limits.set(persist=False, timeout=PIPE_TIMEOUT)
            run_lines(session, sys.stdin)
    finally:
        kb.close()


def run_guarded(session: Session, text: str) -> None:
    """Run one statement; Ctrl-C cancels it and any other error is printed, not raised.

    A bug inside nesy prints its type and message (set ``NESY_DEBUG=1`` for the traceback)
    instead of ending the session.
    """
    try:
        session.handle(text)
    except KeyboardInterrupt:
        session.error("cancelled")
    except Exception as exc:  # noqa: BLE001 - the shell must survive a bug
        if os.environ.get("NESY_DEBUG"):
            session.console.print_exception()
        else:
            session.error(f"internal error: {type(exc).__name__}: {exc} (NESY_DEBUG=1 shows the traceback)")


def run_lines(session: Session, lines: Iterable[str] | TextIO) -> None:
    """Run statements read line by line without a prompt (``nesy repl < script``).

    A statement still open when a line starts a new one (``?-``, ``??``, a ``:command``),
    or when the input ends, is refused with an error instead of swallowing what follows
    (see :mod:`nesy.repl.statements`).
    """
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\n")
        if buffer and starts_statement(line, COMMANDS) and not in_long_string("\n".join(buffer)):
            _refuse(session, buffer, start, f"line {number} starts a new statement")
            buffer = []
        if not buffer:
            if not line.strip():
                continue
            start = number
        buffer.append(line)
        text = "\n".join(buffer)
        if is_complete(text):
            buffer = []
            run_guarded(session, text)
            if session.done:
                return
    if buffer:
        _refuse(session, buffer, start, "the input ends here")


def _refuse(session: Session, buffer: list[str], start: int, why: str) -> None:
    """Report an unterminated statement (lines from ``start``) without running it."""
    text = "\n".join(buffer)
    if is_blank(text):
        return  # only comments: nothing was left open
    while is_blank(buffer[0]):  # point at the statement, not at comments before it
        buffer, start = buffer[1:], start + 1
    session.error(f"<input>:{start}: unterminated statement ({unterminated(text)}; {why}); it was not run")


def _key_bindings() -> Any:
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: Any) -> None:
        buf = event.current_buffer
        if is_complete(buf.text):
            buf.validate_and_handle()
        else:
            buf.insert_text("\n")

    @bindings.add("escape", "enter")
    def _send(event: Any) -> None:
        event.current_buffer.validate_and_handle()

    return bindings


def make_prompt(session: Session) -> Any:
    """The prompt_toolkit ``PromptSession`` (history, highlighting, completion, key bindings)."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    from nesy.repl.completion import NesyCompleter
    from nesy.repl.lexer import STYLE, NesyLexer

    path = history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return PromptSession(
        [("class:prompt", PROMPT)],
        multiline=True,
        prompt_continuation=lambda width, line_number, soft_wrap: [("class:continuation", CONTINUATION)],
        history=FileHistory(str(path)),
        lexer=NesyLexer(),
        completer=NesyCompleter(session.kb, session),
        complete_while_typing=False,
        key_bindings=_key_bindings(),
        style=STYLE,
        include_default_pygments_style=False,
    )


def interactive(session: Session) -> None:
    """The prompt loop on a terminal."""
    prompt = make_prompt(session)
    while not session.done:
        try:
            text = prompt.prompt()
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            break
        run_guarded(session, text)
