"""What every ``nesy`` command shares: errors as one-line messages (never a traceback), and opening the KB."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from nesy.errors import NesyError, StoreError
from nesy.extras import missing_extra

F = TypeVar("F", bound=Callable[..., Any])

class GraphParam(click.ParamType):
    """A ``--graph`` value: a provenance graph (asserted, extracted, inferred, predicted) or
    the absolute IRI of a user's named graph; checked by the store's own rule."""

    name = "graph"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from nesy.store.graphs import check_graph  # lazy: `nesy --help` stays light

        try:
            return check_graph(value)
        except StoreError as exc:
            self.fail(str(exc), param, ctx)


#: The graphs a user may load into or export (``inferred`` etc. are the engine's; IRIs are the user's).
GRAPH_CHOICE = GraphParam()


def friendly(fn: F) -> F:
    """Print a NesyError, or the missing optional package and the extra that brings it, as
    one message (no traceback) and exit 1.

    Any other exception goes on to the ``nesy`` group's boundary (:func:`guarded`), which
    reports it as an internal error; with ``--debug`` nothing is caught here.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if debug_enabled():
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except NesyError as exc:
            fail(exc)
        except ImportError as exc:
            missing = missing_extra(exc)
            if missing is None:
                raise
            fail(missing)

    return wrapper  # type: ignore[return-value]


def fail(exc: BaseException | str, code: int = 1) -> NoReturn:
    """Print ``error: <message>`` to standard error and exit with ``code`` (1 by default)."""
    text = render_error(exc) if isinstance(exc, NesyError) else clip(str(exc))
    click.echo(f"error: {text}", err=True)
    sys.exit(code)


#: Longest message line shown; a huge literal or data line must not flood the terminal.
MAX_LINE = 300


def clip(text: str, width: int = MAX_LINE) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split("\n")).replace("\r", " ")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def render_error(exc: NesyError) -> str:
    """The error's message with its position and, when known, a caret under a window of the
    offending line (the window keeps a 50 MB line from being printed whole)."""
    if exc.excerpt is None or exc.line is None or len(exc.excerpt) <= MAX_LINE:
        return str(exc)
    head = str(NesyError(exc.message, file=exc.file, line=exc.line, column=exc.column))
    column = max((exc.column or 1) - 1, 0)
    start = max(column - MAX_LINE // 2, 0)
    window = exc.excerpt.rstrip("\n")[start: start + MAX_LINE]
    prefix = "…" if start else ""
    return f"{clip(head, 4 * MAX_LINE)}\n    {prefix}{window}…\n    {' ' * (len(prefix) + column - start)}^"


def debug_enabled() -> bool:
    """Whether ``--debug`` (or ``NESY_DEBUG=1``) asks for tracebacks instead of messages."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and DEBUG_KEY in ctx.meta:
        return bool(ctx.meta[DEBUG_KEY])
    return os.environ.get("NESY_DEBUG", "").strip().lower() not in {"", "0", "false", "no", "off"}


#: Where the ``nesy`` group keeps its ``--debug`` flag in the click context.
DEBUG_KEY = "nesy.debug"

#: Exit status after Ctrl-C, as a shell reports a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


def guarded(run: Callable[[], Any]) -> Any:
    """Call ``run()``; an exception that escapes it becomes one ``error:`` line and an exit
    status, never a traceback (unless ``--debug``). click's own exceptions and exits pass."""
    if debug_enabled():
        try:
            return run()
        except (EOFError, KeyboardInterrupt):
            traceback.print_exc()  # click would turn these into a bare "Aborted!"
            raise
    try:
        return run()
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit,
            BrokenPipeError):
        raise  # click reports its own exceptions, and stops quietly when the output pipe closes
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except BaseException as exc:  # noqa: BLE001 - the CLI's last line of defence
        fail(describe(exc))


def describe(exc: BaseException) -> str:
    """What the user reads for an exception that is not a :class:`NesyError`."""
    if isinstance(exc, NesyError):
        return render_error(exc)
    if isinstance(exc, ImportError) and (missing := missing_extra(exc)) is not None:
        return str(missing)
    if isinstance(exc, MemoryError):
        detail = f" ({clip(str(exc), 120)})" if str(exc) else ""
        return (f"out of memory{detail}: set a memory budget with max_memory in kb.json or --max-memory, "
                "or lower max_facts")
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, (ConnectionError, TimeoutError)):
        # A file the user named (missing, unreadable, disk full): its name and the reason.
        reason = exc.strerror
        names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
        return f"{' -> '.join(names)}: {reason}" if names else reason
    if isinstance(exc, RuntimeError) and str(exc).startswith("Corruption"):
        # RocksDB found a damaged file while Oxigraph read it (opening is checked in the store).
        return (f"the KB's RDF database is damaged ({clip(str(exc), 200)}); `nesy check-store DIR --repair` "
                "rebuilds it from the committed triples")
    message = clip(str(exc), MAX_LINE)
    return (f"internal error: {type(exc).__name__}: {message} "
            "(this is a bug; rerun with --debug and report it)")


def open_kb(directory: str, *, must_exist: bool = True, read_only: bool = False) -> Any:
    """The :class:`~nesy.kb.KnowledgeBase` in ``directory`` (created when ``must_exist`` is
    false and there is none, but never in a directory that holds other things), with a hint
    at ``nesy init`` when it is not a KB. A writable KB commits once, when the command closes
    it, so a command killed half way leaves the KB as it was before."""
    from nesy.kb import KnowledgeBase
    from nesy.store.commit import check_new_kb_dir, is_kb

    path = Path(directory)
    if must_exist and not is_kb(path):
        raise NesyError(f"{directory} is not a knowledge base (create one with `nesy init {directory}`)")
    if not must_exist:
        check_new_kb_dir(path)
    kb = KnowledgeBase(path, read_only=read_only)
    if not read_only:
        kb.store.defer_commits()
    return kb


def open_kb_for_query(directory: str) -> Any:
    """Open for writing when possible (SPARQL may refresh the inferred graph), else read-only
    (another process holds the writer lock, or the user may not write the directory)."""
    path = Path(directory)
    if path.is_dir() and not os.access(path, os.W_OK):
        return open_kb(directory, read_only=True)
    try:
        kb = open_kb(directory)
    except StoreError as exc:
        if "another process" not in str(exc):
            raise
        return open_kb(directory, read_only=True)
    kb.store.for_reading()
    return kb


__all__ = ["DEBUG_KEY", "EXIT_INTERRUPTED", "GRAPH_CHOICE", "clip", "debug_enabled", "describe", "fail", "friendly",
           "guarded", "open_kb", "open_kb_for_query", "render_error"]
