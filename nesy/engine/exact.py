"""Numbers of rule arithmetic with XPath types: exact xsd:integer and xsd:decimal, fast doubles.

A column of numbers is a :class:`Num`: values and a type per row (integer, decimal,
double, or not a number). Doubles, and integers small enough that float64 holds every
result exactly, stay float64 arrays and use numpy; integers beyond that and every
decimal become Python ``int`` / ``decimal.Decimal`` in object arrays, computed per row.
Result types follow SPARQL/XPath numeric promotion: integer op integer is an integer,
with a decimal it is a decimal, with a float or double it is a double; ``/`` of integers
is a decimal.
"""

from __future__ import annotations

import decimal
import sys
import weakref
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from rdflib import Literal, URIRef

#: Row types, ordered by promotion.
NAN, INT, DEC, DBL = -1, 0, 1, 2
_XSD = "http://www.w3.org/2001/XMLSchema#"
_INTEGERS = {_XSD + t for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger",
                                "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt",
                                "unsignedLong", "unsignedShort", "unsignedByte")}
_DOUBLES = {_XSD + "double", _XSD + "float"}
_XSD_DECIMAL = URIRef(_XSD + "decimal")
#: Below this, an integer and the result of ``+``, ``-`` or ``*`` of two of them are exact in float64.
SMALL = 2**26
#: Below this, an integer is exact in float64 (comparisons may use it).
EXACT_IN_FLOAT = 2**53
#: Exact + - *: decimal's largest precision computes without rounding (digits are only
#: spent where the numbers have them).
EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
#: An integer result this large (more digits than Python converts to text,
#: ``sys.get_int_max_str_digits``) is an overflow: no result, like a division by zero. It
#: could be neither written as a literal nor read back, and it bounds the work.
TOO_BIG = 10 ** sys.get_int_max_str_digits() if sys.get_int_max_str_digits() else None


@dataclass
class Num:
    """A column of numbers: ``values`` (float64, or object holding int/Decimal/float) and
    ``types`` (int8: NAN, INT, DEC or DBL per row)."""

    values: np.ndarray
    types: np.ndarray

    @property
    def exact(self) -> bool:
        """Whether the values are Python objects (not float64)."""
        return self.values.dtype == object


def exact_number(term: Any) -> tuple[int, Any]:
    """``(type, value)`` of a term: an int for integers, a Decimal for decimals, a float for
    doubles, ``(NAN, None)`` for anything else (booleans and malformed lexical forms too)."""
    if not isinstance(term, Literal) or term.datatype is None:
        return NAN, None
    dt = str(term.datatype)
    try:
        if dt in _INTEGERS:
            return INT, int(str(term).strip())
        if dt == _XSD + "decimal":
            d = Decimal(str(term).strip())
            return (DEC, d) if d.is_finite() else (NAN, None)
        if dt in _DOUBLES:
            return DBL, float(term.toPython())
    except (ValueError, ArithmeticError, TypeError):
        return NAN, None
    return NAN, None


class _View:
    """Per-vocabulary cache: the type of every term, and the exact value of the terms
    float64 cannot hold (integers from 2**53, decimals)."""

    def __init__(self) -> None:
        self.types = np.empty(0, dtype=np.int8)
        self.big: dict[int, Any] = {}

    def grow(self, vocab: Any) -> None:
        old, n = len(self.types), len(vocab)
        if old >= n:
            return
        extra = np.empty(n - old, dtype=np.int8)
        for k, term in enumerate(vocab.terms(range(old, n))):
            kind, value = exact_number(term)
            extra[k] = kind
            if kind == DEC or (kind == INT and abs(value) >= EXACT_IN_FLOAT):
                self.big[old + k] = value
        self.types = np.concatenate([self.types, extra])


_VIEWS: weakref.WeakKeyDictionary[Any, _View] = weakref.WeakKeyDictionary()


def from_ids(vocab: Any, ids: np.ndarray) -> Num:
    """The numbers the terms ``ids`` denote."""
    view = _VIEWS.get(vocab)
    if view is None:
        view = _VIEWS[vocab] = _View()
    view.grow(vocab)
    ids = np.asarray(ids, dtype=np.int64)
    floats, types = vocab.numeric(ids), view.types[ids]
    floats = np.where(types >= 0, floats, np.nan)
    if not view.big or not any(int(i) in view.big for i in np.unique(ids)):
        return Num(floats, types)
    values = floats.astype(object)
    for j, i in enumerate(ids.tolist()):
        if types[j] == INT:
            values[j] = view.big.get(i, int(floats[j]))
        elif types[j] == DEC:
            values[j] = view.big[i]
    return Num(values, types)


