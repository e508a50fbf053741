"""KnowledgeBase: the one object users hold; it wires the store, rules, reasoner and models."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rdflib import URIRef
from rdflib.term import Identifier

from nesy.engine.loader import read_file
from nesy.engine.store import GRAPH_CODE, GRAPHS, Store, check_graph
from nesy.engine.vocab import Vocab
from nesy.errors import NesyError, StoreError

#: Namespace for bare names when the KB declares no default prefix.
DEFAULT_NAMESPACE = "http://example.org/nesy#"
_CONFIG = "kb.json"


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


class KnowledgeBase:
    """A knowledge base: RDF data with provenance, rules, and the models trained on them.

    ``KnowledgeBase("./kb")`` opens or creates an on-disk KB (Oxigraph through rdflib);
    ``KnowledgeBase()`` lives in memory; :meth:`connect` uses a remote SPARQL endpoint.

    Args:
        path: KB directory, created when missing; ``None`` for an in-memory KB.
        read_only: Open without the writer lock (for reading while another process writes).
        default_namespace: Namespace of bare names in rules and of TSV names, for a new KB.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        read_only: bool = False,
        default_namespace: str | None = None,
        _store: Store | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None and self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path} exists and is not a knowledge base directory")
        self.store = _store if _store is not None else Store(self.path, read_only=read_only)
        self.config: dict[str, Any] = {
            "version": 1,
            "default_namespace": default_namespace or DEFAULT_NAMESPACE,
            "tsv_namespace": None,
            "prefixes": {},
        }
        cfg = self.path / _CONFIG if self.path else None
        if cfg is not None and cfg.exists():
            try:
                self.config.update(json.loads(cfg.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise StoreError(f"cannot read {cfg}: {exc}") from None
        elif cfg is not None and not read_only:
            self._save_config()

    @classmethod
    def connect(cls, endpoint: str, *, update_endpoint: str | None = None, default_namespace: str | None = None) -> KnowledgeBase:
        """A KB whose triples live in a remote SPARQL 1.1 endpoint (the scale-out path).

        Args:
            endpoint: The query endpoint, e.g. ``http://127.0.0.1:7878/query``.
            update_endpoint: The update endpoint; by default ``/query`` is replaced by ``/update``.
        """
        return cls(None, default_namespace=default_namespace, _store=Store(endpoint=endpoint, update_endpoint=update_endpoint))

    # -- lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        """Persist everything and release the directory's writer lock."""
        self.store.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _save_config(self) -> None:
        if self.path is None or self.store.read_only:
            return
        tmp = self.path / (_CONFIG + ".tmp")
        tmp.write_text(json.dumps(self.config, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path / _CONFIG)

    # -- data -------------------------------------------------------------------------
    @property
    def vocab(self) -> Vocab:
        """The shared term <-> id vocabulary."""
        return self.store.vocab

    @property
    def default_namespace(self) -> str:
        return str(self.config["default_namespace"])

    @property
    def prefixes(self) -> dict[str, str]:
        """Prefixes known to the KB (declared in loaded files and rule files)."""
        return dict(self.config.get("prefixes", {}))

    def bind(self, prefix: str, namespace: str) -> None:
        """Declare a prefix for later queries, rules and output."""
        self.config.setdefault("prefixes", {})[prefix] = str(namespace)
        self._save_config()

    def load(
        self,
        path: str | os.PathLike[str],
        *,
        graph: str = "asserted",
        format: str | None = None,  # noqa: A002 - the natural name for users
        namespace: str | None = None,
        score: float = 1.0,
        progress: bool | None = None,
    ) -> LoadReport:
        """Load a data file into ``graph``: all of it, or nothing when it has an error.

        Args:
            path: Turtle, N-Triples, N-Quads, TriG, RDF/XML, JSON-LD, OWL (RDF syntaxes) or
                TSV ``head<TAB>relation<TAB>tail`` file (optionally ``.gz``).
            graph: One of ``asserted``, ``extracted``, ``inferred``, ``predicted``.
            format: Format name; guessed from the extension when ``None``.
            namespace: For TSV: the namespace names are placed in. Remembered by the KB, so
                later TSV files (test splits...) map to the same IRIs.
            score: Confidence given to every triple of the file, in (0, 1].
            progress: Show a progress bar (default: on a terminal).
        """
        check_graph(graph)
        if namespace is None:
            namespace = self.config.get("tsv_namespace") or self.default_namespace
        parsed = read_file(path, format, namespace=namespace, progress=progress)
        fields = {"file": str(Path(path).resolve()), "format": parsed.format}
        added = self.store.add_parsed(parsed, graph, fields, score=score)
        changed = False
        if parsed.format == "tsv" and self.config.get("tsv_namespace") != namespace:
            self.config["tsv_namespace"] = namespace
            changed = True
        for name, ns in parsed.prefixes.items():
            if self.config["prefixes"].get(name) != ns:
                self.config["prefixes"][name] = ns
                changed = True
        if changed:
            self._save_config()
        self._data_changed()
        return LoadReport(str(path), parsed.format, graph, len(parsed), added)

    def add(
        self, s: Identifier, p: Identifier, o: Identifier, *, graph: str = "asserted", score: float = 1.0, **source: Any
    ) -> bool:
        """Add one triple with its score and source fields; True when it was new."""
        added = self.store.add_triples([(s, p, o)], graph, scores=[score], **source) > 0
        self._data_changed()
        return added

    def _data_changed(self) -> None:
        """Hook for the parts that cache what they derived from the data."""

    def __len__(self) -> int:
        return len(self.store)

    def stats(self) -> dict[str, Any]:
        """Triples per graph and per predicate, number of terms and sources."""
        return self.store.stats()

    def export(self, path: str | os.PathLike[str], *, format: str | None = None, graph: str | None = None) -> int:  # noqa: A002
        """Write the KB (or one graph) to ``path``; the format defaults from the extension."""
        from nesy.engine.loader import detect_format

        fmt = format or detect_format(Path(path), None)
        return self.store.export(path, fmt, graph, prefixes=self.prefixes)

    def provenance(self, s: Identifier, p: Identifier, o: Identifier) -> list[dict[str, Any]]:
        """Where a triple is stored: graph, score and source of each copy."""
        return self.store.provenance(s, p, o)

    def encoded(self, predicate: Identifier | str, graph: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The triples of one predicate as ids: ``rows`` int64 ``(n, 2)`` (subject, object)
        and ``scores`` float64 ``(n,)``; from all graphs unless ``graph`` is given."""
        pid = self.vocab.get(URIRef(predicate) if isinstance(predicate, str) else predicate)
        t = self.store.table
        if pid is None:
            return np.empty((0, 2), dtype=np.int64), np.empty(0)
        mask = t.select(p=pid, g=GRAPH_CODE[check_graph(graph)] if graph else None)
        return np.stack([t.s[mask], t.o[mask]], axis=1), t.score[mask]

    def triples(self, graph: str | None = None) -> list[tuple[Identifier, Identifier, Identifier, str]]:
        """All triples (with their graph names) as rdflib terms."""
        return list(self.store.triples(graph))

    def graph(self, name: str | None = None) -> Any:
        """An rdflib ``Graph`` over one provenance graph, or the ``Dataset`` when ``None``."""
        from nesy.engine.store import graph_iri

        if name is None:
            return self.store.dataset
        return self.store.dataset.graph(graph_iri(name))

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "memory"
        return f"<KnowledgeBase {where}: {len(self)} triples>"


__all__ = ["GRAPHS", "KnowledgeBase", "LoadReport", "NesyError"]
