"""The reasoner's input facts (EDB): one read-only relation per key, plus where each came from.

Each added fact is a *copy* (one per ``add``: the same triple may be stored in two graphs,
with two scores and sources); the relation holds one row per distinct tuple, scored by
its best copy. Removing copies (:meth:`InputStore.plan_removal`, then
:meth:`InputStore.apply_removal`) lowers or drops those rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nesy.engine.compile import Key
from nesy.engine.kernels import unique
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


@dataclass
class InputRemoval:
    """The copies of input facts of one key about to go, and what their tuples become.

    Attributes:
        key: The relation key.
        kill: int64 ``(k,)`` input indices (copies) to remove.
        rows: int64 ``(t,)`` rows of the input relation whose copies change.
        base: float64 ``(t,)`` each such tuple's new score: its best remaining copy's (0: none left).
        best: int64 ``(t,)`` the input index of that copy (-1: none left).
        applied: Whether :meth:`InputStore.apply_removal` ran.
    """

    key: Key
    kill: np.ndarray
    rows: np.ndarray
    base: np.ndarray
    best: np.ndarray
    applied: bool = False


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
        self._keys: dict[Key, _Grow] = {}
        self._scores: dict[Key, _Grow] = {}
        self._alive: dict[Key, _Grow] = {}
        self._sorted: dict[Key, tuple[np.ndarray, np.ndarray]] = {}
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
            self._keys[key] = _Grow(np.int64)
            self._scores[key] = _Grow(np.float64)
            self._alive[key] = _Grow(np.bool_)
        if kind not in self.kind_names:
            self.kind_names.append(kind)
        idx = self._sources[key].extend(sources)
        self._kinds[key].extend(np.full(len(rows), self.kind_names.index(kind), dtype=np.int16))
        self._keys[key].extend(rel.keys(rows, create=True))
        self._scores[key].extend(scores)
        self._alive[key].extend(np.ones(len(rows), dtype=np.bool_))
        self._sorted.pop(key, None)
        if locations is not None:
            for i, loc in zip(idx.tolist(), locations, strict=True):
                if loc is not None and loc.line:
                    self.locations[(key, i)] = loc
        stamp = self.shared.tick()
        rel.add_inputs(rows, scores, idx, stamp)
        return idx, stamp

    def _copies(self, key: Key) -> tuple[np.ndarray, np.ndarray]:
        """The copies of ``key`` sorted by tuple: ``(sorted packed keys, input indices)``."""
        found = self._sorted.get(key)
        if found is None:
            keys = self._keys[key].data[: self._keys[key].n]
            order = np.argsort(keys, kind="stable")
            found = self._sorted[key] = (keys[order], order)
        return found

    def _matches(self, key: Key, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every live copy of each packed tuple in ``keys``: ``(position in keys, input index)``."""
        skeys, order = self._copies(key)
        lo = np.searchsorted(skeys, keys, "left")
        cnt = np.searchsorted(skeys, keys, "right") - lo
        pi = np.repeat(np.arange(len(keys)), cnt)
        at = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(int(cnt.sum()))
        ci = order[at]
        live = self._alive[key].data[ci]
        return pi[live], ci[live]

    def plan_removal(self, key: Key, rows: np.ndarray, sources: np.ndarray, kinds: np.ndarray) -> InputRemoval | None:
        """Which copies removing these facts takes away; nothing changes until :meth:`apply_removal`.

        Args:
            key: Relation key.
            rows: int64 ``(m, arity)`` the tuples.
            sources: int64 ``(m,)``: the copy's source id, or -2 for any source.
            kinds: int64 ``(m,)``: the copy's kind (index in :attr:`kind_names`), or -1 for any.
                A row with any source and any kind removes every copy of its tuple; others
                remove one matching copy each.

        Returns:
            The plan, or None when no copy matches.
        """
        rel = self.rels.get(key)
        if rel is None or not len(rows):
            return None
        pi, ci = self._matches(key, rel.keys(rows))
        ok = ((kinds[pi] < 0) | (self._kinds[key].data[ci] == kinds[pi])) & \
             ((sources[pi] == -2) | (self._sources[key].data[ci] == sources[pi]))
        pi, ci = pi[ok], ci[ok]
        every = (kinds[pi] < 0) & (sources[pi] == -2)
        _, first = np.unique(pi, return_index=True)
        one = np.zeros(len(pi), dtype=bool)
        one[first] = True
        kill = unique(ci[every | one])
        if not len(kill):
            return None
        tuples = unique(self._keys[key].data[kill])
        ti, cj = self._matches(key, tuples)
        stay = ~np.isin(cj, kill)
        ti, cj = ti[stay], cj[stay]
        base = np.zeros(len(tuples))
        best = np.full(len(tuples), -1, dtype=np.int64)
        if len(cj):
            scores = self._scores[key].data[cj]
            np.maximum.at(base, ti, scores)
            # The first remaining copy with the best score becomes the one proofs cite.
            win = np.flatnonzero(scores >= base[ti])
            _, at = np.unique(ti[win], return_index=True)
            best[ti[win[at]]] = cj[win[at]]
        return InputRemoval(key, kill, rel.find_keys(tuples), base, best)

    def apply_removal(self, plan: InputRemoval) -> tuple[Relation, Relation, np.ndarray]:
        """Remove the planned copies: the input relation is replaced by a copy whose rows
        have the new scores, without the tuples no copy is left of.

        Returns:
            ``(old relation, new relation, old row -> new row)`` (-1: dropped).
        """
        key = plan.key
        self._alive[key].data[plan.kill] = False
        old = self.rels[key]
        keep = np.ones(old.n, dtype=bool)
        keep[plan.rows[plan.base == 0]] = False
        new, old_to_new = old.compacted(keep)
        stay = plan.base > 0
        at = old_to_new[plan.rows[stay]]
        new.score[at] = new.base[at] = plan.base[stay]
        new.deriv[at] = plan.best[stay]
        self.rels[key] = new
        plan.applied = True
        return old, new, old_to_new

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
