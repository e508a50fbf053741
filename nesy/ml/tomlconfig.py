"""Run configurations as TOML files: read one (``--config FILE``), write the resolved one.

A configuration is a flat table of options (strings, numbers, booleans) with at most one
level of sub-tables (e.g. ``[model_options]``). Reading checks every key against the
options the command takes, so a typo is a :class:`~nesy.errors.NesyError` naming the key
and the file; writing emits exactly what reading accepts, so ``--config`` of a written file
repeats the run.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nesy.errors import NesyError
from nesy.ml.config import did_you_mean

#: The resolved configuration's file name in a model directory.
CONFIG_FILE = "config.toml"


def read_config(path: str | Path, known: Iterable[str], *, what: str = "configuration") -> dict[str, Any]:
    """The options of a TOML file, every top-level key checked against ``known``.

    Args:
        path: The TOML file.
        known: The option names the command takes.
        what: What the file configures, for messages (e.g. ``"nesy train"``).

    Raises:
        NesyError: unreadable file, bad TOML, or a key outside ``known`` (named, with the
            closest known one and the file).
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as e:
        raise NesyError(f"cannot read the {what} file: {e.strerror}", file=str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise NesyError(f"the {what} file is not valid TOML: {e}", file=str(path)) from None
    known = sorted(known)
    for key in data:
        if key not in known:
            raise NesyError(f"unknown {what} option {key!r}{did_you_mean(key, known)} in {path}; "
                            f"known: {', '.join(known)}", file=str(path))
    return data


def _key(key: str) -> str:
    """A bare TOML key when it may be one, else a quoted one."""
    return key if key and re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value: Any, where: str) -> str:
    """A TOML literal of a string, bool, int or finite float."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NesyError(f"{where}: {value!r} has no TOML form here")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v, where) for v in value) + "]"
    raise NesyError(f"{where}: cannot write {type(value).__name__} {value!r} to TOML")


def to_toml(data: Mapping[str, Any], header: str = "") -> str:
    """TOML text of ``data``; ``None`` values are left out, dict values become tables."""
    lines = [f"# {line}" for line in header.splitlines()]
    tables = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value, key)}")
    for key, table in tables:
        lines.append(f"\n[{_key(key)}]")
        for sub, value in table.items():
            if isinstance(value, Mapping):
                raise NesyError(f"{key}.{sub}: nested tables are not supported in a config file")
            if value is not None:
                lines.append(f"{_key(sub)} = {_value(value, f'{key}.{sub}')}")
    return "\n".join(lines) + "\n"


def write_config(path: str | Path, data: Mapping[str, Any], header: str = "") -> Path:
    """Write ``data`` as TOML to ``path`` atomically (a temporary file renamed); returns it."""
    path = Path(path)
    text = to_toml(data, header)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


__all__ = ["CONFIG_FILE", "read_config", "to_toml", "write_config"]