def _cast(num: Num, target: np.ndarray) -> np.ndarray:
    """Object array of the values converted to each row's ``target`` type (0 where NAN)."""
    out = np.empty(len(target), dtype=object)
    for j, (v, src, dst) in enumerate(zip(num.values.tolist(), num.types.tolist(), target.tolist())):
        if dst == NAN or src == NAN:
            out[j] = 0
        elif dst == DBL:
            out[j] = float(v)
        elif dst == DEC:
            out[j] = v if isinstance(v, Decimal) else Decimal(int(v))
        else:
            out[j] = int(v)
    return out


def _small_ints(*nums: Num) -> bool:
    return all(not n.exact and bool(np.all(np.abs(n.values[n.types == INT]) < SMALL)) for n in nums)


def arithmetic(op: str, fn: Any, a: Num, b: Num) -> Num:
    """``a op b`` per row with XPath result types; ``fn`` is the registry's operator."""
    types = np.maximum(a.types, b.types)
    if op == "/":
        types = np.where(types == INT, DEC, types)
    types[(a.types == NAN) | (b.types == NAN)] = NAN
    live = types[types != NAN]
    fast = not a.exact and not b.exact and (bool(np.all(live == DBL)) or (
        op in ("+", "-", "*") and bool(np.all(live == INT)) and _small_ints(a, b)))
    if fast or op not in ("+", "-", "*", "/", "%"):
        fa = a.values.astype(np.float64) if a.exact else a.values
        fb = b.values.astype(np.float64) if b.exact else b.values
        with np.errstate(all="ignore"):
            vals = np.asarray(fn(fa, fb), dtype=np.float64)
        if not fast:  # a plugin's operator: float64 only, as before
            types = np.where(types == NAN, NAN, DBL).astype(np.int8)
        types[np.isnan(vals)] = NAN
        return Num(vals, types)
    with decimal.localcontext(EXACT), np.errstate(all="ignore"):
        vals = np.asarray(fn(_cast(a, types), _cast(b, types)), dtype=object)
    bad = np.fromiter((v is None or (isinstance(v, float) and v != v) or _too_big(v) for v in vals.tolist()),
                      dtype=bool, count=len(vals))
    types[bad] = NAN
    return Num(vals, types)


def compare(fn: Any, a: Num, b: Num) -> np.ndarray:
    """``fn(a, b)`` where both rows are numbers (False elsewhere), exactly: integers and
    decimals compare as such, anything with a double as doubles."""
    both = (a.types != NAN) & (b.types != NAN)
    out = np.zeros(len(both), dtype=bool)
    if not both.any():
        return out
    if not a.exact and not b.exact:
        with np.errstate(all="ignore"):
            out[both] = fn(a.values[both], b.values[both])
        return out
    rows = np.flatnonzero(both)
    target = np.maximum(a.types[rows], b.types[rows])
    sub = [Num(n.values[rows], n.types[rows]) for n in (a, b)]
    with decimal.localcontext(EXACT):
        out[rows] = np.asarray(fn(_cast(sub[0], target), _cast(sub[1], target)), dtype=bool)
    return out


def decimal_literal(value: Decimal) -> Literal:
    """The xsd:decimal literal in canonical form: no exponent, no trailing zeros, at least
    one digit after the point (``35.0``, ``0.25``)."""
    text = format(value.normalize(EXACT) if value else Decimal(0), "f")
    if "." not in text:
        text += ".0"
    return Literal(text, datatype=_XSD_DECIMAL)


def _too_big(value: Any) -> bool:
    return TOO_BIG is not None and isinstance(value, int) and not -TOO_BIG < value < TOO_BIG


def _integer_literal(value: int) -> Literal | None:
    """The xsd:integer literal of ``value``, or ``None`` (no result, like a division by
    zero) past the digits Python converts to text (``sys.get_int_max_str_digits``): such
    an integer could neither be written nor read back."""
    try:
        return Literal(value)
    except ValueError:
        return None


def to_terms(num: Num) -> list[Literal | None]:
    """The literal of each row (``None`` where not a number): xsd:integer, xsd:decimal or xsd:double."""
    out: list[Literal | None] = []
    for v, t in zip(num.values.tolist(), num.types.tolist()):
        if t == NAN:
            out.append(None)
        elif t == INT:
            out.append(_integer_literal(int(v)))
        elif t == DEC:
            out.append(decimal_literal(v if isinstance(v, Decimal) else Decimal(int(v))))
        else:
            out.append(Literal(float(v)))
    return out


__all__ = ["DBL", "DEC", "INT", "NAN", "Num", "arithmetic", "compare", "exact_number", "from_ids", "to_terms"]
