"""Every error the rule parser reports: its class, message, position and caret excerpt."""

from __future__ import annotations

import re

import pytest

from nesy.errors import ImportCycleError, NesyError, ParseError, PluginError, RuleError
from nesy.rules import parse_atom, parse_program, parse_query

# (input, error class, message fragment, line, column)
CASES: list[tuple[str, type[NesyError], str, int, int]] = [
    # ---- syntax -----------------------------------------------------------------------
    ('p("abc).', ParseError, "unterminated string", 1, 3),
    ("p('abc).", ParseError, "unterminated string", 1, 3),
    ('p("a\nb").', ParseError, "unterminated string", 1, 3),
    ("p(<http://x.org/a b>).", ParseError, "unterminated IRI", 1, 3),
    ("p(a) q(b).", ParseError, "expected ':-' or '.' after the rule head, found 'q'", 1, 6),
    ("p(a)\nq(b).", ParseError, "missing '.' at the end of the statement", 1, 5),
    ("p(a)", ParseError, "missing '.' at the end of the statement", 1, 5),
    (
        "p(X) :- q(X)\np(a).",
        ParseError,
        "missing '.' at the end of the statement (or ',' before the next literal)",
        1,
        13,
    ),
    ("p(X) :- q(X), r(X)", ParseError, "missing '.' at the end of the statement", 1, 19),
    ("p(a, b.", ParseError, "expected ')'", 1, 7),
    ("p(a :- q(a).", ParseError, "expected ')' or ',' after an argument, found ':-'", 1, 5),
    ("p(X) :- (X > 1).", ParseError, "expected ')', found '>'", 1, 12),
    ("p(X) :- q(X), X > (1 + 2.", ParseError, "expected ')', found '.'", 1, 25),
    ("p(a, ).", ParseError, "expected a term", 1, 6),
    ("p().", ParseError, "an atom needs at least one argument", 1, 3),
    ("p(X) :- .", ParseError, "expected a body literal after ':-'", 1, 9),
    ("p(X) :- q(X), .", ParseError, "expected a body literal", 1, 15),
    ("Person(X).", ParseError, "expected a predicate, found variable 'Person'", 1, 1),
    ("p(X) :- Q(X).", ParseError, "found variable 'Q'", 1, 9),
    ("0.5 p(a).", ParseError, "expected '::' after the weight", 1, 5),
    ("0.5 :: [r] p(X) :- q(X).", ParseError, "the rule name [r] must come before the weight", 1, 8),
    ("p(X) :- q(X), X = .", ParseError, "expected an expression", 1, 19),
    ("p(X) :- q(X), X > * 2.", ParseError, "expected an expression", 1, 19),
    ("not p(X) :- q(X).", ParseError, "a rule head cannot be negated", 1, 5),
    ("~p(X) :- q(X).", ParseError, "a rule head cannot be negated ('not') or neural ('~')", 1, 1),
    ("p(X) :- not ~q(X).", ParseError, "expected a predicate", 1, 13),
    (
        "p(X, N) :- q(X), N = count { Y r(X, Y) }.",
        ParseError,
        "expected ':' after the aggregated terms",
        1,
        32,
    ),
    (
        "p(X, N) :- q(X), N = count { Y : r(X, Y) .",
        ParseError,
        "expected '}' to close the aggregate",
        1,
        42,
    ),
    ("p(X, N) :- q(X), N = count { : r(X, Y) }.", ParseError, "expected a term", 1, 30),
    (
        "@prefix fam <http://x.org/> .",
        ParseError,
        "expected a prefix name like fam: after @prefix",
        1,
        9,
    ),
    ("@prefix fam: http://x.org/ .", ParseError, "expected an <IRI>", 1, 14),
    (
        "@prefix fam: <http://x.org/>\np(a).",
        ParseError,
        "missing '.' at the end of the statement",
        1,
        29,
    ),
    ("@prefix fam: <http://x.org/> p(a).", ParseError, "expected '.', found 'p'", 1, 30),
    ("@base http://x.org/ .", ParseError, "expected an <IRI>", 1, 7),
    ("@import common.rules .", ParseError, 'expected a quoted name ("...")', 1, 9),
    ("@plugin pkg.mod .", ParseError, 'expected a quoted name ("...")', 1, 9),
    (
        '@include "x" .',
        ParseError,
        "unknown directive '@include' (expected @prefix, @base, @import or @plugin)",
        1,
        1,
    ),
    ("p(X) :- q(X), X < 1 < 2.", ParseError, "comparisons cannot be chained", 1, 21),
    ("p(a) $", ParseError, "unexpected character '$'", 1, 6),
    ("p(a). )", ParseError, "expected a fact, a rule, a query or a directive, found ')'", 1, 7),
    ('p("x"@).', ParseError, "expected a language tag like @en", 1, 6),
    (r'p("\q").', ParseError, "invalid escape '\\q' in string", 1, 3),
    (r'p("\uZZZZ").', ParseError, "invalid escape '\\u' in string", 1, 3),
    (r'p("\UFFFFFFFF").', ParseError, "invalid escape '\\UFFFFFFFF' in string", 1, 3),
    (r"<http://x.org/\uD800>(a).", ParseError, "invalid escape '\\uD800' in IRI", 1, 1),
    ("?- p(X)", ParseError, "missing '.' at the end of the statement", 1, 8),
    # ---- names and terms ---------------------------------------------------------------
    ("foo:p(a).", RuleError, "unknown prefix 'foo:' (declare it with @prefix foo: <...> .)", 1, 1),
    ("p(X) :- q(X, ex:a).", RuleError, "unknown prefix 'ex:'", 1, 14),
    (
        'p("1x"^^xsd:integer).',
        RuleError,
        "ill-typed literal: '1x' is not a valid xsd:integer",
        1,
        3,
    ),
    ('p("2020-13-45"^^xsd:date).', RuleError, "ill-typed literal", 1, 3),
    # ---- facts and weights ---------------------------------------------------------------
    ("p(X).", RuleError, "a fact must be ground, but it contains the variable X", 1, 3),
    ("p(a, _).", RuleError, "a fact must be ground, but it contains the variable _", 1, 6),
    ("[n] p(a).", RuleError, "a fact cannot have a name ([n])", 1, 1),
    ("1.5 :: p(a).", RuleError, "confidence 1.5 is outside (0, 1]", 1, 1),
    ("0 :: p(a).", RuleError, "confidence 0 is outside (0, 1]", 1, 1),
    ("0.0 :: p(X) :- q(X).", RuleError, "weight 0.0 is outside (0, 1]", 1, 1),
    ("-0.5 :: p(X) :- q(X).", RuleError, "weight -0.5 is outside (0, 1]", 1, 1),
    ("[r] 2 :: p(X) :- q(X).", RuleError, "weight 2 is outside (0, 1]", 1, 5),
    ("0.5 :: false :- p(X).", RuleError, "a constraint (false :- ...) cannot have a weight", 1, 1),
    # ---- safety ----------------------------------------------------------------------------
    (
        "p(X) :- q(Y).",
        RuleError,
        "unsafe rule: head variable X does not occur in a positive body atom",
        1,
        3,
    ),
    ("p(X) :- not q(X).", RuleError, "unsafe negation: variable X in 'not q(...)'", 1, 15),
    ("p(X) :- q(Y), r(Y, Z).", RuleError, "unsafe rule: head variable X", 1, 3),
    ("p(X) :- q(Y), X > Y.", RuleError, "unsafe comparison: variable X", 1, 15),
    ("p(_) :- q(X).", RuleError, "unsafe rule: '_' cannot appear in a rule head", 1, 3),
    (
        "p(Y) :- q(Y), not r(X).",
        RuleError,
        "unsafe negation: variable X in 'not r(...)' must also occur in a positive body atom",
        1,
        21,
    ),
    ("p(Y) :- q(Y), X > 3.", RuleError, "unsafe comparison: variable X in '>' is not bound", 1, 15),
    ("p(Y) :- q(Y), 3 < X + Y.", RuleError, "unsafe comparison: variable X in '<'", 1, 19),
    ("p(Y) :- q(Y), _ > 3.", RuleError, "unsafe comparison: variable _ in '>'", 1, 15),
    (
        "p(Y, Z) :- q(Y), Z = X + 1.",
        RuleError,
        "unsafe assignment: variable X on the right of 'Z = ...' is not bound",
        1,
        22,
    ),
    ("p(Y, Z) :- q(Y), Z = W + 1, W = Z - 1.", RuleError, "unsafe assignment: variable W", 1, 22),
    (
        "p(X, N) :- q(X), N = count { Y : r(Z) }.",
        RuleError,
        "aggregate term Y does not occur in a positive atom of the aggregate body",
        1,
        30,
    ),
    (
        "p(X, N) :- q(X), N = count { Y : r(X, Y), not s(Y, Z) }.",
        RuleError,
        "unsafe negation: variable Z",
        1,
        52,
    ),
    (
        "p(X, N) :- q(X), N = count { Y : r(X, Y), Z > 1 }.",
        RuleError,
        "unsafe comparison: variable Z",
        1,
        43,
    ),
    (
        "p(X, N) :- q(X), N = count { Y : r(X, Y, N) }.",
        RuleError,
        "the aggregate result N cannot also occur inside the aggregate",
        1,
        18,
    ),
    (
        "p(X, N) :- q(X), 3 = count { Y : r(X, Y) }.",
        RuleError,
        "the result of an aggregate must be a variable",
        1,
        18,
    ),
    (
        "p(X, N) :- q(X), N = count { Y : r(X, Y), M = sum { Z : s(Z) } }.",
        RuleError,
        "aggregates cannot be nested",
        1,
        43,
    ),
    ("?- p(X), not q(Y).", RuleError, "unsafe negation: variable Y", 1, 16),
    ("false :- p(X), X > Y.", RuleError, "unsafe comparison: variable Y", 1, 20),
    # ---- arity -------------------------------------------------------------------------------
    (
        "p(a).\np(a, b).",
        RuleError,
        "predicate p is used with 2 arguments here but with 1 argument at bad.rules:1:1",
        2,
        1,
    ),
    (
        "p(X, Y) :- q(X), q(X, Y).",
        RuleError,
        "predicate q is used with 2 arguments here but with 1 argument at bad.rules:1:12",
        1,
        18,
    ),
    ("p(X) :- q(X).\n?- q(X, Y).", RuleError, "predicate q is used with 2 arguments", 2, 4),
    # ---- plugins -----------------------------------------------------------------------------
    ('@plugin "os" .', PluginError, '@plugin "os" refused', 1, 1),
]


