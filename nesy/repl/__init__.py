"""The interactive shell.

``run_repl(directory)`` starts it (``nesy repl [DIR]``, or ``nesy`` alone). The parts:
:mod:`~nesy.repl.statements` (when a typed statement is complete),
:mod:`~nesy.repl.session` (the :class:`~nesy.repl.session.Session`), :mod:`~nesy.repl.commands`
(the ``:commands``, one module per area),
:mod:`~nesy.repl.render` (tables and proof trees), :mod:`~nesy.repl.lexer` (highlighting),
:mod:`~nesy.repl.completion` (Tab completion) and :mod:`~nesy.repl.shell` (the prompt loop).
"""

from __future__ import annotations


def run_repl(directory: str | None) -> None:
    """Run the interactive shell on the knowledge base in ``directory`` (in memory when None).

    The directory's knowledge base is created when it does not exist yet.
    """
    from nesy.repl.shell import run_repl as _run

    _run(directory)


__all__ = ["run_repl"]
