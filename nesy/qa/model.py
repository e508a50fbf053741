"""The QA path model: attention over relation operators per hop from the question, trained end to end.

Neural LP's "query is language" mode: the (masked) question's sentence vector q, float (d,),
gives at each hop t = 1..T an attention a_t over the K = 2R + 1 operators of a
:class:`~nesy.qa.graph.QAGraph` (relations, their inverses, the identity/stop). The
operators are represented by their text (the encoder's vector of the relation's words,
projected) plus a learned vector, so a relation seen in few questions still reads like its
name. Training follows TensorLog: v_0 is the topic entity's one-hot, v_t = sum_k a_tk M_k v_{t-1}
(renormalised), and the loss is -log of the mass on the gold answers; no path supervision.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nesy.errors import LoadError, NesyError
from nesy.ml.checkpoint import read_pair, write_pair
from nesy.qa.graph import QAGraph

WEIGHTS = "qa.safetensors"
DESCRIPTION = "qa.json"
FORMAT = "nesy-qa-model"


@dataclass
class QAConfig:
    """Hyperparameters of :func:`train_model`.

    Attributes:
        hops: T, the longest relation path (1..4).
        hidden: Size of the operator and hop representations.
        epochs: Most passes over the training questions.
        batch_size: Questions per step.
        lr: Adam's learning rate.
        patience: Epochs without a better validation Hits@1 before stopping.
        seed: Seeds initialisation and shuffling.
    """

    hops: int = 3
    hidden: int = 256
    epochs: int = 40
    batch_size: int = 64
    lr: float = 3e-3
    patience: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("hops", "hidden", "epochs", "batch_size", "patience"):
            v = getattr(self, name)
            if type(v) is not int or v < 1:
                raise NesyError(f"qa config: {name} must be a positive integer, got {v!r}")
        if not 1 <= self.hops <= 4:
            raise NesyError(f"qa config: hops must be 1..4, got {self.hops}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise NesyError(f"qa config: lr must be > 0, got {self.lr!r}")


class PathAttention(torch.nn.Module):
    """Per-hop attention over operators from a question vector.

    Args:
        op_text: float (K, d) encoder vectors of the operators' words (identity: any row).
        q_dim: Size of the question vector.
        hidden: Size of the representations.
        hops: T.
    """

    def __init__(self, op_text: torch.Tensor, q_dim: int, hidden: int = 256, hops: int = 3) -> None:
        super().__init__()
        K, d = op_text.shape
        self.register_buffer("op_text", op_text.float().clone())
        self.op_proj = torch.nn.Linear(d, hidden)
        self.op_emb = torch.nn.Embedding(K, hidden)
        torch.nn.init.normal_(self.op_emb.weight, std=0.02)
        self.hop_layers = torch.nn.ModuleList(torch.nn.Linear(q_dim + hidden, hidden) for _ in range(hops))
        self.hops, self.hidden = hops, hidden

    def forward(self, q: torch.Tensor, usable: torch.Tensor | None = None) -> torch.Tensor:
        """Attention float (b, T, K) of question vectors q float (b, d); ``usable`` bool (K,)
        masks operators without edges."""
        ops = self.op_proj(self.op_text) + self.op_emb.weight               # (K, h)
        prev = q.new_zeros(len(q), self.hidden)
        out = []
        for layer in self.hop_layers:
            h = torch.tanh(layer(torch.cat([q, prev], 1)))                  # (b, h)
            logits = h @ ops.t() / math.sqrt(self.hidden) * 4.0
            if usable is not None:
                logits = logits.masked_fill(~usable, -math.inf)
            a = torch.softmax(logits, -1)
            prev = a @ ops                                                  # expected operator
            out.append(a)
        return torch.stack(out, 1)


class Walker:
    """TensorLog propagation over a :class:`QAGraph` as flat edge lists (identity included).

    ``walk(a, topics)``: a float (b, T, K), topics int64 (b,) -> answer distribution (b, E).
    """

    def __init__(self, graph: QAGraph) -> None:
        E, R = graph.num_entities, graph.num_relations
        ar = np.arange(E)
        self.src = torch.from_numpy(np.concatenate([graph.src, graph.dst, ar])).long()
        self.dst = torch.from_numpy(np.concatenate([graph.dst, graph.src, ar])).long()
        self.op = torch.from_numpy(np.concatenate([graph.rel, graph.rel + R, np.full(E, 2 * R)])).long()
        # Each operator is row-normalised (an entity's edges of one operator share its mass),
        # so the mass a step sends through operator k is a_k wherever k has edges: the same
        # quantity the decoding beam renormalises, not one inflated by fan-out.
        K = graph.num_operators
        key = self.src * K + self.op
        degree = torch.bincount(key, minlength=E * K)[key].float()
        self.w = torch.from_numpy(np.concatenate([graph.score, graph.score, np.ones(E)])).float() / degree
        self.E = E
        self.usable = torch.bincount(self.op, minlength=graph.num_operators) > 0

    def walk(self, a: torch.Tensor, topics: torch.Tensor) -> torch.Tensor:
        v = torch.zeros(len(topics), self.E)
        v[torch.arange(len(topics)), topics] = 1.0
        for t in range(a.shape[1]):
            msg = v[:, self.src] * a[:, t, :][:, self.op] * self.w              # (b, nnz)
            v = torch.zeros_like(v).index_add_(1, self.dst, msg)
            v = v / v.sum(1, keepdim=True).clamp_min(1e-12)
        return v


def train_model(graph: QAGraph, op_text: torch.Tensor, q: torch.Tensor, topics: np.ndarray,
                gold: list[np.ndarray], config: QAConfig, *, valid: tuple[Any, Any, Any] | None = None,
                progress: Any = None) -> tuple[PathAttention, dict[str, Any]]:
    """Fit a :class:`PathAttention` on questions with known answers.

    Args:
        graph: The graph walked.  op_text: float (K, d) operator text vectors.
        q: float (n, d) masked-question vectors.  topics: int64 (n,) topic entities.
        gold: Per question, the compact ids of its answers.
        valid: ``(q, topics, gold)`` of held-out questions: early stopping on their Hits@1
            (argmax of the walk's distribution).
        progress: Called with a dict after each epoch.

    Returns:
        The model (best on validation, eval mode) and ``history``, ``epochs``, ``seconds``.
    """
    torch.manual_seed(config.seed)
    start = time.perf_counter()
    walker = Walker(graph)
    model = PathAttention(op_text, q.shape[1], config.hidden, config.hops)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    n, E = len(q), graph.num_entities
    gen = torch.Generator().manual_seed(config.seed)
    topics_t = torch.from_numpy(np.asarray(topics, dtype=np.int64))
    history: list[dict[str, Any]] = []
    best, best_state, stale = -1.0, None, 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        losses = []
        for idx in torch.randperm(n, generator=gen).split(config.batch_size):
            target = torch.zeros(len(idx), E)
            for row, i in enumerate(idx.tolist()):
                target[row, torch.from_numpy(gold[i])] = 1.0
            v = walker.walk(model(q[idx], walker.usable), topics_t[idx])
            loss = -torch.log((v * target).sum(1) + 1e-9).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        entry: dict[str, Any] = {"epoch": epoch, "loss": float(np.mean(losses)),
                                 "seconds": time.perf_counter() - start}
        if valid is not None and len(valid[0]):
            entry["valid_hits@1"] = soft_hits(model, walker, *valid)
            if entry["valid_hits@1"] > best:
                best, stale = entry["valid_hits@1"], 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
        history.append(entry)
        if progress is not None:
            progress(entry)
        if stale >= config.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval(), {"history": history, "epochs": len(history), "seconds": time.perf_counter() - start}


def soft_hits(model: PathAttention, walker: Walker, q: torch.Tensor, topics: np.ndarray,
              gold: list[np.ndarray]) -> float:
    """Hits@1 of the walk's argmax (ties: the lowest id) on questions with gold answers."""
    with torch.no_grad():
        v = walker.walk(model(q, walker.usable), torch.from_numpy(np.asarray(topics, dtype=np.int64)))
    top = v.argmax(1).numpy()
    return float(np.mean([t in g for t, g in zip(top.tolist(), gold, strict=True)])) if len(gold) else 0.0


# -- checkpoint ----------------------------------------------------------------------------------
def save_model(directory: str | os.PathLike[str], model: PathAttention, meta: dict[str, Any]) -> Path:
    """Write ``qa.safetensors`` and ``qa.json`` (meta: relations, encoder, config...) atomically."""
    return write_pair(directory, model.state_dict(), {"format": FORMAT, "version": 1, **meta},
                      weights=WEIGHTS, description=DESCRIPTION, what="QA model")


def load_model(directory: str | os.PathLike[str]) -> tuple[PathAttention, dict[str, Any]]:
    """The model and meta saved by :func:`save_model` (safetensors, never unpickled)."""
    state, meta = read_pair(directory, FORMAT, weights=WEIGHTS, description=DESCRIPTION, what="QA model")
    try:
        cfg = QAConfig(**meta["config"])
        model = PathAttention(state["op_text"], int(meta["q_dim"]), cfg.hidden, cfg.hops)
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # noqa: BLE001 - torch and the config raise many types; all mean "corrupt"
        raise LoadError(f"cannot rebuild the QA model: {exc}", file=str(Path(directory) / WEIGHTS)) from None
    return model.eval(), meta


def config_dict(config: QAConfig) -> dict[str, Any]:
    """The config as JSON-ready dict."""
    return asdict(config)
