"""neural_lp: the rule learner finds the rules a graph was generated from; config, input checks,
hidden edges, the custom gradient, user rules, relation features and soft edges."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nesy.errors import NesyError
from nesy.rulelearn.decode import decode
from nesy.rulelearn.model import RuleLearner
from nesy.rulelearn.neural_lp import LearnConfig, LearnResult, learn
from nesy.rulelearn.operators import Propagate

torch.set_num_threads(1)

PARENT, BROTHER, SISTER, GRANDPARENT, UNCLE = range(5)
R = 5
FAST = {"epochs": 15, "batch_size": 64, "lr": 0.05, "patience": 15}


def family(families: int = 14, seed: int = 0) -> tuple[np.ndarray, int]:
    """Facts of small families generated from two known rules.

    grandparent(X, Z) :- parent(X, Y), parent(Y, Z).
    uncle(X, Z) :- brother(X, Y), parent(Y, Z).
    Returns the triples (all relations) and the number of entities (about 10 per family).
    """
    rng = np.random.default_rng(seed)
    facts: list[tuple[int, int, int]] = []
    n = 0
    for _ in range(families):
        grand = [n, n + 1]
        kids = list(range(n + 2, n + 2 + int(rng.integers(2, 5))))
        n = kids[-1] + 1
        male = {k: bool(rng.integers(2)) for k in kids}
        children: dict[int, list[int]] = {}
        for k in kids:
            facts += [(g, PARENT, k) for g in grand]
            facts += [(k, BROTHER if male[k] else SISTER, o) for o in kids if o != k]
            children[k] = list(range(n, n + int(rng.integers(0, 3))))
            n += len(children[k])
            facts += [(k, PARENT, c) for c in children[k]]
            facts += [(g, GRANDPARENT, c) for g in grand for c in children[k]]
        facts += [(k, UNCLE, c) for k in kids if male[k] for o in kids if o != k
                  for c in children[o]]
    return np.array(facts, dtype=np.int64), n


@pytest.fixture(scope="module")
def graph() -> tuple[np.ndarray, int]:
    return family()


@pytest.fixture(scope="module")
def learned(graph: tuple[np.ndarray, int]) -> LearnResult:
    facts, E = graph
    derived = np.isin(facts[:, 1], [GRANDPARENT, UNCLE])
    # As in Neural LP's splits, the graph holds the base facts, the queries the derived ones.
    return learn(facts[~derived], facts[derived], E, R, LearnConfig(**FAST),
                 valid=facts[derived][::5], progress=False)


def test_learns_the_generating_rules(learned: LearnResult) -> None:
    assert learned.best_valid_mrr is not None and learned.best_valid_mrr > 0.5
    assert learned.history and learned.seconds > 0
    rules = decode(learned.model, [GRANDPARENT, UNCLE], top=10)
    for head, body in ((GRANDPARENT, (PARENT, PARENT)), (UNCLE, (BROTHER, PARENT))):
        mine = sorted((r for r in rules if r.head == head), key=lambda r: -r.weight)
        assert body in [r.body for r in mine[:3]], (head, mine[:5])
        rule = next(r for r in mine if r.body == body)
        assert rule.confidence == 1.0 and rule.head_coverage == 1.0


def test_target_scores_match_forward_and_hide_removes_edges(graph: tuple[np.ndarray, int]) -> None:
    facts, E = graph
    torch.manual_seed(0)
    model = RuleLearner(facts, E, R, max_len=3, rank=2)
    h, r, t = (torch.from_numpy(facts[:40, i]) for i in range(3))
    q = torch.where(torch.arange(40) % 2 == 0, r, r + R)  # both directions
    hide = torch.from_numpy(facts[:40])
    full = model(h, q, hide)
    assert full.shape == (40, E)
    assert torch.allclose(full.sum(1)[full.sum(1) > 0], torch.ones(1), atol=1e-4)
    assert torch.allclose(model.target_scores(h, q, t, hide), full[torch.arange(40), t], atol=1e-6)
    # a one-step model that follows only PARENT cannot reach a hidden parent fact
    one = RuleLearner(facts, E, R, max_len=1, rank=1)
    with torch.no_grad():
        one.controller.weight.zero_()
        one.controller.bias.fill_(-50.0)
        one.controller.bias[PARENT] = 50.0
    x, y = (int(v) for v in facts[facts[:, 1] == PARENT][0, [0, 2]])
    query = (torch.tensor([x]), torch.tensor([PARENT]))
    assert one(*query)[0, y] > 0
    assert one(*query, torch.tensor([[x, PARENT, y]]))[0, y] == 0


def test_custom_gradient_matches_finite_differences(graph: tuple[np.ndarray, int]) -> None:
    facts, _ = graph
    small = facts[facts.max(1) < 30]
    model = RuleLearner(small, 30, R).double()
    a = torch.rand(model.num_operators, dtype=torch.float64, requires_grad=True)
    v = torch.rand(30, 4, dtype=torch.float64, requires_grad=True)
    scale = model.prior.double()
    assert torch.autograd.gradcheck(lambda a, v: Propagate.apply(a, v, model, scale), (a, v))


def test_config_checks_and_round_trip() -> None:
    cfg = LearnConfig(max_len=4, rank=2)
    assert LearnConfig.from_dict(cfg.to_dict()) == cfg
    assert LearnConfig().max_len == 3 and LearnConfig().rank == 3
    for bad in ({"max_len": 0}, {"max_len": 7}, {"rank": 0}, {"lr": -1.0},
                {"user_rule_init": 1.0}, {"use_kge": "yes"}):
        with pytest.raises(NesyError, match=next(iter(bad))):
            LearnConfig(**bad)
    with pytest.raises(NesyError, match="unknown option"):
        LearnConfig.from_dict({"depth": 3})
    with pytest.raises(NesyError, match=r"max_lens \(did you mean max_len\?\)"):
        LearnConfig.from_dict({"max_lens": 3})


def test_bad_input(graph: tuple[np.ndarray, int]) -> None:
    facts, E = graph
    train = facts[facts[:, 1] == GRANDPARENT]
    cfg = LearnConfig(epochs=1)
    with pytest.raises(NesyError, match=r"no training triples for relation\(s\) \[4\]"):
        learn(facts, train, E, R, cfg, relations=[GRANDPARENT, UNCLE], progress=False)
    with pytest.raises(NesyError, match="3 body atoms.*1..2"):
        learn(facts, train, E, R, LearnConfig(epochs=1, max_len=2),
              user_paths={GRANDPARENT: [[PARENT, PARENT, PARENT]]}, progress=False)
    with pytest.raises(NesyError, match="entity ids"):
        learn(facts, train + E, E, R, cfg, progress=False)
    with pytest.raises(NesyError, match="relation feature 'kge'"):
        RuleLearner(facts, E, R, relation_features={"kge": torch.zeros(R, 4)})


def test_user_rules_right_one_kept_wrong_one_pushed_down(graph: tuple[np.ndarray, int]) -> None:
    facts, E = graph
    train = facts[facts[:, 1] == GRANDPARENT]
    paths = {GRANDPARENT: [[PARENT, PARENT], [SISTER, BROTHER + R]]}
    res = learn(facts, train, E, R, LearnConfig(**{**FAST, "epochs": 8}), user_paths=paths,
                progress=False)
    right, wrong = res.model.user_rule_weights()[GRANDPARENT]
    assert right > 0.5 and wrong < 0.4 and right - wrong > 0.2, (right, wrong)


def test_relation_features_and_soft_edges(graph: tuple[np.ndarray, int]) -> None:
    facts, E = graph
    train = facts[facts[:, 1] == GRANDPARENT]
    feats = {"kge": torch.randn(2 * R, 6), "text": torch.randn(2 * R, 5)}
    keep = facts[np.isin(facts[:, 1], [BROTHER, SISTER])]  # parent only as soft links
    soft = {PARENT: (facts[facts[:, 1] == PARENT][:, [0, 2]],
                     np.full(int((facts[:, 1] == PARENT).sum()), 0.9))}
    res = learn(keep, train, E, R, LearnConfig(**{**FAST, "epochs": 6, "use_text": False, "max_len": 2}),
                relation_features=feats, soft_edges=soft, progress=False)
    model = res.model
    assert set(model.features) == {"kge"}
    assert model.num_operators == 4 * R + 1 and model.identity == 2 * R
    soft_parent = 2 * R + 1 + 2 * PARENT
    rules = decode(model, [GRANDPARENT], top=3)
    best = next(r for r in rules if r.body == (soft_parent, soft_parent))
    assert best.confidence == 1.0  # statistics walk the soft links too
