"""Integers too long for Python's int/str conversion: a ParseError at their position, and
no rdflib traceback for such literals met elsewhere (loaded data)."""

from __future__ import annotations

import logging

import pytest
from rdflib import Literal, URIRef

from nesy.errors import ParseError
from nesy.rules.parser import parse_program, parse_query
from nesy.rules.terms import MAX_INTEGER_DIGITS

XSD_INTEGER = URIRef("http://www.w3.org/2001/XMLSchema#integer")
TOO_LONG = "9" * (MAX_INTEGER_DIGITS + 700)


@pytest.mark.parametrize(("text", "column"), [
    (f"n({TOO_LONG}).", 3),
    (f"n(a, -{TOO_LONG}).", 7),
    (f'n(a, "{TOO_LONG}"^^xsd:long).', 6),
    (f"p(X) :- n(X), X > {TOO_LONG}.", 19),
])
def test_too_long_integer_is_a_parse_error_at_its_position(text: str, column: int,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(ParseError) as err:
        parse_program("@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n" + text, file="big.rules")
    e = err.value
    assert (e.file, e.line, e.column) == ("big.rules", 2, column)
    assert f"integer too long: {len(TOO_LONG):,} digits, at most {MAX_INTEGER_DIGITS:,}" in e.message
    assert not caplog.records


def test_longest_integer_and_long_decimals_are_exact() -> None:
    longest = "7" * MAX_INTEGER_DIGITS
    [fact] = parse_program(f"n({longest}).").facts
    assert fact.atom.args[0] == Literal(longest, datatype=XSD_INTEGER) and fact.atom.args[0].value == int(longest)
    [fact] = parse_program(f"n({TOO_LONG}.5).").facts
    assert str(fact.atom.args[0]) == TOO_LONG + ".5"
    with pytest.raises(ParseError, match="integer too long"):
        parse_query(f"?- n(X), X = {TOO_LONG}.")


def test_rdflib_does_not_log_a_traceback_for_an_unconvertible_literal(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        lit = Literal(TOO_LONG, datatype=XSD_INTEGER)  # as when a data file holds one
        bad = Literal("abc", datatype=XSD_INTEGER)
    assert lit.value is None and bad.value is None
    assert not [r for r in caplog.records if r.name == "rdflib.term"]
