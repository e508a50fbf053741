"""Id-triple arrays for the learners: int64 (n, 3) ``(head, relation, tail)``, range-checked."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nesy.errors import NesyError


def as_triples(name: str, triples: Any, num_entities: int, num_relations: int) -> np.ndarray:
    """``triples`` as int64 (n, 3), checked against the id ranges.

    Args:
        name: What the triples are ("training", "valid"...), for messages.
        triples: Anything numpy reads as (n, 3) integers; empty is fine.
        num_entities: E; entity ids must be 0..E-1.
        num_relations: R; relation ids must be 0..R-1.

    Raises:
        NesyError: a wrong shape or an id out of range.
    """
    arr = np.asarray(triples, dtype=np.int64)
    if arr.size == 0:
        return arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise NesyError(f"{name} triples must have shape (n, 3), got {arr.shape}")
    ents, rels = arr[:, [0, 2]], arr[:, 1]
    if ents.min() < 0 or ents.max() >= num_entities:
        raise NesyError(f"{name} triples use entity ids outside 0..{num_entities - 1}")
    if rels.min() < 0 or rels.max() >= num_relations:
        raise NesyError(f"{name} triples use relation ids outside 0..{num_relations - 1}")
    return arr


def as_array(triples: Any) -> np.ndarray:
    """A tensor, array or list of triples as a CPU int64 numpy array (n, 3), unchecked."""
    return np.asarray(torch.as_tensor(triples, dtype=torch.long).reshape(-1, 3).cpu())


__all__ = ["as_array", "as_triples"]
