"""The R-GCN model: reciprocal edges, the eval-mode encoding cache, graph in the state dict."""

from __future__ import annotations

import pytest
import torch

from nesy.errors import NesyError
from nesy.linkpred.gnn import RGCN

E, R = 6, 2
BASE = torch.tensor([[0, 0, 1], [1, 1, 2], [2, 0, 3], [4, 1, 5]])


def build(**options: object) -> RGCN:
    torch.manual_seed(0)
    return RGCN(E, 2 * R, 8, **options)


def test_reciprocals_added_for_base_edges() -> None:
    model = build()
    model.set_graph(BASE)
    assert len(model.graph) == 2 * len(BASE)
    assert [2, 1 + R, 1] in model.graph.tolist()  # reciprocal of (1, 1, 2)
    assert [1, 0 + R, 0] in model.graph.tolist()  # reciprocal of (0, 0, 1)


def test_edges_with_reciprocals_used_as_given() -> None:
    model = build()
    both = torch.cat([BASE, torch.stack([BASE[:, 2], BASE[:, 1] + R, BASE[:, 0]], 1)])
    model.set_graph(both)
    assert torch.equal(model.graph, both)


def test_out_of_range_edges_rejected() -> None:
    model = build()
    with pytest.raises(NesyError, match="entities"):
        model.set_graph(torch.tensor([[0, 0, E]]))
    with pytest.raises(NesyError, match="relations"):
        model.set_graph(torch.tensor([[0, 2 * R, 1]]))


def test_eval_cache_and_invalidation() -> None:
    model = build(num_layers=2)
    model.set_graph(BASE)
    model.eval()
    first = model.encode()
    assert model.encode() is first and not first.requires_grad
    model.train()
    model.eval()
    assert model.encode() is not first
    cached = model.encode()
    model.set_graph(BASE[:2])
    assert model.encode() is not cached
    cached = model.encode()
    model.add_entities([[0, 1]])
    assert model.encode().shape == (E + 1, 8)


def test_training_mode_is_stochastic_eval_is_not() -> None:
    model = build(dropout=0.5, edge_dropout=0.5)
    model.set_graph(BASE)
    h, r = torch.tensor([0, 1]), torch.tensor([0, 1])
    assert not torch.equal(model.score_t(h, r), model.score_t(h, r))
    model.eval()
    assert torch.equal(model.score_t(h, r), model.score_t(h, r))


def test_graph_travels_with_state_dict() -> None:
    model = build()
    model.set_graph(BASE)
    model.eval()
    clone = build()
    clone.load_state_dict(model.state_dict())
    clone.eval()
    assert torch.equal(clone.graph, model.graph)
    h, r = torch.tensor([0, 3]), torch.tensor([1, 2])
    assert torch.allclose(clone.score_t(h, r), model.score_t(h, r))


def test_block_decomposition_and_bad_options() -> None:
    model = build(decomposition="block", num_blocks=4, num_layers=2)
    model.set_graph(BASE)
    assert model.eval().score_t(torch.tensor([0]), torch.tensor([0])).shape == (1, E)
    with pytest.raises(NesyError, match="divisible"):
        build(decomposition="block", num_blocks=3)
    with pytest.raises(NesyError, match="basis"):
        build(decomposition="full")
    with pytest.raises(NesyError, match="num_layers"):
        build(num_layers=3)
