"""nesy: a neuro-symbolic knowledge base that answers questions with answers and proofs.

The public API::

    import nesy
    kb = nesy.KnowledgeBase("./kb")
    kb.load("data.ttl")

Heavy modules (rdflib, numpy, torch) are imported on first use, so ``nesy --help`` and
the REPL start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nesy.errors import (
    LimitExceeded,
    LoadError,
    NesyError,
    NoLinkPredictorError,
    ParseError,
    PluginError,
    QueryError,
    RuleError,
    StoreError,
    StratificationError,
    TextError,
)

__version__ = "0.1.0"

_LAZY = {
    "ExtractReport": "nesy.text.ingest",
    "KnowledgeBase": "nesy.kb",
    "LoadReport": "nesy.kb",
}

if TYPE_CHECKING:
    from nesy.kb import KnowledgeBase, LoadReport
    from nesy.text.ingest import ExtractReport


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nesy' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "ExtractReport",
    "KnowledgeBase",
    "LimitExceeded",
    "LoadError",
    "LoadReport",
    "NesyError",
    "NoLinkPredictorError",
    "ParseError",
    "PluginError",
    "QueryError",
    "RuleError",
    "StoreError",
    "StratificationError",
    "TextError",
    "__version__",
]
