"""Registries of named components (predicates, operators, models, ...) and plugin loading.

Every component that users pick by name — built-in predicates, arithmetic operators,
aggregates, semirings, link-predictor models, text encoders, store backends — lives in
one :class:`Registry`, so the CLI, config files and Python share one vocabulary. Plugins
fill it through the pluggy hook in :mod:`nesy.plugins.hookspecs`; installed packages
announce theirs under the entry-point group :data:`ENTRY_POINT_GROUP`.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pluggy
from rdflib import URIRef

from nesy.errors import PluginError
from nesy.plugins import hookspecs

ENTRY_POINT_GROUP = "nesy.plugins"

#: Namespace of the built-in predicates (prefix ``nesy:`` is always declared).
NESY = "https://w3id.org/nesy#"


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


@dataclass
class Registry:
    """All named components, by kind. Create one with :func:`default_registry`."""

    predicates: dict[URIRef, BuiltinPredicate] = field(default_factory=dict)
    operators: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = field(default_factory=dict)
    comparisons: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = field(default_factory=dict)
    aggregates: dict[str, Aggregator] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    plugins: list[str] = field(default_factory=list)

    # -- decorators used by plugins ---------------------------------------------------
    def predicate(
        self, name: str | URIRef, arity: int, inputs: Iterable[int] | None = None, doc: str = ""
    ) -> Callable[[Callable[..., Iterable[tuple[Any, ...]]]], Callable[..., Iterable[tuple[Any, ...]]]]:
        """Register a built-in predicate. ``name`` may be ``nesy:local`` or a full IRI."""
        iri = expand_builtin_name(name)

        def deco(fn: Callable[..., Iterable[tuple[Any, ...]]]) -> Callable[..., Iterable[tuple[Any, ...]]]:
            ins = tuple(range(arity)) if inputs is None else tuple(inputs)
            self.predicates[iri] = BuiltinPredicate(iri, arity, fn, ins, doc or (inspect.getdoc(fn) or "").split("\n")[0])
            return fn

        return deco

    def operator(self, symbol: str) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
        """Register an arithmetic operator over float64 arrays of shape ``(n,)``."""

        def deco(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
            self.operators[symbol] = fn
            return fn

        return deco

    def comparison(self, symbol: str) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
        """Register a comparison over two arrays of shape ``(n,)`` returning a bool array."""

        def deco(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
            self.comparisons[symbol] = fn
            return fn

        return deco

    def aggregate(self, name: str, empty: float | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register an aggregate function (see :class:`Aggregator`)."""

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.aggregates[name] = Aggregator(name, fn, empty)
            return fn

        return deco

    def add(self, kind: str, name: str, obj: Any) -> None:
        """Register ``obj`` as component ``name`` of ``kind`` (e.g. ``semiring``, ``kge_model``)."""
        self.components.setdefault(kind, {})[name] = obj

    def get(self, kind: str, name: str) -> Any:
        """Look up a component by name; an unknown name is a :class:`PluginError` with suggestions."""
        table = self.components.get(kind, {})
        if name in table:
            return table[name]
        close = difflib.get_close_matches(name, list(table), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        known = ", ".join(sorted(table)) or "none"
        raise PluginError(f"unknown {kind} {name!r}.{hint} Known: {known}.")

    def names(self, kind: str) -> list[str]:
        """Registered names of ``kind``, sorted."""
        return sorted(self.components.get(kind, {}))

    # -- loading ----------------------------------------------------------------------
    def load_module(self, module: str | ModuleType) -> None:
        """Register a plugin module (by dotted name or object) through the ``register`` hook."""
        if isinstance(module, str):
            try:
                module = importlib.import_module(module)
            except ImportError as exc:
                raise PluginError(f"cannot import plugin module {module!r}: {exc}") from exc
        name = module.__name__
        if name in self.plugins:
            return
        pm = _manager()
        try:
            pm.register(module, name=name)
        except ValueError as exc:
            raise PluginError(f"plugin {name!r} is not a valid nesy plugin: {exc}") from exc
        if not pm.get_hookcallers(module):
            raise PluginError(f"plugin module {name!r} defines no register(registry) function")
        pm.hook.register(registry=self)
        self.plugins.append(name)

    def load_entry_points(self) -> None:
        """Register every installed plugin announced under :data:`ENTRY_POINT_GROUP`."""
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                mod = ep.load()
            except Exception as exc:  # a broken third-party plugin must not take nesy down silently
                raise PluginError(f"cannot load plugin {ep.name!r} ({ep.value}): {exc}") from exc
            if isinstance(mod, ModuleType):
                self.load_module(mod)
            else:
                raise PluginError(f"plugin entry point {ep.name!r} must name a module, got {ep.value!r}")


class _NesyPluginManager(pluggy.PluginManager):
    """Accepts a plain ``register`` function as well as one marked with ``@hookimpl``."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name == "register" and inspect.isfunction(getattr(plugin, name, None)):
            return {}
        return opts


def _manager() -> pluggy.PluginManager:
    pm = _NesyPluginManager("nesy")
    pm.add_hookspecs(hookspecs)
    return pm


def expand_builtin_name(name: str | URIRef) -> URIRef:
    """``nesy:concat`` -> the full IRI in :data:`NESY`; full IRIs pass through."""
    if isinstance(name, URIRef):
        return name
    if name.startswith("nesy:"):
        return URIRef(NESY + name[5:])
    if "://" in name or name.startswith("urn:"):
        return URIRef(name)
    raise PluginError(f"built-in predicate name {name!r} must be 'nesy:local' or a full IRI")


_DEFAULT: Registry | None = None


def default_registry(*, entry_points: bool = True) -> Registry:
    """A fresh registry with the built-in plugin and (optionally) all installed plugins."""
    reg = Registry()
    reg.load_module("nesy.plugins.builtins")
    if entry_points:
        reg.load_entry_points()
    return reg
