"""The model registry and every registered model's scoring, config and growth contract."""

from __future__ import annotations

import json

import pytest
import torch

from nesy.errors import NesyError
from nesy.linkpred.kge import KGEModel, get_model_class, model_names, register_model
from nesy.plugins import shared_registry

E, R2, DIM = 12, 4, 8
EDGES = torch.tensor([[0, 0, 1], [1, 1, 2], [2, 0, 3], [3, 1, 0], [4, 0, 5]])


def build(name: str) -> KGEModel:
    torch.manual_seed(0)
    model = get_model_class(name)(E, R2, DIM)
    model.set_graph(EDGES)
    return model.eval()


def queries(b: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return (torch.randint(0, E, (b,), generator=g), torch.randint(0, R2, (b,), generator=g),
            torch.randint(0, E, (b,), generator=g))


def test_builtin_names() -> None:
    assert {"transe", "distmult", "complex", "rotate", "rgcn"} <= set(model_names())


def test_unknown_name_lists_known() -> None:
    with pytest.raises(NesyError, match="distmult"):
        get_model_class("nope")


def test_plugin_registration_and_name_clash() -> None:
    from nesy.linkpred import kge

    @register_model("test-tiny")
    class Tiny(kge.DistMult):
        pass

    try:
        assert get_model_class("test-tiny") is Tiny
        assert Tiny(3, 2, 4).config()["model"] == "test-tiny"
        with pytest.raises(NesyError, match="already registered"):
            register_model("test-tiny")(kge.ComplEx)
    finally:
        shared_registry().remove("kge_model", "test-tiny")


def test_bad_config_is_nesy_error() -> None:
    with pytest.raises(NesyError, match="distmult"):
        KGEModel.from_config({"model": "distmult", "num_entities": 3, "num_relations": 2,
                              "dim": 4, "bogus": 1})
    with pytest.raises(NesyError, match="dim"):
        get_model_class("complex")(3, 2, 0)


@pytest.mark.parametrize("name", model_names())
def test_score_shapes_and_consistency(name: str) -> None:
    model = build(name)
    h, r, t = queries()
    with torch.no_grad():
        all_tails = model.score_t(h, r)
        single = model.score_hrt(h, r, t)
    assert all_tails.shape == (6, E) and all_tails.dtype == torch.float32
    assert single.shape == (6,)
    assert torch.allclose(single, all_tails[torch.arange(6), t], atol=1e-5)
    assert torch.equal(model(h, r), all_tails)
    reg = model.regularization(h, r, t)
    assert reg.dim() == 0 and torch.isfinite(reg) and reg >= 0


@pytest.mark.parametrize("name", model_names())
def test_gradients_reach_every_parameter(name: str) -> None:
    model = build(name).train()
    h, r, t = queries()
    loss = torch.nn.functional.cross_entropy(model.score_t(h, r), t)
    (loss + model.regularization(h, r, t)).backward()
    for pname, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize("name", model_names())
def test_config_round_trip(name: str) -> None:
    model = build(name)
    config = json.loads(json.dumps(model.config()))
    assert config["model"] == name
    assert (config["num_entities"], config["num_relations"], config["dim"]) == (E, R2, DIM)
    rest = {k: v for k, v in config.items() if k != "model"}
    clone = get_model_class(config["model"])(**rest)
    clone.load_state_dict(model.state_dict())
    clone.eval()
    h, r, _ = queries()
    with torch.no_grad():
        assert torch.allclose(clone.score_t(h, r), model.score_t(h, r))


@pytest.mark.parametrize("name", model_names())
def test_add_entities_grows_with_neighbour_mean(name: str) -> None:
    model = build(name)
    before = [t.weight.detach().clone() for t in model.entity_tables()]
    model.add_entities([[0, 2], []])
    assert model.num_entities == E + 2
    for old, table in zip(before, model.entity_tables()):
        assert table.weight.shape == (E + 2, old.shape[1])
        assert torch.equal(table.weight[:E], old)
        assert torch.allclose(table.weight[E], old[[0, 2]].mean(0))
        assert torch.isfinite(table.weight[E + 1]).all()
    h, r, _ = queries()
    with torch.no_grad():
        assert model.score_t(h, r).shape == (6, E + 2)
        new = torch.tensor([E, E + 1])
        assert model.score_hrt(new, torch.tensor([0, 1]), new).shape == (2,)
    assert model.config()["num_entities"] == E + 2


def test_add_entities_rejects_unknown_neighbours() -> None:
    model = build("distmult")
    with pytest.raises(NesyError, match="not entities"):
        model.add_entities([[E + 5]])
    assert model.num_entities == E
