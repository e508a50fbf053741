"""The shell's work limits: ``:limits`` shows them, ``:set NAME VALUE`` changes one for the session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from nesy.repl.commands import CommandError, command

if TYPE_CHECKING:
    from nesy.repl.session import Session

#: The limits ``:set`` knows, with an example value for the usage message.
_NAMES = {"timeout": "10", "max_facts": "1000000", "max_iterations": "500", "max_memory": "2GB"}


@command("limits", "", "show the work limits of rule queries and materialisation, and where each comes from")
def _limits(s: Session, args: str) -> None:
    if args.strip():
        raise CommandError(":limits takes no argument; change one with :set NAME VALUE")
    table = Table("limit", "value", "from", header_style="bold", box=None)
    for name, text, origin in s.kb.limits.describe():
        table.add_row(name, escape(text), origin)
    s.console.print(table)


@command("set", "NAME VALUE", "set a limit for this session: timeout (s), max_facts, max_iterations, max_memory")
def _set(s: Session, args: str) -> None:
    parts = args.split()
    if len(parts) != 2 or parts[0] not in _NAMES:
        examples = ", ".join(f":set {n} {v}" for n, v in _NAMES.items())
        raise CommandError(f":set takes a limit and a value ({examples}; 0 or none: no limit)")
    name, value = parts
    s.kb.limits.set(persist=False, **{name: value})
    shown = {n: (t, o) for n, t, o in s.kb.limits.describe()}[name]
    s.say(f"{name} = {shown[0]} for this session (kb.json keeps its own value)", style="green")
