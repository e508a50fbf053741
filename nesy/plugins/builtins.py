"""nesy's own components (built-in predicates, operators, aggregates, semirings, models,
encoders, extractors), registered as a plugin.

This module is registered through the same ``register(registry)`` hook a user plugin
implements, so it doubles as the reference example of a plugin: cheap components are
registered as objects, those that need torch or transformers as lazy ``"module:attr"``
references that are imported only when a name is resolved.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
from rdflib import Literal, URIRef
from rdflib.term import Identifier

from nesy.plugins.hookspecs import hookimpl


def _text(term: Identifier | None) -> str:
    return "" if term is None else str(term)


def _group_reduce(ufunc: np.ufunc, values: np.ndarray, groups: np.ndarray, n: int, init: float) -> np.ndarray:
    out = np.full(n, init, dtype=np.float64)
    ufunc.at(out, groups, values)
    return out


#: Components that need the optional extras, by kind: name -> "module:attr" (imported on use).
LAZY_COMPONENTS: dict[str, dict[str, str]] = {
    "semiring": {
        "boolean": "nesy.engine.semirings:boolean_semiring",
        "maxprod": "nesy.engine.semirings:maxprod_semiring",
        "noisyor": "nesy.engine.semirings:noisyor_semiring",
        "noisyor-rules": "nesy.engine.semirings:noisyor_rules_semiring",
        "topk": "nesy.engine.semirings:topk_semiring",
    },
    "kge_model": {
        "transe": "nesy.linkpred.kge:TransE",
        "distmult": "nesy.linkpred.kge:DistMult",
        "complex": "nesy.linkpred.kge:ComplEx",
        "rotate": "nesy.linkpred.kge:RotatE",
        "rgcn": "nesy.linkpred.gnn:RGCN",
    },
    "text_encoder": {
        "all-MiniLM-L6-v2": "nesy.text.encoder:bundled_minilm",
    },
    # The reasoner's execution engines: `memory` evaluates in this process (the default),
    # `duckdb` and `spark` run the same program out of core (nesy.engine.outofcore).
    "engine": {
        "memory": "nesy.engine.reasoner:Reasoner",
        "duckdb": "nesy.engine.outofcore.driver:duckdb_executor",
        "spark": "nesy.engine.outofcore.driver:spark_executor",
    },
    "extractor": {
        "zero-shot": "nesy.text.extract:zero_shot_extractor",
        "trained": "nesy.text.extract:trained_extractor",
    },
}


@hookimpl
def register(registry: Any) -> None:
    """Register nesy's own operators, comparisons, aggregates, predicates and components."""
    register_arithmetic(registry)
    register_aggregates(registry)
    register_text_predicates(registry)
    register_term_predicates(registry)
    for kind, table in LAZY_COMPONENTS.items():
        for name, ref in table.items():
            registry.add_lazy(kind, name, ref)


#: Digits of a decimal quotient beyond those of its operands (XPath asks for at least 18).
DIVISION_DIGITS = 34


def exact_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``/`` over object arrays holding one common type per row (int, Decimal or float):
    decimals divide to ``DIVISION_DIGITS`` more digits than the operands have; ``None`` for x / 0."""
    out = np.empty(len(a), dtype=object)
    for j, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        if y == 0:
            out[j] = None
        elif isinstance(x, Decimal) or isinstance(y, Decimal):
            x, y = Decimal(x), Decimal(y)
            digits = len(x.as_tuple().digits) + len(y.as_tuple().digits) + DIVISION_DIGITS
            out[j] = decimal.Context(prec=digits, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN).divide(x, y)
        else:
            out[j] = x / y
    return out


def exact_modulo(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``%`` over object arrays, with the sign of the divisor like numpy's float ``mod`` (so
    integers, decimals and doubles agree); ``None`` for x % 0."""
    out = np.empty(len(a), dtype=object)
    for j, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        if y == 0:
            out[j] = None
        elif isinstance(x, Decimal):
            r = x % y  # Decimal's remainder is exact and takes the dividend's sign
            out[j] = r + y if r != 0 and (r < 0) != (y < 0) else r
        else:
            out[j] = x % y
    return out


def register_arithmetic(registry: Any) -> None:
    """Operators and comparisons over float64 columns, or object columns of exact Python
    numbers (int, Decimal) when the engine computes integers and decimals exactly."""
    registry.operator("+")(np.add)
    registry.operator("-")(np.subtract)
    registry.operator("*")(np.multiply)

    @registry.operator("/")
    def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype == object or b.dtype == object:
            return exact_divide(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b == 0, np.nan, a / np.where(b == 0, 1, b))

    @registry.operator("%")
    def _mod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.dtype == object or b.dtype == object:
            return exact_modulo(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b == 0, np.nan, np.mod(a, np.where(b == 0, 1, b)))

    # Comparisons: arrays are float64 when both sides are numbers, else object arrays of
    # strings (lexical order), so they work on numbers, strings and IRIs alike.
    registry.comparison("<")(np.less)
    registry.comparison("<=")(np.less_equal)
    registry.comparison(">")(np.greater)
    registry.comparison(">=")(np.greater_equal)
    registry.comparison("==")(np.equal)
    registry.comparison("!=")(np.not_equal)


