"""The registry of the shell's ``:commands``: each area module of this package adds its
commands with :func:`command`; :class:`~nesy.repl.session.Session` runs them.

The areas: :mod:`~nesy.repl.commands.basics` (``:help``, ``:prefix``, ``:format``,
``:save``, ``:quit``), :mod:`~nesy.repl.commands.data` (``:load``, ``:extract``,
``:rules``, ``:unload``, ``:facts``, ``:stats``), :mod:`~nesy.repl.commands.proofs` (``:why``,
``:whynot``) and :mod:`~nesy.repl.commands.models` (``:train``, ``:learn``, ``:predict``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nesy.errors import NesyError

if TYPE_CHECKING:
    from nesy.repl.session import Session

#: ``:format`` values that shape answers, and those that shape ``:why`` proofs.
ANSWER_FORMATS = ("table", "json", "csv")
PROOF_FORMATS = ("tree", "mermaid")

#: The order ``:help`` and completion list the commands in: the everyday ones first
#: (a command not named here comes after these).
ORDER = ("help", "load", "extract", "rules", "unload", "facts", "why", "whynot", "train", "learn", "predict",
         "stats", "prefix", "format", "save", "quit")

Handler = Callable[["Session", str], None]


class CommandError(NesyError):
    """A command used the wrong way (bad argument, nothing to explain...)."""


@dataclass(frozen=True)
class Command:
    """One ``:command``: its name, argument synopsis, one-line help and handler."""

    name: str
    usage: str
    help: str
    run: Handler


#: Name -> command, in :data:`ORDER`.
COMMANDS: dict[str, Command] = {}


def command(name: str, usage: str, help: str) -> Callable[[Handler], Handler]:
    """Register the decorated ``handler(session, args)`` as ``:name``."""

    def deco(fn: Handler) -> Handler:
        COMMANDS[name] = Command(name, usage, help, fn)
        # Areas register in import order; keep the listing order independent of it.
        rank = {n: i for i, n in enumerate(ORDER)}
        ordered = sorted(COMMANDS.values(), key=lambda c: rank.get(c.name, len(ORDER)))
        COMMANDS.clear()
        COMMANDS.update((c.name, c) for c in ordered)
        return fn

    return deco


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 rule``, ``2 rules``, ``2 prefixes``; ``many`` for irregular plurals."""
    if n == 1:
        return f"1 {word}"
    return f"{n} {many or word + ('es' if word.endswith('x') else 's')}"


def suggest(name: str) -> str | None:
    """The known command nearest to ``name`` (difflib), or None when none is close."""
    close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.5)
    return close[0] if close else None


def option_value(text: str) -> Any:
    """``100`` -> int, ``0.1`` -> float, ``true`` -> True, anything else stays text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


__all__ = ["ANSWER_FORMATS", "COMMANDS", "PROOF_FORMATS", "Command", "CommandError", "command",
           "option_value", "plural", "suggest"]
