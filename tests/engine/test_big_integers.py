"""Integer arithmetic past Python's int/str conversion limit: no result (an overflow, like a
division by zero), never a crash; below it, exact."""

from __future__ import annotations

import sys

from rdflib import Literal, Namespace

from nesy.engine.exact import TOO_BIG
from nesy.engine.reasoner import Reasoner
from nesy.rules.parser import parse_program, parse_query
from nesy.store.vocab import Vocab

EX = Namespace("http://ex.org/")


def test_integer_overflow_gives_no_result_and_exact_values_below_it() -> None:
    digits = sys.get_int_max_str_digits()
    assert TOO_BIG == 10 ** digits
    n = int("7" * 30)
    r = Reasoner(Vocab())
    r.add_program(parse_program(
        "@prefix : <http://ex.org/> .\n"
        f"n(a, {n}).\n"
        "over(X, Y) :- n(X, N), Y = " + " * ".join(["N"] * (digits // 30 + 10)) + ".\n"
        "under(X, Y) :- n(X, N), Y = " + " * ".join(["N"] * (digits // 30 - 10)) + " + 1.\n"))
    assert r.ask(parse_query("?- over(X, Y).", default_ns=str(EX))) == []
    [a] = r.ask(parse_query("?- under(X, Y).", default_ns=str(EX)))
    assert a["Y"] == Literal(n ** (digits // 30 - 10) + 1)
