"""Learn chain rules with a differentiable rule learner (TensorLog operators, Neural LP / DRUM).

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
import sys
import time
import warnings
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from nesy.errors import NesyError
from nesy.ml.devices import resolve_device
from nesy.linkpred.train import _as_triples, seed_everything

_EPS = 1e-12


@dataclass
class LearnConfig:
    """Hyperparameters of :func:`learn`; the defaults learn Neural-LP's family split well.

    Checked there (graph = facts + train, each batch's own facts hidden, as Neural LP trains):
    10 epochs in 73 s on one thread of a busy 2-core machine, filtered valid MRR 0.858 from
    the chain scores, test MRR 0.935 (realistic ties) from the 20 decoded rules per relation.
    lr 0.1 or dim 128 learned worse (valid 0.68, 0.69 after 4 epochs, against 0.79 at 0.02).

    Attributes:
        max_len: T, the most body atoms a rule has (1..6).
        rank: Parallel chains per query relation (DRUM's rank).
        dim: Size of the query representation the controller reads.
        epochs: Maximum passes over the training queries.
        batch_size: Queries per step (a batch holds one query relation).
        lr: Adam's learning rate.
        seed: Seeds initialisation and shuffling.
        device: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
        use_kge: Use ``relation_features["kge"]`` when given.
        use_text: Use ``relation_features["text"]`` when given.
        user_rule_init: Initial weight (0..1) of each user rule.
        patience: Evaluations without a better valid MRR before stopping.
        eval_every: Epochs between evaluations on valid.
        threads: CPU threads while learning (0: torch's setting). One is the default: the
            sparse products of a graph like family take milliseconds, and a second thread
            on a busy machine made them ten times slower.
    """

    max_len: int = 3
    rank: int = 3
    dim: int = 32
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.02
    seed: int = 0
    device: str = "auto"
    use_kge: bool = True
    use_text: bool = True
    user_rule_init: float = 0.5
    patience: int = 2
    eval_every: int = 1
    threads: int = 1

    def __post_init__(self) -> None:
        def pos(v: Any) -> bool:
            return type(v) is int and v >= 1

        checks: dict[str, tuple[Any, str]] = {
            "max_len": (lambda v: type(v) is int and 1 <= v <= 6, "an integer in 1..6"),
            **{n: (pos, "a positive integer") for n in
               ("rank", "dim", "epochs", "batch_size", "patience", "eval_every")},
            "lr": (lambda v: isinstance(v, (int, float)) and v > 0, "> 0"),
            "seed": (lambda v: type(v) is int, "an integer"),
            "threads": (lambda v: type(v) is int and v >= 0, "an integer >= 0"),
            "device": (lambda v: isinstance(v, str), "a device name"),
            "use_kge": (lambda v: isinstance(v, bool), "true or false"),
            "use_text": (lambda v: isinstance(v, bool), "true or false"),
            "user_rule_init": (lambda v: isinstance(v, (int, float)) and 0 < v < 1,
                               "strictly between 0 and 1"),
        }
        for name, (ok, want) in checks.items():
            if not ok(getattr(self, name)):
                raise NesyError(f"learn config: {name} must be {want}, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy of the fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnConfig:
        """Build from :meth:`to_dict` output; missing keys take defaults, unknown keys fail."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise NesyError(f"learn config: unknown option(s) {', '.join(unknown)}; known: "
                            f"{', '.join(f.name for f in fields(cls))}")
        return cls(**data)


@dataclass
class LearnResult:
    """What :func:`learn` returns: the best model (CPU, eval mode), per-evaluation history
    (epoch, loss, valid_mrr, seconds), its filtered valid MRR (None without valid), wall time."""

    model: RuleLearner
    history: list[dict[str, Any]]
    best_valid_mrr: float | None
    seconds: float


class _Propagate(torch.autograd.Function):
    """``out = A v`` with ``A = sum_k a_k M_k`` sparse; the gradient of ``a`` without per-edge work."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, v: Tensor, model: RuleLearner, scale: Tensor) -> Tensor:
        ctx.save_for_backward(a, v, scale)
        ctx.model = model
        return model._mix(a, scale, transpose=False) @ v

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        a, v, scale = ctx.saved_tensors
        m: RuleLearner = ctx.model
        grad_v = m._mix(a, scale, transpose=True) @ grad if ctx.needs_input_grad[1] else None
        grad_a = None
        if ctx.needs_input_grad[0]:
            # d loss / d a_k = sum over k's edges (x -> y) of scale * <grad[y], v[x]>: one
            # sampled dense-dense product gives every edge's dot at once.
            mask = m._mix(torch.ones_like(a), scale, transpose=False)
            try:
                dots = torch.sparse.sampled_addmm(mask, grad, v.t(), beta=0.0).values()
            except RuntimeError:
                # Two relations on one entity pair give the mask duplicate entries, which
                # sampled_addmm refuses; then take each edge's dot product directly.
                crow, col = mask.crow_indices(), mask.col_indices()
                row = torch.repeat_interleave(torch.arange(len(crow) - 1), crow[1:] - crow[:-1])
                dots = (grad[row] * v[col]).sum(-1)
            grad_a = torch.zeros_like(a).index_add(0, m.op_dst, dots * scale[m.by_dst])
        return grad_a, grad_v, None, None


def _csr(crow: Tensor, col: Tensor, values: Tensor, size: tuple[int, int]) -> Tensor:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
        return torch.sparse_csr_tensor(crow, col, values, size, check_invariants=False)


def _crow(rows: Tensor, n: int) -> Tensor:
    """CSR row pointers of sorted row ids ``rows`` int64 (nnz,) for ``n`` rows."""
    return torch.cat([rows.new_zeros(1), torch.cumsum(torch.bincount(rows, minlength=n), 0)])


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
        keys = torch.unique(torch.as_tensor(_as_triples("graph", graph, E, R))
                            @ torch.tensor([R * E, E, 1]))  # sorted, duplicates dropped
        g = torch.stack([keys // E // R, keys // E % R, keys % E], 1)
        n = len(g)
        self.num_operators = 4 * R + 1 if soft_edges else 2 * R + 1
        src = [g[:, 0], g[:, 2], torch.arange(E)]
        dst = [g[:, 2], g[:, 0], torch.arange(E)]
        op = [g[:, 1], g[:, 1] + R, torch.full((E,), 2 * R)]
        prior = [torch.ones(2 * n + E)]
        for r, (pairs, probs) in sorted((soft_edges or {}).items()):
            if not 0 <= int(r) < R:
                raise NesyError(f"soft edges for relation {r}: ids are 0..{R - 1}")
            pairs = torch.as_tensor(np.asarray(pairs, dtype=np.int64)).reshape(-1, 2)
            p = torch.as_tensor(np.asarray(probs, dtype=np.float32)).reshape(-1)
            if len(p) != len(pairs) or (len(pairs) and (pairs.min() < 0 or pairs.max() >= E)):
                raise NesyError(f"soft edges for relation {r}: want pairs (k, 2) of entity ids "
                                f"0..{E - 1} and k probabilities")
            src += [pairs[:, 0], pairs[:, 1]]
            dst += [pairs[:, 1], pairs[:, 0]]
            op += [torch.full((len(p),), 2 * R + 1 + 2 * int(r)),
                   torch.full((len(p),), 2 * R + 2 + 2 * int(r))]
            prior += [p.clamp(0, 1), p.clamp(0, 1)]
        src, dst, op, prior = (torch.cat(x) for x in (src, dst, op, prior))
        K = self.num_operators
        by_dst = torch.argsort(dst * E + src)
        by_src = torch.argsort(src * E + dst)
        buffers = {"graph": g, "src": src, "dst": dst, "op": op, "prior": prior,
                   "by_dst": by_dst, "by_src": by_src, "crow_dst": _crow(dst[by_dst], E),
                   "crow_src": _crow(src[by_src], E), "col_dst": src[by_dst],
                   "col_src": dst[by_src], "op_dst": op[by_dst], "op_src": op[by_src],
                   "fact_keys": keys,
                   "usable": torch.bincount(op, minlength=K) > 0}
        for name, value in buffers.items():
            self.register_buffer(name, value, persistent=False)

        self.embedding = torch.nn.Embedding(2 * R, dim)
        self.features = torch.nn.ModuleDict()
        self.gates = torch.nn.ParameterDict()
        for name, feat in (relation_features or {}).items():
            if name not in ("kge", "text"):
                raise NesyError(f"unknown relation feature {name!r}; known: kge, text")
            feat = torch.as_tensor(feat, dtype=torch.float32)
            if feat.dim() != 2 or feat.shape[0] != 2 * R:
                raise NesyError(f"relation feature {name!r} must be float (2R={2 * R}, d), "
                                f"got {tuple(feat.shape)}")
            self.register_buffer(f"feature_{name}", feat, persistent=False)
            self.features[name] = torch.nn.Linear(feat.shape[1], dim)
            self.gates[name] = torch.nn.Parameter(torch.zeros(1))
        self.controller = torch.nn.Linear(dim, max_len * rank * K)
        self.user_paths: list[tuple[int, tuple[int, ...]]] = []
        for q, paths in sorted((user_paths or {}).items()):
            for path in paths:
                self.user_paths.append((int(q), self._check_path(int(q), path)))
        logit = math.log(user_rule_init / (1 - user_rule_init))
        self.user_logits = torch.nn.Parameter(torch.full((len(self.user_paths),), logit))

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

    def _mix(self, a: Tensor, scale: Tensor, transpose: bool) -> Tensor:
        """CSR of ``sum_k a_k M_k`` (rows: targets) or its transpose; a: (K,), scale: (nnz,)."""
        E = self.num_entities
        crow, col, op, perm = ((self.crow_src, self.col_src, self.op_src, self.by_src) if transpose
                               else (self.crow_dst, self.col_dst, self.op_dst, self.by_dst))
        return _csr(crow, col, a.index_select(0, op) * scale.index_select(0, perm), (E, E))

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
            v = _Propagate.apply(a, v, self, scale)
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


def _queries(triples: np.ndarray, R: int) -> Tensor:
    """int64 (2n, 4): (h, q, answer, row of the triple) for both directions of ``triples``."""
    t = torch.from_numpy(np.ascontiguousarray(triples))
    row = torch.arange(len(t))
    return torch.cat([torch.stack([t[:, 0], t[:, 1], t[:, 2], row], 1),
                      torch.stack([t[:, 2], t[:, 1] + R, t[:, 0], row], 1)])


def _batches(queries: Tensor, size: int, gen: torch.Generator | None) -> list[Tensor]:
    """Batches of ``queries`` (m, 4) of one query relation each; shuffled when ``gen`` given."""
    if gen is not None:
        queries = queries[torch.randperm(len(queries), generator=gen)]
    queries = queries[torch.sort(queries[:, 1], stable=True).indices]
    out = []
    for q_rows in torch.split(queries, torch.unique_consecutive(queries[:, 1],
                                                                return_counts=True)[1].tolist()):
        out += list(torch.split(q_rows, size))
    if gen is not None:
        out = [out[i] for i in torch.randperm(len(out), generator=gen).tolist()]
    return out


def valid_mrr(model: RuleLearner, triples: Any, known: Any, batch_size: int = 256) -> float:
    """Filtered MRR (realistic ties, both directions) of ``model`` on ``triples`` (n, 3)."""
    from nesy.ml.ranking import _AnswerIndex, filtered_ranks

    R, E = model.num_relations, model.num_entities
    arr = np.asarray(triples, dtype=np.int64).reshape(-1, 3)
    index = _AnswerIndex(np.concatenate([np.asarray(known).reshape(-1, 3), arr]), 2 * R, R)
    dev = model.src.device
    ranks = []
    with torch.no_grad():
        for batch in _batches(_queries(arr, R), batch_size, None):
            h, q, a = batch[:, 0], batch[:, 1], batch[:, 2]
            scores = model(h.to(dev), q.to(dev)).cpu()
            mask = index.mask(h.numpy(), q.numpy(), E)
            ranks.append(filtered_ranks(scores, a, mask)[2])
    return float((1.0 / torch.cat(ranks)).mean()) if ranks else 0.0


def learn(
    graph: Any, train: Any, num_entities: int, num_relations: int,
    config: LearnConfig | None = None, *, valid: Any = None, known: Any = None,
    relations: list[int] | None = None, relation_features: dict[str, Any] | None = None,
    user_paths: dict[int, list[list[int]]] | None = None,
    soft_edges: dict[int, tuple[Any, Any]] | None = None, progress: bool = True,
) -> LearnResult:
    """Learn rule attention from training queries over a graph.

    Every train triple (h, r, t) gives the queries (h, r) -> t and (t, r + R) -> h; a train
    triple that is also a graph fact is hidden while its batch is scored, so ``train`` may be
    the graph itself. Loss: -log of the target's probability; Adam; early stopping on the
    filtered valid MRR.

    Args:
        graph: int64 (n, 3) facts the rules walk over.
        train: int64 (m, 3) training triples.
        num_entities: E.  num_relations: R (base).
        config: Hyperparameters (``LearnConfig()`` when omitted).
        valid: int64 (k, 3) triples for early stopping (those of learned relations are used).
        known: int64 (j, 3) true triples to filter when ranking valid; graph + train by default.
        relations: The base relations to learn rules for; all that have training triples by
            default. Each must have training triples.
        relation_features: ``"kge"`` / ``"text"``: float (2R, d) (see :class:`RuleLearner`).
        user_paths: query relation -> operator paths of the user's rules.
        soft_edges: base relation -> (int64 (k, 2), float (k,)) link-predictor edges.
        progress: Show a tqdm bar (only on a terminal).

    Raises:
        NesyError: bad ids or shapes, a relation without training triples, a user path longer
            than ``max_len``.
    """
    config = config or LearnConfig()
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _learn(graph, train, num_entities, num_relations, config, valid, known, relations,
                      relation_features, user_paths, soft_edges, progress)
    finally:
        torch.set_num_threads(threads)


def _learn(
    graph: Any, train: Any, num_entities: int, num_relations: int, config: LearnConfig,
    valid: Any, known: Any, relations: list[int] | None, relation_features: Any,
    user_paths: Any, soft_edges: Any, progress: bool,
) -> LearnResult:
    start = time.perf_counter()
    E, R = num_entities, num_relations
    graph_arr = _as_triples("graph", graph, E, R)
    train_arr = _as_triples("training", train, E, R)
    have = set(np.unique(train_arr[:, 1]).tolist())
    if relations is None:
        relations = sorted(have)
    missing = [r for r in relations if r not in have]
    if missing or not relations:
        raise NesyError(f"no training triples for relation(s) {missing}: rules are learned only "
                        "for relations with examples" if missing else "no training triples")
    train_arr = train_arr[np.isin(train_arr[:, 1], relations)]
    valid_arr = None if valid is None else _as_triples("valid", valid, E, R)
    if valid_arr is not None:
        valid_arr = valid_arr[np.isin(valid_arr[:, 1], relations)]
    known_arr = np.concatenate([graph_arr, train_arr] if known is None
                               else [_as_triples("known", known, E, R)])
    features = {k: v for k, v in (relation_features or {}).items()
                if (k != "kge" or config.use_kge) and (k != "text" or config.use_text)}
    device = resolve_device(config.device)
    seed_everything(config.seed)
    model = RuleLearner(graph_arr, E, R, max_len=config.max_len, rank=config.rank,
                        dim=config.dim, relation_features=features, user_paths=user_paths,
                        user_rule_init=config.user_rule_init, soft_edges=soft_edges).to(device)
    model.register_buffer("train_triples", torch.from_numpy(train_arr), persistent=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    queries, train_t = _queries(train_arr, R), torch.from_numpy(train_arr)
    gen = torch.Generator().manual_seed(config.seed)
    show = progress and getattr(sys.stderr, "isatty", lambda: False)()
    bar = tqdm(total=config.epochs, desc="learn rules", unit="epoch", disable=not show)
    history: list[dict[str, Any]] = []
    best_mrr, best_state, stale = None, None, 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        losses = []
        for batch in _batches(queries, config.batch_size, gen):
            batch = batch.to(device)
            p = model.target_scores(batch[:, 0], batch[:, 1], batch[:, 2],
                                    hide=train_t[batch[:, 3].cpu()].to(device))
            loss = -torch.log(p.clamp_min(1e-10)).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        loss_mean = float(np.mean(losses))
        if not math.isfinite(loss_mean):
            raise NesyError("rule learning diverged (loss is not finite); lower lr")
        bar.update(1)
        bar.set_postfix(loss=f"{loss_mean:.4f}", best_mrr=best_mrr)
        if epoch % config.eval_every and epoch != config.epochs:
            continue
        model.eval()
        mrr = valid_mrr(model, valid_arr, known_arr) if valid_arr is not None and len(
            valid_arr) else None
        history.append({"epoch": epoch, "loss": loss_mean, "valid_mrr": mrr,
                        "seconds": time.perf_counter() - start})
        if mrr is None:
            continue
        if best_mrr is None or mrr > best_mrr:
            best_mrr, stale = mrr, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        bar.set_postfix(loss=f"{loss_mean:.4f}", best_mrr=best_mrr)
        if stale >= config.patience:
            bar.total = epoch
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.cpu().eval()
    return LearnResult(model, history, best_mrr, time.perf_counter() - start)
