"""Join and merge kernels: each must agree exactly with the plain numpy it replaces."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nesy.engine.hashing import HashTable
from nesy.engine.kernels import expand_ranges, stable_order, unique
from nesy.engine.table import _pair_range

# Keys as the engine packs them (``hi << 32 | lo``), with small and huge spreads alike.
packed = st.builds(lambda hi, lo: (hi << 32) | lo, st.integers(0, 2**30), st.integers(0, 2**32 - 1))
small = st.integers(0, 20)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(packed, small, st.integers(2**62, 2**63 - 1)), max_size=400))
def test_stable_order_is_a_stable_argsort(keys: list[int]) -> None:
    arr = np.array(keys, dtype=np.int64)
    assert np.array_equal(stable_order(arr), np.argsort(arr, kind="stable"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 5), max_size=100))
def test_stable_order_negative_keys(keys: list[int]) -> None:
    arr = np.array(keys, dtype=np.int64)
    assert np.array_equal(stable_order(arr), np.argsort(arr, kind="stable"))


def test_stable_order_many_ties_keeps_row_order() -> None:
    rng = np.random.default_rng(3)
    keys = (rng.integers(0, 50, 100_000) << 32) | rng.integers(0, 3, 100_000)
    assert np.array_equal(stable_order(keys), np.argsort(keys, kind="stable"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 6)), max_size=40), st.data())
def test_pair_ranges_match_brute_force(ranges: list[tuple[int, int]], data: st.DataObject) -> None:
    lo = np.array([r[0] for r in ranges], dtype=np.int64)
    cnt = np.array([r[1] for r in ranges], dtype=np.int64)
    total = int(cnt.sum())
    owner, pos = expand_ranges(lo, cnt, total)
    want = [(i, lo[i] + j) for i in range(len(ranges)) for j in range(cnt[i])]
    assert list(zip(owner.tolist(), pos.tolist(), strict=True)) == want
    if total:
        a = data.draw(st.integers(0, total - 1))
        b = data.draw(st.integers(a + 1, total))
        pi, at = _pair_range(lo, cnt, np.cumsum(cnt), a, b)
        assert list(zip(pi.tolist(), at.tolist(), strict=True)) == want[a:b]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**40), max_size=200), max_size=6))
def test_hash_table_growth_keeps_every_key(batches: list[list[int]]) -> None:
    table, ref = HashTable(capacity=2), {}
    for batch in batches:
        new = list(dict.fromkeys(k for k in batch if k not in ref))
        table.insert(np.array(new, dtype=np.int64), np.arange(len(ref), len(ref) + len(new), dtype=np.int64))
        ref.update({k: len(ref) + i for i, k in enumerate(new)})
        assert 4 * table.size <= 3 * len(table._keys)
    keys = np.array(list(ref), dtype=np.int64)
    assert table.lookup(keys).tolist() == list(ref.values())
    assert table.contains(keys).all()


def test_hash_table_rebuild_wraps_round() -> None:
    # Keys whose home slots crowd the end of the table: a rebuild must wrap them to slot 0.
    table = HashTable(capacity=8)
    bits = table._bits
    cand = np.arange(1, 200_000, dtype=np.int64)
    home = table._slots(cand)
    tail = cand[home >= (1 << bits) - 2][:6]
    table.insert(tail, tail * 10)
    table._grow(table.size, same=True)  # rebuild at the same size: the wrap path
    assert table.lookup(tail).tolist() == (tail * 10).tolist()
    assert (table._keys[:4] >= 0).sum() == 4  # four of them wrapped to the start
    others = np.setdiff1d(cand[:1000], tail)
    assert (table.lookup(others) == -1).all()


def test_hash_table_lookup_of_negative_keys_finds_nothing() -> None:
    table = HashTable()
    keys = np.arange(0, 4000, 3, dtype=np.int64)
    table.insert(keys, np.arange(len(keys), dtype=np.int64))
    table.drop(keys[:500], np.arange(len(keys), dtype=np.int64))  # tombstones (key -2 in their slots)
    got = table.lookup(np.array([-1, -2, 3, 0, 1500, 1501], dtype=np.int64))
    assert got.tolist() == [-1, -1, -1, -1, 500, -1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=300),
       st.sampled_from([np.int64, np.int32, np.uint8, bool]))
def test_unique_is_np_unique(values: list[int], dtype: type) -> None:
    a = np.asarray(values, dtype=np.int64).astype(dtype)
    got, want = unique(a), np.unique(a)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_unique_of_other_arrays_is_np_unique() -> None:
    for a in (np.array([1.5, np.nan, 1.5, -0.0, 0.0]), np.array(["b", "a", "b"]), np.arange(12).reshape(3, 4) % 5):
        assert np.array_equal(unique(a), np.unique(a), equal_nan=a.dtype.kind == "f")
