"""rule_decode: decoding attention into rules, statistics and scores against brute force, the
nesy syntax written, and chain rules read back into operator paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nesy.errors import NesyError
from nesy.rulelearn.decode import (
    LearnedRule,
    chain_path,
    decode,
    format_rules,
    invert,
    rule_scores,
    rule_stats,
)
from nesy.rulelearn.model import RuleLearner
from nesy.rules.parser import parse_program

torch.set_num_threads(1)

E, R = 9, 3


def tiny_graph(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    triples = {(int(h), int(r), int(t)) for h, r, t in
               zip(rng.integers(E, size=30), rng.integers(R, size=30), rng.integers(E, size=30))}
    return np.array(sorted(triples), dtype=np.int64)


def steps(graph: np.ndarray, op: int) -> set[tuple[int, int]]:
    """The (from, to) steps of an operator, by definition."""
    if op == 2 * R:
        return {(x, x) for x in range(E)}
    base = op % R
    pairs = {(int(h), int(t)) for h, r, t in graph if r == base}
    return pairs if op < R else {(t, h) for h, t in pairs}


def brute_reach(graph: np.ndarray, path: tuple[int, ...], start: int) -> set[int]:
    here = {start}
    for op in path:
        here = {y for x, y in steps(graph, op) if x in here}
    return here


def some_rules() -> list[LearnedRule]:
    bodies = [(0,), (1, 2), (3, 1), (4, 5, 0), (2, 2, 2), (5,), (0, 4)]
    return [LearnedRule(head=i % R, body=b) for i, b in enumerate(bodies)]


def test_rule_stats_match_brute_force() -> None:
    graph = tiny_graph()
    for rule in rule_stats(some_rules(), graph, E, R):
        pairs = {(x, z) for x in range(E) for z in brute_reach(graph, rule.body, x)}
        heads = {(int(h), int(t)) for h, r, t in graph if r == rule.head}
        support = len(pairs & heads)
        assert rule.support == support and rule.num_relations == R
        assert rule.confidence == pytest.approx(support / len(pairs) if pairs else 0.0)
        assert rule.head_coverage == pytest.approx(support / len(heads) if heads else 0.0)


def test_rule_scores_match_brute_force() -> None:
    graph = tiny_graph()
    rules = rule_stats(some_rules(), graph, E, R)
    h = torch.tensor([x for x in range(E) for _ in range(2 * R)])
    q = torch.tensor([q for _ in range(E) for q in range(2 * R)])
    scores = rule_scores(rules, graph, E, R, h, q)
    assert scores.shape == (len(h), E)
    for i, (x, query) in enumerate(zip(h.tolist(), q.tolist())):
        want = np.zeros(E)
        for rule in rules:
            if rule.head != query % R:
                continue
            for z in range(E):
                # r(X, Z): the tail query asks Z given X = x, the head query X given Z = x
                holds = (z in brute_reach(graph, rule.body, x) if query < R
                         else x in brute_reach(graph, rule.body, z))
                if holds:
                    want[z] = max(want[z], rule.confidence)
        assert np.allclose(scores[i].numpy(), want), (x, query)


def test_decode_reads_attention_and_rewrites_inverse_queries() -> None:
    graph = tiny_graph()
    model = RuleLearner(graph, E, R, max_len=3, rank=1)
    ident = model.identity
    bias = torch.full((2 * R, 3, model.num_operators), -30.0)
    bias[0, 0, 1] = bias[0, 1, ident] = bias[0, 2, 2] = 30.0  # r0 :- 1, id, 2 -> (1, 2)
    bias[R + 1, 0, 0] = bias[R + 1, 1, ident] = bias[R + 1, 2, ident] = 30.0  # r1^-1 :- r0
    candidates = [LearnedRule(2, (a, b)) for a in range(2 * R) for b in range(2 * R)]
    unsupported = next(r.body for r in rule_stats(candidates, graph, E, R) if r.support == 0)
    bias[2, 0, unsupported[0]] = bias[2, 1, unsupported[1]] = bias[2, 2, ident] = 30.0
    bias[R + 2, 0, R + 2] = bias[R + 2, 1, ident] = bias[R + 2, 2, ident] = 30.0  # r2 :- r2
    model.attention = lambda q: torch.softmax(bias[q].unsqueeze(1), dim=-1)  # (n, 1, T, K)
    rules = decode(model, [0, 1, 2], top=1)
    best = {r.head: r.body for r in rules}
    assert best[0] == (1, 2)
    assert best[1] == (invert(0, R),)  # r1(Z, X) :- r0(X, Z)  ==  r1(X, Z) :- r0^-1(X, Z)
    assert best.get(2) not in ((2,), unsupported)  # tautology and unsupported body skipped
    assert all(0 < r.weight <= 1 and r.support > 0 for r in rules)
    with pytest.raises(NesyError, match="outside"):
        decode(model, [R])


def test_format_rules_parses_and_round_trips_weights() -> None:
    graph = tiny_graph()
    rules = [r for r in rule_stats(some_rules(), graph, E, R) if r.confidence > 0]
    rules.append(LearnedRule(0, (2 * R + 1 + 2 * 1, 2 * R + 2 + 2 * 2), 0.5, 3, 0.25, 0.1, R))
    names = ["ex:p", "ex:q", "ex:s"]
    text = format_rules(rules, names.__getitem__)
    assert len(text.splitlines()) == len(rules)
    assert "~ex:q(X, Y1), ~ex:s(Z, Y1)" in text
    program = parse_program(text, prefixes={"ex": "http://example.org/"})
    assert len(program.rules) == len(rules)
    for rule, parsed in zip(rules, program.rules):
        assert parsed.weight == pytest.approx(round(rule.confidence, 4))
        assert str(parsed.head.predicate) == "http://example.org/" + names[rule.head][3:]
        assert len(parsed.body) == len(rule.body)
    # an inverse step p^-1(A, B) is written p(B, A)
    assert format_rules([LearnedRule(0, (R + 1,), confidence=1.0)], names.__getitem__,
                        num_relations=R).startswith("1 :: ex:p(X, Z) :- ex:q(Z, X).")
    assert format_rules([LearnedRule(0, (1,), confidence=0.0, num_relations=R)],
                        names.__getitem__).startswith("# ex:p(X, Z)")
    with pytest.raises(NesyError, match="num_relations"):
        format_rules([LearnedRule(0, (1,))], names.__getitem__)


@pytest.mark.parametrize("body, path", [
    ([(1, "X", "Y"), (2, "Y", "Z")], [1, 2]),
    ([(2, "Y", "Z"), (1, "Y", "X")], [1 + R, 2]),
    ([(0, "Z", "X")], [R]),
    ([(1, "A", "X"), (2, "B", "A"), (0, "B", "Z")], [1 + R, 2 + R, 0]),
])
def test_chain_path_accepts_chains_in_any_direction(body: list, path: list[int]) -> None:
    assert chain_path((0, "X", "Z"), body, R) == (path, "")


@pytest.mark.parametrize("head, body, why", [
    ((0, "X", "Z"), [], "empty"),
    ((0, "X", "X"), [(1, "X", "Y")], "same variable"),
    ((0, "X", "Z"), [(1, "X", "Y"), (2, "X", "Z")], "branches at X"),
    ((0, "X", "Z"), [(1, "X", "Y"), (2, "W", "Z")], "no body atom continues"),
    ((0, "X", "Z"), [(1, "X", "Z"), (2, "Z", "W")], "atoms left over"),
    ((0, "X", "Z"), [(1, "X", "Y"), (2, "Y", "Y")], "repeats a variable"),
    ((0, "X", "Z"), [(1, "X", "Y"), (2, "Y", "X"), (0, "X", "Z")], "branches"),
    ((0, "X", "Z"), [(7, "X", "Z")], "relation ids"),
])
def test_chain_path_rejects_other_rules_with_a_reason(head: tuple, body: list, why: str) -> None:
    path, reason = chain_path(head, body, R)
    assert path is None and why in reason


def test_invert_is_an_involution() -> None:
    for op in range(4 * R + 1):
        assert invert(invert(op, R), R) == op
    assert [invert(op, R) for op in (0, R, 2 * R, 2 * R + 1)] == [R, 0, 2 * R, 2 * R + 2]
