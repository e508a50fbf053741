"""The one registry of named components (predicates, semirings, models, ...), filled lazily by plugins.

Every component that users pick by name lives in a :class:`Registry` under a *kind*:

* ``predicate``, ``operator``, ``comparison``, ``aggregate``: the rule language's built-ins;
* ``semiring``: score combination (:mod:`nesy.engine.semirings`);
* ``kge_model``: link-prediction models (:mod:`nesy.linkpred.kge`);
* ``text_encoder``: local transformers models (:mod:`nesy.text.encoder`);
* ``extractor``: text-to-triples extractors (:mod:`nesy.text.extract`);
* later kinds (execution engines, store backends) need no change here.

An entry is either an object or a lazy ``"module:attr"`` reference imported on first
:meth:`Registry.resolve`, so listing names imports no torch. Names resolve the same from
the CLI, config files (``kb.json``) and Python: case, ``-`` and ``_`` do not matter
(except for predicate IRIs and operator symbols, which are exact), and a typo is a
:class:`UnknownComponentError` with did-you-mean suggestions. The built-ins are a plugin
themselves (:mod:`nesy.plugins.builtins`); installed packages add theirs through the
entry-point group :data:`ENTRY_POINT_GROUP` with a ``register(registry)`` function.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pluggy
from rdflib import URIRef

from nesy.errors import PluginError
from nesy.extras import missing_extra
from nesy.plugins import hookspecs
from nesy.plugins.builtin_types import NESY, Aggregator, BuiltinPredicate, expand_builtin_name
from nesy.plugins.entrypoints import (
    ENTRY_POINT_GROUP,
    installed_entry_points,
    installed_plugin,
    load_entry_point,
)

#: Where the built-in components come from, as :meth:`Registry.entries` reports it.
BUILTIN_ORIGIN = "built-in"
BUILTIN_MODULE = "nesy.plugins.builtins"

#: Kinds whose names are matched exactly (IRIs, operator symbols); others are normalised.
EXACT_KINDS = frozenset({"predicate", "operator", "comparison"})

_UNSET: Any = object()


class UnknownComponentError(PluginError):
    """A component name that no plugin registered; the message suggests close names.

    Attributes:
        kind: The kind asked for (``semiring``, ``kge_model``...).
        name: The name asked for.
        suggestions: Registered names close to ``name``, best first.
    """

    def __init__(self, kind: str, name: str, suggestions: list[str], known: list[str]) -> None:
        self.kind, self.name, self.suggestions = kind, name, suggestions
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        label = kind.replace("_", " ")
        super().__init__(f"unknown {label} {name!r}.{hint} Known: {', '.join(known) or 'none'}.")


def normalize_kind(kind: str) -> str:
    """``kge-model`` and ``KGE_Model`` -> ``kge_model``."""
    return kind.strip().lower().replace("-", "_")


def normalize_name(kind: str, name: Any) -> Any:
    """The lookup key of ``name``: exact for :data:`EXACT_KINDS`, else lower case with
    ``_`` read as ``-`` (``TransE``, ``zero_shot`` -> ``transe``, ``zero-shot``)."""
    if kind in EXACT_KINDS:
        return name
    return str(name).strip().lower().replace("_", "-")


@dataclass
class Entry:
    """One registered component.

    Attributes:
        kind: Its kind (``semiring``...).
        name: The name it was registered under (shown in listings).
        origin: Where it comes from: ``built-in``, ``entry point DIST:NAME``, ``module M``
            or ``python`` (added by code outside a plugin).
        ref: The ``"module:attr"`` it is imported from on first use, or ``None``.
    """

    kind: str
    name: Any
    origin: str
    ref: str | None = None
    obj: Any = field(default=_UNSET, repr=False)

    @property
    def loaded(self) -> bool:
        """Whether the object is in memory (a lazy entry becomes so on first resolve)."""
        return self.obj is not _UNSET

    @property
    def target(self) -> str:
        """``module:attr`` of the component, for listings (no import needed)."""
        if self.ref is not None:
            return self.ref
        mod = getattr(self.obj, "__module__", None) or type(self.obj).__module__
        qual = getattr(self.obj, "__qualname__", None) or type(self.obj).__qualname__
        return f"{mod}:{qual}"

    def load(self) -> Any:
        """The component; a lazy entry is imported now (once).

        Raises:
            MissingExtraError: the module needs an optional extra that is not installed.
            PluginError: the reference cannot be imported or has no such attribute.
        """
        if self.obj is _UNSET:
            assert self.ref is not None
            self.obj = import_ref(self.ref, what=f"{self.kind} {self.name!r}")
        return self.obj


def import_ref(ref: str, *, what: str = "component") -> Any:
    """The object a ``"package.module:attr.sub"`` reference names (imported now)."""
    module, _, attr = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as exc:
        extra = missing_extra(exc)
        if extra is not None:
            raise extra from exc
        raise PluginError(f"cannot import {what} from {ref!r}: {exc}") from exc
    for part in attr.split(".") if attr else ():
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"cannot load {what}: module {module!r} has no {attr!r}") from None
    return obj


def check_ref(ref: str) -> str:
    """``ref`` when it reads ``package.module:attr``, else a :class:`PluginError`."""
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr or not all(p.isidentifier() for p in [*module.split("."), *attr.split(".")]):
        raise PluginError(f"a lazy component reference must read 'package.module:attr', not {ref!r}")
    return ref


class Registry:
    """All named components, by kind; get one with :func:`default_registry`.

    Args:
        parent: A registry consulted for names this one lacks (a knowledge base's registry
            adds its trusted ``@plugin`` modules on top of the process-wide one).
    """

    def __init__(self, parent: Registry | None = None) -> None:
        self.parent = parent
        self._own: dict[str, dict[Any, Entry]] = {}
        self._plugins: list[str] = []
        self._origin: str | None = None
        self._version = 0
        self._tables: dict[str, tuple[tuple[int, ...], dict[Any, Any]]] = {}

    # -- adding -----------------------------------------------------------------------
    def add(self, kind: str, name: Any, obj: Any, *, origin: str | None = None) -> Entry:
        """Register ``obj`` as component ``name`` of ``kind`` (a later entry replaces an earlier one)."""
        return self._put(Entry(normalize_kind(kind), name, origin or self._default_origin(obj), obj=obj))

    def add_lazy(self, kind: str, name: Any, ref: str, *, origin: str | None = None) -> Entry:
        """Register ``"module:attr"`` as component ``name`` of ``kind``, imported on first use."""
        return self._put(Entry(normalize_kind(kind), name, origin or self._default_origin(None),
                               ref=check_ref(ref)))

    def remove(self, kind: str, name: Any) -> None:
        """Forget this registry's own entry ``name`` of ``kind`` (its parent's stays)."""
        kind = normalize_kind(kind)
        if self._own.get(kind, {}).pop(normalize_name(kind, name), None) is not None:
            self._version += 1

    def _put(self, entry: Entry) -> Entry:
        self._own.setdefault(entry.kind, {})[normalize_name(entry.kind, entry.name)] = entry
        self._version += 1
        return entry

    def _default_origin(self, obj: Any) -> str:
        if self._origin is not None:
            return self._origin
        module = getattr(obj, "__module__", None)
        return f"module {module}" if module and module != "builtins" else "python"

    # -- decorators used by plugins ---------------------------------------------------
    def predicate(
        self, name: str | URIRef, arity: int, inputs: Iterable[int] | None = None, doc: str = ""
    ) -> Callable[[Callable[..., Iterable[tuple[Any, ...]]]], Callable[..., Iterable[tuple[Any, ...]]]]:
        """Register a built-in predicate. ``name`` may be ``nesy:local`` or a full IRI."""
        iri = expand_builtin_name(name)

        def deco(fn: Callable[..., Iterable[tuple[Any, ...]]]) -> Callable[..., Iterable[tuple[Any, ...]]]:
            ins = tuple(range(arity)) if inputs is None else tuple(inputs)
            line = doc or (inspect.getdoc(fn) or "").split("\n")[0]
            self.add("predicate", iri, BuiltinPredicate(iri, arity, fn, ins, line))
            return fn

        return deco

    def operator(self, symbol: str) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
        """Register an arithmetic operator over float64 arrays of shape ``(n,)``."""

        def deco(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
            self.add("operator", symbol, fn)
            return fn

        return deco

    def comparison(self, symbol: str) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
        """Register a comparison over two arrays of shape ``(n,)`` returning a bool array."""

        def deco(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
            self.add("comparison", symbol, fn)
            return fn

        return deco

    def aggregate(self, name: str, empty: float | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register an aggregate function (see :class:`Aggregator`)."""

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add("aggregate", name, Aggregator(name, fn, empty))
            return fn

        return deco

    # -- looking up -------------------------------------------------------------------
    def lookup(self, kind: str, name: Any) -> Entry | None:
        """The entry ``name`` of ``kind`` (here, else in the parent), or ``None``; imports nothing."""
        kind = normalize_kind(kind)
        entry = self._own.get(kind, {}).get(normalize_name(kind, name))
        if entry is None and self.parent is not None:
            return self.parent.lookup(kind, name)
        return entry

    def has(self, kind: str, name: Any) -> bool:
        """Whether ``name`` is registered as ``kind`` (nothing is imported)."""
        return self.lookup(kind, name) is not None

    def resolve(self, kind: str, name: Any) -> Any:
        """The component ``name`` of ``kind``, imported now if it is lazy.

        Raises:
            UnknownComponentError: no such name; the message suggests the closest ones.
            MissingExtraError: the component needs an optional extra that is not installed.
        """
        entry = self.lookup(kind, name)
        if entry is None:
            kind = normalize_kind(kind)
            table = {normalize_name(kind, e.name): str(e.name) for e in self.entries(kind)}
            close = difflib.get_close_matches(str(normalize_name(kind, name)), list(table), n=3)
            raise UnknownComponentError(kind, str(name), [table[c] for c in close], sorted(table.values()))
        return entry.load()

    def get(self, kind: str, name: Any) -> Any:
        """:meth:`resolve` (the name older code uses)."""
        return self.resolve(kind, name)

    def entries(self, kind: str | None = None) -> list[Entry]:
        """Every entry (of ``kind``), own entries shadowing the parent's, by kind then name."""
        merged: dict[tuple[str, Any], Entry] = {}
        if self.parent is not None:
            merged.update(((e.kind, normalize_name(e.kind, e.name)), e) for e in self.parent.entries(kind))
        for k, table in self._own.items():
            if kind is None or k == normalize_kind(kind):
                merged.update(((k, key), e) for key, e in table.items())
        return sorted(merged.values(), key=lambda e: (e.kind, str(e.name)))

    def names(self, kind: str) -> list[str]:
        """Registered names of ``kind``, sorted (nothing is imported)."""
        return [str(e.name) for e in self.entries(kind)]

    def kinds(self) -> list[str]:
        """Every kind with at least one entry, sorted."""
        return sorted({e.kind for e in self.entries()})

    @property
    def plugins(self) -> list[str]:
        """Plugin modules loaded into this registry and its parents, in load order."""
        return [*(self.parent.plugins if self.parent is not None else []), *self._plugins]

    # -- the built-ins' tables, as the reasoner reads them ----------------------------------
    def stamp(self) -> tuple[int, ...]:
        """Changes whenever an entry is added or removed here or in a parent (a cache key)."""
        return (self._version, *(self.parent.stamp() if self.parent is not None else ()))

    def table(self, kind: str) -> dict[Any, Any]:
        """``{name: component}`` of every entry of ``kind``, all loaded (cached until a change)."""
        kind = normalize_kind(kind)
        stamp = self.stamp()
        cached = self._tables.get(kind)
        if cached is None or cached[0] != stamp:
            cached = (stamp, {normalize_name(kind, e.name): e.load() for e in self.entries(kind)})
            self._tables[kind] = cached
        return cached[1]

    @property
    def predicates(self) -> dict[URIRef, BuiltinPredicate]:
        """Built-in predicates by IRI."""
        return self.table("predicate")

    @property
    def operators(self) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
        """Arithmetic operators by symbol."""
        return self.table("operator")

    @property
    def comparisons(self) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
        """Comparisons by symbol."""
        return self.table("comparison")

    @property
    def aggregates(self) -> dict[str, Aggregator]:
        """Aggregate functions by name."""
        return self.table("aggregate")

    # -- loading plugins --------------------------------------------------------------
    def load_module(self, module: str | ModuleType, *, origin: str | None = None) -> None:
        """Register a plugin module through its ``register`` hook.

        A name (``trusted_plugins`` in ``kb.json``, a trusted ``@plugin``) loads only when an
        installed distribution announces it under :data:`ENTRY_POINT_GROUP` (by entry-point
        or module name, see :func:`installed_plugin`): a bare module on ``sys.path`` is
        refused. Python code that holds the module object may pass it directly.

        Args:
            module: The module object, or the name of an installed plugin (or nesy's built-ins).
            origin: What listings call the plugin's entries (default ``module NAME``, and
                ``built-in`` for :mod:`nesy.plugins.builtins`).
        """
        if isinstance(module, str):
            if module == BUILTIN_MODULE:
                module = importlib.import_module(module)
            else:
                ep = installed_plugin(module)
                if ep.value.split(":")[0].strip() in self.plugins:
                    return
                mod = load_entry_point(ep)
                dist = ep.dist.name if ep.dist is not None else "?"
                self.load_module(mod, origin=origin or f"entry point {dist}:{ep.name}")
                return
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
        self._origin = origin or (BUILTIN_ORIGIN if name == BUILTIN_MODULE else f"module {name}")
        try:
            pm.hook.register(registry=self)
        finally:
            self._origin = None
        self._plugins.append(name)

    def load_entry_points(self) -> None:
        """Register every installed plugin announced under :data:`ENTRY_POINT_GROUP`."""
        for ep in installed_entry_points():
            if ep.value.strip() in self.plugins:
                continue  # nesy's own package announces its built-ins too
            dist = ep.dist.name if ep.dist is not None else "?"
            self.load_module(load_entry_point(ep), origin=f"entry point {dist}:{ep.name}")

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries())


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


