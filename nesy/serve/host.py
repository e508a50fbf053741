"""KBHost: the one knowledge base behind the server, and who may use it when (many readers, one writer).

Queries run in worker threads at the same time, each holding the read side of an
:class:`~nesy.serve.rwlock.RWLock`; an update (or a Graph Store write) holds the write
side alone, so every reader sees the data from before it or from after it, never half.
The reasoner is one object with its own state, so rule queries, proofs, why-not and the
constraint check take turns on a second lock (``engine``) while SPARQL goes on beside them.
After a write the derived facts are brought up to date before the write lock is released,
so no reader ever refreshes them (``kb.sparql`` would otherwise do it inside a read).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from nesy.errors import NesyError
from nesy.serve.rwlock import RWLock, held, remaining
from nesy.serve.settings import ServeSettings

T = TypeVar("T")
log = logging.getLogger("nesy.serve")


class KBHost:
    """The knowledge base with its locks, its worker threads and the request deadlines.

    Args:
        kb: An open :class:`~nesy.kb.KnowledgeBase` (writable unless the server is read-only).
        settings: The server's settings (timeout, threads...).
    """

    def __init__(self, kb: Any, settings: ServeSettings) -> None:
        self.kb = kb
        self.settings = settings
        self.lock = RWLock()
        self.engine = threading.Lock()
        self.limiter = anyio.CapacityLimiter(settings.threads)
        #: Writes committed since the server started.
        self.writes = 0

    # -- deadlines ------------------------------------------------------------------------
    def deadline(self, timeout: float | None = None) -> float | None:
        """The deadline of a request that asks for ``timeout`` seconds (capped by the server's)."""
        cap = self.settings.query_timeout or None
        asked = timeout if timeout and timeout > 0 else None
        budget = min(x for x in (cap, asked) if x is not None) if (cap or asked) else None
        return None if budget is None else time.monotonic() + budget

    @staticmethod
    def left(deadline: float | None) -> float | None:
        """Seconds left until ``deadline`` (at least a millisecond, so 0 never means 'no limit')."""
        rest = remaining(deadline)
        return None if rest is None else max(rest, 0.001)

    # -- running --------------------------------------------------------------------------
    async def read(self, fn: Callable[..., T], *args: Any, deadline: float | None = None) -> T:
        """Run ``fn(*args)`` in a worker thread as a reader of the KB."""
        return await anyio.to_thread.run_sync(self._read, fn, args, deadline, limiter=self.limiter)

    async def write(self, fn: Callable[..., T], *args: Any, deadline: float | None = None) -> T:
        """Run ``fn(*args)`` in a worker thread as the KB's only writer; derived facts are
        refreshed before any reader sees the change."""
        return await anyio.to_thread.run_sync(self._write, fn, args, deadline, limiter=self.limiter)

    async def outside(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a worker thread without the KB's lock (work on a result already read)."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)

    def _read(self, fn: Callable[..., T], args: tuple[Any, ...], deadline: float | None) -> T:
        while True:
            if self.stale():  # only when a refresh after a write failed: try again, alone
                with self.lock.writing(self.left(deadline)):
                    self.refresh()
            with self.lock.reading(self.left(deadline)):
                # Never let a reader refresh derived facts (kb.sparql would, beside other readers).
                if not self.stale():
                    return fn(*args)

    def _write(self, fn: Callable[..., T], args: tuple[Any, ...], deadline: float | None) -> T:
        with self.lock.writing(self.left(deadline)):
            result = fn(*args)
            self.writes += 1
            try:
                self.refresh()
            except NesyError as exc:  # the write stands; readers retry the refresh and see why
                log.warning("derived facts not refreshed after a write: %s", exc)
            return result

    @contextmanager
    def reasoning(self, deadline: float | None) -> Iterator[None]:
        """Hold the reasoner (one rule query, proof or check at a time); inside a read."""
        with held(self.engine, self.left(deadline), "other rule queries"):
            yield

    # -- derived facts --------------------------------------------------------------------
    def stale(self) -> bool:
        """Whether the ``inferred`` graph lags behind the data and rules (a writable KB only)."""
        kb = self.kb
        return (not kb.store.read_only and bool(kb.rule_programs())
                and bool(kb.config.get("inferred_stale", True)))

    def refresh(self) -> None:
        """Materialise when stale (the caller holds the write lock and the reasoner is free)."""
        if self.stale():
            with self.engine:
                started = time.monotonic()
                stats = self.kb.materialize()
                log.info("derived facts refreshed: %s triples in the inferred graph (%.0f ms)",
                         stats.get("stored"), 1000 * (time.monotonic() - started))


__all__ = ["KBHost"]
