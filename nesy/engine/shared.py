"""What the reasoner's evaluators share: the vocabulary, the id space, the clock and the limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nesy.engine.compile import Key
from nesy.engine.limits import Limits, Watch
from nesy.engine.relation import Interner, Relation
from nesy.engine.semirings import Semiring


def key_arity(key: Key) -> int:
    """Number of columns of the relation for ``key``."""
    tag = key[0]
    if tag == "p":
        return key[2]
    if tag == "c":
        return 1
    if tag == "n":
        return 2
    if tag == "mg":
        return key[2].count("b")
    return key_arity(key[1])


@dataclass
class Shared:
    """State shared by the main evaluator and query-time ones (ids, clock, settings)."""

    vocab: Any
    registry: Any
    semiring: Semiring
    limits: Limits
    namer: Callable[[Key], str]
    interner: Interner = field(default_factory=Interner)
    clock: int = 1
    next_rel: int = 0
    link_predictor: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None
    #: The limits of the call now running (set by the reasoner around each call).
    watch: Watch | None = None

    @property
    def max_facts(self) -> int:
        return self.watch_now().limits.max_facts

    @property
    def max_iterations(self) -> int:
        return self.watch_now().limits.max_iterations

    def watch_now(self) -> Watch:
        """The running call's watch; one over the default limits outside a reasoner call."""
        if self.watch is None:
            self.watch = Watch(self.limits, "evaluation")
        return self.watch

    def tick(self) -> int:
        """Start a new round and return its stamp."""
        self.clock += 1
        return self.clock

    def new_relation(self, key: Key, owner: object = None) -> Relation:
        """A fresh, empty relation for ``key`` with a new id."""
        self.next_rel += 1
        return Relation(self.next_rel, key, key_arity(key), self.interner, owner)


__all__ = ["Shared", "key_arity"]
