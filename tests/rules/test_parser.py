"""The rule-language parser: every construct, source positions, golden snapshots, speed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from rdflib import RDF, Literal, URIRef
from rdflib import namespace as rns

from nesy.errors import NesyError, ParseError, SourceLocation
from nesy.rules import (
    DEFAULT_NS,
    DEFAULT_PREFIXES,
    NESY_NS,
    Aggregate,
    Assignment,
    Atom,
    BinOp,
    Comparison,
    Fact,
    Program,
    Query,
    Rule,
    Var,
    format_fact,
    format_literal,
    format_query,
    format_rule,
    parse_atom,
    parse_file,
    parse_program,
    parse_query,
)
from nesy.rules.parser import parse_tree, reference_parser

GOLDEN = Path(__file__).parent / "golden"
FAM = "http://example.org/family#"
HEADER = f"@prefix fam: <{FAM}> .\n"


def fam(local: str) -> URIRef:
    return URIRef(FAM + local)


def d(local: str) -> URIRef:
    """An IRI in the default namespace (bare names)."""
    return URIRef(DEFAULT_NS + local)


def one_rule(text: str, **kw: object) -> Rule:
    program = parse_program(HEADER + text, **kw)  # type: ignore[arg-type]
    assert len(program.rules) == 1, program
    return program.rules[0]


def integer(n: int) -> Literal:
    return Literal(str(n), datatype=rns.XSD.integer)


# ---------------------------------------------------------------------------------------
# The DESIGN.md example file
# ---------------------------------------------------------------------------------------


def test_design_example_parses() -> None:
    program = parse_file(GOLDEN / "design_example.rules")
    assert program.files == (str(GOLDEN / "design_example.rules"), str(GOLDEN / "common.rules"))
    assert program.prefix_map() == {"fam": FAM}
    assert [r.name for r in program.rules[:3]] == ["anc1", "anc2", "gp"]  # imports first
    assert len(program.facts) == 2
    assert program.facts[1].score == 0.7
    assert program.queries == (Query((Atom(fam("grandparent"), (fam("ann"), Var("Who"))),)),)
    kinds = {type(lit).__name__ for rule in program.rules for lit in rule.body}
    assert kinds == {"Atom", "Comparison", "Assignment", "Aggregate"}
    assert any(lit.neural for rule in program.rules for lit in rule.body if isinstance(lit, Atom))
    assert any(lit.negated for rule in program.rules for lit in rule.body if isinstance(lit, Atom))


def test_design_example_is_the_one_in_design_md() -> None:
    design = Path(__file__).resolve().parents[3] / "shared" / "DESIGN.md"
    if not design.is_file():
        pytest.skip("shared/DESIGN.md not next to the repository")
    text = design.read_text(encoding="utf-8")
    section = text[text.index("## The rule language") :]
    block = section.split("```\n", 2)[1]
    assert block == (GOLDEN / "design_example.rules").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------
# Facts, rules, constraints, queries
# ---------------------------------------------------------------------------------------


def test_fact_and_confidence() -> None:
    program = parse_program(
        HEADER + "fam:parent(fam:ann, fam:bob).\n0.7 :: fam:parent(fam:bob, fam:cid)."
    )
    assert program.facts == (
        Fact(Atom(fam("parent"), (fam("ann"), fam("bob")))),
        Fact(Atom(fam("parent"), (fam("bob"), fam("cid"))), 0.7),
    )
    assert program.rules == ()


def test_named_weighted_rule() -> None:
    rule = one_rule("[r2] 0.5 :: fam:p(X) :- fam:q(X).")
    assert rule == Rule(Atom(fam("p"), (Var("X"),)), (Atom(fam("q"), (Var("X"),)),), 0.5, "r2")
    assert rule.label == "r2"


def test_rule_without_name_has_file_line_label() -> None:
    rule = parse_program("p(X) :- q(X).", file="a.rules").rules[0]
    assert rule.label == "a.rules:1:1"


def test_weight_one_and_integer_weight() -> None:
    assert one_rule("1 :: fam:p(X) :- fam:q(X).").weight == 1.0
    assert one_rule("1e-1 :: fam:p(X) :- fam:q(X).").weight == pytest.approx(0.1)


def test_unary_atom_is_kept_with_one_argument() -> None:
    rule = one_rule("fam:Person(X) :- fam:parent(X, _).")
    assert rule.head == Atom(fam("Person"), (Var("X"),))
    assert rule.head.is_class
    assert rule.head.triple_form() == Atom(RDF.type, (Var("X"), fam("Person")))


def test_anonymous_variables_are_distinct() -> None:
    rule = one_rule("fam:p(X) :- fam:q(X, _, _), fam:r(_Foo, _Foo).")
    q, r = rule.body
    assert isinstance(q, Atom) and isinstance(r, Atom)
    assert q.args[1] != q.args[2]
    assert all(isinstance(v, Var) and v.anonymous for v in q.args[1:])
    assert r.args == (Var("_Foo"), Var("_Foo"))


def test_anonymous_numbering_avoids_written_names() -> None:
    rule = one_rule("fam:p(X) :- fam:q(X, _), fam:r(_1, _2, _).")
    q, r = rule.body
    assert isinstance(q, Atom) and isinstance(r, Atom)
    names = [q.args[1].name, *(v.name for v in r.args)]  # type: ignore[union-attr]
    assert names[1:3] == ["_1", "_2"]
    assert len(set(names)) == 4  # the two `_` got names of their own


def test_question_mark_variables() -> None:
    rule = one_rule("fam:p(?x) :- fam:q(?x, ?y_2).")
    assert rule.head == Atom(fam("p"), (Var("?x"),))
    assert not Var("?x").anonymous


def test_negation_and_neural_atoms() -> None:
    rule = one_rule("fam:p(X) :- fam:q(X), not fam:r(X, _), ~fam:s(X, X).")
    assert rule.body[1] == Atom(fam("r"), (Var("X"), Var("_1")), negated=True)
    assert rule.body[2] == Atom(fam("s"), (Var("X"), Var("X")), neural=True)


def test_constraint() -> None:
    rule = one_rule("false :- fam:parent(X, X).")
    assert rule.head is None
    named = one_rule("[acyclic] false :- fam:parent(X, X).")
    assert named.name == "acyclic" and named.head is None


def test_query_in_program() -> None:
    program = parse_program(HEADER + "?- fam:grandparent(fam:ann, Who).")
    (query,) = program.queries
    assert query.variables() == (Var("Who"),)


# ---------------------------------------------------------------------------------------
# Comparisons, arithmetic, aggregates
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "!=", "=="])
def test_comparisons(op: str) -> None:
    rule = one_rule(f"fam:p(X) :- fam:age(X, A), A {op} 18.")
    assert rule.body[1] == Comparison(op, Var("A"), integer(18))


def test_equals_with_variable_left_is_assignment() -> None:
    rule = one_rule("fam:gap(X, Y, D) :- fam:age(X, A), fam:age(Y, B), D = A - B.")
    assert rule.body[2] == Assignment(Var("D"), BinOp("-", Var("A"), Var("B")))


def test_equals_with_non_variable_left_is_comparison() -> None:
    rule = one_rule("fam:p(X) :- fam:age(X, A), 2 * A = 40.")
    assert rule.body[1] == Comparison("==", BinOp("*", integer(2), Var("A")), integer(40))


def test_arithmetic_precedence_and_parentheses() -> None:
    rule = one_rule("fam:p(X, R) :- fam:v(X, A), R = A + 2 * 3 - (A - 1) % 4 / 5.")
    expected = BinOp(
        "-",
        BinOp("+", Var("A"), BinOp("*", integer(2), integer(3))),
        BinOp("/", BinOp("%", BinOp("-", Var("A"), integer(1)), integer(4)), integer(5)),
    )
    assert rule.body[1] == Assignment(Var("R"), expected)


def test_left_associativity() -> None:
    rule = one_rule("fam:p(X, R) :- fam:v(X, A), R = A - 1 - 2.")
    assert rule.body[1] == Assignment(
        Var("R"), BinOp("-", BinOp("-", Var("A"), integer(1)), integer(2))
    )


def test_unary_minus() -> None:
    rule = one_rule("fam:p(X, R) :- fam:v(X, A), R = -2 * -A, A > -1.5.")
    assert rule.body[1] == Assignment(
        Var("R"), BinOp("*", integer(-2), BinOp("-", integer(0), Var("A")))
    )
    assert rule.body[2] == Comparison(">", Var("A"), Literal("-1.5", datatype=rns.XSD.decimal))


def test_modulo_versus_percent_comment() -> None:
    program = parse_program(
        HEADER
        + "% a comment line\n"
        + "fam:even(X) :- fam:v(X, A), A % 2 == 0. % a trailing comment\n"
        + "fam:odd(X) :- fam:v(X, A), A%2 == 1.\n"
    )
    even, odd = program.rules
    assert even.body[1] == Comparison("==", BinOp("%", Var("A"), integer(2)), integer(0))
    assert odd.body[1] == Comparison("==", BinOp("%", Var("A"), integer(2)), integer(1))


def test_count_aggregate() -> None:
    rule = one_rule("fam:kids(X, N) :- fam:Person(X), N = count { Y : fam:parent(X, Y) }.")
    assert rule.body[1] == Aggregate(
        Var("N"), "count", (Var("Y"),), (Atom(fam("parent"), (Var("X"), Var("Y"))),)
    )


def test_sum_aggregate_with_tuple() -> None:
    rule = one_rule(
        "fam:income(X, S) :- fam:Person(X), S = sum { A, J : fam:job(X, J), fam:pay(J, A) }."
    )
    agg = rule.body[1]
    assert isinstance(agg, Aggregate)
    assert agg.func == "sum" and agg.terms == (Var("A"), Var("J")) and len(agg.body) == 2


@pytest.mark.parametrize("func", ["min", "max", "avg"])
def test_other_aggregates(func: str) -> None:
    rule = one_rule(f"fam:m(X, M) :- fam:Person(X), M = {func} {{ A : fam:age(X, A), A > 1 }}.")
    agg = rule.body[1]
    assert isinstance(agg, Aggregate) and agg.func == func
    assert isinstance(agg.body[1], Comparison)


def test_aggregate_binds_its_group_variable() -> None:
    rule = one_rule("fam:kids(X, N) :- N = count { Y : fam:parent(X, Y) }.")
    assert isinstance(rule.body[0], Aggregate)


def test_aggregate_names_can_be_restricted() -> None:
    text = "p(X, N) :- q(X), N = median { Y : r(X, Y) }."
    assert parse_program(text).rules  # any name by default: plugins may add aggregates
    with pytest.raises(NesyError, match="unknown aggregate 'median'"):
        parse_program(text, aggregates={"count", "sum"})


def test_body_order_does_not_matter_for_safety() -> None:
    rule = one_rule("fam:p(X, D) :- D = A + 1, A > 2, not fam:q(X), fam:v(X, A).")
    assert len(rule.body) == 4


def test_chained_assignments() -> None:
    rule = one_rule("fam:p(X, C) :- C = B * 2, B = A + 1, fam:v(X, A).")
    assert len(rule.body) == 3


# ---------------------------------------------------------------------------------------
# Terms and names
# ---------------------------------------------------------------------------------------


def test_literals() -> None:
    program = parse_program(
        'p(a, "s", \'t\', """long\nstring""", "x"@en, "2020-01-02"^^xsd:date, 42, -7, 3.25, 1e3, -2.5E-2, true, false).'
    )
    args = program.facts[0].atom.args
    assert args == (
        d("a"),
        Literal("s"),
        Literal("t"),
        Literal("long\nstring"),
        Literal("x", lang="en"),
        Literal("2020-01-02", datatype=rns.XSD.date),
        integer(42),
        integer(-7),
        Literal("3.25", datatype=rns.XSD.decimal),
        Literal("1e3", datatype=rns.XSD.double),
        Literal("-2.5E-2", datatype=rns.XSD.double),
        Literal("true", datatype=rns.XSD.boolean),
        Literal("false", datatype=rns.XSD.boolean),
    )


@pytest.mark.parametrize(
    ("lexical", "datatype"),
    [
        ("+5", "integer"),
        ("1", "decimal"),
        ("1.", "decimal"),
        (".5", "decimal"),
        ("1.5", "double"),
        ("-INF", "double"),
        ("NaN", "float"),
        ("1", "boolean"),
        ("2020-02-29", "date"),
    ],
)
def test_typed_literals_in_their_lexical_space(lexical: str, datatype: str) -> None:
    program = parse_program(f'p("{lexical}"^^xsd:{datatype}).')
    assert program.facts[0].atom.args == (Literal(lexical, datatype=rns.XSD[datatype]),)


def test_string_escapes() -> None:
    program = parse_program(r'p("a\tb\nc\"d\\e\u00e9\U0001F600", ' + "'it\\'s').")
    assert program.facts[0].atom.args == (Literal('a\tb\nc"d\\eé\U0001f600'), Literal("it's"))


def test_bare_names_use_default_namespace() -> None:
    assert parse_program("parent(ann, bob).").facts[0].atom == Atom(
        d("parent"), (d("ann"), d("bob"))
    )
    assert parse_program("parent(ann, bob).", default_ns="urn:x:").facts[
        0
    ].atom.predicate == URIRef("urn:x:parent")


def test_declared_default_prefix() -> None:
    program = parse_program("@prefix : <http://t.org/> .\nparent(ann, :bob).")
    assert program.facts[0].atom == Atom(
        URIRef("http://t.org/parent"), (URIRef("http://t.org/ann"), URIRef("http://t.org/bob"))
    )


def test_empty_prefix_without_declaration_is_default_ns() -> None:
    assert parse_program(":p(:a).").facts[0].atom == Atom(d("p"), (d("a"),))


def test_a_is_not_special() -> None:
    assert parse_program("a(x, y).").facts[0].atom.predicate == d("a")


def test_iri_predicate_and_base() -> None:
    program = parse_program("@base <http://b.org/dir/> .\n<p>(<x>, <../y>, <http://o.org/z>).")
    fact = program.facts[0].atom
    assert fact.predicate == URIRef("http://b.org/dir/p")
    assert fact.args == (
        URIRef("http://b.org/dir/x"),
        URIRef("http://b.org/y"),
        URIRef("http://o.org/z"),
    )


def test_base_argument() -> None:
    assert parse_program("<p>(a).", base="http://b.org/").facts[0].atom.predicate == URIRef(
        "http://b.org/p"
    )


def test_iri_escapes() -> None:
    assert parse_program(r"<http://x.org/a\u0020b>(c).").facts[0].atom.predicate == URIRef(
        "http://x.org/a b"
    )


def test_prefixed_local_names() -> None:
    program = parse_program(
        HEADER + r"fam:p(fam:a.b, fam:a-b, fam:123, fam:x%20y, fam:a\,b, fam:a:b)."
    )
    assert program.facts[0].atom.args == (
        fam("a.b"),
        fam("a-b"),
        fam("123"),
        fam("x%20y"),
        fam("a,b"),
        fam("a:b"),
    )


def test_default_prefixes_and_nesy_namespace() -> None:
    program = parse_program(
        "p(X) :- q(X, Y), nesy:concat(X, Y, Z), rdf:type(X, owl:Thing), rdfs:label(X, L), xsd:x(L)."
    )
    assert set(DEFAULT_PREFIXES) == {"rdf", "rdfs", "owl", "xsd", "nesy"}
    assert program.rules[0].body[1].predicate == URIRef(NESY_NS + "concat")  # type: ignore[union-attr]


def test_nesy_namespace_matches_plugin_registry() -> None:
    from nesy.plugins.registry import NESY

    assert NESY == NESY_NS


def test_caller_prefixes() -> None:
    program = parse_program("ex:p(ex:a).", prefixes={"ex": "http://ex.org/"})
    assert program.facts[0].atom.predicate == URIRef("http://ex.org/p")
    assert program.prefixes == ()  # only declared prefixes are the program's


def test_prefix_redeclaration_applies_from_there_on() -> None:
    program = parse_program(
        "@prefix e: <http://one/> .\ne:p(e:a).\n@prefix e: <http://two/> .\ne:p(e:b)."
    )
    assert [f.atom.args[0] for f in program.facts] == [
        URIRef("http://one/a"),
        URIRef("http://two/b"),
    ]
    assert program.prefixes == (("e", "http://two/"),)


def test_keywords_as_parts_of_names() -> None:
    program = parse_program("nothing(notable, trueish, falsehood).")
    assert program.facts[0].atom.predicate == d("nothing")


def test_comments() -> None:
    program = parse_program(
        "# hash comment\n% percent comment\np(a). # trailing\np(b). % trailing\n"
    )
    assert len(program.facts) == 2


def test_whitespace_and_layout_free() -> None:
    program = parse_program("p(X):-q(X),X>1.q(a).")
    assert len(program.rules) == 1 and len(program.facts) == 1


def test_byte_order_mark_and_crlf() -> None:
    program = parse_program("\ufeffp(a).\r\np(b).\r\n")
    assert len(program.facts) == 2
    assert program.facts[1].loc.line == 2


def test_empty_program() -> None:
    assert parse_program("") == Program()
    assert parse_program("  # nothing\n% here\n") == Program()


def test_plugin_directive_when_trusted() -> None:
    program = parse_program('@plugin "my.plugin" .\np(a).', trust_plugins=True)
    assert [p.module for p in program.plugins] == ["my.plugin"]
    assert program.plugins[0].loc.line == 1


# ---------------------------------------------------------------------------------------
# parse_query and parse_atom
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["?- fam:parent(X, Y).", "?- fam:parent(X, Y)", "fam:parent(X, Y).", "fam:parent(X, Y)"]
)
def test_parse_query_forms(text: str) -> None:
    query = parse_query(text, prefixes={"fam": FAM})
    assert query == Query((Atom(fam("parent"), (Var("X"), Var("Y"))),))


def test_parse_query_complex() -> None:
    query = parse_query("p(X, Y), Y > 3, not q(X), N = count { Z : r(X, Z) }")
    assert [type(lit).__name__ for lit in query.body] == ["Atom", "Comparison", "Atom", "Aggregate"]
    assert query.variables() == (Var("X"), Var("Y"), Var("N"), Var("Z"))


def test_parse_query_rejects_two_queries() -> None:
    with pytest.raises(ParseError):
        parse_query("?- p(X). ?- q(X).")


@pytest.mark.parametrize("text", ["fam:parent(fam:ann, X)", "fam:parent(fam:ann, X)."])
def test_parse_atom(text: str) -> None:
    assert parse_atom(text, prefixes={"fam": FAM}) == Atom(fam("parent"), (fam("ann"), Var("X")))


@pytest.mark.parametrize("text", ["p(a), q(b)", "p(a) :- q(a).", "not p(a)", ""])
def test_parse_atom_rejects_anything_else(text: str) -> None:
    with pytest.raises(ParseError):
        parse_atom(text)


# ---------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------


def test_positions_of_every_node() -> None:
    text = (
        "@prefix fam: <http://example.org/family#> .\n"  # line 1
        "fam:p(fam:a).\n"  # line 2
        "[r] 0.5 :: fam:q(X, N) :-\n"  # line 3
        "    fam:p(X),\n"  # line 4
        "    not fam:r(X),  N = count { Y : fam:s(X, Y) }, N > 1 + 2.\n"  # line 5
        "  ?- fam:q(A, B).\n"  # line 6
    )
    program = parse_program(text, file="pos.rules")
    at = lambda line, col: SourceLocation("pos.rules", line, col)  # noqa: E731
    fact = program.facts[0]
    assert fact.loc == at(2, 1) and fact.atom.loc == at(2, 1)
    rule = program.rules[0]
    assert rule.loc == at(3, 1)
    assert rule.head is not None and rule.head.loc == at(3, 12)
    assert rule.head.args[0].loc == at(3, 18)  # type: ignore[union-attr]
    p, r, agg, cmp = rule.body
    assert p.loc == at(4, 5)
    assert r.loc == at(5, 5)  # a negated atom starts at `not`
    assert isinstance(agg, Aggregate) and agg.loc == at(5, 20) and agg.var.loc == at(5, 20)
    assert agg.body[0].loc == at(5, 36)
    assert isinstance(cmp, Comparison) and cmp.loc == at(5, 51)
    assert isinstance(cmp.right, BinOp) and cmp.right.loc == at(5, 55)
    assert program.queries[0].loc == at(6, 3)
    assert program.queries[0].body[0].loc == at(6, 6)


def test_positions_after_multiline_string() -> None:
    program = parse_program('p("""a\nbb\nccc""").  q(X) :- p(X).', file="f")
    assert program.rules[0].loc == SourceLocation("f", 3, 11)


def test_error_positions_and_excerpt() -> None:
    with pytest.raises(ParseError) as info:
        parse_program("p(a).\nq(b, .\n", file="e.rules")
    err = info.value
    assert (err.file, err.line, err.column) == ("e.rules", 2, 6)
    assert str(err).splitlines() == [
        "e.rules:2:6: expected a term (a variable, a name, an <IRI>, a string or a number), found '.'",
        "    q(b, .",
        "         ^",
    ]


# ---------------------------------------------------------------------------------------
# Printer
# ---------------------------------------------------------------------------------------


def test_printer_forms() -> None:
    program = parse_file(GOLDEN / "design_example.rules")
    env = program.prefix_map()
    assert (
        format_rule(program.rules[2], env)
        == "[gp] fam:grandparent(X, Z) :- fam:parent(X, Y), fam:parent(Y, Z)."
    )
    assert format_fact(program.facts[1], env) == "0.7 :: fam:parent(fam:bob, fam:cid)."
    assert format_query(program.queries[0], env) == "?- fam:grandparent(fam:ann, Who)."
    kids = next(r for r in program.rules if r.head is not None and r.head.predicate == fam("kids"))
    assert format_literal(kids.body[1], env) == "N = count { Y : fam:parent(X, Y) }"


def test_printer_iri_choices() -> None:
    from nesy.rules import format_iri, format_term

    env = {"fam": FAM, "f": FAM + "sub/"}
    assert format_iri(FAM + "x", env) == "fam:x"
    assert format_iri(FAM + "sub/x", env) == "f:x"  # the shortest
    assert format_iri(FAM + "a b", env) == "<http://example.org/family#a\\u0020b>"
    assert format_iri(DEFAULT_NS + "parent") == "parent"
    assert format_iri(DEFAULT_NS + "not") == ":not"  # keywords are not bare names
    assert format_iri(FAM, env) == f"<{FAM}>"  # an empty local part is not a name
    # A double always has an exponent: the shorter of the digits with e0 and scientific.
    assert format_term(Literal("1000.0", datatype=rns.XSD.double)) == "1e3"
    assert format_term(Literal(22.5)) == "22.5e0" and format_term(Literal(1.5)) == "1.5e0"
    assert format_term(Literal(-0.025)) == "-2.5e-2" and format_term(Literal(1234.0)) == "1234e0"
    assert format_term(Literal("x", datatype=rns.XSD.string)) == '"x"^^xsd:string'
    with pytest.raises(ValueError):
        format_term(Var("lower"))


# ---------------------------------------------------------------------------------------
# Golden snapshots: tests/rules/golden/*.rules -> *.expected
# ---------------------------------------------------------------------------------------


def _loc(loc: SourceLocation) -> str:
    return f"{Path(loc.file).name if loc.file else '<input>'}:{loc.line}:{loc.column}"


def dump(program: Program) -> str:
    """A readable snapshot: each statement printed, with the kind and place of every node."""
    env = program.prefix_map()
    out = [f"files: {', '.join(Path(f).name for f in program.files)}"]
    out += [f"prefix {name}: <{ns}>" for name, ns in program.prefixes]
    out += [f"plugin {p.module} @ {_loc(p.loc)}" for p in program.plugins]
    for fact in program.facts:
        out.append(f"fact @ {_loc(fact.loc)}: {format_fact(fact, env)}")
    for rule in program.rules:
        out.append(f"rule @ {_loc(rule.loc)}: {format_rule(rule, env)}")
        if rule.head is not None:
            out.append(f"  head Atom @ {_loc(rule.head.loc)}")
        out += _dump_body(rule.body, env, "  ")
    for query in program.queries:
        out.append(f"query @ {_loc(query.loc)}: {format_query(query, env)}")
        out += _dump_body(query.body, env, "  ")
    return "\n".join(out) + "\n"


def _dump_body(body: tuple, env: dict[str, str], indent: str) -> list[str]:  # type: ignore[type-arg]
    out = []
    for lit in body:
        flags = ""
        if isinstance(lit, Atom):
            flags = " not" if lit.negated else (" neural" if lit.neural else "")
        out.append(
            f"{indent}{type(lit).__name__}{flags} @ {_loc(lit.loc)}: {format_literal(lit, env)}"
        )
        if isinstance(lit, Aggregate):
            out += _dump_body(lit.body, env, indent + "  ")
    return out


GOLDEN_FILES = sorted(GOLDEN.glob("*.rules"))


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.name)
def test_golden(path: Path) -> None:
    actual = dump(parse_file(path))
    expected_path = path.with_suffix(".expected")
    if os.environ.get("NESY_UPDATE_GOLDEN") or not expected_path.exists():
        expected_path.write_text(actual, encoding="utf-8")
    assert actual == expected_path.read_text(encoding="utf-8")


ERROR_FILES = sorted((GOLDEN / "errors").glob("*.rules"))


@pytest.mark.parametrize("path", ERROR_FILES, ids=lambda p: p.name)
def test_golden_errors(path: Path) -> None:
    with pytest.raises(NesyError) as info:
        parse_file(path)
    # Paths relative to tests/rules, so the snapshot does not depend on the checkout.
    actual = f"{type(info.value).__name__}: {info.value.render().replace(str(GOLDEN.parent) + os.sep, '')}\n"
    expected_path = path.with_suffix(".expected")
    if os.environ.get("NESY_UPDATE_GOLDEN") or not expected_path.exists():
        expected_path.write_text(actual, encoding="utf-8")
    assert actual == expected_path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------
# The driver follows Lark, and it is fast
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.name)
def test_driver_builds_larks_tree(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert parse_tree(text) == reference_parser().parse(text, start="start")


def _rules_text(n: int) -> str:
    return HEADER + "".join(
        f'[r{i}] 0.5 :: fam:p{i}(X, Z) :- fam:parent(X, Y), fam:q{i}(Y, Z), not fam:r(Z, "s"), A = Y + 1.\n'
        for i in range(n)
    )


def test_ten_thousand_rules_parse_quickly() -> None:
    text = _rules_text(10_000)
    start = time.perf_counter()
    program = parse_program(text)
    elapsed = time.perf_counter() - start
    assert len(program.rules) == 10_000
    # About 1 s on an idle developer laptop. The bound is loose because CI machines are
    # shared; anything quadratic would still blow through it by far.
    assert elapsed < 30, f"parsing 10,000 rules took {elapsed:.1f} s"


def test_driver_builds_the_same_tree_as_lark() -> None:
    # The fast driver runs Lark's own tables; on a large input it must agree with Lark.
    text = _rules_text(500)
    assert parse_tree(text) == reference_parser().parse(text, start="start")
