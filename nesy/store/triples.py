"""The integer-encoded triple table: every stored triple as ids, with its score and source.

This is the columnar view the reasoner and the neural models read (one row per triple
per graph: a provenance graph, or a user's named graph; see :mod:`nesy.store.graphs`). It is kept in step with the RDF store by :class:`~nesy.store.store.Store`
and persisted next to it, so provenance (score and source of every triple) survives a
restart without a per-triple database row.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from nesy.errors import StoreError

#: Column names of the table, all of the same length ``n``.
COLUMNS = ("g", "s", "p", "o", "score", "src")


class TripleTable:
    """Columns ``g, s, p, o`` (int64 ids; ``g`` is a graph code), ``score`` (float64) and
    ``src`` (int64 source-record id), each of shape ``(n,)``. Rows are unique on ``(g, s, p, o)``.
    """

    def __init__(self) -> None:
        self.g = np.empty(0, dtype=np.int64)
        self.s = np.empty(0, dtype=np.int64)
        self.p = np.empty(0, dtype=np.int64)
        self.o = np.empty(0, dtype=np.int64)
        self.score = np.empty(0, dtype=np.float64)
        self.src = np.empty(0, dtype=np.int64)
        #: Counts rows whose score was raised in place (readers of appended rows watch it).
        self.upgrades = 0
        self._spo_index: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.s)

    # -- persistence ------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> TripleTable:
        """Read a table written by :meth:`to_bytes`; a missing file gives an empty table."""
        path = Path(path)
        return cls.from_bytes(path.read_bytes(), path) if path.exists() else cls()

    @classmethod
    def from_bytes(cls, data: bytes, path: str | os.PathLike[str] | None = None) -> TripleTable:
        """The table in ``data`` (an ``.npz`` of the :data:`COLUMNS`), checked for shape."""
        table = cls()
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                cols = {name: np.asarray(npz[name]) for name in COLUMNS}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise StoreError(f"id table is damaged: {exc}", file=str(path) if path else None) from None
        n = len(cols["s"])
        for name, col in cols.items():
            kind = "f" if name == "score" else "i"
            if col.ndim != 1 or len(col) != n or col.dtype.kind != kind:
                raise StoreError(f"id table is damaged: column {name} has the wrong shape or type",
                                 file=str(path) if path else None)
            setattr(table, name, col.astype(np.float64 if kind == "f" else np.int64, copy=False))
        return table

    def to_bytes(self) -> bytes:
        """The table as ``.npz`` bytes (the store's commit writes and checksums them)."""
        buf = io.BytesIO()
        np.savez(buf, **{name: getattr(self, name) for name in COLUMNS})
        return buf.getvalue()

    # -- updates ----------------------------------------------------------------------
    def keys(self) -> np.ndarray:
        """Row keys as a structured array of shape ``(n,)`` for set operations."""
        return _pack(self.g, self.s, self.p, self.o)

    def add(
        self,
        g: np.ndarray,
        s: np.ndarray,
        p: np.ndarray,
        o: np.ndarray,
        score: np.ndarray,
        src: np.ndarray,
    ) -> np.ndarray:
        """Add rows (each argument of shape ``(m,)``); a row already present keeps the
        higher score (and that score's source). Returns a bool mask of shape ``(m,)`` that
        is True for rows that were new (also deduplicated within the batch)."""
        m = len(s)
        if m == 0:
            return np.zeros(0, dtype=bool)
        self._spo_index = None
        old_keys, new_keys = self._keys(g, s, p, o)
        # Within-batch duplicates: keep the best-scored copy.
        by_score = np.argsort(-score, kind="stable")
        order = by_score[np.argsort(new_keys[by_score], kind="stable")]
        uniq, first = np.unique(new_keys[order], return_index=True)
        keep = order[first]
        is_new = np.zeros(m, dtype=bool)
        if len(self) == 0:
            is_new[keep] = True
            idx_new = np.sort(keep)
        else:
            old_sorted = np.argsort(old_keys, kind="stable")
            pos = np.searchsorted(old_keys[old_sorted], uniq)
            pos_c = np.minimum(pos, len(old_keys) - 1)
            found = old_keys[old_sorted][pos_c] == uniq
            # Existing rows: raise the score when the new one is higher.
            hit_rows = old_sorted[pos_c[found]]
            hit_src = keep[found]
            better = score[hit_src] > self.score[hit_rows]
            self.score[hit_rows[better]] = score[hit_src[better]]
            self.src[hit_rows[better]] = src[hit_src[better]]
            self.upgrades += int(better.sum())
            idx_new = np.sort(keep[~found])
            is_new[idx_new] = True
        self.g = np.concatenate([self.g, g[idx_new]])
        self.s = np.concatenate([self.s, s[idx_new]])
        self.p = np.concatenate([self.p, p[idx_new]])
        self.o = np.concatenate([self.o, o[idx_new]])
        self.score = np.concatenate([self.score, score[idx_new].astype(np.float64)])
        self.src = np.concatenate([self.src, src[idx_new]])
        return is_new

    def remove(self, mask: np.ndarray) -> None:
        """Drop the rows where ``mask`` (bool, shape ``(n,)``) is True."""
        self._spo_index = None
        keep = ~mask
        for name in COLUMNS:
            setattr(self, name, getattr(self, name)[keep])

    def find(self, g: np.ndarray, s: np.ndarray, p: np.ndarray, o: np.ndarray) -> np.ndarray:
        """Row number of each given row in the table (int64, shape ``(m,)``), -1 where absent."""
        if len(self) == 0:
            return np.full(len(s), -1, dtype=np.int64)
        old, q = self._keys(g, s, p, o)
        order = np.argsort(old, kind="stable")
        ranked = old[order]
        pos = np.minimum(np.searchsorted(ranked, q), len(old) - 1)
        return np.where(ranked[pos] == q, order[pos], -1)

    def contains(self, g: np.ndarray, s: np.ndarray, p: np.ndarray, o: np.ndarray) -> np.ndarray:
        """Bool mask of shape ``(m,)``: which of the given rows are in the table."""
        return self.find(g, s, p, o) >= 0

    def _keys(self, g: np.ndarray, s: np.ndarray, p: np.ndarray, o: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Comparable keys for the existing rows and for the given ones.

        Packs ``(g, p, s, o)`` into one int64 (predicates ranked densely) when it fits —
        sorting int64 is an order of magnitude faster than sorting records — else records.
        """
        n = len(self)
        all_p = np.concatenate([self.p, p])
        uniq_p, p_rank = np.unique(all_p, return_inverse=True)
        all_s, all_o, all_g = np.concatenate([self.s, s]), np.concatenate([self.o, o]), np.concatenate([self.g, g])
        v = int(max(all_s.max(initial=0), all_o.max(initial=0))) + 1
        n_p = max(len(uniq_p), 1)
        if 8 * n_p * v * v < 2**62:
            keys = ((all_g * n_p + p_rank) * v + all_s) * v + all_o
        else:
            keys = _pack(all_g, all_s, all_p, all_o)
        return keys[:n], keys[n:]

    def best(
        self, s: np.ndarray, p: np.ndarray, o: np.ndarray, graphs: list[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best stored copy of each triple among the graph codes ``graphs``.

        Args:
            s, p, o: int64 ids, each of shape ``(m,)`` (-1 for a term with no id).

        Returns:
            ``(score, graph)``: float64 and int64, shape ``(m,)``; graph is -1 where the
            triple is not stored in those graphs.
        """
        m = len(s)
        score = np.zeros(m)
        graph = np.full(m, -1, dtype=np.int64)
        if m == 0 or len(self) == 0:
            return score, graph
        order, keys = self._index()
        q = _pack_spo(s, p, o)
        lo = np.searchsorted(keys, q, "left")
        hi = np.searchsorted(keys, q, "right")
        # Graph codes are small and dense (provenance graphs, then users' named graphs).
        allowed = np.zeros(max([int(self.g.max()), *graphs]) + 1, dtype=bool)
        allowed[graphs] = True
        # A triple is stored at most once per graph, so ranges are short: walk them in step.
        for k in range(int((hi - lo).max(initial=0))):
            at = lo + k
            live = at < hi
            rows = order[np.where(live, at, 0)]
            ok = live & allowed[self.g[rows]] & (self.score[rows] > score)
            score[ok] = self.score[rows[ok]]
            graph[ok] = self.g[rows[ok]]
        return score, graph

    def rows_of(self, s: int, p: int, o: int) -> np.ndarray:
        """Row numbers holding the triple ``(s, p, o)`` (ids), one per graph it is in."""
        if len(self) == 0:
            return np.empty(0, dtype=np.int64)
        order, keys = self._index()
        q = _pack_spo(np.array([s]), np.array([p]), np.array([o]))
        lo, hi = np.searchsorted(keys, q, "left")[0], np.searchsorted(keys, q, "right")[0]
        return order[lo:hi]

    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows sorted by ``(s, p, o)`` and their sorted keys (built on demand after a change)."""
        if self._spo_index is None:
            keys = _pack_spo(self.s, self.p, self.o)
            order = np.argsort(keys, kind="stable")
            self._spo_index = (order, keys[order])
        return self._spo_index

    def select(self, *, g: int | None = None, p: int | None = None) -> np.ndarray:
        """Bool mask of rows in graph code ``g`` and/or with predicate id ``p``."""
        mask = np.ones(len(self), dtype=bool)
        if g is not None:
            mask &= self.g == g
        if p is not None:
            mask &= self.p == p
        return mask


_SPO = np.dtype([("s", np.int64), ("p", np.int64), ("o", np.int64)])


def _pack_spo(s: np.ndarray, p: np.ndarray, o: np.ndarray) -> np.ndarray:
    out = np.empty(len(s), dtype=_SPO)
    out["s"], out["p"], out["o"] = s, p, o
    return out


_KEY = np.dtype([("g", np.int64), ("s", np.int64), ("p", np.int64), ("o", np.int64)])


def _pack(g: np.ndarray, s: np.ndarray, p: np.ndarray, o: np.ndarray) -> np.ndarray:
    out = np.empty(len(s), dtype=_KEY)
    out["g"], out["s"], out["p"], out["o"] = g, s, p, o
    return out
