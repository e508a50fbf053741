"""One printer: proofs, answer tables, the REPL, the CLI and ``kb.shorten`` print a term alike.

Every place that shows a term goes through :func:`nesy.rules.printer.format_term`; these
tests check, through a real in-memory :class:`nesy.KnowledgeBase`, that a plain string with
a non-ASCII character, an ``xsd:double`` and a typed date read the same in a proof leaf
(``kb.why`` and an answer's proof, as text, JSON and Mermaid), in the answer tables (the
REPL's, the CLI's, ``Answers`` in a terminal and in Jupyter) and in ``kb.shorten``, and
that whatever the printer writes parses back to the same term.
"""

from __future__ import annotations

import csv
import datetime
import html
import io
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Literal, Namespace, URIRef
from rdflib import namespace as rns
from rich.console import Console

from nesy import KnowledgeBase
from nesy.engine.proofs import term_text
from nesy.namespaces import DEFAULT_NAMESPACE
from nesy.output import answers_csv, print_answers, to_json
from nesy.repl.render import answers_table, proof_tree
from nesy.rules import Atom, Var, format_atom, format_term, parse_atom

EX = Namespace("http://example.org/shop#")
RULES = "@prefix ex: <http://example.org/shop#> .\n[shown] ex:shown(X, V) :- ex:value(X, V).\n"

#: (subject's local name, the literal, how every place prints it)
CASES = [
    ("cafe", Literal("café"), '"café"'),
    ("price", Literal(1.5), "1.5e0"),
    ("opened", Literal("2020-01-02", datatype=rns.XSD.date), '"2020-01-02"^^xsd:date'),
]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    kb = KnowledgeBase()
    kb.bind("ex", str(EX))
    for local, value, _ in CASES:
        kb.add(EX[local], EX.value, value)
    kb.add_rules(RULES)
    return kb


def _rich_text(renderable: object) -> str:
    console = Console(record=True, width=240, color_system=None)
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize(("local", "value", "shown"), CASES, ids=[c[0] for c in CASES])
def test_shorten_and_proofs_print_the_literal_alike(kb: KnowledgeBase, local: str, value: Literal,
                                                     shown: str) -> None:
    assert kb.shorten(value) == shown
    leaf = f"ex:value(ex:{local}, {shown})"
    head = f"ex:shown(ex:{local}, {shown})"

    # kb.why reads the printed form back and proves the very fact.
    proof = kb.why(head)
    text = proof.to_text(kb.prefixes)
    assert text.splitlines()[0].startswith(f"derived  {head}")
    assert f"asserted  {leaf}" in text

    [answer] = kb.ask(f"?- ex:shown(ex:{local}, V).")
    assert answer.bindings["V"] == value
    assert f"asserted  {leaf}" in answer.proof.to_text(kb.prefixes)
    tree = answer.proof.to_dict(kb.prefixes)
    assert tree["fact"] == head and tree["premises"][0]["fact"] == leaf
    assert tree["bindings"]["V"] == shown
    assert json.loads(answer.proof.to_json(kb.prefixes))["premises"][0]["fact"] == leaf
    assert leaf.replace('"', "#quot;") in answer.proof.to_mermaid(kb.prefixes)  # Mermaid's quote
    assert leaf in _rich_text(proof_tree(answer.proof, kb.prefixes))
    assert term_text(value, kb.prefixes, kb.default_namespace) == shown


