"""The hook a nesy plugin implements: ``register(registry)``."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("nesy")
hookimpl = pluggy.HookimplMarker("nesy")


@hookspec
def register(registry):  # type: ignore[no-untyped-def]
    """Add this plugin's components to ``registry`` (a :class:`nesy.plugins.Registry`).

    Use its decorators: ``@registry.predicate(...)``, ``@registry.operator(...)``,
    ``@registry.comparison(...)``, ``@registry.aggregate(...)``, or
    ``registry.add(kind, name, obj)`` for models, encoders, semirings and stores.
    """
