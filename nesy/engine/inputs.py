"""The reasoner's input facts (EDB): one read-only relation per key, plus where each came from."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from nesy.engine.compile import Key
from nesy.engine.relation import Relation
from nesy.engine.shared import Shared
from nesy.errors import SourceLocation


class _Grow:
    """A growable 1-d array."""

    def __init__(self, dtype: Any) -> None:
        self.data = np.empty(16, dtype=dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> np.ndarray:
        """Append ``values`` (shape ``(m,)``); returns their positions."""
        m = len(values)
        if self.n + m > len(self.data):
            grown = np.empty(max(2 * len(self.data), self.n + m), dtype=self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n:self.n + m] = values
        self.n += m
        return np.arange(self.n - m, self.n, dtype=np.int64)


class InputStore:
    """Input facts by relation key, each remembering its kind and source.

    Args:
        shared: Id space and clock shared with the evaluators.
        describe_source: ``source id -> dict`` for proof leaves (from the store).
    """

    def __init__(self, shared: Shared, describe_source: Callable[[int], dict] | None = None) -> None:
        self.shared = shared
        self.describe_source = describe_source
        self.rels: dict[Key, Relation] = {}
        self._sources: dict[Key, _Grow] = {}
        self._kinds: dict[Key, _Grow] = {}
        self.kind_names: list[str] = []
        self.locations: dict[tuple[Key, int], SourceLocation] = {}

    def input_relation(self, key: Key) -> Relation | None:
        """The relation of the input facts of ``key``, if any."""
        return self.rels.get(key)

    def input_keys(self) -> Iterable[Key]:
        """Keys that have input facts."""
        return self.rels.keys()

    def add(self, key: Key, rows: np.ndarray, scores: np.ndarray, sources: np.ndarray, kind: str,
            locations: list[SourceLocation] | None = None) -> tuple[np.ndarray, int]:
        """Record input facts of ``key``.

        Args:
            key: Relation key.
            rows: int64 ``(n, arity)``.
            scores: float64 ``(n,)``.
            sources: int64 ``(n,)`` source ids (-1: none).
            kind: ``asserted``, ``extracted``, ``predicted``, ...
            locations: Where each fact was written (facts from rule files).

        Returns:
            ``(input indices (n,), stamp)``: the index of each fact and the round stamp.
        """
        rel = self.rels.get(key)
        if rel is None:
            rel = self.rels[key] = self.shared.new_relation(key)
            self._sources[key] = _Grow(np.int64)
            self._kinds[key] = _Grow(np.int16)
        if kind not in self.kind_names:
            self.kind_names.append(kind)
        idx = self._sources[key].extend(sources)
        self._kinds[key].extend(np.full(len(rows), self.kind_names.index(kind), dtype=np.int16))
        if locations is not None:
            for i, loc in zip(idx.tolist(), locations, strict=True):
                if loc is not None and loc.line:
                    self.locations[(key, i)] = loc
        stamp = self.shared.tick()
        rel.add_inputs(rows, scores, idx, stamp)
        return idx, stamp

    def info(self, key: Key, index: int) -> tuple[str, dict[str, Any]]:
        """``(kind, source)`` of input fact ``index`` of ``key``, for a proof leaf."""
        if index < 0 or key not in self._kinds:
            return "asserted", {}
        kind = self.kind_names[int(self._kinds[key].data[index])]
        src = int(self._sources[key].data[index])
        source: dict[str, Any] = {}
        loc = self.locations.get((key, index))
        if loc is not None:
            source = {"file": loc.file or "<input>", "line": loc.line}
        elif src >= 0:
            source = dict(self.describe_source(src)) if self.describe_source is not None else {"source": src}
        return kind, source
