"""Dates in the forms people write them read as one ``xsd:date`` literal (property-based over
the forms), and a reference date aligned with any of them for training."""

from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib.namespace import XSD

from nesy.text.mentions import MONTHS, align, literal_mentions

SHORT = {9: ["Sep", "Sept"]}


def _forms(d: datetime.date) -> list[str]:
    """The ways a text may write ``d``."""
    name = MONTHS[d.month - 1].capitalize()
    shorts = [name[:3], *SHORT.get(d.month, [])] if len(name) > 3 else []  # nobody writes "May."
    out = [f"{name} {d.day}, {d.year}", f"{d.day} {name} {d.year}", f"{d.day}th of {name}, {d.year}",
           d.isoformat(), f"{d.year}/{d.month:02d}/{d.day:02d}", f"{d.day:02d}.{d.month:02d}.{d.year}"]
    for s in shorts:
        out += [f"{s}. {d.day}, {d.year}", f"{s} {d.day} {d.year}", f"{d.day} {s}. {d.year}", f"{d.day} {s} {d.year}"]
    if d.day > 12:  # unambiguous with slashes: month first (US) or day first
        out += [f"{d.month}/{d.day}/{d.year}", f"{d.day}/{d.month}/{d.year}"]
    return out


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=datetime.date(1000, 1, 1), max_value=datetime.date(2999, 12, 31)))
def test_every_written_form_of_a_date_is_one_date_literal(d: datetime.date) -> None:
    want = f'"{d.isoformat()}"^^<{XSD.date}>'
    for form in _forms(d):
        text = f"It was launched on {form} from the coast."
        found = literal_mentions(text)
        assert [(f.text, f.candidates[0][0]) for f in found] == [(form, want)], form
        assert align(text, f'"{d.isoformat()}"') == (text.index(form), text.index(form) + len(form)), form


def test_what_is_not_a_date_stays_numbers() -> None:
    assert [f.text for f in literal_mentions("Room 2009-13-01 of 3")] == ["2009", "13", "01", "3"]
    assert [f.text for f in literal_mentions("In Dec 2009 it had 3, 2009 being the year")] == ["2009", "3", "2009"]
    assert [f.text for f in literal_mentions("the Decimal 3, 2009 and Mars 4 2001")] == ["3", "2009", "4", "2001"]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**7), st.integers(0, 999), st.integers(0, 3))
def test_a_decimal_is_read_in_its_canonical_form(whole: int, frac: int, zeros: int) -> None:
    written = f"{whole}.{frac}{'0' * zeros}"
    [found] = literal_mentions(f"It is {written} long.")
    value = found.candidates[0][0].split('"')[1]
    assert float(value) == float(written) and value.split(".")[0] == str(whole)
    assert value.endswith(".0") or not value.endswith("0"), value
