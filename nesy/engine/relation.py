"""Column relations: int64 id matrices with scores, derivation pointers and lazy indexes.

A :class:`Relation` is append-only: a row, once added, keeps its index, so derivation
pointers (rule id + premise rows) stay valid while evaluation goes on. Only a fact's
score and best derivation change in place (when a better derivation is found). Facts go
only through :meth:`Relation.compacted`, which makes a renumbered copy (retraction, see
:mod:`nesy.engine.retract`).

Tuples are packed into int64 keys (:mod:`nesy.engine.hashing`) that feed two vectorised
structures: a hash table over whole tuples (dedup and point lookups) and
:class:`SortedIndex` (sorted runs, for joins on a subset of the columns).
"""

from __future__ import annotations

import numpy as np

from nesy.engine.hashing import HashTable, Interner, pack
from nesy.engine.kernels import expand_ranges, stable_order

#: The per-row arrays of a relation.
_COLUMNS = ("cols", "score", "rule", "deriv", "stamp", "base")

#: Premise handles pack ``relation id << HANDLE_SHIFT | row`` into one int64.
HANDLE_SHIFT = 40
HANDLE_MASK = (1 << HANDLE_SHIFT) - 1


class SortedIndex:
    """Multi-valued index on some columns of a relation: sorted runs merged as they grow.

    Args:
        columns: The indexed column positions.
    """

    def __init__(self, columns: tuple[int, ...]) -> None:
        self.columns = columns
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.n_indexed = 0
        #: Per run, its directory (see :func:`_directory`), built on first probe.
        self._dirs: list[np.ndarray | None] = []

    def catch_up(self, rel: Relation) -> None:
        """Index the rows added to ``rel`` since the last call."""
        if rel.n == self.n_indexed:
            return
        keys = pack(rel.cols[self.n_indexed:rel.n][:, list(self.columns)], rel.interner, True)
        order = stable_order(keys)
        self.runs.append((keys[order], order + self.n_indexed))
        self._dirs = self._dirs[: len(self.runs) - 1] + [None]
        self.n_indexed = rel.n
        # Merge runs of similar size so a probe searches O(log n) runs.
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            (k1, r1), (k2, r2) = self.runs[-2], self.runs[-1]
            keys = np.concatenate([k1, k2])
            order = stable_order(keys)
            self.runs[-2:] = [(keys[order], np.concatenate([r1, r2])[order])]
            self._dirs[-2:] = [None]

    def nbytes(self) -> int:
        """Bytes of the sorted runs (and their directories)."""
        return sum(k.nbytes + r.nbytes for k, r in self.runs) + sum(d.nbytes for d in self._dirs if d is not None)

    def ranges(self, keys: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Where each of ``keys`` (int64 ``(m,)``) sits in each run: ``(lo, cnt, run rows)``.

        Key ``i`` matches the run rows at positions ``lo[i] .. lo[i] + cnt[i] - 1``.
        """
        if len(self._dirs) != len(self.runs):  # runs set from outside (a compacted copy)
            self._dirs = [None] * len(self.runs)
        out = []
        for i, (rkeys, rrows) in enumerate(self.runs):
            d = self._dirs[i]
            if d is None:
                d = self._dirs[i] = _directory(rkeys)
            if len(d):
                # Dense directory: offsets of every key value from the run's first key on;
                # keys outside it (below, above, or -1) land on the last slot, an empty range.
                at = np.minimum((keys - rkeys[0]).view(np.uint64), np.uint64(len(d) - 2)).view(np.int64)
                lo = d[at]
                out.append((lo, d[at + 1] - lo, rrows))
            else:
                lo = np.searchsorted(rkeys, keys, "left")
                out.append((lo, np.searchsorted(rkeys, keys, "right") - lo, rrows))
        return out

    def probe(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All matches of ``keys`` (int64 ``(m,)``).

        Returns:
            ``(probe_idx, rows)``, both int64 ``(p,)``: ``keys[probe_idx[i]]`` matches row
            ``rows[i]``.
        """
        outs_p, outs_r = [], []
        for lo, cnt, rrows in self.ranges(keys):
            total = int(cnt.sum())
            if total == 0:
                continue
            pidx, at = expand_ranges(lo, cnt, total)
            outs_p.append(pidx)
            outs_r.append(rrows[at])
        if not outs_p:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        if len(outs_p) == 1:
            return outs_p[0], outs_r[0]
        return np.concatenate(outs_p), np.concatenate(outs_r)

    def count(self, keys: np.ndarray) -> np.ndarray:
        """Number of matches of each key (int64 ``(m,)``)."""
        out = np.zeros(len(keys), dtype=np.int64)
        for _, cnt, _ in self.ranges(keys):
            out += cnt
        return out


def _directory(rkeys: np.ndarray) -> np.ndarray:
    """Offsets of a sorted run by key value, when its keys are dense enough; else empty.

    Entry ``v`` is the first position holding a key ``>= rkeys[0] + v``, for every value up
    to the last key and one past it, then an extra copy of the run's length: so the range
    of key ``k`` is ``d[k - k0] .. d[k - k0 + 1]`` from two lookups instead of two binary
    searches, and any key outside maps to the last (empty) range. Only when the values
    span at most a few times as many slots as the run has keys (ids of one kind usually do).
    """
    n = len(rkeys)
    if n == 0:
        return np.empty(0, np.int64)
    k0, k1 = int(rkeys[0]), int(rkeys[-1])
    if k0 < 0 or k1 - k0 > 4 * n + 64:
        return np.empty(0, np.int64)
    d = np.empty(k1 - k0 + 3, dtype=np.int64)
    d[: k1 - k0 + 2] = np.searchsorted(rkeys, np.arange(k0, k1 + 2, dtype=np.int64), "left")
    d[-1] = n
    return d


class DerivTable:
    """Append-only premise handles of one rule's recorded derivations, int64 ``(m, slots)``."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.data = np.empty((16, slots), dtype=np.int64)
        self.n = 0

    def append(self, prem: np.ndarray) -> np.ndarray:
        """Store ``prem`` (int64 ``(m, slots)``); returns the new entries' indices ``(m,)``."""
        m = len(prem)
        if self.n + m > len(self.data):
            # Grow 4x: capacity not yet written costs no memory (untouched pages), while each
            # copy writes every row again.
            grown = np.empty((max(4 * len(self.data), self.n + m), self.slots), dtype=np.int64)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n:self.n + m] = prem
        self.n += m
        return np.arange(self.n - m, self.n, dtype=np.int64)


