"""Column relations: hash table, interner, packing, sorted indexes, merge semantics."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nesy.engine.relation import HashTable, Interner, Relation, SortedIndex, pack
from nesy.engine.semirings import get_semiring

keys = st.lists(st.integers(0, 2**40), max_size=300)


@settings(max_examples=60, deadline=None)
@given(st.lists(keys, max_size=5), keys)
def test_hash_table_matches_dict(batches: list[list[int]], probes: list[int]) -> None:
    table, ref = HashTable(), {}
    for batch in batches:
        new = sorted({k for k in batch if k not in ref})
        table.insert(np.array(new, dtype=np.int64), np.array(new, dtype=np.int64) * 3)
        ref.update({k: 3 * k for k in new})
    got = table.lookup(np.array(probes + list(ref), dtype=np.int64))
    assert got.tolist() == [ref.get(k, -1) for k in probes + list(ref)]
    assert table.size == len(ref)


def test_hash_table_update() -> None:
    t = HashTable()
    t.insert(np.arange(100, dtype=np.int64), np.zeros(100, dtype=np.int64))
    t.update(np.array([5, 7]), np.array([50, 70]))
    assert t.lookup(np.array([5, 7, 8, 1000])).tolist() == [50, 70, 0, -1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(*[st.integers(0, 50)] * 4), min_size=1, max_size=200))
def test_pack_is_injective(rows: list[tuple[int, ...]]) -> None:
    it = Interner()
    arr = np.array(rows, dtype=np.int64)
    for k in range(5):
        packed = pack(arr[:, :k], it, create=True)
        assert len(set(packed.tolist())) == len({r[:k] for r in rows})
        again = pack(arr[:, :k], it, create=False)
        assert np.array_equal(packed, again)
    assert pack(np.array([[99, 99, 99]]), it, create=False).tolist() == [-1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=120),
       st.lists(st.integers(0, 9), max_size=20), st.integers(1, 5))
def test_sorted_index_probe_matches_brute_force(rows: list, probes: list[int], chunks: int) -> None:
    it = Interner()
    rel = Relation(1, ("p", 1, 2), 2, it)
    never = get_semiring("boolean").improved
    idx = SortedIndex((1,))
    for part in np.array_split(np.array(rows, dtype=np.int64), chunks):
        rel.merge(part, np.ones(len(part)), 0, never, 1)
        idx.catch_up(rel)  # several runs, merged as they grow
    pi, got = idx.probe(np.array(probes, dtype=np.int64))
    pairs = sorted(zip(pi.tolist(), got.tolist(), strict=True))
    cols = rel.cols[: rel.n]
    want = sorted((i, r) for i, p in enumerate(probes) for r in range(rel.n) if cols[r, 1] == p)
    assert pairs == want
    assert idx.count(np.array(probes, dtype=np.int64)).tolist() == [sum(1 for r in range(rel.n) if cols[r, 1] == p) for p in probes]


def test_merge_keeps_best_and_reports_changes() -> None:
    rel = Relation(1, ("p", 1, 2), 2, Interner())
    better = get_semiring("maxprod").improved
    rows = np.array([[1, 2], [1, 2], [3, 4]])
    changed, chosen = rel.merge(rows, np.array([0.5, 0.7, 0.2]), 0, better, 1)
    assert sorted(changed.tolist()) == [0, 1]
    assert rel.n == 2 and rel.score[rel.find(np.array([[1, 2]]))[0]] == 0.7
    assert rows[chosen].tolist() in ([[1, 2], [3, 4]], [[3, 4], [1, 2]])
    changed, _ = rel.merge(np.array([[1, 2], [3, 4]]), np.array([0.6, 0.9]), 1, better, 2)
    assert changed.tolist() == [1] and rel.score[1] == 0.9 and rel.rule[1] == 1 and rel.stamp[1] == 2
    assert rel.changed_since(1).tolist() == [1]
    assert rel.find(np.array([[9, 9]])).tolist() == [-1]


def test_inputs_win_ties_and_set_base() -> None:
    rel = Relation(1, ("p", 1, 1), 1, Interner())
    better = get_semiring("maxprod").improved
    rel.merge(np.array([[5]]), np.array([0.8]), 3, better, 1)
    rel.add_inputs(np.array([[5], [6]]), np.array([0.8, 0.4]), np.array([10, 11]), 2)
    assert rel.rule[:2].tolist() == [-1, -1] and rel.deriv[:2].tolist() == [10, 11]
    assert rel.base[:2].tolist() == [0.8, 0.4]