_SHARED: Registry | None = None
_SHARED_LOCK = threading.RLock()


def shared_registry() -> Registry:
    """The process-wide registry: the built-ins and every installed entry-point plugin,
    loaded once on first use. Code that registers components (``register_model``...) adds
    them here."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            reg = Registry()
            reg.load_module(BUILTIN_MODULE)
            # Published before entry points load, so a plugin that resolves names while it
            # registers sees the built-ins instead of recursing into this function.
            _SHARED = reg
            try:
                reg.load_entry_points()
            except BaseException:
                _SHARED = None
                raise
        return _SHARED


def default_registry(*, entry_points: bool = True) -> Registry:
    """A fresh registry for one knowledge base or reasoner.

    Args:
        entry_points: ``True``: a child of :func:`shared_registry` (built-ins, installed
            plugins and components registered in this process; additions stay in the
            child). ``False``: the built-ins alone.
    """
    if entry_points:
        return Registry(parent=shared_registry())
    reg = Registry()
    reg.load_module(BUILTIN_MODULE)
    return reg


def resolve(kind: str, name: Any, registry: Registry | None = None) -> Any:
    """The component ``name`` of ``kind`` from ``registry`` (default :func:`shared_registry`).

    Raises:
        UnknownComponentError: no such name (with did-you-mean suggestions).
    """
    return (registry if registry is not None else shared_registry()).resolve(kind, name)


__all__ = ["BUILTIN_ORIGIN", "ENTRY_POINT_GROUP", "EXACT_KINDS", "NESY", "Aggregator", "BuiltinPredicate", "Entry",
           "Registry", "UnknownComponentError", "default_registry", "expand_builtin_name", "import_ref", "installed_entry_points", "installed_plugin",
           "normalize_kind", "normalize_name", "resolve", "shared_registry"]
