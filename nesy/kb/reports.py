"""LoadReport: what one :meth:`nesy.kb.KnowledgeBase.load` call did."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoadReport:
    """What one :meth:`KnowledgeBase.load` call did."""

    file: str
    format: str
    graph: str
    parsed: int
    added: int

    def __str__(self) -> str:
        dup = self.parsed - self.added
        extra = f" ({dup} already present)" if dup else ""
        return f"{self.file}: {self.added} triples added to {self.graph}{extra}"


__all__ = ["LoadReport"]