@pytest.mark.parametrize(("local", "value", "shown"), CASES, ids=[c[0] for c in CASES])
def test_answer_tables_print_the_literal_alike(kb: KnowledgeBase, local: str, value: Literal, shown: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    answers = kb.ask(f"?- ex:shown(ex:{local}, V).")
    # The REPL's table and the `Answers` a notebook or terminal shows.
    assert f" {shown} " in _rich_text(answers_table(kb, answers))
    assert f" {shown} " in _rich_text(answers)
    assert f"<td>{html.escape(shown)}</td>" in answers._repr_html_()
    # The CLI: the table lines, JSON and CSV (whose own quoting wraps the cell).
    print_answers(kb, answers, "table", explain=True)
    out = capsys.readouterr().out
    assert f"V = {shown}   score 1" in out and f"asserted  ex:value(ex:{local}, {shown})" in out
    print_answers(kb, answers, "json", explain=False)
    assert json.loads(capsys.readouterr().out) == [{"bindings": {"V": shown}, "score": 1.0}]
    assert to_json(kb, answers, True)[0]["bindings"]["V"] == shown
    rows = list(csv.reader(io.StringIO(answers_csv(kb, answers))))
    assert rows == [["V", "score"], [shown, "1"]]


def test_one_table_of_all_three(kb: KnowledgeBase) -> None:
    answers = kb.ask("?- ex:shown(X, V).")
    table = _rich_text(answers_table(kb, answers))
    for local, value, shown in CASES:
        assert f" ex:{local} " in table and f" {shown} " in table
        assert kb.shorten(value) == shown


# ---------------------------------------------------------------------------------------
# Round trip: whatever the printer writes parses back to the same term
# ---------------------------------------------------------------------------------------

PREFIXES = {"ex": str(EX), "d": "http://example.org/data/", "": "http://example.org/colon#"}
NAMESPACES = [str(EX), "http://example.org/data/", "http://example.org/colon#", DEFAULT_NAMESPACE,
              "http://elsewhere.org/", "urn:x:"]
# Printable characters, no control characters, so that rdflib takes every IRI as valid.
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=10)

iris = st.builds(lambda ns, local: URIRef(ns + local), st.sampled_from(NAMESPACES),
                 st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs")), min_size=1, max_size=8))
literals = st.one_of(
    st.text(max_size=10).map(Literal),
    st.builds(lambda s, lang: Literal(s, lang=lang), TEXT, st.sampled_from(["en", "fr", "en-GB"])),
    st.integers(-(10**12), 10**12).map(Literal),
    st.floats(allow_nan=False, allow_infinity=False).map(Literal),
    st.decimals(-10**6, 10**6, places=4, allow_nan=False, allow_infinity=False).map(Literal),
    st.booleans().map(Literal),
    st.dates(datetime.date(1, 1, 1), datetime.date(9999, 12, 31)).map(Literal),
    st.builds(lambda s: Literal(s, datatype=rns.XSD.string), TEXT),
    st.builds(lambda s: Literal(s, datatype=URIRef("http://example.org/data/type")), TEXT),
)
variables = st.from_regex(r"[A-Z][A-Za-z0-9_]{0,6}|\?[a-z][a-z0-9_]{0,5}", fullmatch=True).map(Var)
ROUND_TRIP = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIP
@given(st.one_of(iris, literals))
def test_printed_terms_parse_back(term: URIRef | Literal) -> None:
    for prefixes, default_ns in ((PREFIXES, None), ({"ex": str(EX)}, "http://example.org/data/"), (None, None)):
        text = format_term(term, prefixes, default_ns)
        back = parse_atom(f"<urn:p>({text})", prefixes=prefixes, default_ns=default_ns or DEFAULT_NAMESPACE)
        assert back.args[0] == term, (term, text)
        if isinstance(term, Literal):
            assert back.args[0].datatype == term.datatype and back.args[0].language == term.language
        # A proof prints a term with the same printer.
        assert term_text(term, prefixes, default_ns) == text


@ROUND_TRIP
@given(iris, st.lists(st.one_of(iris, literals, variables), min_size=1, max_size=4))
def test_printed_atoms_parse_back(predicate: URIRef, args: list) -> None:  # type: ignore[type-arg]
    atom = Atom(predicate, tuple(args))
    text = format_atom(atom, PREFIXES)
    back = parse_atom(text, prefixes=PREFIXES)
    assert back.predicate == atom.predicate and back.args == atom.args, text


def test_doubles_keep_an_exponent() -> None:
    """``1.5`` alone would read back as an ``xsd:decimal``; the printed double does not."""
    for value in (1.5, 22.5, 1000.0, 0.025, -3.0, 1e300):
        text = format_term(Literal(value))
        assert "e" in text.lower()
        back = parse_atom(f"p({text})").args[0]
        assert back.datatype == rns.XSD.double and float(back) == value
    assert parse_atom("p(1.5)").args[0].datatype == rns.XSD.decimal
    assert format_term(Literal(Decimal("1.5"))) == "1.5"
