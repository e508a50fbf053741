"""Rows of several relations as one numbering (sets of facts as bool arrays), and premise renumbering."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nesy.engine.relation import HANDLE_MASK, HANDLE_SHIFT, DerivTable, Relation
from nesy.engine.table import group_rows

if TYPE_CHECKING:
    from nesy.engine.evaluator import Evaluator


class RowSpace:
    """One numbering of the rows of several relations, so sets of facts are bool arrays.

    Args:
        rels: The relations (each numbered after the one before).
    """

    def __init__(self, rels: list[Relation]) -> None:
        self.rels = {rel.rel_id: rel for rel in rels}
        self.offset = np.full(max(self.rels, default=0) + 1, -1, dtype=np.int64)
        self.ids = np.array(sorted(self.rels), dtype=np.int64)
        starts, at = [], 0
        for rid in self.ids.tolist():
            self.offset[rid] = at
            starts.append(at)
            at += self.rels[rid].n
        self.starts = np.array(starts, dtype=np.int64)
        self.total = at

    def of_rows(self, rel: Relation, rows: np.ndarray) -> np.ndarray:
        """Global numbers of rows ``rows`` of ``rel`` (empty when ``rel`` is not numbered)."""
        if rel.rel_id >= len(self.offset) or self.offset[rel.rel_id] < 0 or self.rels[rel.rel_id] is not rel:
            return np.empty(0, dtype=np.int64)
        return self.offset[rel.rel_id] + np.asarray(rows, dtype=np.int64)

    def of_handles(self, handles: np.ndarray) -> np.ndarray:
        """Global numbers of premise handles (-1 for none, or a relation not numbered)."""
        rid = np.where(handles >= 0, handles >> HANDLE_SHIFT, 0)
        rid = np.where(rid < len(self.offset), rid, 0)
        off = self.offset[rid]
        return np.where((handles >= 0) & (off >= 0), off + (handles & HANDLE_MASK), -1)

    def slice(self, rel: Relation) -> slice:
        """The global numbers of ``rel``'s rows."""
        start = int(self.offset[rel.rel_id])
        return slice(start, start + rel.n)

    def split(self, idx: np.ndarray) -> dict[int, np.ndarray]:
        """Global numbers (sorted) as ``relation id -> rows``."""
        which = np.searchsorted(self.starts, idx, "right") - 1
        out = {}
        for w, part in group_rows(which):
            out[int(self.ids[w])] = idx[part] - self.starts[w]
        return out


def renumber_premises(ev: Evaluator, moved: dict[int, np.ndarray]) -> None:
    """Point every recorded premise at the renumbered rows (``moved``: relation id -> old
    row -> new row, -1 where the fact went). Tables that change are replaced, not edited,
    so proofs built before keep reading the old ones."""
    if not moved:
        return
    lut = np.full(max(moved) + 1, -1, dtype=np.int64)
    flat, at = [], 0
    for rid, old_to_new in moved.items():
        lut[rid] = at
        flat.append(old_to_new)
        at += len(old_to_new)
    maps = np.concatenate(flat)
    for rule_id, table in list(ev.derivs.items()):
        data = table.data[: table.n]
        if not data.size:
            continue
        rid = np.where(data >= 0, data >> HANDLE_SHIFT, len(lut))
        off = np.where(rid < len(lut), lut[np.minimum(rid, len(lut) - 1)], -1)
        hit = off >= 0
        if not hit.any():
            continue
        new = DerivTable(table.slots)
        new.data, new.n = data.copy(), table.n
        row = maps[off[hit] + (data[hit] & HANDLE_MASK)]
        new.data[hit] = np.where(row >= 0, (rid[hit] << HANDLE_SHIFT) | row, -1)
        ev.derivs[rule_id] = new


__all__ = ["RowSpace", "renumber_premises"]
