"""Work limits of the reasoner in one place: time, derived facts, rounds and memory.

:class:`Limits` holds the four settings (``timeout``, ``max_facts``, ``max_iterations``,
``max_memory``) as ``kb.json``, ``kb.limits``, the CLI and per-call keyword arguments
write them; :class:`Watch` enforces them while one call runs: the evaluator asks it
whether time is up (between rounds, rules and join chunks), how many rows one join chunk
may have, and whether growing a relation stays within the memory budget.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, fields, replace
from typing import Any

from nesy.errors import LimitExceeded, NesyError, QueryTimeout

#: ``max_facts`` when nothing sets it: derived facts per call (and rows of one join).
DEFAULT_MAX_FACTS = 50_000_000
#: ``max_iterations`` when nothing sets it: rounds of one stratum.
DEFAULT_MAX_ITERATIONS = 10_000
#: Bytes of one join chunk when no memory budget is set (a budget makes chunks smaller).
DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024
#: A chunk is never cut below this many rows (numpy's per-call overhead would dominate).
MIN_CHUNK_ROWS = 4096

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
          "g": 1024**3, "gb": 1024**3, "gib": 1024**3, "t": 1024**4, "tb": 1024**4, "tib": 1024**4}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([a-zA-Z]*)\s*")
_OFF = {"", "none", "off", "no", "unlimited"}


def parse_size(value: Any, name: str = "max_memory") -> int | None:
    """Bytes from ``2GB``, ``512 MB``, ``1.5g``, ``1048576`` (units are powers of 1024);
    None for ``None``, ``0``, ``"none"`` or ``"off"`` (no budget).

    Raises:
        NesyError: a value that is not a size.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value > 0 else None
    text = str(value).strip().lower()
    if text in _OFF:
        return None
    m = _SIZE.fullmatch(text)
    if m is None or m.group(2) not in _UNITS:
        raise NesyError(f"{name}: cannot read {value!r} as a size; write e.g. 2GB, 512MB or a number of bytes")
    size = int(float(m.group(1)) * _UNITS[m.group(2)])
    return size if size > 0 else None


