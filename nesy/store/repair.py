"""Bring Oxigraph's graphs in line with the committed id table (recovery, ``nesy check-store
--repair``, an update that failed): the table and vocabulary are the truth, Oxigraph follows.

A graph is named by its code (:class:`~nesy.store.usergraphs.GraphNames` says which
Oxigraph graph holds it); a graph the table does not know at all (a user's graph created by
a write that never committed) is dropped with :func:`drop_untracked`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyoxigraph as ox

from nesy.errors import StoreError
from nesy.store.graphs import USER_CODE_BASE
from nesy.store.terms import from_ox, to_ox
from nesy.store.triples import TripleTable
from nesy.store.usergraphs import GraphNames
from nesy.store.vocab import Vocab


@dataclass
class GraphDiff:
    """How one graph in Oxigraph differs from the table's rows for it.

    Attributes:
        graph: The graph's name (a provenance graph, or a user graph's IRI).
        in_oxigraph: Quads Oxigraph holds for it (its aliases included).
        in_table: Rows the table holds for it.
        extra: Oxigraph quads with no table row (or with a term the vocabulary lacks, or in
            an alias graph that must be empty).
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


def diff_graph(native: ox.Store, vocab: Vocab, table: TripleTable, names: GraphNames, code: int) -> GraphDiff:
    """Compare the quads of graph ``code`` in Oxigraph with the table's rows for it.

    Costs one pass over the graph's quads in Oxigraph (a term lookup per quad) plus a sort
    of the table's keys: O(size of the graph), whatever changed."""
    target = names.target(code)
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
    strays = [q for alias in names.aliases(code) for q in native.quads_for_pattern(None, None, None, alias)]
    spo = np.array([[term_id(q.subject), term_id(q.predicate), term_id(q.object)] for q in quads],
                   dtype=np.int64).reshape(-1, 3)
    rows = np.flatnonzero(table.select(g=code))
    known = (spo >= 0).all(axis=1)
    g = np.full(len(spo), code, dtype=np.int64)
    hit = np.full(len(spo), -1, dtype=np.int64)
    if known.any():
        hit[known] = table.find(g[known], spo[known, 0], spo[known, 1], spo[known, 2])
    extra = [q for q, h in zip(quads, hit) if h < 0] + strays
    present = np.zeros(len(table), dtype=bool)
    present[hit[hit >= 0]] = True
    return GraphDiff(names.name(code), len(quads) + len(strays), len(rows), extra, rows[~present[rows]])


def quads_of_rows(vocab: Vocab, table: TripleTable, names: GraphNames, rows: np.ndarray) -> list[ox.Quad]:
    """The Oxigraph quads of table rows ``rows`` (int64, ``(m,)``)."""
    term = vocab.term
    targets: dict[int, Any] = {}
    out = []
    for i in rows:
        code = int(table.g[i])
        target = targets.get(code)
        if target is None:
            target = targets[code] = names.target(code)
        out.append(ox.Quad(to_ox(term(table.s[i])), to_ox(term(table.p[i])), to_ox(term(table.o[i])), target))
    return out


def sync_graph(native: ox.Store, vocab: Vocab, table: TripleTable, names: GraphNames, code: int) -> GraphDiff:
    """Make graph ``code`` in Oxigraph hold exactly the table's rows for it (a user's graph
    that exists stays, empty or not; one dropped is removed); returns what differed before.
    Idempotent, so a crash while it runs is repaired by running it again."""
    target = names.target(code)
    rows = np.flatnonzero(table.select(g=code))
    if len(rows) == 0:
        # Nothing may be there: dropping is cheaper than comparing (a killed bulk load).
        before = 0
        for graph in [target, *names.aliases(code)]:
            n = sum(1 for _ in native.quads_for_pattern(None, None, None, graph))
            if n or (not isinstance(graph, ox.DefaultGraph) and native.contains_named_graph(graph)):
                native.remove_graph(graph)
            before += n
        if code >= USER_CODE_BASE and names.is_live(code):
            native.add_graph(target)
        return GraphDiff(names.name(code), before, 0, [], np.empty(0, dtype=np.int64))
    diff = diff_graph(native, vocab, table, names, code)
    for alias in names.aliases(code):
        if native.contains_named_graph(alias):
            native.remove_graph(alias)
    if len(diff.extra) > len(rows):
        native.remove_graph(target)
        native.bulk_extend(quads_of_rows(vocab, table, names, rows))
        return diff
    for q in diff.extra:
        native.remove(q)
    if len(diff.missing):
        native.bulk_extend(quads_of_rows(vocab, table, names, diff.missing))
    return diff


def drop_untracked(native: ox.Store, names: GraphNames, keep: set[str]) -> list[str]:
    """Remove every named graph of Oxigraph that the registry does not track, except the
    IRIs in ``keep`` (graphs that were there before the write); returns the IRIs removed."""
    tracked = names.tracked()
    gone = []
    for graph in list(native.named_graphs()):
        if graph in tracked or not isinstance(graph, ox.NamedNode) or graph.value in keep:
            continue
        native.remove_graph(graph)
        gone.append(graph.value)
    return gone


def other_graphs(native: ox.Store, names: GraphNames) -> dict[str, int]:
    """Quads outside the graphs nesy tracks (an untracked default graph, other named graphs), by graph."""
    tracked = names.tracked()
    out: dict[str, int] = {}
    if ox.DefaultGraph() not in tracked:
        default = sum(1 for _ in native.quads_for_pattern(None, None, None, ox.DefaultGraph()))
        if default:
            out["default"] = default
    for name in native.named_graphs():
        if name in tracked:
            continue
        out[str(name)] = sum(1 for _ in native.quads_for_pattern(None, None, None, name))
    return out


__all__ = ["GraphDiff", "diff_graph", "drop_untracked", "other_graphs", "quads_of_rows", "sync_graph"]
