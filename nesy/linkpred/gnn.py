"""The R-GCN link predictor: an RGCNConv encoder over the training graph and a DistMult decoder.

Schlichtkrull et al. (2018): entity embeddings are refined by 1-2 relational graph convolutions
over the triples given to :meth:`RGCN.set_graph`, then scored as DistMult
``<enc_h, e_r, enc_t>``. Reciprocal edge types: when every relation id in the given edges is
below ``num_relations // 2`` (the base relations R of a model built with 2R), ``(t, r + R, h)``
is added for each ``(h, r, t)`` so messages flow both ways; otherwise the edges are used as they
are (they already contain the reciprocals, or the model was not built with them).
The graph is a buffer, so it travels with ``state_dict`` and a checkpoint is self-contained.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import RGCNConv

from nesy.errors import NesyError
from nesy.linkpred.kge import KGEModel, n3_penalty


class RGCN(KGEModel):
    """R-GCN encoder + DistMult decoder.

    The encoding of all entities is cached in eval mode (computed without gradients) and
    dropped on :meth:`train`, :meth:`set_graph`, :meth:`add_entities`, device moves and
    ``load_state_dict``.

    Args:
        num_layers: 1 or 2 graph convolutions.
        decomposition: ``"basis"`` (``num_bases`` shared matrices) or ``"block"``
            (``num_blocks`` diagonal blocks; ``dim`` must be divisible by it).
        num_bases: bases for the basis decomposition.
        num_blocks: blocks for the block decomposition.
        dropout: feature dropout before each convolution and the decoder (training only).
        edge_dropout: fraction of edges dropped per training pass, so a triple's own edge
            cannot simply be copied into its score.
        init_std: standard deviation of the normal embedding initialisation.
    """

    name = "rgcn"

    def __init__(self, num_entities: int, num_relations: int, dim: int, *,
                 num_layers: int = 1, decomposition: str = "basis", num_bases: int = 4,
                 num_blocks: int = 4, dropout: float = 0.2, edge_dropout: float = 0.2,
                 init_std: float = 0.1) -> None:
        super().__init__(num_entities, num_relations, dim, num_layers=num_layers,
                         decomposition=decomposition, num_bases=num_bases,
                         num_blocks=num_blocks, dropout=dropout, edge_dropout=edge_dropout,
                         init_std=init_std)
        if num_layers not in (1, 2):
            raise NesyError(f"rgcn num_layers must be 1 or 2, got {num_layers}")
        if decomposition == "basis":
            conv_args: dict[str, Any] = {"num_bases": min(num_bases, num_relations)}
        elif decomposition == "block":
            if dim % num_blocks:
                raise NesyError(f"rgcn dim {dim} is not divisible by num_blocks {num_blocks}")
            conv_args = {"num_blocks": num_blocks}
        else:
            raise NesyError(f"rgcn decomposition must be 'basis' or 'block', not {decomposition!r}")
        self.dropout = dropout
        self.edge_dropout = edge_dropout
        self.node_emb = torch.nn.Embedding(num_entities, dim)
        self.rel_emb = torch.nn.Embedding(num_relations, dim)
        torch.nn.init.normal_(self.node_emb.weight, std=init_std)
        torch.nn.init.normal_(self.rel_emb.weight, std=init_std)
        self.convs = torch.nn.ModuleList(
            RGCNConv(dim, dim, num_relations, **conv_args) for _ in range(num_layers)
        )
        for conv in self.convs:
            # Near-identity start: the root weight passes the embedding through, messages add.
            torch.nn.init.normal_(conv.root, std=0.1 / math.sqrt(dim))
            conv.root.data += torch.eye(dim)
        self.register_buffer("graph", torch.zeros(0, 3, dtype=torch.long))
        self._cache: Tensor | None = None

    def entity_tables(self) -> list[torch.nn.Embedding]:
        return [self.node_emb]

    def set_graph(self, edges: Tensor) -> None:
        """Use these triples for message passing (reciprocals added as the module doc says).

        Args:
            edges: int64 (n, 3) compact ``(h, r, t)``.

        Raises:
            NesyError: ids out of range.
        """
        edges = torch.as_tensor(edges, dtype=torch.long).reshape(-1, 3).cpu()
        if len(edges):
            if edges[:, [0, 2]].min() < 0 or edges[:, [0, 2]].max() >= self.num_entities:
                raise NesyError(f"graph edges name entities outside 0..{self.num_entities - 1}")
            if edges[:, 1].min() < 0 or edges[:, 1].max() >= self.num_relations:
                raise NesyError(f"graph edges name relations outside 0..{self.num_relations - 1}")
            base = self.num_relations // 2
            if self.num_relations % 2 == 0 and edges[:, 1].max() < base:
                rev = torch.stack([edges[:, 2], edges[:, 1] + base, edges[:, 0]], dim=1)
                edges = torch.cat([edges, rev])
        self.graph = edges.to(self.node_emb.weight.device)
        self._cache = None

    def _encode(self) -> Tensor:
        """float (E, dim): entity representations after the convolutions."""
        x = self.node_emb.weight
        edges = self.graph
        if self.training and self.edge_dropout > 0 and len(edges):
            edges = edges[torch.rand(len(edges), device=edges.device) >= self.edge_dropout]
        edge_index = edges[:, [0, 2]].T
        edge_type = edges[:, 1]
        for i, conv in enumerate(self.convs):
            x = F.dropout(x, self.dropout, self.training)
            x = conv(x, edge_index, edge_type)
            if i < len(self.convs) - 1:
                x = F.relu(x)
        return x

    def encode(self) -> Tensor:
        """float (E, dim): the encoding, cached in eval mode."""
        if self.training:
            return self._encode()
        if self._cache is None:
            with torch.no_grad():
                self._cache = self._encode()
        return self._cache

    def score_t(self, h: Tensor, r: Tensor) -> Tensor:
        enc = self.encode()
        query = F.dropout(enc[h] * self.rel_emb(r), self.dropout, self.training)
        return query @ enc.T

    def score_hrt(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        enc = self.encode()
        return (enc[h] * self.rel_emb(r) * enc[t]).sum(-1)

    def regularization(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        # On the input embeddings: regularising the encoding would need a second graph pass.
        return n3_penalty(self.node_emb(h), self.rel_emb(r), self.node_emb(t))

    def train(self, mode: bool = True) -> RGCN:
        self._cache = None
        return super().train(mode)

    def _entities_added(self) -> None:
        self._cache = None

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> RGCN:
        self._cache = None
        return super()._apply(fn, *args, **kwargs)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        # The saved graph has its own edge count; adopt its shape so strict loading works.
        saved = state_dict.get(prefix + "graph")
        if saved is not None and saved.dim() == 2:
            self.graph = torch.zeros_like(saved, device=self.graph.device)
        self._cache = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
