"""The relation operators a learned rule walks: their edge lists, sparse matrices, propagation.

Operator ids (entities 0..E-1, base relations 0..R-1): ``r`` follows the facts ``r(x, y)`` from
x to y, ``r + R`` follows them backwards, ``2R`` is the identity; with soft links ``2R + 1 + 2r``
follows the link predictor's edges ``~r`` forwards and ``2R + 2 + 2r`` backwards. All operators
live in one edge list (``src -> dst`` with operator ``op`` and weight ``prior``), kept sorted
both ways as CSR, so ``sum_k a_k M_k`` is one sparse matrix whose values are gathered per step.
"""

from __future__ import annotations

import warnings
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from nesy.errors import NesyError
from nesy.ml.data import as_triples


def row_pointers(rows: Tensor, n: int) -> Tensor:
    """CSR row pointers of sorted row ids ``rows`` int64 (nnz,) for ``n`` rows."""
    return torch.cat([rows.new_zeros(1), torch.cumsum(torch.bincount(rows, minlength=n), 0)])


def csr(crow: Tensor, col: Tensor, values: Tensor, size: tuple[int, int]) -> Tensor:
    """A CSR tensor from trusted parts (invariants unchecked; torch's beta warning silenced)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
        return torch.sparse_csr_tensor(crow, col, values, size, check_invariants=False)


def num_operators(num_relations: int, soft: bool) -> int:
    """K: forward, backward and identity operators, plus two per relation with soft links."""
    return 4 * num_relations + 1 if soft else 2 * num_relations + 1


def _soft_parts(soft_edges: dict[int, tuple[Any, Any]], E: int, R: int) -> list[tuple[Tensor, ...]]:
    """(src, dst, op, prior) of the soft operators ``~r`` and their inverses."""
    parts = []
    for r, (pairs, probs) in sorted(soft_edges.items()):
        if not 0 <= int(r) < R:
            raise NesyError(f"soft edges for relation {r}: ids are 0..{R - 1}")
        pairs = torch.as_tensor(np.asarray(pairs, dtype=np.int64)).reshape(-1, 2)
        p = torch.as_tensor(np.asarray(probs, dtype=np.float32)).reshape(-1)
        if len(p) != len(pairs) or (len(pairs) and (pairs.min() < 0 or pairs.max() >= E)):
            raise NesyError(f"soft edges for relation {r}: want pairs (k, 2) of entity ids "
                            f"0..{E - 1} and k probabilities")
        fwd, bwd = 2 * R + 1 + 2 * int(r), 2 * R + 2 + 2 * int(r)
        parts.append((pairs[:, 0], pairs[:, 1], torch.full((len(p),), fwd), p.clamp(0, 1)))
        parts.append((pairs[:, 1], pairs[:, 0], torch.full((len(p),), bwd), p.clamp(0, 1)))
    return parts


def operator_edges(graph: Any, num_entities: int, num_relations: int,
                   soft_edges: dict[int, tuple[Any, Any]] | None = None) -> dict[str, Tensor]:
    """Every operator's edges, sorted both ways, as the buffers of a rule learner.

    Args:
        graph: int64 (n, 3) facts (base relations); duplicates are dropped.
        num_entities: E.  num_relations: R (base).
        soft_edges: base relation r -> (int64 (k, 2) pairs, float (k,) probabilities).

    Returns:
        ``graph`` (the deduplicated facts, sorted), ``fact_keys`` (their sorted keys),
        ``src``/``dst``/``op``/``prior`` per edge (the first 2n edges: each fact forwards,
        then backwards), ``by_dst``/``by_src`` (edge orders), ``crow_*``/``col_*``/``op_*``
        (CSR of both orders) and ``usable`` (bool (K,): operators with at least one edge).

    Raises:
        NesyError: ids out of range, malformed soft edges.
    """
    E, R = num_entities, num_relations
    keys = torch.unique(torch.as_tensor(as_triples("graph", graph, E, R))
                        @ torch.tensor([R * E, E, 1]))  # sorted, duplicates dropped
    g = torch.stack([keys // E // R, keys // E % R, keys % E], 1)
    parts = [(g[:, 0], g[:, 2], g[:, 1], torch.ones(len(g))),
             (g[:, 2], g[:, 0], g[:, 1] + R, torch.ones(len(g))),
             (torch.arange(E), torch.arange(E), torch.full((E,), 2 * R), torch.ones(E))]
    parts += _soft_parts(soft_edges or {}, E, R)
    src, dst, op, prior = (torch.cat(x) for x in zip(*parts))
    by_dst = torch.argsort(dst * E + src)
    by_src = torch.argsort(src * E + dst)
    K = num_operators(R, bool(soft_edges))
    return {"graph": g, "src": src, "dst": dst, "op": op, "prior": prior,
            "by_dst": by_dst, "by_src": by_src, "crow_dst": row_pointers(dst[by_dst], E),
            "crow_src": row_pointers(src[by_src], E), "col_dst": src[by_dst],
            "col_src": dst[by_src], "op_dst": op[by_dst], "op_src": op[by_src],
            "fact_keys": keys, "usable": torch.bincount(op, minlength=K) > 0}


class Mixer(Protocol):
    """What :class:`Propagate` needs of a rule learner."""

    op_dst: Tensor
    by_dst: Tensor

    def mix(self, a: Tensor, scale: Tensor, transpose: bool) -> Tensor:
        """CSR of ``sum_k a_k M_k`` (rows: targets) or its transpose."""


class Propagate(torch.autograd.Function):
    """``out = A v`` with ``A = sum_k a_k M_k`` sparse; the gradient of ``a`` without per-edge work."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, v: Tensor, model: Mixer, scale: Tensor) -> Tensor:
        ctx.save_for_backward(a, v, scale)
        ctx.model = model
        return model.mix(a, scale, transpose=False) @ v

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        a, v, scale = ctx.saved_tensors
        m: Mixer = ctx.model
        grad_v = m.mix(a, scale, transpose=True) @ grad if ctx.needs_input_grad[1] else None
        grad_a = None
        if ctx.needs_input_grad[0]:
            # d loss / d a_k = sum over k's edges (x -> y) of scale * <grad[y], v[x]>: one
            # sampled dense-dense product gives every edge's dot at once.
            mask = m.mix(torch.ones_like(a), scale, transpose=False)
            try:
                dots = torch.sparse.sampled_addmm(mask, grad, v.t(), beta=0.0).values()
            except RuntimeError:
                # Two relations on one entity pair give the mask duplicate entries, which
                # sampled_addmm refuses; then take each edge's dot product directly.
                ptr, col = mask.crow_indices(), mask.col_indices()
                row = torch.repeat_interleave(torch.arange(len(ptr) - 1), ptr[1:] - ptr[:-1])
                dots = (grad[row] * v[col]).sum(-1)
            grad_a = torch.zeros_like(a).index_add(0, m.op_dst, dots * scale[m.by_dst])
        return grad_a, grad_v, None, None


__all__ = ["Mixer", "Propagate", "csr", "num_operators", "operator_edges", "row_pointers"]
