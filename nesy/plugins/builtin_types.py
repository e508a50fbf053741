"""The values of the rule language's built-ins: predicates computed by code, aggregate functions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rdflib import URIRef

from nesy.errors import PluginError
from nesy.namespaces import NESY_NS

#: Namespace of the built-in predicates (prefix ``nesy:`` is always declared).
NESY = NESY_NS


@dataclass(frozen=True)
class BuiltinPredicate:
    """A predicate computed by Python code instead of stored facts.

    Attributes:
        name: The predicate IRI.
        arity: Number of arguments.
        fn: Called once per binding as ``fn(*args)`` where each argument is an rdflib
            term, or ``None`` where the argument is an unbound variable. It returns an
            iterable of complete argument tuples (rdflib terms, or Python values that
            become literals) that make the atom true; for a pure test return ``[args]``
            or ``[]``.
        inputs: Indices of the arguments that must be bound before the call.
        doc: One line for ``:help`` and the docs.
    """

    name: URIRef
    arity: int
    fn: Callable[..., Iterable[tuple[Any, ...]]]
    inputs: tuple[int, ...]
    doc: str = ""


@dataclass(frozen=True)
class Aggregator:
    """An aggregate function over groups.

    Attributes:
        name: ``count``, ``sum``, ...
        fn: ``fn(values, groups, n_groups) -> (result, defined)`` where ``values`` is a
            float64 array of shape ``(n,)`` (the first aggregated term's numeric value;
            NaN when not numeric), ``groups`` an int64 array of shape ``(n,)`` with the
            group of each row in ``0..n_groups-1``; ``result`` has shape ``(n_groups,)``
            and ``defined`` (bool, same shape) says where a result exists.
        empty: The value over an empty group, or ``None`` when an empty group has no answer.
    """

    name: str
    fn: Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]
    empty: float | None = None


def expand_builtin_name(name: str | URIRef) -> URIRef:
    """``nesy:concat`` -> the full IRI in :data:`NESY`; full IRIs pass through."""
    if isinstance(name, URIRef):
        return name
    if name.startswith("nesy:"):
        return URIRef(NESY + name[5:])
    if "://" in name or name.startswith("urn:"):
        return URIRef(name)
    raise PluginError(f"built-in predicate name {name!r} must be 'nesy:local' or a full IRI")


__all__ = ["NESY", "Aggregator", "BuiltinPredicate", "expand_builtin_name"]
