"""Text vectors kept by text: encoded once per model, persisted in ``DIR/models/text/``.

A :class:`VectorStore` sits in front of a :class:`~nesy.text.encoder.TextEncoder`: texts it
has seen are looked up, new ones are encoded sorted by length (less padding) in large
batches. On an on-disk knowledge base the vectors go to
``DIR/models/text/<model>-<hash>.safetensors`` (tensor ``vectors`` ``(n, dim)``, the texts in
the file's metadata), written atomically; the file is a cache, so a missing, foreign or
corrupt one is simply rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from nesy.kbview import KBView
    from nesy.text.encoder import TextEncoder

FORMAT = "nesy-text-vectors"
#: Texts encoded since the last save before the file is written again (and at least this
#: share of what it holds), so a trickle of new entities does not rewrite a large file; the
#: first batch is always written.
SAVE_EVERY, SAVE_SHARE = 256, 0.1
_STORES: dict[tuple[str, str], VectorStore] = {}


class VectorStore:
    """Text → vector for one encoder, optionally backed by a file.

    Args:
        encoder: The text encoder.
        path: The safetensors file (``None``: memory only).
    """

    def __init__(self, encoder: TextEncoder, path: Path | None = None) -> None:
        import torch

        self.encoder, self.path = encoder, path
        self.rows: dict[str, int] = {}
        self.matrix = torch.empty(0, encoder.dim)
        self._unsaved = 0
        if path is not None and path.is_file():
            self._read(path)

    @classmethod
    def for_kb(cls, kb: KBView, encoder: TextEncoder) -> VectorStore:
        """The store of ``kb`` and ``encoder`` (one per process); file-backed when the KB is
        on disk and writable."""
        path, folder = None, kb.models.dir("text")
        if folder is not None and not kb.store.read_only:
            tag = hashlib.sha256(str(encoder.path).encode()).hexdigest()[:10]
            name = re.sub(r"[^\w.-]+", "-", Path(str(encoder.name)).name).strip("-") or "model"
            path = folder / f"{name}-{tag}.safetensors"
        key = (str(path) if path is not None else f"memory:{id(kb)}", str(encoder.path))
        store = _STORES.get(key)
        if store is None or store.encoder is not encoder:
            store = _STORES[key] = cls(encoder, path)
        return store

    def _read(self, path: Path) -> None:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                matrix = f.get_tensor("vectors").float()
            texts = json.loads(meta.get("texts", "[]"))
        except Exception:  # a cache: unreadable means rebuilt, never an error for the user
            return
        if meta.get("format") != FORMAT or meta.get("model") != str(self.encoder.path) \
                or matrix.dim() != 2 or matrix.shape != (len(texts), self.encoder.dim):
            return
        self.rows = {t: i for i, t in enumerate(texts)}
        self.matrix = matrix

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """float32 ``(len(texts), dim)`` L2-normalised vectors, from the store or encoded now."""
        import torch

        new = sorted({t for t in texts if t not in self.rows}, key=len)
        if new:
            batch = self.encoder.batch_size
            self.encoder.batch_size = max(batch, 256)  # short labels: big batches are faster
            try:
                vecs = self.encoder.encode(new)
            finally:
                self.encoder.batch_size = batch
            base = len(self.rows)
            self.rows.update({t: base + i for i, t in enumerate(new)})
            self.matrix = torch.cat([self.matrix, vecs])
            self._unsaved += len(new)
            if self.path is not None and (not self.path.exists()
                                          or self._unsaved >= max(SAVE_EVERY, SAVE_SHARE * len(self.rows))):
                self.save()
        if not texts:
            return torch.empty(0, self.encoder.dim)
        return self.matrix[torch.as_tensor([self.rows[t] for t in texts])]

    def save(self) -> None:
        """Write the file atomically (a failure to write only loses the cache)."""
        if self.path is None:
            return
        from safetensors.torch import save_file

        texts = sorted(self.rows, key=self.rows.__getitem__)
        meta = {"format": FORMAT, "model": str(self.encoder.path), "texts": json.dumps(texts)}
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            save_file({"vectors": self.matrix.contiguous()}, str(tmp), metadata=meta)
            os.replace(tmp, self.path)
            self._unsaved = 0
        except OSError:
            tmp.unlink(missing_ok=True)


__all__ = ["VectorStore"]
