"""Training defaults that adapt to the graph: hyper-parameters from its size and density.

A :class:`~nesy.linkpred.train.TrainConfig` field left at ``None`` means "auto": it is
resolved here from the statistics of the training graph (:class:`GraphStats`) before
training starts, and the resolved value is what the checkpoint and ``config.toml`` record.
A value given explicitly (keyword, ``--dim``, a config file) is never replaced.

The rule (:func:`auto_values`) comes from the validation-MRR study of
``benchmarks/kgc_defaults.py`` over the five small splits in ``shared/data/kgc`` (the table
is in ``docs/link-prediction.md``). It keys on statistics only, never on a dataset's name:

* ``batch_size``: a graph with few triples takes few optimiser steps an epoch at a large
  batch (one, for a few hundred triples at 1024), so the batch is the power of two that
  gives an epoch at least :data:`STEPS_PER_EPOCH` steps, within ``[MIN_BATCH, MAX_BATCH]``:
  1024 from about 20,500 training triples up, as before.
* ``regularization`` (N3 weight): a lighter penalty ranked as well or better on UMLS
  (about 115 training triples per relation) and worse on Kinship (about 340), so on a
  dense graph (mean degree at least :data:`DENSE_DEGREE`: every entity has many facts to
  pin its embedding) the weight grows with the triples per relation,
  :data:`REG_PER_TRIPLE_PER_RELATION` times it, within ``[MIN_REG, MAX_REG]``: never above
  the fixed 1e-2 the study started from, never below the lightest value it measured well.
  Sparser graphs keep 1e-2: the study has no sparse graph where less penalty helped, and
  the penalty is what protects rarely seen entities. The evidence is thin (the UMLS gain
  is within the spread between seeds on one of its two splits); the docs say so.

The other fields (dimension, lr, label smoothing, epoch ceiling) keep fixed defaults: in
the study their best value moved by less than the spread between seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Optimiser steps an epoch should take at least (the batch rule's target).
STEPS_PER_EPOCH = 40
#: Bounds of the automatic batch size (queries per step).
MIN_BATCH, MAX_BATCH = 128, 1024
#: N3 weight per training triple per relation (the regularisation rule's slope).
REG_PER_TRIPLE_PER_RELATION = 3e-5
#: Bounds of the automatic N3 weight.
MIN_REG, MAX_REG = 3e-3, 1e-2
#: Mean degree from which a graph counts as dense (lighter N3 weight allowed).
DENSE_DEGREE = 40.0
#: The TrainConfig fields that ``None`` leaves to this module.
AUTO_FIELDS = ("batch_size", "regularization")


@dataclass(frozen=True)
class GraphStats:
    """Size and density of a training graph.

    Attributes:
        entities: E, entities in the vocabulary (those without a training triple included).
        relations: R, base relations (without reciprocals).
        triples: training triples.
    """

    entities: int
    relations: int
    triples: int

    @property
    def mean_degree(self) -> float:
        """Training triples per entity, counting both ends (2 * triples / entities)."""
        return 2 * self.triples / max(self.entities, 1)

    @property
    def triples_per_relation(self) -> float:
        """Training triples per base relation."""
        return self.triples / max(self.relations, 1)

    @property
    def queries(self) -> int:
        """Training queries per epoch: one per triple and direction (reciprocal relations)."""
        return 2 * self.triples

    @classmethod
    def of(cls, triples: Any, entities: int, relations: int) -> GraphStats:
        """The statistics of ``triples`` (n, 3) over E ``entities`` and R ``relations``."""
        return cls(int(entities), int(relations), int(len(np.asarray(triples))))


def auto_batch(stats: GraphStats) -> int:
    """The largest power of two at most ``queries / STEPS_PER_EPOCH``, clipped to the bounds."""
    target = max(stats.queries / STEPS_PER_EPOCH, 1.0)
    return int(min(MAX_BATCH, max(MIN_BATCH, 2 ** math.floor(math.log2(target)))))


def auto_regularization(stats: GraphStats) -> float:
    """On a dense graph ``REG_PER_TRIPLE_PER_RELATION * triples per relation`` clipped to
    ``[MIN_REG, MAX_REG]``, two significant digits (so ``config.toml`` shows a readable
    number); ``MAX_REG`` on a sparser one."""
    if stats.mean_degree < DENSE_DEGREE:
        return MAX_REG
    reg = min(MAX_REG, max(MIN_REG, REG_PER_TRIPLE_PER_RELATION * stats.triples_per_relation))
    return float(f"{reg:.2g}")


def auto_values(stats: GraphStats) -> dict[str, Any]:
    """Every automatic field's value for a graph with ``stats`` (see the module docstring)."""
    return {"batch_size": auto_batch(stats), "regularization": auto_regularization(stats)}


def resolve(values: dict[str, Any], stats: GraphStats) -> dict[str, Any]:
    """``values`` (TrainConfig fields) with every ``None`` among :data:`AUTO_FIELDS` replaced
    by its automatic value; given values are kept as they are."""
    auto = auto_values(stats)
    return {k: auto[k] if k in auto and v is None else v for k, v in values.items()}


__all__ = ["AUTO_FIELDS", "DENSE_DEGREE", "GraphStats", "MAX_BATCH", "MAX_REG", "MIN_BATCH", "MIN_REG",
           "REG_PER_TRIPLE_PER_RELATION", "STEPS_PER_EPOCH", "auto_batch", "auto_regularization",
           "auto_values", "resolve"]
