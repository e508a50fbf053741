"""What every ``nesy`` command shares: errors as one-line messages, and opening the KB."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from nesy.errors import NesyError, StoreError
from nesy.extras import missing_extra

F = TypeVar("F", bound=Callable[..., Any])

#: The provenance graphs a user may load into or export (``inferred`` etc. are the engine's).
GRAPH_CHOICE = click.Choice(["asserted", "extracted", "inferred", "predicted"])


def friendly(fn: F) -> F:
    """Print a NesyError, or the missing optional package and the extra that brings it, as
    one message (no traceback) and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
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


def fail(exc: Exception) -> None:
    """Print ``error: <message>`` to standard error and exit 1."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


def open_kb(directory: str, *, must_exist: bool = True, read_only: bool = False) -> Any:
    """The :class:`~nesy.kb.KnowledgeBase` in ``directory`` (created when ``must_exist`` is
    false and there is none), with a hint at ``nesy init`` when it is not a KB."""
    from nesy.kb import KnowledgeBase

    path = Path(directory)
    if must_exist and not (path / "kb.json").exists():
        raise NesyError(f"{directory} is not a knowledge base (create one with `nesy init {directory}`)")
    return KnowledgeBase(path, read_only=read_only)


def open_kb_for_query(directory: str) -> Any:
    """Open for writing when possible (SPARQL may refresh the inferred graph), else read-only."""
    try:
        return open_kb(directory)
    except StoreError as exc:
        if "another process" not in str(exc):
            raise
        return open_kb(directory, read_only=True)


__all__ = ["GRAPH_CHOICE", "fail", "friendly", "open_kb", "open_kb_for_query"]
