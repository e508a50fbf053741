"""Vectorised hashing of integer keys: an open-addressing hash map, an interner, tuple packing.

A tuple of ids becomes one non-negative int64 key: one column as is, two as
``a << 32 | b``, and longer tuples by interning the packed prefix into a dense id first.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: The key of a removed entry's slot: never a real key (those are >= 0), not free (-1).
_DEAD = -2


class HashTable:
    """Map from non-negative int64 keys to int64 values, operated on whole arrays.

    Linear probing with Fibonacci hashing; load factor at most 3/4. Keys are removed
    together with a renumbering of the values (:meth:`drop`).
    """

    def __init__(self, capacity: int = 16) -> None:
        self._bits = max(4, int(capacity * 2 - 1).bit_length())
        self._keys = np.full(1 << self._bits, -1, dtype=np.int64)
        self._vals = np.zeros(1 << self._bits, dtype=np.int64)
        #: Keys held, tombstones included (they count towards the load factor).
        self.size = 0
        #: Tombstones: slots of removed keys (see :meth:`drop`).
        self.dead = 0

    @property
    def nbytes(self) -> int:
        """Bytes of the slot arrays."""
        return self._keys.nbytes + self._vals.nbytes

    def growth_bytes(self, extra: int) -> int:
        """Bytes of the new slot arrays inserting ``extra`` more keys would allocate (0: none)."""
        if not self._full(self.size + extra):
            return 0
        return 16 << self._grown_bits(self.size + extra)

    def _full(self, need: int) -> bool:
        # At most 3/4 full: vectorised probing walks the longer clusters for all keys at
        # once, and a smaller table is fewer fresh pages (their faults cost more than probes).
        return 4 * need > 3 * len(self._keys)

    def _grown_bits(self, need: int) -> int:
        # 3/8 full after growing: rebuilding is cheap (:meth:`_place`), so the table
        # doubles (at times quadruples) and stays small.
        return max(self._bits + 1, int((8 * need + 2) // 3 - 1).bit_length())

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.view(np.uint64) * _GOLDEN) >> np.uint64(64 - self._bits)).view(np.int64)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Values of ``keys`` (int64 ``(n,)``); -1 where a key is absent (or is -1)."""
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        out = np.full(len(keys), -1, dtype=np.int64)
        if self.size == 0 or len(keys) == 0:
            return out
        mask = (1 << self._bits) - 1
        # The first probe settles most keys: done on the whole array, without an index.
        slot = self._slots(keys)
        found = self._keys[slot]
        hit = (found == keys) & (keys >= 0)  # a negative key never matches (-1 marks free)
        out[hit] = self._vals[slot[hit]]
        pending = np.flatnonzero(~hit & (found != -1) & (keys >= 0))
        slot = (slot[pending] + 1) & mask
        while len(pending):
            found = self._keys[slot]
            hit = found == keys[pending]
            out[pending[hit]] = self._vals[slot[hit]]
            go_on = ~hit & (found != -1)
            pending = pending[go_on]
            slot = (slot[go_on] + 1) & mask
        return out

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Which of ``keys`` (int64 ``(n,)``, non-negative) are present; bool ``(n,)``.

        Cheaper than :meth:`lookup`: the values are never touched (one cache miss less).
        """
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        out = np.zeros(len(keys), dtype=bool)
        if self.size == 0 or len(keys) == 0:
            return out
        mask = (1 << self._bits) - 1
        slot = self._slots(keys)
        found = self._keys[slot]
        hit = found == keys
        out[hit] = True
        pending = np.flatnonzero(~hit & (found != -1) & (keys >= 0))
        slot = (slot[pending] + 1) & mask
        while len(pending):
            found = self._keys[slot]
            hit = found == keys[pending]
            out[pending[hit]] = True
            go_on = ~hit & (found != -1)
            pending = pending[go_on]
            slot = (slot[go_on] + 1) & mask
        return out

    def insert(self, keys: np.ndarray, vals: np.ndarray) -> None:
        """Add ``keys`` -> ``vals`` (both int64 ``(n,)``); keys must be distinct and absent."""
        if len(keys) == 0:
            return
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        vals = np.ascontiguousarray(vals, dtype=np.int64)
        if self._full(self.size + len(keys)):
            self._grow(self.size + len(keys), keys, vals)
            return
        self._probe_insert(keys, vals, self._slots(keys))
        self.size += len(keys)

    def _probe_insert(self, keys: np.ndarray, vals: np.ndarray, slot: np.ndarray) -> None:
        """Linear probing from ``slot`` for each key, all keys at once."""
        mask = (1 << self._bits) - 1
        pending = np.arange(len(keys))
        while len(pending):
            free = self._keys[slot] == -1
            # Several pending keys may aim at the same free slot: let numpy's last write
            # win, then read back who won; the others probe on.
            cand = pending[free]
            cslot = slot[free]
            self._keys[cslot] = keys[cand]
            won = self._keys[cslot] == keys[cand]
            self._vals[cslot[won]] = vals[cand[won]]
            lost = np.ones(len(pending), dtype=bool)
            lost[np.flatnonzero(free)[won]] = False
            pending = pending[lost]
            slot = (slot[lost] + 1) & mask

    def _place(self, keys: np.ndarray, vals: np.ndarray) -> None:
        """Fill the empty table with distinct ``keys`` -> ``vals`` without probing.

        In home-slot order, linear probing puts key ``i`` at ``max(home_i, pos_{i-1} + 1)``,
        that is ``i + max_{j<=i}(home_j - j)``: one sort and one running maximum. Keys that
        would run past the end wrap round to the start, probing as usual (a handful).
        """
        n = len(keys)
        if n == 0:
            return
        home = self._slots(keys)
        row_bits = max(1, (n - 1).bit_length())
        if self._bits + row_bits <= 63:
            comp = (home << row_bits) | np.arange(n, dtype=np.int64)
            comp.sort()
            order, home = comp & ((1 << row_bits) - 1), comp >> row_bits
        else:
            order = np.argsort(home)
            home = home[order]
        at = np.arange(n, dtype=np.int64)
        pos = np.maximum.accumulate(home - at) + at
        fit = int(np.searchsorted(pos, len(self._keys)))
        self._keys[pos[:fit]] = keys[order[:fit]]
        self._vals[pos[:fit]] = vals[order[:fit]]
        if fit < n:  # every slot from here to the end is taken: go on from slot 0
            rest = order[fit:]
            self._probe_insert(keys[rest], vals[rest], np.zeros(n - fit, dtype=np.int64))

    def update(self, keys: np.ndarray, vals: np.ndarray) -> None:
        """Set the values of keys already present (int64 ``(n,)`` each)."""
        mask = (1 << self._bits) - 1
        slot = self._slots(np.ascontiguousarray(keys, dtype=np.int64))
        pending = np.arange(len(keys))
        while len(pending):
            hit = self._keys[slot] == keys[pending]
            self._vals[slot[hit]] = vals[pending[hit]]
            pending = pending[~hit]
            slot = (slot[~hit] + 1) & mask

    def drop(self, gone: np.ndarray, old_to_new: np.ndarray) -> None:
        """Remove the keys ``gone`` (int64, each present) and renumber the values through
        ``old_to_new`` (values are row numbers; the map gives the new ones), in place.

        The removed keys' slots become tombstones (:data:`_DEAD`): probes walk past them,
        inserts do not reuse them, and the table is rebuilt once they are a quarter of it.
        """
        if len(gone):
            self._keys[self._find_slots(np.ascontiguousarray(gone, dtype=np.int64))] = _DEAD
            self.dead += len(gone)
        live = self._keys >= 0
        self._vals[live] = old_to_new[self._vals[live]]
        if 4 * self.dead > len(self._keys):
            self._grow(self.size - self.dead, same=True)

    def _find_slots(self, keys: np.ndarray) -> np.ndarray:
        """The slot of each key (all present)."""
        mask = (1 << self._bits) - 1
        slot = self._slots(keys)
        pending = np.arange(len(keys))
        out = np.empty(len(keys), dtype=np.int64)
        while len(pending):
            hit = self._keys[slot] == keys[pending]
            out[pending[hit]] = slot[hit]
            pending, slot = pending[~hit], (slot[~hit] + 1) & mask
        return out

    def _grow(self, need: int, keys: np.ndarray | None = None, vals: np.ndarray | None = None,
              same: bool = False) -> None:
        """Rebuild with room for ``need`` keys, adding ``keys`` -> ``vals`` (``same``: only
        clearing tombstones, at the same size)."""
        used = self._keys >= 0  # tombstones go
        old_k, old_v = self._keys[used], self._vals[used]
        if keys is not None:
            old_k, old_v = np.concatenate([old_k, keys]), np.concatenate([old_v, vals])
        if not same:
            self._bits = self._grown_bits(need)
        self._keys = np.full(1 << self._bits, -1, dtype=np.int64)
        self._vals = np.empty(1 << self._bits, dtype=np.int64)  # read only where a key is
        self.dead = 0
        self.size = len(old_k)
        self._place(old_k, old_v)


class Interner:
    """Dense, stable ids for int64 keys (used to pack tuples longer than two)."""

    def __init__(self) -> None:
        self._table = HashTable()

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Ids of ``keys`` (int64 ``(n,)``), -1 where never interned."""
        return self._table.lookup(keys)

    def intern(self, keys: np.ndarray) -> np.ndarray:
        """Ids of ``keys`` (int64 ``(n,)``), giving new ids to new keys."""
        ids = self._table.lookup(keys)
        miss = ids < 0
        if miss.any():
            uniq, inv = np.unique(keys[miss], return_inverse=True)
            new = np.arange(self._table.size, self._table.size + len(uniq), dtype=np.int64)
            self._table.insert(uniq, new)
            ids[miss] = new[inv.ravel()]
        return ids


def pack(cols: np.ndarray, interner: Interner, create: bool) -> np.ndarray:
    """Pack each row of ``cols`` (int64 ``(n, k)``) into one int64 key, shape ``(n,)``.

    With ``create=False`` an unseen prefix of a long tuple yields key -1 (matches nothing).
    """
    n, k = cols.shape
    if k == 0:
        return np.zeros(n, dtype=np.int64)
    if k == 1:
        return np.ascontiguousarray(cols[:, 0])
    acc = (cols[:, 0] << 32) | cols[:, 1]
    for j in range(2, k):
        pre = interner.intern(acc) if create else interner.find(acc)
        acc = np.where(pre < 0, -1, (pre << 32) | cols[:, j])
    return acc
