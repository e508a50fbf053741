"""Rule arithmetic is exact for xsd:integer and xsd:decimal, with XPath result types,
checked against Python's own exact arithmetic."""

from __future__ import annotations

import decimal
import itertools
from decimal import Decimal
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import XSD, Literal

from nesy.engine import exact
from nesy.kb import KnowledgeBase
from nesy.plugins.builtins import exact_divide, exact_modulo

HEADER = "@prefix : <http://e.org/> .\n"
RULES = """
add(I, Y) :- p(I, A, B), Y = A + B.
sub(I, Y) :- p(I, A, B), Y = A - B.
mul(I, Y) :- p(I, A, B), Y = A * B.
div(I, Y) :- p(I, A, B), Y = A / B.
lt(I) :- p(I, A, B), A < B.
eq(I) :- p(I, A, B), A == B.
"""


def lexical(v: int | Decimal) -> str:
    if isinstance(v, int):
        return str(v)
    text = format(v, "f")
    return text if "." in text else text + ".0"


def run(tmp_path: Path, pairs: list[tuple[int | Decimal, int | Decimal]]) -> KnowledgeBase:
    facts = "".join(f"p({i}, {lexical(a)}, {lexical(b)}).\n" for i, (a, b) in enumerate(pairs))
    path = tmp_path / "arith.rules"
    path.write_text(HEADER + facts + RULES, encoding="utf-8")
    kb = KnowledgeBase()
    kb.add_rules(path)
    return kb


def answers(kb: KnowledgeBase, pred: str) -> dict[int, Literal]:
    return {int(a.bindings["I"]): a.bindings.get("Y") for a in kb.ask(f"?- {pred}(I{', Y' if pred not in ('lt', 'eq') else ''}).")}


def as_value(term: Literal) -> int | Decimal:
    if term.datatype == XSD.integer:
        return int(str(term))
    assert term.datatype == XSD.decimal, term
    return Decimal(str(term))


big_ints = st.integers(min_value=-(10**40), max_value=10**40)
decimals = st.decimals(min_value=-(10**20), max_value=10**20, places=6, allow_nan=False, allow_infinity=False)


@settings(max_examples=25, deadline=None)
@given(pairs=st.lists(st.tuples(big_ints | decimals, big_ints | decimals), min_size=1, max_size=8))
def test_integer_and_decimal_arithmetic_is_exact(tmp_path_factory, pairs: list) -> None:
    kb = run(tmp_path_factory.mktemp("a"), pairs)
    exact_ctx = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
    for pred, op in (("add", exact_ctx.add), ("sub", exact_ctx.subtract), ("mul", exact_ctx.multiply)):
        got = answers(kb, pred)
        for i, (a, b) in enumerate(pairs):
            want = op(Decimal(a), Decimal(b))
            term = got[i]
            both_int = isinstance(a, int) and isinstance(b, int)
            assert term.datatype == (XSD.integer if both_int else XSD.decimal), (pred, a, b, term)
            assert as_value(term) == want, (pred, a, b, term)
    divided = answers(kb, "div")
    for i, (a, b) in enumerate(pairs):
        if b == 0:
            assert i not in divided  # no value: the rule does not fire
            continue
        term = divided[i]
        assert term.datatype == XSD.decimal  # integer / integer is a decimal too
        q, ref = Decimal(str(term)), decimal.Context(prec=120).divide(Decimal(a), Decimal(b))
        assert abs(q - ref) <= abs(ref) * Decimal("1e-30")  # at least 30 correct digits
    lt, eq = set(answers(kb, "lt")), set(answers(kb, "eq"))
    assert lt == {i for i, (a, b) in enumerate(pairs) if Decimal(a) < Decimal(b)}
    assert eq == {i for i, (a, b) in enumerate(pairs) if Decimal(a) == Decimal(b)}


def test_the_reported_case_and_type_promotion(tmp_path: Path) -> None:
    kb = run(tmp_path, [(9007199254740993, 0), (1, 2), (Decimal("0.1"), Decimal("0.2")), (7, 2)])
    add = answers(kb, "add")
    assert add[0] == Literal(9007199254740993) and add[0].datatype == XSD.integer
    assert add[2] == Literal(Decimal("0.3"))  # not 0.30000000000000004
    assert answers(kb, "div")[1] == Literal(Decimal("0.5")) and answers(kb, "div")[3].datatype == XSD.decimal
    assert 0 not in set(answers(kb, "eq"))  # 9007199254740993 == 0 is false, 2**53+1 != 2**53
    path = tmp_path / "mixed.rules"
    path.write_text(HEADER + "v(9007199254740993). d(2.0e0).\nm(Y) :- v(X), d(Z), Y = X * Z.\n"
                    "big(X) :- v(X), X > 9007199254740992.\n", encoding="utf-8")
    kb = KnowledgeBase()
    kb.add_rules(path)
    [m] = kb.ask("?- m(Y).")
    assert m.bindings["Y"].datatype == XSD.double  # with a double, the result is a double
    assert len(kb.ask("?- big(X).")) == 1


@given(st.lists(st.tuples(st.integers(-(10**30), 10**30), st.integers(-(10**30), 10**30)), min_size=1, max_size=20))
def test_exact_columns_match_python(pairs: list[tuple[int, int]]) -> None:
    a = exact.Num(np.array([x for x, _ in pairs], dtype=object), np.zeros(len(pairs), np.int8))
    b = exact.Num(np.array([y for _, y in pairs], dtype=object), np.zeros(len(pairs), np.int8))
    for op, fn, py in (("+", np.add, lambda x, y: x + y), ("*", np.multiply, lambda x, y: x * y)):
        got = exact.arithmetic(op, fn, a, b)
        assert list(got.values) == [py(x, y) for x, y in pairs] and set(got.types.tolist()) == {exact.INT}
    assert exact.compare(np.less, a, b).tolist() == [x < y for x, y in pairs]
    mod = exact_modulo(np.array([x for x, _ in pairs], dtype=object), np.array([y for _, y in pairs], dtype=object))
    assert [m for m in mod] == [None if y == 0 else x % y for x, y in pairs]


def test_decimal_modulo_and_division_edges() -> None:
    xs = np.array([Decimal("-7.5"), Decimal("7.5"), Decimal("1"), Decimal("1")], dtype=object)
    ys = np.array([Decimal("2"), Decimal("-2"), Decimal("3"), Decimal("0")], dtype=object)
    assert list(exact_modulo(xs, ys)) == [Decimal("0.5"), Decimal("-0.5"), Decimal("1"), None]
    third = exact_divide(xs[2:3], ys[2:3])[0]
    assert str(third).startswith("0.3333333333") and len(third.as_tuple().digits) >= 18
    assert all(float(v) == float(np.mod(float(x), float(y)))
               for v, x, y in itertools.islice(zip(exact_modulo(xs, ys), xs, ys, strict=True), 2))
