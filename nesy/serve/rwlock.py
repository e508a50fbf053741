"""A readers-writer lock: many readers at once, one writer alone, writers first, every wait bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from nesy.errors import QueryTimeout


class RWLock:
    """Many readers or one writer; a waiting writer keeps new readers out (no starvation).

    Both waits take a timeout in seconds (``None``: wait for ever); when it passes,
    :class:`~nesy.errors.QueryTimeout` says who held the lock.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @property
    def readers(self) -> int:
        """How many readers hold the lock now."""
        return self._readers

    @contextmanager
    def reading(self, timeout: float | None) -> Iterator[None]:
        """Hold the lock as one of many readers."""
        with self._cond:
            if not self._cond.wait_for(lambda: not self._writer and not self._waiting_writers, timeout):
                raise _busy("an update", timeout)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def writing(self, timeout: float | None) -> Iterator[None]:
        """Hold the lock alone (every reader gone, no other writer)."""
        with self._cond:
            self._waiting_writers += 1
            try:
                ready = self._cond.wait_for(lambda: not self._writer and not self._readers, timeout)
            finally:
                self._waiting_writers -= 1
                if not self._waiting_writers:
                    self._cond.notify_all()  # readers held back by this writer may go on
            if not ready:
                raise _busy("queries or another update", timeout)
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


@contextmanager
def held(lock: threading.Lock, timeout: float | None, what: str) -> Iterator[None]:
    """Hold a plain lock, waiting at most ``timeout`` seconds for it (``what`` names its holder)."""
    if not lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
        raise _busy(what, timeout)
    try:
        yield
    finally:
        lock.release()


def _busy(holder: str, timeout: float | None) -> QueryTimeout:
    return QueryTimeout(f"the knowledge base was busy with {holder} for the whole timeout ({timeout:g} s); "
                        "nothing was done: try again, or raise --query-timeout")


def remaining(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (a ``time.monotonic()`` value; ``None``: no deadline)."""
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


__all__ = ["RWLock", "held", "remaining"]
