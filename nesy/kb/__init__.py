"""The KnowledgeBase facade: one object that wires the store, rules, reasoner and models."""

from typing import TYPE_CHECKING, Any

from nesy.errors import NesyError
from nesy.kb.facade import KnowledgeBase
from nesy.kb.reports import LoadReport
from nesy.kbview import LEARNED_HEADER
from nesy.namespaces import DEFAULT_NAMESPACE
from nesy.store.graphs import GRAPHS

if TYPE_CHECKING:
    from nesy.text.ingest import ExtractedTriple, ExtractReport

#: Names whose home is a feature package, imported on first use (opening a KB needs none).
_LAZY = {"ExtractReport": "nesy.text.ingest", "ExtractedTriple": "nesy.text.ingest"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nesy.kb' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["DEFAULT_NAMESPACE", "GRAPHS", "LEARNED_HEADER", "ExtractReport", "ExtractedTriple",
           "KnowledgeBase", "LoadReport", "NesyError"]
