"""Bring Oxigraph's provenance graphs in line with the committed id table (recovery and
``nesy check-store --repair``): the table and vocabulary are the truth, Oxigraph follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyoxigraph as ox

from nesy.errors import StoreError
from nesy.store.graphs import GRAPH_CODE, GRAPHS, graph_iri
from nesy.store.terms import from_ox, to_ox
from nesy.store.triples import TripleTable
from nesy.store.vocab import Vocab


@dataclass
class GraphDiff:
    """How one provenance graph in Oxigraph differs from the table's rows for it.

    Attributes:
        graph: The graph name.
        in_oxigraph: Quads Oxigraph holds in the graph.
        in_table: Rows the table holds for it.
        extra: Oxigraph quads with no table row (or with a term the vocabulary lacks).
        missing: Table row numbers whose quad Oxigraph lacks (int64, ``(m,)``).
    """

    graph: str
    in_oxigraph: int
    in_table: int
    extra: list[ox.Quad] = field(default_factory=list)
    missing: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def clean(self) -> bool:
        return not self.extra and len(self.missing) == 0


def diff_graph(native: ox.Store, vocab: Vocab, table: TripleTable, graph: str) -> GraphDiff:
    """Compare the quads of ``graph`` in Oxigraph with the table's rows for it."""
    code = GRAPH_CODE[graph]
    target = ox.NamedNode(str(graph_iri(graph)))
    ids: dict[Any, int] = {}

    def term_id(term: Any) -> int:
        k = ids.get(term)
        if k is None:
            try:
                found = vocab.get(from_ox(term))
            except StoreError:
                found = None
            k = ids[term] = -1 if found is None else found
        return k

    quads = list(native.quads_for_pattern(None, None, None, target))
    spo = np.array([[term_id(q.subject), term_id(q.predicate), term_id(q.object)] for q in quads],
                   dtype=np.int64).reshape(-1, 3)
    rows = np.flatnonzero(table.select(g=code))
    known = (spo >= 0).all(axis=1)
    g = np.full(len(spo), code, dtype=np.int64)
    hit = np.full(len(spo), -1, dtype=np.int64)
    if known.any():
        hit[known] = table.find(g[known], spo[known, 0], spo[known, 1], spo[known, 2])
    extra = [q for q, h in zip(quads, hit) if h < 0]
    present = np.zeros(len(table), dtype=bool)
    present[hit[hit >= 0]] = True
    return GraphDiff(graph, len(quads), len(rows), extra, rows[~present[rows]])


def quads_of_rows(vocab: Vocab, table: TripleTable, rows: np.ndarray) -> list[ox.Quad]:
    """The Oxigraph quads of table rows ``rows`` (int64, ``(m,)``)."""
    term = vocab.term
    out = []
    for i in rows:
        target = ox.NamedNode(str(graph_iri(GRAPHS[int(table.g[i])])))
        out.append(ox.Quad(to_ox(term(table.s[i])), to_ox(term(table.p[i])), to_ox(term(table.o[i])), target))
    return out


def sync_graph(native: ox.Store, vocab: Vocab, table: TripleTable, graph: str) -> GraphDiff:
    """Make ``graph`` in Oxigraph hold exactly the table's rows for it; returns what
    differed before. Idempotent, so a crash while it runs is repaired by running it again."""
    code = GRAPH_CODE[graph]
    target = ox.NamedNode(str(graph_iri(graph)))
    rows = np.flatnonzero(table.select(g=code))
    if len(rows) == 0:
        # Nothing may be there: dropping is cheaper than comparing (a killed bulk load).
        before = sum(1 for _ in native.quads_for_pattern(None, None, None, target))
        if before:
            native.remove_graph(target)
        return GraphDiff(graph, before, 0, [], np.empty(0, dtype=np.int64))
    diff = diff_graph(native, vocab, table, graph)
    if len(diff.extra) > len(rows):
        native.remove_graph(target)
        native.bulk_extend(quads_of_rows(vocab, table, rows))
        return diff
    for q in diff.extra:
        native.remove(q)
    if len(diff.missing):
        native.bulk_extend(quads_of_rows(vocab, table, diff.missing))
    return diff


def other_graphs(native: ox.Store) -> dict[str, int]:
    """Quads outside the provenance graphs (default graph, other named graphs), by graph."""
    ours = {str(graph_iri(g)) for g in GRAPHS}
    out: dict[str, int] = {}
    default = sum(1 for _ in native.quads_for_pattern(None, None, None, ox.DefaultGraph()))
    if default:
        out["default"] = default
    for name in native.named_graphs():
        if isinstance(name, ox.NamedNode) and name.value in ours:
            continue
        out[str(name)] = sum(1 for _ in native.quads_for_pattern(None, None, None, name))
    return out


__all__ = ["GraphDiff", "diff_graph", "other_graphs", "quads_of_rows", "sync_graph"]
