"""The ``--timeout``, ``--max-facts`` and ``--max-memory`` options of the reasoning commands.

``@limit_options(default_timeout=...)`` adds the options to a command and keeps their
values in the click context (the command's own signature does not change);
:func:`apply_limits` then hands them to the opened knowledge base for this process only
(``kb.json`` is not touched). A value set in ``kb.json`` wins over the command's default
timeout; a flag wins over both; ``--timeout 0`` means no time limit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

#: Where the options' values wait in ``click.Context.meta`` for :func:`apply_limits`.
LIMITS_KEY = "nesy.limits"

#: Time limit of ``query`` and ``explain`` when neither a flag nor ``kb.json`` sets one:
#: an interactive question that has not answered within a minute is almost always a
#: runaway rule or a Cartesian product, and the user is waiting at the terminal.
QUERY_TIMEOUT = 60.0


def limit_options(default_timeout: float | None = None) -> Callable[[F], F]:
    """Add ``--timeout S``, ``--max-facts N`` and ``--max-memory SIZE`` to a click command.

    Args:
        default_timeout: Seconds allowed when neither ``--timeout`` nor ``kb.json`` says
            (``query``/``explain``: :data:`QUERY_TIMEOUT`; ``materialize``/``rules``: None,
            as materialising a large KB legitimately takes long and nobody waits on it).
    """

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, timeout: str | None = None, max_facts: str | None = None,
                    max_memory: str | None = None, **kwargs: Any) -> Any:
            click.get_current_context().meta[LIMITS_KEY] = {
                "given": {k: v for k, v in (("timeout", timeout), ("max_facts", max_facts),
                                            ("max_memory", max_memory)) if v is not None},
                "default_timeout": default_timeout,
            }
            return fn(*args, **kwargs)

        shown = f"{default_timeout:g} s" if default_timeout else "none"
        options = [
            click.option("--timeout", metavar="S",
                         help=f"Stop after S seconds, keeping nothing half-derived (0: no limit; "
                              f"default: `timeout` in kb.json, else {shown})."),
            click.option("--max-facts", metavar="N",
                         help="Stop beyond N derived facts, or before a join of more than N rows "
                              "(default: `max_facts` in kb.json, else 50,000,000)."),
            click.option("--max-memory", metavar="SIZE",
                         help="Memory budget of the reasoning, e.g. 2GB or 500MB (default: "
                              "`max_memory` in kb.json, else none)."),
        ]
        out: Any = wrapper
        for option in reversed(options):
            out = option(out)
        return out  # type: ignore[no-any-return]

    return deco


def apply_limits(kb: Any) -> None:
    """Give ``kb`` the limits of this command's options (for this process only).

    Call it right after opening the KB in a command decorated with :func:`limit_options`;
    elsewhere it does nothing.

    Raises:
        NesyError: a value that is not a number of seconds, a count or a size.
    """
    ctx = click.get_current_context(silent=True)
    found = None if ctx is None else ctx.meta.get(LIMITS_KEY)
    if not found:
        return
    values = dict(found["given"])
    if "timeout" not in values and found["default_timeout"] and kb.limits.origin("timeout") == "default":
        values["timeout"] = found["default_timeout"]
    if values:
        kb.limits.set(persist=False, **values)


__all__ = ["LIMITS_KEY", "QUERY_TIMEOUT", "apply_limits", "limit_options"]
