"""Knowledge-graph embedding models behind one interface, and looking them up by name.

Every model scores tails only (1-N): training adds reciprocal relations, so a model built with
``num_relations = 2R`` answers the head query ``(?, r, t)`` as the tail query ``(t, r + R, ?)``.
The four shallow models wrap :mod:`torch_geometric.nn.kge` (their embedding tables *are* the
parameters), adding a vectorised :meth:`KGEModel.score_t` that ranks the same way as PyG's
``forward``. ``"rgcn"`` lives in :mod:`nesy.linkpred.gnn`. Models are named in the one registry
(kind ``kge_model``): the built-ins lazily by :mod:`nesy.plugins.builtins`, others by plugins.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import kge as pyg_kge

from nesy.errors import NesyError
from nesy.plugins.registry import Registry, normalize_name, resolve, shared_registry

#: The registry kind of link-prediction models.
KIND = "kge_model"


def register_model(name: str) -> Callable[[type[KGEModel]], type[KGEModel]]:
    """Class decorator: make a :class:`KGEModel` subclass buildable by ``name`` (in the
    process-wide registry; a plugin's ``register(registry)`` may instead call
    ``registry.add("kge_model", name, cls)`` or ``registry.add_lazy(...)``).

    Raises:
        NesyError: ``name`` already names a different class.
    """

    def decorate(cls: type[KGEModel]) -> type[KGEModel]:
        registry = shared_registry()
        old = registry.lookup(KIND, name)
        if old is not None and old.target.split(":")[-1] != cls.__qualname__:
            raise NesyError(f"KGE model name {name!r} is already registered by {old.target}")
        cls.name = name
        registry.add(KIND, name, cls)
        return cls

    return decorate


def get_model_class(name: str, registry: Registry | None = None) -> type[KGEModel]:
    """The model class registered as ``name`` (case, ``-`` and ``_`` do not matter).

    Args:
        name: A built-in (``transe``, ``distmult``, ``complex``, ``rotate``, ``rgcn``) or a
            plugin's model.
        registry: Where to look (default: the process-wide registry).

    Raises:
        NesyError: unknown name (the message lists the known ones and the closest), or a
            registered object that is not a :class:`KGEModel` subclass.
    """
    entry = (registry if registry is not None else shared_registry()).lookup(KIND, name)
    cls = resolve(KIND, name, registry)
    if not (isinstance(cls, type) and issubclass(cls, KGEModel)):
        raise NesyError(f"link-prediction model {name!r} is not a KGEModel subclass: {cls!r}")
    if entry is not None and "name" not in vars(cls):
        # A plugin class registered without its own name (or inheriting a built-in's):
        # configs and checkpoints must name it as registered.
        cls.name = normalize_name(KIND, entry.name)
    return cls


def model_names() -> list[str]:
    """Sorted names of every registered model (nothing is imported)."""
    return shared_registry().names(KIND)


class KGEModel(torch.nn.Module):
    """Base class: a link-prediction model over compact entity and relation ids.

    Args:
        num_entities: E; entities are ``0..E-1``.
        num_relations: relation types including reciprocals (2R when training adds them).
        dim: embedding size.
        **options: model-specific keyword arguments, kept for :meth:`config`.
    """

    name: ClassVar[str] = ""

    def __init__(self, num_entities: int, num_relations: int, dim: int, **options: Any) -> None:
        super().__init__()
        for what, value in (("num_entities", num_entities), ("num_relations", num_relations),
                            ("dim", dim)):
            if not isinstance(value, int) or value < 1:
                raise NesyError(f"{what} must be a positive integer, got {value!r}")
        self.num_entities = num_entities
        self.num_relations = num_relations
        self.dim = dim
        self.options = dict(options)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> KGEModel:
        """Rebuild a model from :meth:`config` output (``cls`` is ignored; ``"model"`` decides).

        Raises:
            NesyError: unknown model name or options it does not take.
        """
        rest = dict(config)
        model_cls = get_model_class(str(rest.pop("model", "")))
        try:
            return model_cls(**rest)
        except TypeError as e:
            raise NesyError(f"bad configuration for model {model_cls.name!r}: {e}") from None

    def forward(self, h: Tensor, r: Tensor, t: Tensor | None = None) -> Tensor:
        """:meth:`score_t` when ``t`` is None, else :meth:`score_hrt` (so DDP can wrap a model)."""
        return self.score_t(h, r) if t is None else self.score_hrt(h, r, t)

    def score_t(self, h: Tensor, r: Tensor) -> Tensor:
        """float (b, num_entities): every entity's score as the tail (higher: more plausible).

        Args:
            h: int64 (b,) heads; r: int64 (b,) relations.
        """
        raise NotImplementedError

    def score_hrt(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        """float (b,): scores of the triples, equal to ``score_t(h, r)[i, t[i]]``.

        Args:
            h: int64 (b,); r: int64 (b,); t: int64 (b,).
        """
        return self.score_t(h, r).gather(1, t.view(-1, 1)).squeeze(1)

    def regularization(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        """Scalar unweighted penalty of a batch (the trainer applies its weight); 0 if none.

        Args:
            h: int64 (b,); r: int64 (b,); t: int64 (b,).
        """
        return next(self.parameters()).new_zeros(())

    def config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments; ``get_model_class(c["model"])(**rest)``."""
        return {"model": self.name, "num_entities": self.num_entities,
                "num_relations": self.num_relations, "dim": self.dim, **self.options}

    def entity_tables(self) -> list[torch.nn.Embedding]:
        """Every embedding table with one row per entity (grown by :meth:`add_entities`)."""
        raise NotImplementedError

    def set_graph(self, edges: Tensor) -> None:
        """Training triples ``edges``: int64 (n, 3), for message passing; shallow models ignore."""

    def add_entities(self, neighbours: list[list[int]]) -> None:
        """Grow every entity table by ``len(neighbours)`` rows.

        New row ``i`` is the mean of the rows ``neighbours[i]`` (existing ids), or a random row
        drawn like the table's current values when the list is empty. Parameters are replaced,
        so an optimizer built before this call must be rebuilt.

        Raises:
            NesyError: a neighbour id is not an existing entity.
        """
        k = len(neighbours)
        bad = sorted({int(i) for ids in neighbours for i in ids
                      if not 0 <= int(i) < self.num_entities})
        if bad:
            raise NesyError(f"neighbour ids {bad} are not entities (0..{self.num_entities - 1})")
        if k == 0:
            return
        for table in self.entity_tables():
            old = table.weight.data
            # Fresh rows follow the table's own spread, so they look like trained rows.
            std = float(old.std()) if old.numel() > 1 else 1.0
            new = torch.randn(k, old.shape[1], dtype=old.dtype, device=old.device) * std
            for i, ids in enumerate(neighbours):
                if ids:
                    idx = torch.as_tensor(list(ids), dtype=torch.long, device=old.device)
                    new[i] = old[idx].mean(0)
            table.weight = torch.nn.Parameter(
                torch.cat([old, new]), requires_grad=table.weight.requires_grad
            )
            table.num_embeddings = table.weight.shape[0]
        self.num_entities += k
        self._entities_added()

    def _entities_added(self) -> None:
        """Hook after :meth:`add_entities` (e.g. keep a wrapped module's counters in step)."""


