"""Property tests: no input crashes the parser, printing round-trips, and the driver is Lark.

* Random text and random edits of valid files give a Program or a NesyError, never any
  other exception.
* The parser's own LALR driver accepts exactly what ``lark.Lark.parse`` accepts, with the
  same tree.
* For generated syntax trees, ``parse(print(tree)) == tree``.
"""

from __future__ import annotations

from pathlib import Path

import lark
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef
from rdflib import namespace as rns

from nesy.errors import NesyError
from nesy.rules import (
    DEFAULT_NS,
    Aggregate,
    Assignment,
    Atom,
    BinOp,
    Comparison,
    Fact,
    PluginDirective,
    Program,
    Query,
    Rule,
    Var,
    format_program,
    parse_atom,
    parse_program,
    parse_query,
)
from nesy.rules.parser import parse_tree, reference_parser

GOLDEN = Path(__file__).parent / "golden"
SAMPLES = [p.read_text(encoding="utf-8") for p in sorted(GOLDEN.glob("*.rules"))]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of the language, so random text is near-valid often enough to go deep.
TOKENS = [
    "p",
    "q(",
    "fam:parent",
    "fam:",
    ":",
    "<http://x.org/a>",
    "<rel>",
    "X",
    "Y",
    "?x",
    "_",
    "_A",
    "(",
    ")",
    ",",
    ".",
    ":-",
    "::",
    "?-",
    "[r]",
    "0.5",
    "1",
    "-",
    "+",
    "*",
    "/",
    "%",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "not",
    "~",
    "false",
    "true",
    "count",
    "sum",
    "{",
    "}",
    '"s"',
    "'t'",
    '"""l\nm"""',
    "@en",
    "^^",
    "xsd:integer",
    "@prefix",
    "@base",
    "@import",
    "@plugin",
    "#c\n",
    "% c\n",
    "\n",
    " ",
    "1e3",
    "2.5",
    "\\",
    '"',
    "'",
    "@",
]


def check_total(text: str, **kw: object) -> None:
    """The parser returns a Program or raises a NesyError, whatever the text."""
    try:
        result = parse_program(text, file=str(GOLDEN / "fuzz.rules"), **kw)  # type: ignore[arg-type]
    except NesyError as err:
        assert err.message
        str(err)  # renders
    else:
        assert isinstance(result, Program)


def check_same_as_lark(text: str) -> None:
    """The driver and Lark's own parser agree on acceptance and on the tree."""
    try:
        expected = reference_parser().parse(text, start="start")
    except lark.exceptions.UnexpectedInput:
        expected = None
    try:
        actual = parse_tree(text)
    except NesyError:
        actual = None
    assert (actual is None) == (expected is None), (text, actual, expected)
    assert actual == expected


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif kind == "replace":
            text = text[:i] + draw(st.text(max_size=3)) + text[j:]
        else:
            text = text[:i] + text[i:j] + text[i:]
    return text


token_soup = st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join)


@FUZZ
@given(st.text(max_size=200))
def test_random_text_never_crashes(text: str) -> None:
    check_total(text)


@FUZZ
@given(token_soup)
def test_token_soup_never_crashes(text: str) -> None:
    check_total(text)
    check_total(text, trust_plugins=True)


@FUZZ
@given(mutated())
def test_mutated_programs_never_crash(text: str) -> None:
    check_total(text)


@FUZZ
@given(st.one_of(token_soup, mutated(), st.text(max_size=80)))
def test_driver_agrees_with_lark(text: str) -> None:
    check_same_as_lark(text)


@FUZZ
@given(st.one_of(token_soup, st.text(max_size=60)))
def test_query_and_atom_entry_points_never_crash(text: str) -> None:
    for parse in (parse_query, parse_atom):
        try:
            parse(text)
        except NesyError:
            pass


def test_deeply_nested_expressions() -> None:
    depth = 3000
    text = "p(X, Y) :- q(X), Y = " + "(" * depth + "X" + ")" * depth + " + 1."
    check_total(text)
    chain = "p(X, Y) :- q(X), Y = X" + " + 1" * 3000 + "."
    check_total(chain)


# ---------------------------------------------------------------------------------------
# Round trip: generated syntax trees print and parse back equal
# ---------------------------------------------------------------------------------------

DECLARED = (("ex", "http://ex.org/a#"), ("b", "http://ex.org/b/"))
NAMESPACES = [DEFAULT_NS, "http://ex.org/a#", "http://ex.org/b/", "urn:x:", "http://other.org/"]
LOCALS = [
    "p",
    "q",
    "parent",
    "Person",
    "a-b",
    "x.y",
    "123",
    "not",
    "true",
    "_u",
    "é",
    "x%20y",
    "a,b",
    "",
]
VAR_NAMES = ["X", "Y", "Z", "Who", "?x", "?y_2", "_Foo", "_7"]

iris = st.builds(
    lambda ns, local: URIRef(ns + local), st.sampled_from(NAMESPACES), st.sampled_from(LOCALS)
)


def arity_of(predicate: URIRef) -> int:
    """One arity per predicate, so generated programs never clash."""
    return 1 + len(str(predicate)) % 3


