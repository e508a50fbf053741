"""The numbers of an out-of-core program: each numeric literal's value, kind and canonical id.

Rules compare and compute numbers by value while facts hold term ids, so the engine gets
a table ``num`` (``id, v, k, canon``) of the numeric literals among the program's ids:
``v`` the value as a double, ``k`` its kind (0 integer, 1 decimal, 2 double, as in
:mod:`nesy.engine.exact`), ``canon`` 1 when the literal is the one a computed value of
that kind is written as (``"1"`` and not ``"01"``), the one arithmetic results join.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from rdflib import Literal

from nesy.engine import exact


def canonical_term(value: Any, kind: int) -> Literal:
    """The literal a number of this kind is written as."""
    if kind == exact.INT:
        return Literal(int(value))
    if kind == exact.DEC:
        return Literal(value if isinstance(value, Decimal) else Decimal(repr(float(value))))
    return Literal(float(value))


def number_table(vocab: Any, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Columns ``id, v, k, canon`` of the numeric literals among ``ids`` (int64 ``(n,)``)."""
    ids = np.asarray(ids, dtype=np.int64)
    ids = ids[(ids >= 0) & (ids < len(vocab))]
    if len(ids):
        ids = ids[vocab.is_literal(ids)]
    num = exact.from_ids(vocab, ids)
    keep = np.flatnonzero(num.types != exact.NAN)
    ids, types = ids[keep], num.types[keep].astype(np.int64)
    values = num.values[keep]
    canon = np.zeros(len(ids), dtype=np.int64)
    for j, (i, v, k) in enumerate(zip(ids.tolist(), values.tolist(), types.tolist(), strict=True)):
        canon[j] = int(vocab.get(canonical_term(v, k)) == i)
    return {"id": ids, "v": np.asarray(values, dtype=np.float64), "k": types, "canon": canon}


def constant_value(vocab: Any, i: int) -> tuple[float, int] | None:
    """``(value, kind)`` of the constant with id ``i``, None when it is not a number."""
    num = exact.from_ids(vocab, np.array([i], dtype=np.int64))
    if num.types[0] == exact.NAN:
        return None
    return float(num.values[0]), int(num.types[0])


__all__ = ["canonical_term", "constant_value", "number_table"]
