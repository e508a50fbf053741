"""The differentiable rule learner (TensorLog operators, Neural LP / DRUM) as a torch module.

Ids: entities 0..E-1, base relations 0..R-1. Operator ``r`` (0..R-1) follows the facts ``r(x, y)``
from x to y, ``r + R`` follows them backwards, ``2R`` is the identity (a step that does nothing,
so a rule may be shorter than T). With soft links, ``2R + 1 + 2r`` follows the link predictor's
edges ``~r`` forwards and ``2R + 2 + 2r`` backwards; these ids depend on R only, so decoded rules
read the same whatever soft edges a run had. Query relations are 0..2R-1 (``r + R``: the heads).

A query ``(h, q, ?)`` runs ``rank`` chains of T steps from the one-hot vector of h; step t of a
chain mixes the operators with the attention the controller gives q: ``v_t = sum_k a_tk M_k v``,
renormalised to sum 1 (as Neural LP), so the final vector is a distribution over answers. The
chains and the user's fixed paths (each with a learnable weight) are averaged.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from nesy.errors import NesyError
from nesy.rulelearn.operators import Propagate, csr, num_operators, operator_edges

_EPS = 1e-12
#: The relation features the controller may read besides its own embedding.
FEATURES = ("kge", "text")


class RuleLearner(torch.nn.Module):
    """Attention over relation operators per query relation, in ``rank`` chains of T steps.

    Args:
        graph: int64 (n, 3) facts the rules walk over (base relations).
        num_entities: E.  num_relations: R (base).
        max_len: T.  rank: chains per query relation.  dim: controller size.
        relation_features: optional ``"kge"`` / ``"text"``: float (2R, d) per query relation.
        user_paths: query relation -> operator sequences (length 1..T) with learnable weights.
        user_rule_init: their initial weight in (0, 1).
        soft_edges: base relation r -> (int64 (k, 2) pairs, float (k,) probabilities): the
            extra operator ``~r`` (ids in the module docstring).
    """

    def __init__(
        self, graph: Any, num_entities: int, num_relations: int, *, max_len: int = 3,
        rank: int = 3, dim: int = 32, relation_features: dict[str, Any] | None = None,
        user_paths: dict[int, list[list[int]]] | None = None, user_rule_init: float = 0.5,
        soft_edges: dict[int, tuple[Any, Any]] | None = None,
    ) -> None:
        super().__init__()
        E, R = num_entities, num_relations
        self.num_entities, self.num_relations, self.max_len, self.rank = E, R, max_len, rank
        self.num_operators = num_operators(R, bool(soft_edges))
        for name, value in operator_edges(graph, E, R, soft_edges).items():
            self.register_buffer(name, value, persistent=False)
        self.embedding = torch.nn.Embedding(2 * R, dim)
        self.features = torch.nn.ModuleDict()
        self.gates = torch.nn.ParameterDict()
        for name, feat in (relation_features or {}).items():
            self._add_feature(name, feat, dim)
        self.controller = torch.nn.Linear(dim, max_len * rank * self.num_operators)
        self.user_paths: list[tuple[int, tuple[int, ...]]] = []
        for q, paths in sorted((user_paths or {}).items()):
            for path in paths:
                self.user_paths.append((int(q), self._check_path(int(q), path)))
        logit = math.log(user_rule_init / (1 - user_rule_init))
        self.user_logits = torch.nn.Parameter(torch.full((len(self.user_paths),), logit))

    def _add_feature(self, name: str, feat: Any, dim: int) -> None:
        """A relation feature table (2R, d), its projection to ``dim`` and its gate."""
        if name not in FEATURES:
            raise NesyError(f"unknown relation feature {name!r}; known: {', '.join(FEATURES)}")
        feat = torch.as_tensor(feat, dtype=torch.float32)
        R2 = 2 * self.num_relations
        if feat.dim() != 2 or feat.shape[0] != R2:
            raise NesyError(f"relation feature {name!r} must be float (2R={R2}, d), "
                            f"got {tuple(feat.shape)}")
        self.register_buffer(f"feature_{name}", feat, persistent=False)
        self.features[name] = torch.nn.Linear(feat.shape[1], dim)
        self.gates[name] = torch.nn.Parameter(torch.zeros(1))

    def _check_path(self, q: int, path: list[int]) -> tuple[int, ...]:
        R, T = self.num_relations, self.max_len
        if not 0 <= q < 2 * R:
            raise NesyError(f"user rule for query relation {q}: ids are 0..{2 * R - 1}")
        ops = tuple(int(o) for o in path)
        if not 1 <= len(ops) <= T:
            raise NesyError(f"user rule {list(ops)} for relation {q % R} has {len(ops)} body "
                            f"atoms; rules are learned with 1..{T} (raise max_len)")
        bad = [o for o in ops if not 0 <= o < self.num_operators or o == self.identity]
        if bad:
            raise NesyError(f"user rule {list(ops)} for relation {q % R}: operator ids must be "
                            f"0..{self.num_operators - 1} without the identity {self.identity}")
        return ops

    @property
    def identity(self) -> int:
        """The identity operator's id (2R)."""
        return 2 * self.num_relations

    def attention(self, q: Tensor) -> Tensor:
        """Operator attention ``float (n, rank, T, K)`` of query relations ``q: int64 (n,)``."""
        z = self.embedding(q)
        for name, proj in self.features.items():
            z = z + torch.sigmoid(self.gates[name]) * proj(getattr(self, f"feature_{name}")[q])
        logits = self.controller(z).view(len(q), self.rank, self.max_len, self.num_operators)
        return torch.softmax(logits.masked_fill(~self.usable, -math.inf), dim=-1)

    def soft_links(self) -> dict[int, tuple[Tensor, Tensor]]:
        """Base relation -> (int64 (k, 2) pairs, float (k,) probabilities) of its soft operator."""
        out = {}
        for r in range(self.num_relations):
            sel = self.op == 2 * self.num_relations + 1 + 2 * r
            if bool(sel.any()):
                out[r] = (torch.stack([self.src[sel], self.dst[sel]], 1).cpu(), self.prior[sel].cpu())
        return out

    def user_rule_weights(self) -> dict[int, list[float]]:
        """Query relation -> the learned weight of each of its user paths, in the given order."""
        out: dict[int, list[float]] = {}
        for (q, _), w in zip(self.user_paths, torch.sigmoid(self.user_logits).tolist()):
            out.setdefault(q, []).append(w)
        return out

    def mix(self, a: Tensor, scale: Tensor, transpose: bool) -> Tensor:
        """CSR of ``sum_k a_k M_k`` (rows: targets) or its transpose; a: (K,), scale: (nnz,)."""
        E = self.num_entities
        crow, col, op, perm = ((self.crow_src, self.col_src, self.op_src, self.by_src) if transpose
                               else (self.crow_dst, self.col_dst, self.op_dst, self.by_dst))
        return csr(crow, col, a.index_select(0, op) * scale.index_select(0, perm), (E, E))

    def _edges_at(self, crow: Tensor, perm: Tensor, nodes: Tensor) -> tuple[Tensor, Tensor]:
        """Edge ids around each of ``nodes`` (b,) (out-edges with by_src, in-edges with by_dst)
        and the query column of each."""
        lo, counts = crow[nodes], crow[nodes + 1] - crow[nodes]
        col = torch.repeat_interleave(torch.arange(len(nodes), device=nodes.device), counts)
        offsets = torch.cumsum(counts, 0) - counts
        pos = torch.arange(len(col), device=nodes.device) - offsets[col] + lo[col]
        return perm[pos], col

    def _scale(self, hide: Tensor | None) -> Tensor:
        """Edge weights (nnz,) with the facts of ``hide`` (b, 3) and their inverses removed."""
        scale = self.prior
        if hide is None or not len(hide) or not len(self.fact_keys):
            return scale
        hide = hide.to(self.src.device)
        R, E = self.num_relations, self.num_entities
        inv = hide[:, 1] >= R
        h = torch.where(inv, hide[:, 2], hide[:, 0])
        t = torch.where(inv, hide[:, 0], hide[:, 2])
        keys = (h * R + hide[:, 1] % R) * E + t
        pos = torch.searchsorted(self.fact_keys, keys).clamp_max(len(self.fact_keys) - 1)
        pos = pos[self.fact_keys[pos] == keys]
        scale = scale.clone()
        scale[pos] = 0.0
        scale[pos + len(self.fact_keys)] = 0.0
        return scale

    def _walk(self, steps: list[Tensor], h: Tensor, scale: Tensor, t: Tensor | None) -> Tensor:
        """One chain: attention ``steps`` (each (K,)) from heads h (b,); the answer distribution
        float (E, b), or with targets t (b,) just its entries at t, float (b,)."""
        E, b = self.num_entities, len(h)
        e, col = self._edges_at(self.crow_src, self.by_src, h)  # step 1 from one-hot: gather
        w = steps[0][self.op[e]] * scale[e]
        v = torch.zeros(E, b, device=h.device).index_put((self.dst[e], col), w, accumulate=True)
        v = v / v.sum(0).clamp_min(_EPS)
        for i, a in enumerate(steps[1:], start=2):
            if t is not None and i == len(steps):
                # last step at the targets only: in-edges of t, and the total from out-weights
                w = a[self.op] * scale
                e, col = self._edges_at(self.crow_dst, self.by_dst, t)
                hit = torch.zeros(b, device=h.device).index_add(0, col, w[e] * v[self.src[e], col])
                out_w = torch.zeros(E, device=h.device).index_add(0, self.src, w)
                return hit / (v * out_w.unsqueeze(1)).sum(0).clamp_min(_EPS)
            v = Propagate.apply(a, v, self, scale)
            v = v / v.sum(0).clamp_min(_EPS)
        return v[t, torch.arange(b, device=h.device)] if t is not None else v

    def _group(self, h: Tensor, q: int, scale: Tensor, t: Tensor | None) -> Tensor:
        """Scores of one query relation: the weighted mean of its chains and user paths."""
        att = self.attention(torch.tensor([q], device=h.device))[0]
        total, norm = 0.0, float(self.rank)
        for c in range(self.rank):
            total = total + self._walk(list(att[c]), h, scale, t)
        eye = torch.eye(self.num_operators, device=h.device)
        for i, (uq, path) in enumerate(self.user_paths):
            if uq == q:
                s = torch.sigmoid(self.user_logits[i])
                total = total + s * self._walk([eye[o] for o in path], h, scale, t)
                norm = norm + s
        return total / norm

    def forward(self, h: Tensor, r: Tensor, hide: Tensor | None = None) -> Tensor:
        """Scores of every entity as the answer of ``(h, r, ?)``.

        Args:
            h: int64 (b,) query entities.
            r: int64 (b,) query relations 0..2R-1.
            hide: int64 (k, 3) triples whose facts (and inverses) are removed from the graph
                while this batch is scored, as Neural LP does for its training queries.

        Returns:
            float (b, E): per query a distribution over the answers (all 0 when none is reached).
        """
        out = torch.zeros(len(h), self.num_entities, device=h.device)
        scale = self._scale(hide)
        for q in r.unique().tolist():
            idx = (r == q).nonzero().squeeze(1)
            out[idx] = self._group(h[idx], q, scale, None).t()
        return out

    def target_scores(self, h: Tensor, r: Tensor, t: Tensor, hide: Tensor | None = None) -> Tensor:
        """``forward(h, r, hide)[i, t[i]]`` as float (b,), computed without full last steps."""
        out = torch.zeros(len(h), device=h.device)
        scale = self._scale(hide)
        for q in r.unique().tolist():
            idx = (r == q).nonzero().squeeze(1)
            out = out.index_put((idx,), self._group(h[idx], q, scale, t[idx]))
        return out


__all__ = ["FEATURES", "RuleLearner"]