class _PygModel(KGEModel):
    """A model whose parameters live in a :mod:`torch_geometric.nn.kge` module ``self.kge``."""

    kge: pyg_kge.KGEModel

    def score_hrt(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        return self.kge(h, r, t)

    def entity_tables(self) -> list[torch.nn.Embedding]:
        tables = [self.kge.node_emb]
        if hasattr(self.kge, "node_emb_im"):
            tables.append(self.kge.node_emb_im)
        return tables

    def _entities_added(self) -> None:
        self.kge.num_nodes = self.num_entities


class _ScaledDistance(_PygModel):
    """Distance models: 1-N softmax needs logit gaps wider than the bounded distance gaps."""

    def _init_scale(self, scale: float, learn_scale: bool) -> None:
        if scale <= 0:
            raise NesyError(f"scale must be positive, got {scale}")
        # A monotone rescaling: ranking is PyG's, but the softmax can become sharp.
        self.log_scale = torch.nn.Parameter(
            torch.tensor(math.log(scale)), requires_grad=learn_scale
        )

    def score_hrt(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        return self.log_scale.exp() * self.kge(h, r, t)


class TransE(_ScaledDistance):
    """TransE (PyG): ``scale * -||norm(e_h) + e_r - norm(e_t)||_p``.

    The default is the L2 form. With ``p_norm=1`` entities sit on the unit L1 sphere, whose
    coordinates are about ``1/dim`` (0.005 at dim 200), while Adagrad's first steps move every
    relation coordinate by about ``lr`` (0.1): after one epoch on Neural-LP family the
    relations' L1 norm was 20, ten times the sphere's diameter, so ``e_h + e_r`` lay far from
    every tail, the L1 distance degenerated to a nearly linear function of ``e_t`` with a
    logit spread under 1, and valid MRR stayed at chance (0.018 after 3 epochs). On the unit
    L2 sphere coordinates are about ``1/sqrt(dim)``, the same order as the steps: 0.40 after
    2 epochs, and cdist's matmul path makes each epoch 7x faster.

    Args:
        p_norm: order of the entity normalisation and the distance (2: see above).
        scale: initial logit scale (a monotone transform of PyG's score).
        learn_scale: whether training may adapt the scale.
    """

    name = "transe"

    def __init__(self, num_entities: int, num_relations: int, dim: int, *,
                 p_norm: float = 2.0, scale: float = 10.0, learn_scale: bool = True) -> None:
        super().__init__(num_entities, num_relations, dim, p_norm=p_norm, scale=scale,
                         learn_scale=learn_scale)
        self.kge = pyg_kge.TransE(num_entities, num_relations, dim, p_norm=p_norm)
        self._init_scale(scale, learn_scale)

    def score_t(self, h: Tensor, r: Tensor) -> Tensor:
        p = self.kge.p_norm
        query = F.normalize(self.kge.node_emb(h), p=p, dim=-1) + self.kge.rel_emb(r)
        tails = F.normalize(self.kge.node_emb.weight, p=p, dim=-1)
        return -self.log_scale.exp() * torch.cdist(query, tails, p=p)


class RotatE(_ScaledDistance):
    """RotatE (PyG): ``scale * (margin - ||e_h * e^{i theta_r} - e_t||_2)`` in complex space.

    Args:
        scale: initial logit scale (a monotone transform of PyG's score).
        learn_scale: whether training may adapt the scale.
    """

    name = "rotate"

    def __init__(self, num_entities: int, num_relations: int, dim: int, *,
                 scale: float = 5.0, learn_scale: bool = True) -> None:
        super().__init__(num_entities, num_relations, dim, scale=scale, learn_scale=learn_scale)
        self.kge = pyg_kge.RotatE(num_entities, num_relations, dim)
        # PyG's xavier init shrinks with E; a fixed spread keeps distances informative at start.
        std = 1.0 / math.sqrt(dim)
        torch.nn.init.normal_(self.kge.node_emb.weight, std=std)
        torch.nn.init.normal_(self.kge.node_emb_im.weight, std=std)
        torch.nn.init.uniform_(self.kge.rel_emb.weight, -math.pi, math.pi)
        self._init_scale(scale, learn_scale)

    def score_t(self, h: Tensor, r: Tensor) -> Tensor:
        k = self.kge
        h_re, h_im = k.node_emb(h), k.node_emb_im(h)
        theta = k.rel_emb(r)
        c, s = torch.cos(theta), torch.sin(theta)
        query = torch.cat([c * h_re - s * h_im, c * h_im + s * h_re], dim=-1)
        tails = torch.cat([k.node_emb.weight, k.node_emb_im.weight], dim=-1)
        # cdist's matmul path (large batches) is fast and agrees with PyG to float32 rounding.
        return self.log_scale.exp() * (k.margin - torch.cdist(query, tails, p=2.0))


def n3_penalty(*parts: Tensor) -> Tensor:
    """N3 (Lacroix et al. 2018): mean over the batch of summed cubed moduli.

    Args:
        parts: float (b, d) moduli (or absolute values) of each factor.
    """
    return sum(p.abs().pow(3).sum(-1) for p in parts).mean()


def init_normal(std: float, *tables: torch.nn.Embedding) -> None:
    """Draw every table's weights from N(0, std) (PyG's xavier default shrinks with E)."""
    for table in tables:
        torch.nn.init.normal_(table.weight, std=std)


class DistMult(_PygModel):
    """DistMult (PyG): ``<e_h, e_r, e_t>``; N3 regularisation.

    Args:
        init_std: standard deviation of the normal initialisation (xavier shrinks with E).
    """

    name = "distmult"

    def __init__(self, num_entities: int, num_relations: int, dim: int, *,
                 init_std: float = 0.1) -> None:
        super().__init__(num_entities, num_relations, dim, init_std=init_std)
        self.kge = pyg_kge.DistMult(num_entities, num_relations, dim)
        init_normal(init_std, self.kge.node_emb, self.kge.rel_emb)

    def score_t(self, h: Tensor, r: Tensor) -> Tensor:
        return (self.kge.node_emb(h) * self.kge.rel_emb(r)) @ self.kge.node_emb.weight.T

    def regularization(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        k = self.kge
        return n3_penalty(k.node_emb(h), k.rel_emb(r), k.node_emb(t))


class ComplEx(_PygModel):
    """ComplEx (PyG): ``Re(<e_h, e_r, conj(e_t)>)``; N3 regularisation on complex moduli.

    Args:
        init_std: standard deviation of the normal initialisation (xavier shrinks with E).
    """

    name = "complex"

    def __init__(self, num_entities: int, num_relations: int, dim: int, *,
                 init_std: float = 0.1) -> None:
        super().__init__(num_entities, num_relations, dim, init_std=init_std)
        self.kge = pyg_kge.ComplEx(num_entities, num_relations, dim)
        init_normal(init_std, self.kge.node_emb, self.kge.node_emb_im, self.kge.rel_emb,
                    self.kge.rel_emb_im)

    def score_t(self, h: Tensor, r: Tensor) -> Tensor:
        k = self.kge
        h_re, h_im, r_re, r_im = k.node_emb(h), k.node_emb_im(h), k.rel_emb(r), k.rel_emb_im(r)
        # Re(h r conj(t)) is linear in (t_re, t_im): one matmul against all entities.
        query = torch.cat([h_re * r_re - h_im * r_im, h_im * r_re + h_re * r_im], dim=-1)
        return query @ torch.cat([k.node_emb.weight, k.node_emb_im.weight], dim=-1).T

    def regularization(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        k = self.kge
        # The epsilon keeps the modulus differentiable at 0.
        return n3_penalty(*(torch.sqrt(re(i) ** 2 + im(i) ** 2 + 1e-12) for re, im, i in (
            (k.node_emb, k.node_emb_im, h), (k.rel_emb, k.rel_emb_im, r),
            (k.node_emb, k.node_emb_im, t))))
