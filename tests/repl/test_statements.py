"""When a typed statement is complete (the shell's Enter key and piped input)."""

from __future__ import annotations

import pytest

from nesy.repl.statements import code_of, is_command, is_complete


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "fam:parent(fam:ann, fam:bob).",
        "[gp] fam:grandparent(X, Z) :- fam:parent(X, Y),\n    fam:parent(Y, Z).",
        "?- fam:grandparent(fam:ann, X).",
        "?- fam:grandparent(fam:ann, X).   # who?",
        "@prefix ex: <http://example.org/x#> .",
        'ex:label(ex:a, "a.b").',
        ":load a.ttl b.rules",
        ":why 2",
        ":quit",
        "quit",
        "SELECT ?x WHERE { fam:ann fam:grandparent ?x }",
        "SELECT ?x WHERE {\n  ?x a fam:Person .\n  FILTER(?x != fam:ann)\n} LIMIT 3",
        "PREFIX ex: <http://example.org/x#>\nASK { ex:a ex:b ex:c }",
        "?- fam:parent(X,\n",  # an empty line sends what is there
        "SELECT ?x WHERE { ?x ?p ?o \n",
    ],
)
def test_complete(text: str) -> None:
    assert is_complete(text)


@pytest.mark.parametrize(
    "text",
    [
        "fam:parent(fam:ann, fam:bob)",
        "[gp] fam:grandparent(X, Z) :- fam:parent(X, Y),",
        "?- fam:grandparent(fam:ann, X)",
        "?- p(X).  q(",  # the last line must end with the dot
        'ex:label(ex:a, "ends with a dot.',  # inside a string
        'ex:label(ex:a, "x") # a comment ending in a dot.',
        "@prefix ex: <http://example.org/x#.>",  # the dot is inside the IRI
        "SELECT ?x WHERE { ?x ?p ?o",
        "SELECT ?x WHERE {\n  ?x a fam:Person .",
        'SELECT ?x WHERE { ?x rdfs:label "}" ',  # the brace is inside a string
        "PREFIX ex: <http://example.org/x#>",
        "SELECT ?x",
        ":knows(:ann, :bob)",  # a fact in the default prefix, not a command
    ],
)
def test_incomplete(text: str) -> None:
    assert not is_complete(text)


def test_commands_are_letters_then_a_space() -> None:
    assert is_command(":help") and is_command(":load x.ttl") and is_command("  :why 1")
    assert not is_command(":knows(:ann, :bob).") and not is_command("?- p(X).") and not is_command(":")


def test_code_blanks_strings_iris_and_comments() -> None:
    code, open_string = code_of('p(<http://x.org/a#b>, "x.}#") . # done.')
    assert code == 'p(<>, "") . ' and not open_string
    assert code_of('p("abc')[1]
    assert not code_of('p("abc\nq(1).')[1]