predicates = iris.filter(lambda i: not str(i).endswith(("#", "/", ":")))
numbers = st.one_of(
    st.integers(-(10**6), 10**6).map(lambda n: Literal(str(n), datatype=rns.XSD.integer)),
    st.decimals(-1000, 1000, places=3, allow_nan=False).map(
        lambda d: Literal(f"{d:.3f}", datatype=rns.XSD.decimal)
    ),
    st.floats(allow_nan=False, allow_infinity=False).map(
        lambda f: Literal(repr(f), datatype=rns.XSD.double)
    ),
)
literals = st.one_of(
    numbers,
    st.text(max_size=12).map(Literal),
    st.builds(
        lambda s, lang: Literal(s, lang=lang),
        st.text(max_size=6),
        st.sampled_from(["en", "en-GB", "fr"]),
    ),
    st.sampled_from([True, False]).map(
        lambda b: Literal("true" if b else "false", datatype=rns.XSD.boolean)
    ),
    st.just(Literal("2020-02-29", datatype=rns.XSD.date)),
    st.text(max_size=6).map(lambda s: Literal(s, datatype=rns.XSD.string)),
    st.text(max_size=6).map(lambda s: Literal(s, datatype=URIRef("http://ex.org/dt"))),
)
constants = st.one_of(iris, literals)


def atoms_over(names: list[str], **flags: bool) -> st.SearchStrategy[Atom]:
    """Atoms whose variables come from ``names`` (plus constants)."""
    arg = st.one_of(st.sampled_from(names).map(Var), constants) if names else constants

    @st.composite
    def build(draw: st.DrawFn) -> Atom:
        predicate = draw(predicates)
        args = tuple(draw(arg) for _ in range(arity_of(predicate)))
        return Atom(predicate, args, **flags)

    return build()


def exprs_over(names: list[str]) -> st.SearchStrategy[object]:
    leaf = st.one_of(st.sampled_from(names).map(Var), numbers) if names else numbers
    return st.recursive(
        leaf,
        lambda sub: st.builds(BinOp, st.sampled_from(["+", "-", "*", "/", "%"]), sub, sub),
        max_leaves=6,
    )


@st.composite
def bodies(
    draw: st.DrawFn, outer: tuple[str, ...] = (), allow_aggregate: bool = True
) -> tuple[tuple, set[str]]:  # type: ignore[type-arg]
    """A safe body and the variables it binds."""
    positive = draw(st.lists(atoms_over(list(VAR_NAMES[:5])), min_size=1, max_size=3))
    bound = set(outer) | {v.name for a in positive for v in a.variables()}
    names = sorted(bound)
    body: list[object] = list(positive)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["not", "neural", "cmp", "assign", "agg"]))
        if kind == "not":
            body.append(draw(atoms_over(names + ["_9"], negated=True)))
        elif kind == "neural":
            atom = draw(atoms_over(names, neural=True))
            body.append(atom)
            bound |= {v.name for v in atom.variables()}
        elif kind == "cmp":
            op = draw(st.sampled_from(["<", "<=", ">", ">=", "!=", "=="]))
            body.append(Comparison(op, draw(exprs_over(names)), draw(exprs_over(names))))
        elif kind == "assign":
            target = f"V{len(body)}"
            body.append(Assignment(Var(target), draw(exprs_over(names))))
            bound.add(target)
        elif allow_aggregate:
            result = f"N{len(body)}"
            inner, inner_bound = draw(bodies(outer=tuple(names), allow_aggregate=False))
            local = sorted(inner_bound - {result})
            assume(local)
            terms = tuple(
                Var(n) for n in draw(st.lists(st.sampled_from(local), min_size=1, max_size=2))
            )
            func = draw(st.sampled_from(["count", "sum", "min", "max", "avg"]))
            body.append(Aggregate(Var(result), func, terms, inner))
            bound.add(result)
    order = draw(st.permutations(body))
    return tuple(order), bound


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    body, bound = draw(bodies())
    constraint = draw(st.booleans()) and draw(st.booleans())
    head = None if constraint else draw(atoms_over(sorted(bound)))
    weight = None if constraint else draw(st.one_of(st.none(), st.floats(0, 1, exclude_min=True)))
    name = draw(st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_.:-]{1,8}", fullmatch=True)))
    return Rule(head, body, weight, name)


@st.composite
def programs(draw: st.DrawFn) -> Program:
    facts = draw(
        st.lists(
            st.builds(
                Fact, atoms_over([]), st.one_of(st.none(), st.floats(0, 1, exclude_min=True))
            ),
            max_size=3,
        )
    )
    queries = [Query(draw(bodies())[0]) for _ in range(draw(st.integers(0, 2)))]
    declared = draw(st.sampled_from([DECLARED, DECLARED + (("", "http://ex.org/default#"),), ()]))
    plugins = draw(st.lists(st.text(max_size=8).map(PluginDirective), max_size=2))
    return Program(
        rules=tuple(draw(st.lists(rules(), max_size=3))),
        facts=tuple(facts),
        queries=tuple(queries),
        prefixes=declared,
        plugins=tuple(plugins),
    )


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(programs())
def test_print_then_parse_round_trips(program: Program) -> None:
    text = format_program(program)
    again = parse_program(text, trust_plugins=True)
    assert again == program, text


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(programs(), st.sampled_from([{}, {"ex": "http://ex.org/a#"}, {"": "http://other.org/"}]))
def test_round_trip_with_caller_prefixes(program: Program, prefixes: dict[str, str]) -> None:
    program = Program(rules=program.rules, facts=program.facts, queries=program.queries)
    text = format_program(program, prefixes)
    assert parse_program(text, prefixes=prefixes) == program, text