@pytest.mark.parametrize(
    ("text", "cls", "fragment", "line", "column"), CASES, ids=[c[0][:40] for c in CASES]
)
def test_error(text: str, cls: type[NesyError], fragment: str, line: int, column: int) -> None:
    with pytest.raises(NesyError) as info:
        parse_program(text, file="bad.rules")
    err = info.value
    assert type(err) is cls, f"{type(err).__name__}: {err}"
    assert fragment in err.message
    assert (err.file, err.line, err.column) == ("bad.rules", line, column), str(err)
    rendered = str(err).splitlines()
    assert rendered[0] == f"bad.rules:{line}:{column}: {err.message}"
    assert rendered[1] == "    " + text.splitlines()[line - 1]
    assert rendered[2] == "    " + " " * (column - 1) + "^"


def test_messages_never_name_lark_terminals() -> None:
    terminal_names = {
        "RPAR",
        "LPAR",
        "COMMA",
        "DOT",
        "PNAME_LN",
        "IRIREF",
        "VAR",
        "__ANON",
        "$END",
        "WEIGHT_SEP",
    }
    for text, *_ in CASES:
        with pytest.raises(NesyError) as info:
            parse_program(text)
        assert not any(name in info.value.message for name in terminal_names), info.value.message


def test_plugin_directive_accepted_when_trusted() -> None:
    assert parse_program('@plugin "os" .', trust_plugins=True).plugins[0].module == "os"


def test_import_errors_are_subclasses() -> None:
    assert issubclass(ImportCycleError, RuleError)


def test_query_errors() -> None:
    with pytest.raises(ParseError, match="expected a predicate, found variable 'P'"):
        parse_query("?- P(X).")
    with pytest.raises(RuleError, match="unknown prefix 'fam:'"):
        parse_query("fam:parent(X, Y)")
    with pytest.raises(ParseError) as info:
        parse_query("p(X) q(X)", file="<repl>")
    assert info.value.file == "<repl>" and info.value.column == 6


def test_atom_errors() -> None:
    with pytest.raises(ParseError, match="expected the end of the input"):
        parse_atom("p(a) q(b)")
    with pytest.raises(ParseError, match=re.escape("expected ')'")):
        parse_atom("p(a")


def test_nothing_partial_on_error() -> None:
    # The first statements are fine; the error is at the end: the caller gets no program.
    with pytest.raises(RuleError):
        parse_program("p(a).\nq(X) :- p(X).\nr(X) :- s(Y).")
