"""Find nesy plugins among installed distributions' entry points, never on a bare path."""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import Any

from nesy.errors import PluginError

ENTRY_POINT_GROUP = "nesy.plugins"


def installed_plugin(name: str) -> Any:
    """The entry point of :data:`ENTRY_POINT_GROUP` whose name or module is ``name``.

    Raises:
        PluginError: no installed distribution announces it.
    """
    wanted = name.strip()
    found = [ep for ep in installed_entry_points() if wanted in (ep.name, ep.value.split(":")[0].strip())]
    if not found:
        known = sorted({ep.name for ep in installed_entry_points()})
        raise PluginError(f"plugin {name!r} refused: no installed package announces it under the entry-point "
                          f"group {ENTRY_POINT_GROUP!r}, and nesy never imports a bare module by name (it could be "
                          "any file on the path); install the plugin's package, or register it from Python with "
                          f"kb.registry.load_module(module) (installed plugins: {', '.join(known) or 'none'})")
    return found[0]


def installed_entry_points() -> list[Any]:
    """The entry points of :data:`ENTRY_POINT_GROUP`, except those of a distribution lying in
    the working directory (``python -m nesy`` puts it first on ``sys.path``, and a folder a
    user merely runs nesy in is not an installation)."""
    from importlib.metadata import entry_points

    cwd = os.path.realpath(os.getcwd())
    out = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        where = ep.dist.locate_file("") if ep.dist is not None else None
        if where is None or os.path.realpath(os.fspath(where)) != cwd:
            out.append(ep)
    return out


def load_entry_point(ep: Any) -> ModuleType:
    """The module an entry point names, imported with the working directory off ``sys.path``
    (a planted file there must not shadow the installed module); PluginError when it
    cannot be imported or is no module."""
    cwd = os.path.realpath(os.getcwd())
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != cwd]
    try:
        mod = ep.load()
    except Exception as exc:  # a broken third-party plugin must not take nesy down silently
        raise PluginError(f"cannot load plugin {ep.name!r} ({ep.value}): {exc}") from exc
    finally:
        sys.path[:] = saved
    if not isinstance(mod, ModuleType):
        raise PluginError(f"plugin entry point {ep.name!r} must name a module, got {ep.value!r}")
    return mod


__all__ = ["ENTRY_POINT_GROUP", "installed_entry_points", "load_entry_point", "installed_plugin"]
