"""Long and deeply nested arithmetic: every walk over expressions works without recursion.

``1 + 1 + ... + 1`` is a tree as deep as it has terms and ``- - ... - 1`` one as deep as
it has signs; the hostile-input campaign found both ending in ``RecursionError`` (compile,
evaluation, printing, proofs). These run the real parser, printer, compiler, reasoner and
proof checker on expressions far deeper than Python's recursion limit.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from rdflib import Literal, Namespace

from nesy.engine.proofs import check_proof
from nesy.engine.reasoner import Reasoner
from nesy.rules.ast import Assignment
from nesy.rules.parser import parse_program, parse_query
from nesy.rules.printer import format_expr, format_rule
from nesy.store.vocab import Vocab

EX = Namespace("http://ex.org/")
DEPTH = 3 * sys.getrecursionlimit()  # well past what any recursive walk survives
SUM = " + ".join(["1"] * DEPTH)
NEG = "- " * (DEPTH + 1) + "1"  # an odd number of signs: the value is -1
NESTED = "(" * DEPTH + "A" + " + 1)" * DEPTH  # right- and left-nested through parentheses


def _reasoner(rules: str) -> tuple[Reasoner, Vocab]:
    v = Vocab()
    r = Reasoner(v)
    r.add_edb(v.id(EX.age), np.array([[v.id(EX.ann), v.id(Literal(29))]], dtype=np.int64))
    r.add_program(parse_program("@prefix : <http://ex.org/> .\n" + rules))
    return r, v


@pytest.mark.parametrize(("expr", "value"), [(SUM, DEPTH), (NEG, -1), (NESTED, 29 + DEPTH)],
                         ids=["flat-sum", "unary-minus", "parentheses"])
def test_deep_expression_in_a_rule_derives_proves_and_prints(expr: str, value: int) -> None:
    r, _ = _reasoner(f"v(X, Y) :- age(X, A), Y = {expr}.\n")
    [answer] = r.ask(parse_query("?- v(X, Y).", default_ns=str(EX)))
    assert answer["Y"] == Literal(value)
    assert check_proof(answer.proof, r.rules, r.input_score)
    [rule] = r.rules
    assignment = rule.body[1]
    assert isinstance(assignment, Assignment)
    # Printing and re-reading gives the same tree (equality and hashing work too).
    again = parse_program(f"@prefix : <http://ex.org/> .\nv(X, Y) :- age(X, A), Y = {format_expr(assignment.expr)}.")
    assert again.rules[0].body[1] == assignment and hash(again.rules[0].body[1]) == hash(assignment)
    assert format_rule(rule).count("+") + format_rule(rule).count("-") >= DEPTH
    assert repr(assignment).startswith("Assignment(")


def test_deep_expression_in_a_query_and_a_comparison() -> None:
    r, _ = _reasoner("")
    [answer] = r.ask(parse_query(f"?- age(X, A), B = A + {SUM}, B > {NEG}.", default_ns=str(EX)))
    assert answer["B"] == Literal(29 + DEPTH)


def test_goal_directed_query_substitutes_constants_into_deep_expressions() -> None:
    r, _ = _reasoner(f"v(X, Y) :- age(X, A), Y = A - {NEG}.\n")
    [answer] = r.ask(parse_query("?- v(ann, Y).", default_ns=str(EX)), goal_directed=True)
    assert r.last_ask["goal_directed"]
    assert answer["Y"] == Literal(30)


def test_why_not_walks_a_deep_expression() -> None:
    r, _ = _reasoner(f"v(X, Y) :- age(X, A), Y = {SUM}.\n")
    report = r.why_not(parse_query("?- v(ann, 5).", default_ns=str(EX)).body[0])
    assert "v" in str(report)
