"""The KnowledgeBase's SPARQL Update and users' named graphs (mixed into :class:`KnowledgeBase`)."""

from __future__ import annotations


class UpdateMethods:
    """``kb.update``: SPARQL 1.1 Update through the KB's own write path."""


__all__ = ["UpdateMethods"]
