"""Removing triples from a KnowledgeBase (``kb.remove``), and what a write block removed (for retraction)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rdflib import URIRef
from rdflib.term import Identifier

from nesy.errors import StoreError
from nesy.store.graphs import GRAPH_CODE, check_graph

if TYPE_CHECKING:
    from nesy.kbview import KBView
    from nesy.store.triples import TripleTable

    _Base = KBView
else:
    _Base = object

PathLike = str | os.PathLike[str]
Pattern = tuple[Identifier | None, Identifier | None, Identifier | None]


class ChangeLog:
    """What one ``kb.changing()`` block did to the triple table: the rows it removed (their
    columns, as the store's removal listeners get them) and where the rows it appended start.

    Rows are only appended at the end and removals keep the order of the others, so the rows
    from before the block are the first :attr:`boundary` ones at any time.

    Args:
        table: The store's triple table, as the block starts.
    """

    def __init__(self, table: TripleTable) -> None:
        self.table = table
        self.start = len(table)
        self.upgrades = table.upgrades
        #: Rows ``[0, boundary)`` are the table's rows from before the block still there.
        self.boundary = len(table)
        #: The removed rows that were there before the block (``g, s, p, o, score, src``).
        self.gone: list[dict[str, np.ndarray]] = []

    def removing(self, gone: dict[str, np.ndarray]) -> None:
        """The store is about to remove rows with these columns (its removal listener)."""
        t = self.table
        if len(t) > self.boundary:
            # Rows were appended in this block: the removed ones among them never reached the
            # reasoner, so only the older ones are taken back.
            rows = t.find(gone["g"], gone["s"], gone["p"], gone["o"])
            old = (rows >= 0) & (rows < self.boundary)
            gone = {name: col[old] for name, col in gone.items()}
        self.boundary -= len(gone["g"])
        self.gone.append(gone)

    def changed(self) -> bool:
        """Whether the table changed at all."""
        return bool(self.gone) or len(self.table) != self.start or self.table.upgrades != self.upgrades

    def lost_track(self) -> bool:
        """Whether rows went that no listener heard of, or a score was raised in place: the
        reasoner cannot follow such a block and must start over."""
        return len(self.table) < self.boundary or self.table.upgrades != self.upgrades


class RemovalMethods(_Base):
    """``kb.remove`` (a mixin of :class:`nesy.kb.KnowledgeBase`)."""

    _change_log: ChangeLog | None

    def remove(self, triples: Iterable[tuple[Identifier, Identifier, Identifier]] | PathLike | None = None, *,
               pattern: Pattern | None = None, graph: str = "asserted", format: str | None = None,  # noqa: A002
               namespace: str | None = None) -> int:
        """Remove triples from one graph; what only they supported is no longer derived.

        The reasoner takes them back incrementally (see ``docs/rules.md``, "Deleting facts"):
        derived facts that lose all support go, the others keep or lower their scores. The
        ``inferred`` graph follows at the next :meth:`materialize` (or SPARQL query).

        Args:
            triples: rdflib triples ``(s, p, o)``, or a data file (as :meth:`load` reads them)
                whose triples go. Blank nodes get new labels each time a file is read, so a
                file's triples with blank nodes match nothing.
            pattern: ``(s, p, o)`` with None as a wildcard: every matching triple goes.
            graph: The graph to remove from: ``asserted`` (the default), ``extracted``,
                ``predicted``, ``dl-reasoner`` or a named graph's IRI. ``inferred`` is refused:
                derived triples go when their support goes.
            format: The file's format (default: from its extension).
            namespace: For a TSV file: the namespace of its names (default: the KB's).

        Returns:
            How many triples were removed (none when nothing matched).

        Raises:
            StoreError: the ``inferred`` graph, an unknown graph, a read-only KB, or not exactly
                one of ``triples`` and ``pattern``. LoadError: a file that cannot be read.
                Nothing is removed then.
        """
        if (triples is None) == (pattern is None):
            raise StoreError("kb.remove needs triples, a data file or pattern=(s, p, o): exactly one of them")
        code = self._removable_graph(graph)
        if self.store.read_only:
            raise StoreError(f"knowledge base {self.path} is open read-only")
        if code is None:
            return 0
        if pattern is not None:
            mask = self._pattern_rows(code, pattern)
        elif isinstance(triples, str | os.PathLike):
            mask = self._rows(code, self._file_ids(triples, format, namespace))
        else:
            vocab = self.vocab
            ids = [[vocab.get(t) for t in _triple(x)] for x in triples]
            mask = self._rows(code, np.array([i for i in ids if None not in i], dtype=np.int64).reshape(-1, 3))
        n = int(mask.sum())
        if n:
            with self.changing():
                self.store.remove_rows(mask)
        return n

    def _removable_graph(self, graph: str) -> int | None:
        """The code of the graph triples may be removed from (None: a named graph never used)."""
        name = check_graph(graph)
        if name == "inferred":
            raise StoreError("the inferred graph holds derived triples: remove the triples they come from "
                             "(or the rules), and they go at the next materialize")
        if name in GRAPH_CODE:
            return GRAPH_CODE[name]
        # Users' named graphs have the codes the store gave them.
        names = getattr(self.store, "graphs", None)
        return None if names is None else names.find(name)

    def _rows(self, code: int, spo: np.ndarray) -> np.ndarray:
        """The table rows holding the id triples ``spo`` (int64 ``(n, 3)``) in graph ``code``."""
        table = self.store.table
        mask = np.zeros(len(table), dtype=bool)
        if len(spo):
            at = table.find(np.full(len(spo), code, dtype=np.int64), spo[:, 0], spo[:, 1], spo[:, 2])
            mask[at[at >= 0]] = True
        return mask

    def _pattern_rows(self, code: int, pattern: Pattern) -> np.ndarray:
        table = self.store.table
        if not isinstance(pattern, tuple | list) or len(pattern) != 3:
            raise StoreError(f"pattern must be (s, p, o) with None for any term, got {pattern!r}")
        mask = table.g == code
        for column, term in zip((table.s, table.p, table.o), pattern, strict=True):
            if term is None:
                continue
            if not isinstance(term, Identifier):
                raise StoreError(f"pattern terms must be rdflib terms or None, got {term!r}")
            i = self.vocab.get(term)
            if i is None:
                return np.zeros(len(table), dtype=bool)
            mask &= column == i
        return mask

    def _file_ids(self, path: PathLike, fmt: str | None, namespace: str | None) -> np.ndarray:
        """The id triples of a data file's triples that the vocabulary knows, int64 ``(n, 3)``."""
        from nesy.store.formats import read_file
        from nesy.store.terms import from_ox

        if namespace is None:
            namespace = self.config.get("tsv_namespace") or self.default_namespace
        parsed = read_file(Path(path), fmt, namespace=namespace, progress=False)
        vocab = self.vocab
        ids = np.array([vocab.get(URIRef(t) if isinstance(t, str) else from_ox(t)) if t is not None else None
                        for t in parsed.terms], dtype=object)
        known = np.array([i is not None for i in ids], dtype=bool)
        spo = parsed.index[known[parsed.index].all(axis=1)]
        return ids[spo].astype(np.int64).reshape(-1, 3)

    def _on_removal(self, gone: dict[str, np.ndarray]) -> None:
        """The store's removal listener: a ``changing()`` block records the rows; a removal
        outside one (other than of derived rows) makes the reasoner start over."""
        if self._change_log is not None:
            self._change_log.removing(gone)
        elif (gone["g"] != GRAPH_CODE["inferred"]).any():
            self._reasoner = None


def _triple(x: Any) -> tuple[Identifier, Identifier, Identifier]:
    if not isinstance(x, tuple | list) or len(x) != 3 or not all(isinstance(t, Identifier) for t in x):
        raise StoreError(f"kb.remove takes triples of three rdflib terms, got {x!r}")
    return x[0], x[1], x[2]


__all__ = ["ChangeLog", "RemovalMethods"]
