"""The KnowledgeBase facade: one object that wires the store, rules, reasoner and models."""

from nesy.kb.facade import (
    DEFAULT_NAMESPACE,
    GRAPHS,
    LEARNED_HEADER,
    ExtractedTriple,
    ExtractReport,
    KnowledgeBase,
    LoadReport,
    NesyError,
)

__all__ = ["DEFAULT_NAMESPACE", "GRAPHS", "LEARNED_HEADER", "ExtractReport", "ExtractedTriple",
           "KnowledgeBase", "LoadReport", "NesyError"]