def register_aggregates(registry: Any) -> None:
    """``count``, ``sum``, ``min``, ``max``, ``avg`` over groups (NaN values are skipped)."""

    @registry.aggregate("count", empty=0.0)
    def _count(values: np.ndarray, groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.bincount(groups, minlength=n).astype(np.float64), np.ones(n, dtype=bool)

    @registry.aggregate("sum", empty=0.0)
    def _sum(values: np.ndarray, groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        ok = ~np.isnan(values)
        return np.bincount(groups[ok], weights=values[ok], minlength=n), np.ones(n, dtype=bool)

    @registry.aggregate("min")
    def _min(values: np.ndarray, groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        ok = ~np.isnan(values)
        res = _group_reduce(np.minimum, values[ok], groups[ok], n, np.inf)
        return res, np.isfinite(res)

    @registry.aggregate("max")
    def _max(values: np.ndarray, groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        ok = ~np.isnan(values)
        res = _group_reduce(np.maximum, values[ok], groups[ok], n, -np.inf)
        return res, np.isfinite(res)

    @registry.aggregate("avg")
    def _avg(values: np.ndarray, groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        ok = ~np.isnan(values)
        cnt = np.bincount(groups[ok], minlength=n).astype(np.float64)
        tot = np.bincount(groups[ok], weights=values[ok], minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            return tot / np.where(cnt == 0, 1, cnt), cnt > 0


def register_text_predicates(registry: Any) -> None:
    """String predicates (``nesy:concat``, ``nesy:strlen``, ...), called once per binding."""

    @registry.predicate("nesy:concat", arity=3, inputs=(0, 1), doc="Z is the string X followed by Y.")
    def _concat(x: Identifier, y: Identifier, z: Identifier | None) -> Iterator[tuple[Any, ...]]:
        yield (x, y, Literal(_text(x) + _text(y)))

    @registry.predicate("nesy:strlen", arity=2, inputs=(0,), doc="N is the number of characters of X.")
    def _strlen(x: Identifier, n: Identifier | None) -> Iterator[tuple[Any, ...]]:
        yield (x, Literal(len(_text(x))))

    @registry.predicate("nesy:lower", arity=2, inputs=(0,), doc="Y is X in lower case.")
    def _lower(x: Identifier, y: Identifier | None) -> Iterator[tuple[Any, ...]]:
        yield (x, Literal(_text(x).lower()))

    @registry.predicate("nesy:upper", arity=2, inputs=(0,), doc="Y is X in upper case.")
    def _upper(x: Identifier, y: Identifier | None) -> Iterator[tuple[Any, ...]]:
        yield (x, Literal(_text(x).upper()))

    @registry.predicate("nesy:contains", arity=2, doc="X contains the substring Y.")
    def _contains(x: Identifier, y: Identifier) -> Iterator[tuple[Any, ...]]:
        if _text(y) in _text(x):
            yield (x, y)

    @registry.predicate("nesy:startsWith", arity=2, doc="X starts with Y.")
    def _starts(x: Identifier, y: Identifier) -> Iterator[tuple[Any, ...]]:
        if _text(x).startswith(_text(y)):
            yield (x, y)

    @registry.predicate("nesy:regex", arity=2, doc="X matches the regular expression Y (Python syntax).")
    def _regex(x: Identifier, y: Identifier) -> Iterator[tuple[Any, ...]]:
        try:
            if re.search(_text(y), _text(x)):
                yield (x, y)
        except re.error:
            return

    @registry.predicate("nesy:split", arity=3, inputs=(0, 1), doc="Z is each piece of X split at separator Y.")
    def _split(x: Identifier, sep: Identifier, z: Identifier | None) -> Iterator[tuple[Any, ...]]:
        for piece in _text(x).split(_text(sep) or None):
            yield (x, sep, Literal(piece))


def register_term_predicates(registry: Any) -> None:
    """Predicates about terms: local names, ill-typed literals, membership in a value list."""

    @registry.predicate("nesy:localName", arity=2, inputs=(0,), doc="Y is the local name of IRI X.")
    def _local(x: Identifier, y: Identifier | None) -> Iterator[tuple[Any, ...]]:
        if isinstance(x, URIRef):
            s = str(x)
            yield (x, Literal(re.split(r"[#/:]", s)[-1]))

    @registry.predicate("nesy:illTyped", arity=1, inputs=(0,),
                        doc="X is a literal whose text is not a valid value of its datatype (\"abc\"^^xsd:integer).")
    def _ill_typed(x: Identifier) -> Iterator[tuple[Any, ...]]:
        # rdflib checks the lexical form against the XSD datatype when it builds the literal.
        if isinstance(x, Literal) and x.ill_typed:
            yield (x,)

    @registry.predicate("nesy:oneOf", arity=2, inputs=(1,), doc="X is one of the space-separated values in Y.")
    def _one_of(x: Identifier | None, values: Identifier) -> Iterator[tuple[Any, ...]]:
        for v in _text(values).split():
            if x is None or _text(x) == v:
                yield (Literal(v) if x is None or isinstance(x, Literal) else x, values)
