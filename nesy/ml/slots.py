"""Model slots: the one home of a knowledge base's models, on disk and in memory.

Every learner (link predictor, extractor, QA model, fusion, text vectors) asks the KB's
:class:`ModelSlots` where its model lives instead of building ``DIR/models/...`` paths
itself, and an in-memory KB keeps its trained models here instead of on disk. This module
imports no torch: the facade creates the slots in the core install too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nesy.errors import NesyError

#: The folder of a KB directory that holds its models.
MODELS_DIR = "models"


class ModelSlots:
    """Named model slots of one knowledge base.

    Args:
        kb_path: The KB directory, or ``None`` for an in-memory KB (models stay in memory).
    """

    def __init__(self, kb_path: Path | None) -> None:
        self.kb_path = kb_path
        self._memory: dict[str, Any] = {}
        self._versions: dict[str, int] = {}

    @property
    def root(self) -> Path | None:
        """``DIR/models``, or ``None`` for an in-memory KB."""
        return self.kb_path / MODELS_DIR if self.kb_path is not None else None

    def dir(self, name: str) -> Path | None:
        """``DIR/models/NAME`` (``name`` may hold ``/``), or ``None`` for an in-memory KB."""
        root = self.root
        return root / name if root is not None else None

    def require_dir(self, name: str) -> Path:
        """``DIR/models/NAME``; a :class:`NesyError` for an in-memory KB."""
        path = self.dir(name)
        if path is None:
            raise NesyError("an in-memory knowledge base keeps its models in memory only")
        return path

    def keep(self, name: str, value: Any) -> None:
        """Hold ``value`` (a model, or ``(model, meta)``) in memory under ``name``."""
        self._memory[name] = value
        self.touch(name)

    def get(self, name: str) -> Any:
        """The value kept under ``name``, or ``None``."""
        return self._memory.get(name)

    def drop(self, name: str) -> None:
        """Forget the in-memory value of ``name`` (its files, if any, stay)."""
        self._memory.pop(name, None)
        self.touch(name)

    def touch(self, name: str) -> None:
        """Record that the model ``name`` changed (on disk or in memory), so caches rebuild."""
        self._versions[name] = self._versions.get(name, 0) + 1

    def version(self, name: str) -> int:
        """How often ``name`` changed in this process: a cache key for derived objects."""
        return self._versions.get(name, 0)


__all__ = ["MODELS_DIR", "ModelSlots"]
