"""Source records: where each group of stored triples came from, kept in ``sources.jsonl``."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nesy.errors import StoreError


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


def parse_sources(data: bytes, path: Path | None = None) -> list[Source]:
    """The source records in ``data`` (the committed part of ``sources.jsonl``, one JSON
    object per line, ids in order); a line that is not one is a damaged file."""
    out: list[Source] = []
    where = str(path) if path is not None else None
    for lineno, raw in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        if not raw.strip():
            continue
        try:
            d = json.loads(raw)
            if d.get("span") is not None:
                d["span"] = tuple(d["span"])
            src = Source(**d)
        except (ValueError, TypeError, AttributeError) as exc:
            raise StoreError(f"sources file is damaged: not a source record ({exc})", file=where, line=lineno) from None
        if src.id != len(out):
            raise StoreError(f"sources file is damaged: record {src.id} where {len(out)} was expected",
                             file=where, line=lineno)
        out.append(src)
    return out


def read_sources(path: Path) -> list[Source]:
    """The source records of a whole ``sources.jsonl`` file (none when it does not exist)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        raise StoreError("sources file is damaged: its last line is incomplete", file=str(path))
    return parse_sources(data, path)


def encode_sources(sources: list[Source], start: int) -> bytes:
    """The file lines of the records ``start..`` of ``sources`` (what a commit appends)."""
    return "".join(json.dumps(asdict(src)) + "\n" for src in sources[start:]).encode("utf-8")


__all__ = ["Source", "encode_sources", "parse_sources", "read_sources"]