class Relation:
    """The facts of one predicate: ids, scores, best-derivation pointers and indexes.

    Columns (all length ``n``): ``cols`` int64 ``(n, arity)``; ``score`` float64;
    ``rule`` int32 (id of the rule of the best derivation, -1 for an input fact);
    ``deriv`` int64 (entry in that rule's :class:`DerivTable`, or the input-fact index);
    ``stamp`` int64 (evaluation round of the last change, for incremental updates);
    ``base`` float64 (the score as an input fact, 0.0 for facts only derived).

    Args:
        rel_id: This relation's number (the high bits of its premise handles).
        key: The relation key it stores (see :mod:`nesy.engine.compile`).
        arity: Number of columns.
        interner: Shared interner for packing long tuples.
        owner: The evaluator whose rules derive its facts (None for input-only relations).
    """

    def __init__(self, rel_id: int, key: tuple, arity: int, interner: Interner, owner: object = None) -> None:
        self.rel_id = rel_id
        self.key = key
        self.arity = arity
        self.interner = interner
        self.owner = owner
        cap = 16
        self.cols = np.empty((cap, arity), dtype=np.int64)
        self.score = np.empty(cap)
        self.rule = np.empty(cap, dtype=np.int32)
        self.deriv = np.empty(cap, dtype=np.int64)
        self.stamp = np.empty(cap, dtype=np.int64)
        self.base = np.empty(cap)
        self.n = 0
        self.last_change = 0
        #: Round at which this relation replaced an earlier one for the same key (facts may
        #: have disappeared), 0 if it never did.
        self.replaced = 0
        self._table = HashTable()
        self._indexes: dict[tuple[int, ...], SortedIndex] = {}

    def __len__(self) -> int:
        return self.n

    def handles(self, rows: np.ndarray) -> np.ndarray:
        """Global premise handles of row indices ``rows`` (int64 ``(m,)``)."""
        return (np.int64(self.rel_id) << HANDLE_SHIFT) | rows

    def keys(self, rows: np.ndarray, create: bool = False) -> np.ndarray:
        """Packed keys of the tuples ``rows`` (int64 ``(m, arity)``)."""
        return pack(rows, self.interner, create)

    def find(self, rows: np.ndarray) -> np.ndarray:
        """Row index of each tuple in ``rows`` (int64 ``(m, arity)``), -1 when absent."""
        return self._table.lookup(self.keys(rows))

    def index(self, columns: tuple[int, ...]) -> SortedIndex:
        """The (up-to-date) index on ``columns``, built on first use."""
        idx = self._indexes.get(columns)
        if idx is None:
            idx = self._indexes[columns] = SortedIndex(columns)
        idx.catch_up(self)
        return idx

    def nbytes(self) -> int:
        """Bytes held: the columns, the hash table and the indexes."""
        cols = sum(getattr(self, n).nbytes for n in _COLUMNS)
        return cols + self._table.nbytes + sum(idx.nbytes() for idx in self._indexes.values())

    def growth_bytes(self, extra: int) -> int:
        """Bytes that adding up to ``extra`` rows may newly allocate (columns and hash table),
        counting the old columns again while they are copied."""
        need = self.n + extra
        cap = len(self.score)
        grow = 0
        if need > cap:
            row = sum(getattr(self, n).itemsize * (getattr(self, n).size // max(cap, 1)) for n in _COLUMNS)
            grow = max(need, 3 * cap) * row
        return grow + self._table.growth_bytes(extra)

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        cap = len(self.score)
        if need <= cap:
            return
        cap = max(need, 3 * cap)  # growing copies every column: do it rarely
        for name in _COLUMNS:
            old = getattr(self, name)
            new = np.empty((cap,) + old.shape[1:], dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def merge(
        self, rows: np.ndarray, scores: np.ndarray, rule: int, better: object, stamp: int,
        improvable: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Add candidate facts, keeping the best candidate per tuple.

        The caller records each changed row's derivation in ``deriv`` afterwards.

        Args:
            rows: int64 ``(m, arity)`` candidate tuples (may repeat).
            scores: float64 ``(m,)`` their scores.
            rule: The rule id recorded as their derivation (-1: input facts).
            better: ``Semiring.improved``-like ``(new, old) -> bool mask``.
            stamp: The current round, recorded on changed rows.
            improvable: False when known facts can never improve and all scores are equal
                (boolean semiring): then only new tuples are looked for, the first candidate
                of each kept, which is cheaper.

        Returns:
            ``(changed_rows, chosen)``: int64 indices of the rows that are new or improved,
            and for each the candidate index that set it.
        """
        m = len(rows)
        if m == 0:
            e = np.empty(0, np.int64)
            return e, e
        keys = self.keys(rows, create=True)
        if not improvable:
            # Known tuples cannot improve: only the new ones matter, and all scores tie.
            return self._add_new(rows, scores, rule, stamp, keys, np.flatnonzero(~self._table.contains(keys)), True)
        existing = self._table.lookup(keys)
        # All candidates scoring the same (hard rules over hard facts): the first per tuple
        # is the best, without grouping by score.
        ties = bool(scores.min() == scores.max())
        # Known tuples: most candidates in late rounds; only strict improvements survive,
        # so the costly grouping below runs on few rows.
        old = np.flatnonzero(existing >= 0)
        old_rows = existing[old]
        up = better(scores[old], self.score[old_rows])
        old, old_rows = old[up], old_rows[up]
        if len(old):
            old, old_rows = _best_per_key(old_rows, None if ties else scores[old], old)
            self.score[old_rows] = scores[old]
            self.rule[old_rows] = rule
            self.stamp[old_rows] = stamp
        changed, chosen = self._add_new(rows, scores, rule, stamp, keys, np.flatnonzero(existing == -1), ties)
        if len(old):
            self.last_change = stamp
        return np.concatenate([old_rows, changed]), np.concatenate([old, chosen])

    def _add_new(self, rows: np.ndarray, scores: np.ndarray, rule: int, stamp: int, keys: np.ndarray,
                 add: np.ndarray, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Append the candidates ``add`` (whose tuples are unknown), best per tuple (the first
        per tuple when ``ties``: all scores are equal)."""
        if len(add):
            add, new_keys = _best_per_key(keys[add], None if ties else scores[add], add)
        else:
            new_keys = keys[add]
        k = len(add)
        self._reserve(k)
        lo, hi = self.n, self.n + k
        self.cols[lo:hi] = rows[add]
        self.score[lo:hi] = scores[add]
        self.rule[lo:hi] = rule
        self.deriv[lo:hi] = -1
        self.base[lo:hi] = 0.0
        self.stamp[lo:hi] = stamp
        self._table.insert(new_keys, np.arange(lo, hi, dtype=np.int64))
        self.n = hi
        if k:
            self.last_change = stamp
        return np.arange(lo, hi, dtype=np.int64), add

    def add_inputs(self, rows: np.ndarray, scores: np.ndarray, source: np.ndarray, stamp: int) -> np.ndarray:
        """Add input facts; an input fact becomes the best derivation when at least as good.

        Args:
            rows: int64 ``(m, arity)``.
            scores: float64 ``(m,)``.
            source: int64 ``(m,)``: the input-fact index stored in ``deriv``.
            stamp: The current round.

        Returns:
            int64 indices of the rows that are new or changed.
        """
        changed, chosen = self.merge(rows, scores, -1, lambda new, old: new >= old, stamp)
        self.deriv[changed] = source[chosen]
        at = self.find(rows)
        np.maximum.at(self.base, at, scores)
        return changed

    def set_best(self, rows: np.ndarray, scores: np.ndarray, rule: np.ndarray, deriv: np.ndarray,
                 stamp: int) -> None:
        """Overwrite score and pointer of existing ``rows`` (int64 ``(m,)``, others same shape)."""
        self.score[rows] = scores
        self.rule[rows] = rule
        self.deriv[rows] = deriv
        self.stamp[rows] = stamp
        if len(rows):
            self.last_change = stamp

    def find_keys(self, keys: np.ndarray) -> np.ndarray:
        """Row index of each packed tuple key (int64 ``(m,)``, see :meth:`keys`), -1 when absent."""
        return self._table.lookup(keys)

    def compacted(self, keep: np.ndarray) -> tuple[Relation, np.ndarray]:
        """A copy of this relation with only the rows ``keep`` (bool ``(n,)``), in order.

        The copy has the same id, key and owner, so premise handles stay meaningful once
        they are renumbered with the returned map. This relation keeps its rows (proofs built
        before the copy still read them) but gives its hash table to the copy.

        Returns:
            ``(copy, old_to_new)``: int64 ``(n,)`` new row of each old row, -1 where dropped.
        """
        idx = np.flatnonzero(keep[: self.n])
        k = len(idx)
        new = Relation(self.rel_id, self.key, self.arity, self.interner, self.owner)
        new._reserve(k)
        for name in _COLUMNS:
            getattr(new, name)[:k] = getattr(self, name)[idx]
        new.n = k
        new.last_change, new.replaced = self.last_change, self.replaced
        old_to_new = np.full(self.n, -1, dtype=np.int64)
        old_to_new[idx] = np.arange(k, dtype=np.int64)
        # The hash table moves to the copy (renumbered in place: cheaper than a new one);
        # this relation keeps its rows for proofs built before, but answers no lookups.
        new._table, self._table = self._table, HashTable()
        same = k == self.n  # nothing dropped: the numbers stay
        if not same:
            new._table.drop(self.keys(self.cols[np.flatnonzero(~keep[: self.n])]), old_to_new)
        # Kept rows keep their order, so each sorted run stays sorted once renumbered: the
        # indexes carry over without a sort.
        for cols, index in self._indexes.items():
            moved = SortedIndex(cols)
            for rkeys, rrows in index.runs:
                rows = rrows if same else old_to_new[rrows]
                moved.runs.append((rkeys, rrows) if same else (rkeys[rows >= 0], rows[rows >= 0]))
            moved.n_indexed = index.n_indexed if same else int((old_to_new[: index.n_indexed] >= 0).sum())
            new._indexes[cols] = moved
        return new, old_to_new

    def changed_since(self, stamp: int) -> np.ndarray:
        """Rows (int64 ``(m,)``) added or improved after round ``stamp``."""
        if self.last_change <= stamp:
            return np.empty(0, np.int64)
        return np.flatnonzero(self.stamp[: self.n] > stamp)


def _best_per_key(keys: np.ndarray, scores: np.ndarray | None, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One candidate per distinct key: the highest-scoring, first on ties.

    Args:
        keys: int64 ``(m,)`` group keys.
        scores: float64 ``(m,)``; None when all are equal (the first per key wins).
        ids: int64 ``(m,)`` candidate ids carried along.

    Returns:
        ``(ids, keys)`` of the chosen candidates, int64 ``(g,)`` each, in key order.
    """
    order = stable_order(keys)
    sk = keys[order]
    first = np.ones(len(sk), dtype=bool)
    first[1:] = sk[1:] != sk[:-1]
    if first.all():
        return ids[order], sk
    if scores is None:
        return ids[order[first]], sk[first]
    ss = scores[order]
    starts = np.flatnonzero(first)
    gmax = np.maximum.reduceat(ss, starts)
    group = np.cumsum(first) - 1
    # The first candidate of each group reaching the group's best score wins.
    ok = ss >= gmax[group]
    pick = np.flatnonzero(ok)
    pick = pick[np.concatenate([[True], group[pick][1:] != group[pick][:-1]])]
    return ids[order[pick]], sk[pick]
