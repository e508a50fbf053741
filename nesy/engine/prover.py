"""Proofs of many facts of one model: located in the model in bulk, built by one proof builder.

A SPARQL result explains each row by the proofs of the derived triples it matched; asked
one by one, every triple paid a lookup of its own and a fresh builder, and rows that share
a sub-proof built it again. A :class:`Prover` looks up all the facts it is told about at
once (one vectorised lookup per predicate) and builds their proofs with one
:class:`~nesy.engine.explain.ProofBuilder`, so shared sub-proofs are built once and are
the same nodes. When the model changes between two proofs, it starts a new builder, and a
fact looked up before the change is looked up again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from nesy.engine.explain import ProofBuilder
from nesy.engine.proofdata import ProofWriter
from nesy.engine.proofjson import ProofSerializer
from nesy.engine.proofs import Proof

if TYPE_CHECKING:
    from nesy.engine.reasoner import Reasoner

Fact = tuple[int, tuple[int, ...]]


class Prover:
    """``prover(pred, row)`` is ``reasoner.proof(pred, row)``, sharing the work between calls.

    Args:
        reasoner: The reasoner whose model the facts are in.
        new_builder: A proof builder for the reasoner's current model.
    """

    def __init__(self, reasoner: Reasoner, new_builder: Callable[[], ProofBuilder]) -> None:
        self.reasoner = reasoner
        self.new_builder = new_builder
        self.builder: ProofBuilder | None = None
        self.found: dict[Fact, tuple[Any, int]] = {}
        self.writers: dict[int, tuple[ProofSerializer, ProofWriter]] = {}

    def prefetch(self, facts: Iterable[Fact]) -> None:
        """Look up where these facts are in the model, all at once (those that do not hold
        are left to :meth:`__call__`, which raises as :meth:`Reasoner.proof` does)."""
        by_pred: dict[tuple[int, int], list[tuple[int, ...]]] = {}
        for pred, row in facts:
            if (pred, row) not in self.found:
                by_pred.setdefault((pred, len(row)), []).append(row)
        if not by_pred:
            return
        with self.reasoner.limited("proof"):
            for (pred, _), rows in by_pred.items():
                unique = list(dict.fromkeys(rows))
                where = self.reasoner.locate(pred, np.asarray(unique, dtype=np.int64))
                self.found.update(((pred, row), hit) for row, hit in zip(unique, where, strict=True) if hit is not None)
        if self.builder is None:
            self.builder, self.writers = self.new_builder(), {}

    def locate(self, pred: int, row: tuple[int, ...]) -> tuple[ProofBuilder, Any, int]:
        """A builder for the current model and where ``pred(row)`` is in it (QueryError
        when it does not hold)."""
        hit = self.found.get((pred, row))
        if hit is None or self.builder is None or not self.builder.knows(hit[0]):
            # Not looked up yet, or looked up in a model that has changed since.
            with self.reasoner.limited("proof"):
                hit = self.reasoner.locate_one(pred, row)
            self.found[(pred, row)] = hit
        if self.builder is None or not self.builder.knows(hit[0]):
            self.builder, self.writers = self.new_builder(), {}
        return self.builder, hit[0], hit[1]

    def __call__(self, pred: int, row: tuple[int, ...]) -> Proof:
        """The best proof of ``pred(row)`` (ids); QueryError when it does not hold."""
        builder, rel, at = self.locate(pred, row)
        return builder.fact(rel, at)

    def write(self, pred: int, row: tuple[int, ...], ser: ProofSerializer) -> dict[str, Any]:
        """``self(pred, row)`` as the dict ``ser`` would write, written from the records
        (:class:`~nesy.engine.proofdata.ProofWriter`, one per serialiser)."""
        builder, rel, at = self.locate(pred, row)
        got = self.writers.get(id(ser))
        if got is None:  # the serialiser is kept with its writer, so its id stays its own
            got = self.writers[id(ser)] = (ser, ProofWriter(builder, ser))
        return dict(got[1].node(rel, at))


__all__ = ["Prover"]
