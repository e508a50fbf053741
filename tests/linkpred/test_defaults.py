"""nesy.linkpred.defaults: graph statistics -> training defaults; explicit values always win."""

from __future__ import annotations

import numpy as np
import pytest

from nesy.errors import NesyError
from nesy.linkpred.defaults import (
    AUTO_FIELDS,
    MAX_BATCH,
    MAX_REG,
    MIN_BATCH,
    MIN_REG,
    GraphStats,
    auto_values,
    resolve,
)
from nesy.linkpred.train import TrainConfig, resolve_config, train

# The statistics of splits in shared/data/kgc (entities, relations, training triples).
UMLS = GraphStats(135, 46, 5_216)  # ConvE umls: few triples, ~113 per relation
KINSHIP = GraphStats(104, 25, 8_544)  # ConvE kinship: ~342 triples per relation
FAMILY = GraphStats(3_007, 12, 23_483)  # Neural-LP family
WN18RR = GraphStats(40_943, 11, 86_835)  # large


def test_statistics() -> None:
    assert UMLS.mean_degree == pytest.approx(2 * 5_216 / 135)
    assert UMLS.queries == 10_432
    assert UMLS.triples_per_relation == pytest.approx(5_216 / 46)
    triples = np.array([[0, 0, 1], [1, 0, 2]], dtype=np.int64)
    assert GraphStats.of(triples, 3, 1) == GraphStats(3, 1, 2)


def test_small_graphs_get_smaller_batches_large_ones_the_ceiling() -> None:
    assert auto_values(UMLS)["batch_size"] == 256
    assert auto_values(KINSHIP)["batch_size"] == 256
    assert auto_values(FAMILY)["batch_size"] == MAX_BATCH
    assert auto_values(WN18RR)["batch_size"] == MAX_BATCH
    assert auto_values(GraphStats(10, 1, 5))["batch_size"] == MIN_BATCH
    # An epoch takes at least 40 steps below the ceiling.
    for n in (1_000, 5_000, 20_000):
        stats = GraphStats(100, 1, n)
        assert auto_values(stats)["batch_size"] in (MIN_BATCH, MAX_BATCH) or stats.queries / auto_values(stats)["batch_size"] >= 40


def test_few_triples_per_relation_get_a_lighter_penalty() -> None:
    assert auto_values(UMLS)["regularization"] == pytest.approx(3.4e-3)
    assert auto_values(KINSHIP)["regularization"] == MAX_REG
    assert auto_values(FAMILY)["regularization"] == MAX_REG == 1e-2  # the fixed default before
    assert auto_values(GraphStats(10, 100, 1_000))["regularization"] == MIN_REG  # degree 200
    # A sparse graph keeps the fixed weight however few triples each relation has.
    assert auto_values(GraphStats(1_000, 100, 1_000))["regularization"] == MAX_REG


def test_only_the_automatic_fields_are_touched() -> None:
    assert set(auto_values(UMLS)) == set(AUTO_FIELDS)
    resolved = resolve(TrainConfig().to_dict(), UMLS)
    assert {k: v for k, v in resolved.items() if k not in AUTO_FIELDS} == {
        k: v for k, v in TrainConfig().to_dict().items() if k not in AUTO_FIELDS}


def test_explicit_values_win() -> None:
    given = {**TrainConfig().to_dict(), "batch_size": 64, "regularization": 0.0}
    resolved = resolve(given, UMLS)
    assert resolved["batch_size"] == 64 and resolved["regularization"] == 0.0
    unset = resolve(TrainConfig().to_dict(), UMLS)
    assert unset["batch_size"] == 256 and unset["regularization"] == auto_values(UMLS)["regularization"]
    assert resolve(TrainConfig(dim=8).to_dict(), UMLS)["dim"] == 8


def test_resolve_config_and_train_record_the_resolved_values() -> None:
    triples = np.array([[i, i % 2, (i + 1) % 20] for i in range(20)], dtype=np.int64)
    config = resolve_config(TrainConfig(dim=4), triples, 20, 2)
    assert config.batch_size == MIN_BATCH and config.regularization == MAX_REG and config.dim == 4
    result = train(triples, 20, 2, TrainConfig(dim=4, epochs=1, device="cpu"), progress=False)
    assert result.config == config.__class__.from_dict({**config.to_dict(), "epochs": 1, "device": "cpu"})


def test_an_unset_field_is_valid_a_bad_one_is_not() -> None:
    assert TrainConfig().batch_size is None
    with pytest.raises(NesyError, match="batch_size must be a positive integer"):
        TrainConfig(batch_size=0)
