"""Plugins: the registry of named components and the ``register(registry)`` hook."""

from nesy.plugins.hookspecs import hookimpl
from nesy.plugins.registry import (
    ENTRY_POINT_GROUP,
    NESY,
    Aggregator,
    BuiltinPredicate,
    Registry,
    default_registry,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "NESY",
    "Aggregator",
    "BuiltinPredicate",
    "Registry",
    "default_registry",
    "hookimpl",
]
