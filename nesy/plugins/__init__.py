"""Plugins: the one registry of named components and the ``register(registry)`` hook."""

from nesy.plugins.builtin_types import NESY, Aggregator, BuiltinPredicate
from nesy.plugins.hookspecs import hookimpl
from nesy.plugins.registry import (
    ENTRY_POINT_GROUP,
    Entry,
    Registry,
    UnknownComponentError,
    default_registry,
    resolve,
    shared_registry,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "NESY",
    "Aggregator",
    "BuiltinPredicate",
    "Entry",
    "Registry",
    "UnknownComponentError",
    "default_registry",
    "hookimpl",
    "resolve",
    "shared_registry",
]
