"""Source records: where each group of stored triples came from, kept in ``sources.jsonl``."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Source:
    """Where a group of triples came from; each triple points at one source record.

    Attributes:
        id: Dense id (the ``src`` column of the triple table).
        kind: ``asserted``, ``extracted``, ``inferred``, ``predicted``, ``learned``...
        graph: The provenance graph the triples went into.
        file: Source file, for loaded data.
        format: Its format.
        graph_in_file: The named graph the triples had inside a quad file.
        document, sentence, span: For text extractions.
        extractor, model, checkpoint: Which component produced the triples.
        created: ISO timestamp.
        extra: Anything else worth keeping.
    """

    id: int
    kind: str
    graph: str
    file: str | None = None
    format: str | None = None
    graph_in_file: str | None = None
    document: str | None = None
    sentence: str | None = None
    span: tuple[int, int] | None = None
    extractor: str | None = None
    model: str | None = None
    checkpoint: str | None = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The fields that say where the triples came from (empty ones left out), for proofs."""
        skip = {"id", "kind", "created", "format"}
        return {k: v for k, v in asdict(self).items() if k not in skip and v not in (None, {}, "")}


def read_sources(path: Path) -> list[Source]:
    """The source records of a ``sources.jsonl`` file (none when it does not exist)."""
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                if d.get("span") is not None:
                    d["span"] = tuple(d["span"])
                out.append(Source(**d))
    return out


def append_sources(path: Path, sources: list[Source]) -> None:
    """Append the records of ``sources`` that ``path`` does not hold yet (one JSON line each):
    records are only ever added, so the file's line count says how many it has."""
    written = count_lines(path)
    if written < len(sources):
        with open(path, "a", encoding="utf-8") as fh:
            for src in sources[written:]:
                fh.write(json.dumps(asdict(src)) + "\n")


def count_lines(path: Path) -> int:
    """The number of lines of ``path`` (0 when it does not exist)."""
    if not path.exists():
        return 0
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


__all__ = ["Source", "append_sources", "count_lines", "read_sources"]
