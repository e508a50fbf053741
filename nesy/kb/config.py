"""kb.json: a knowledge base's settings, read at open and written atomically on change."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nesy.errors import StoreError
from nesy.namespaces import DEFAULT_NAMESPACE

#: The settings file of a KB directory.
CONFIG_FILE = "kb.json"


def default_config(default_namespace: str | None = None) -> dict[str, Any]:
    """The settings of a new knowledge base."""
    return {
        "version": 1,
        "default_namespace": default_namespace or DEFAULT_NAMESPACE,
        "tsv_namespace": None,
        "prefixes": {},
        "semiring": "maxprod",
        "rules": [],
        "trusted_plugins": [],
    }


def open_config(path: Path | None, *, read_only: bool, default_namespace: str | None) -> dict[str, Any]:
    """The settings of the KB at ``path`` (``None``: in memory); a new writable KB gets a
    ``kb.json`` at once, so the directory is recognisable as a knowledge base."""
    config = default_config(default_namespace)
    file = path / CONFIG_FILE if path is not None else None
    if file is not None and file.exists():
        try:
            config.update(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read {file}: {exc}") from None
    elif path is not None and not read_only:
        write_config(path, config)
    return config


def write_config(path: Path, config: dict[str, Any]) -> None:
    """Replace ``path/kb.json`` with ``config`` (write a temporary file, then rename)."""
    tmp = path / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path / CONFIG_FILE)


__all__ = ["CONFIG_FILE", "default_config", "open_config", "write_config"]
