"""kb.json: a knowledge base's settings, read at open (checked against the manifest) and
written through the store's commit (:mod:`nesy.store.commit`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nesy.errors import StoreError
from nesy.namespaces import DEFAULT_NAMESPACE
from nesy.store import commit
from nesy.store.commit import CONFIG_FILE


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
    ``kb.json`` at once, so the directory is recognisable as a knowledge base.

    ``kb.json`` is checked against the manifest: the committed copy wins when ``kb.json``
    is the one a commit was about to replace (a crash after the manifest) or is missing; a
    ``kb.json`` that no longer parses is damaged (the error says how to restore it); any
    other difference is an edit by hand, which is taken and committed with the next write.
    """
    config = default_config(default_namespace)
    if path is None:
        return config
    owner = None if read_only else commit.owner_of(path)
    manifest = owner.manifest if owner is not None else commit.read_manifest(path)
    loaded = _committed_or_file(path, manifest, owner)
    if loaded is None:
        if owner is not None:
            write_config(path, config)
        return config
    check_config(loaded, path / CONFIG_FILE)
    config.update(loaded)
    return config


#: The type each known setting must have (``None`` allowed where the tuple says so).
_SHAPES: dict[str, tuple[type, ...]] = {
    "version": (int,), "default_namespace": (str,), "tsv_namespace": (str, type(None)), "prefixes": (dict,),
    "semiring": (str,), "rules": (list,), "trusted_plugins": (list,), "inferred_stale": (bool,),
    "link_predictor": (str, type(None)), "text_encoder": (str, type(None)), "ontology_profile": (str, type(None)),
}


def check_config(config: dict[str, Any], file: Path) -> None:
    """Refuse settings of the wrong shape (a hand edit, a hostile file) before any is used:
    a rule copy must lie under the KB's ``rules/`` folder, since nesy reads and deletes it.

    Raises:
        StoreError: naming the setting and what it must be.
    """
    def bad(what: str) -> StoreError:
        return StoreError(f"{what}; correct or remove it (`nesy check-store {file.parent}` shows the "
                          "KB's state)", file=str(file))

    for key, types in _SHAPES.items():
        if key in config and (not isinstance(config[key], types) or isinstance(config[key], bool) is not (bool in types)):
            raise bad(f"{key!r} must be {' or '.join('null' if t is type(None) else t.__name__ for t in types)}, "
                      f"got {type(config[key]).__name__}")
    for k, v in config.get("prefixes", {}).items():
        if not isinstance(v, str):
            raise bad(f"prefix {k!r} must map to a namespace string")
    if not all(isinstance(x, str) for x in config.get("trusted_plugins", [])):
        raise bad("'trusted_plugins' must list names (strings)")
    for i, entry in enumerate(config.get("rules", []), 1):
        if not isinstance(entry, dict):
            raise bad(f"rule set {i} must be an object, got {type(entry).__name__}")
        imports = entry.get("imports", [])
        if not isinstance(imports, list) or not all(isinstance(x, dict) for x in imports):
            raise bad(f"rule set {i}: 'imports' must be a list of objects")
        for part in [entry, *imports]:
            for key in ("name", "kind", "file", "copy", "sha256", "file_sha256"):
                if part.get(key) is not None and not isinstance(part[key], str):
                    raise bad(f"rule set {i}: {key!r} must be a string")
            copy = part.get("copy")
            if copy is not None and (Path(copy).is_absolute() or ".." in Path(copy).parts
                                     or Path(copy).parts[:1] != ("rules",)):
                raise bad(f"rule set {i}: copy {copy!r} must be a path under the KB's rules/ folder")


def _committed_or_file(path: Path, manifest: dict[str, Any] | None, owner: Any) -> dict[str, Any] | None:
    """The settings to use: kb.json's, or the manifest's copy when kb.json is behind it."""
    file = path / CONFIG_FILE
    committed = (manifest or {}).get("config")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        data = None
    except OSError as exc:
        raise StoreError(f"cannot read {file}: {exc.strerror}") from None
    if data is None or (committed is not None and commit.sha256(data) == manifest.get("previous_config_sha256")
                        and commit.sha256(data) != manifest.get("config_sha256")):
        if committed is not None and owner is not None:
            commit.atomic_write(file, commit.config_bytes(committed))  # roll kb.json forward
        return committed
    try:
        loaded = json.loads(data)
        if not isinstance(loaded, dict):
            raise ValueError("the settings must be one JSON object")
    except ValueError as exc:
        if committed is not None:
            raise commit.damaged(file, f"not valid JSON: {exc}; `nesy check-store {path} --repair` restores "
                                 "the last committed settings", path) from None
        raise StoreError(f"cannot read {file}: {exc}") from None
    if manifest is not None and owner is not None and commit.sha256(data) != manifest.get("config_sha256"):
        check_config(loaded, file)  # a bad edit is refused before the commit takes it
        owner.stage_config(loaded)  # an edit by hand: commit it with the next write
    return loaded


def write_config(path: Path, config: dict[str, Any]) -> None:
    """Make ``config`` the settings of the KB at ``path``: through the commit of its open
    store (the manifest keeps a copy and ``kb.json`` is replaced after it), or, with no store
    open in this process, by replacing ``kb.json`` atomically (taken as an edit on next open)."""
    owner = commit.owner_of(path)
    if owner is not None:
        owner.stage_config(config)
        return
    commit.atomic_write(path / CONFIG_FILE, commit.config_bytes(config))


__all__ = ["CONFIG_FILE", "check_config", "default_config", "open_config", "write_config"]