def parse_seconds(value: Any, name: str = "timeout") -> float | None:
    """Seconds from ``10``, ``2.5`` or ``"30s"``; None for ``None``, ``0`` or ``"none"`` (no limit)."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip().lower()
    if text in _OFF:
        return None
    try:
        seconds = float(text[:-1] if text.endswith("s") else text)
    except ValueError:
        raise NesyError(f"{name}: cannot read {value!r} as seconds; write e.g. 30 or 2.5 (0 or none: no limit)") from None
    if seconds != seconds or seconds < 0:
        raise NesyError(f"{name}: must be a number of seconds >= 0, got {value!r}")
    return seconds or None


def parse_count(value: Any, name: str) -> int:
    """A positive whole number for ``max_facts`` / ``max_iterations`` (``"1_000"`` works too)."""
    try:
        n = int(str(value).replace("_", "").replace(",", "")) if not isinstance(value, int) else value
    except ValueError:
        raise NesyError(f"{name}: cannot read {value!r} as a whole number") from None
    if isinstance(n, bool) or n < 1:
        raise NesyError(f"{name}: must be a whole number >= 1, got {value!r}")
    return n


def format_size(n: int | None) -> str:
    """``1.5 GiB``-style text for a byte count (``none`` for no budget)."""
    if n is None:
        return "none"
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


@dataclass(frozen=True)
class Limits:
    """The budgets of one evaluation.

    Attributes:
        timeout: Seconds of wall-clock time (None: no limit).
        max_facts: Derived facts per call, and rows of any one join (its size is known
            before it is computed, so a Cartesian product stops before it allocates).
        max_iterations: Rounds of one recursive stratum.
        max_memory: Bytes the work may add (relations, join chunks); None: no budget.
    """

    timeout: float | None = None
    max_facts: int = DEFAULT_MAX_FACTS
    max_iterations: int = DEFAULT_MAX_ITERATIONS
    max_memory: int | None = None

    #: The names settable in ``kb.json`` and per call.
    NAMES = ("timeout", "max_facts", "max_iterations", "max_memory")

    @staticmethod
    def check(name: str, value: Any) -> Any:
        """``value`` parsed for the setting ``name`` (sizes and seconds as users write them)."""
        if name == "timeout":
            return parse_seconds(value)
        if name == "max_memory":
            return parse_size(value)
        if name in ("max_facts", "max_iterations"):
            return parse_count(value, name)
        raise NesyError(f"unknown limit {name!r}; the limits are {', '.join(Limits.NAMES)}")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Limits:
        """The limits a ``kb.json`` sets (defaults for the others)."""
        given = {n: cls.check(n, config[n]) for n in cls.NAMES if config.get(n) is not None}
        return cls(**given)

    def override(self, **values: Any) -> Limits:
        """These limits with ``values`` replacing them; a ``None`` value leaves one as is."""
        given = {n: self.check(n, v) for n, v in values.items() if v is not None}
        return replace(self, **given)

    def as_dict(self) -> dict[str, Any]:
        """``{name: value}`` for all four."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Watch:
    """The limits of one running call, and what it has spent.

    Args:
        limits: The budgets.
        what: What runs, for messages (``rule query ?- p(X).``, ``materialize``...).
    """

    def __init__(self, limits: Limits, what: str) -> None:
        self.limits = limits
        self.what = what
        self.started = time.perf_counter()
        self.deadline = None if limits.timeout is None else self.started + limits.timeout
        #: Bytes the evaluators' relations grew by during this call.
        self.grown = 0

    def check_time(self) -> None:
        """Raise :class:`QueryTimeout` once the deadline has passed."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            spent = time.perf_counter() - self.started
            raise QueryTimeout(
                f"{self.what} stopped after {spent:.1f} s (timeout={self.limits.timeout:g} s); nothing it derived "
                "was kept. Raise the limit with --timeout SECONDS (0: none), `timeout` in kb.json, "
                "`kb.limits.timeout = ...` or timeout=... in Python, or ask a narrower question")

    def chunk_rows(self, row_bytes: int) -> int:
        """How many rows one join chunk may have, for rows of ``row_bytes`` bytes."""
        budget = DEFAULT_CHUNK_BYTES if self.limits.max_memory is None else \
            min(DEFAULT_CHUNK_BYTES, self.limits.max_memory // 16)
        return max(MIN_CHUNK_ROWS, budget // max(row_bytes, 1))

    def check_join(self, total: int, what: str) -> None:
        """Stop before a join of ``total`` rows (known before it runs) exceeds ``max_facts``."""
        self.check_time()
        if total > self.limits.max_facts:
            raise LimitExceeded(
                f"{self.what} stopped before a join of {total:,} rows ({what}) was computed: more than "
                f"max_facts={self.limits.max_facts:,}. A rule or query with a Cartesian product? Bind its "
                "variables, or raise the limit (--max-facts N, `max_facts` in kb.json, max_facts=... in Python)")

    def check_memory(self, extra: int, what: str) -> None:
        """Stop before the work grows past ``max_memory`` by ``extra`` more bytes."""
        budget = self.limits.max_memory
        if budget is not None and self.grown + extra > budget:
            raise LimitExceeded(
                f"{self.what} stopped before {what} grew past the memory budget: it needs "
                f"{format_size(self.grown + extra)}, max_memory={format_size(budget)}. Raise it "
                "(--max-memory SIZE, `max_memory` in kb.json, max_memory=... in Python) or lower max_facts")

    def check_facts(self, n_derived: int, what: str) -> None:
        """Stop once more than ``max_facts`` facts were derived."""
        if n_derived > self.limits.max_facts:
            raise LimitExceeded(
                f"evaluation stopped at {n_derived:,} derived facts (max_facts={self.limits.max_facts:,}): {what}")


__all__ = ["DEFAULT_MAX_FACTS", "DEFAULT_MAX_ITERATIONS", "Limits", "Watch", "format_size", "parse_count",
           "parse_seconds", "parse_size"]
