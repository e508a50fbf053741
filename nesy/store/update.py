"""SPARQL 1.1 Update through the store's own write path: provenance kept, all or nothing.

:func:`run_update` takes an update request (``INSERT DATA``, ``DELETE DATA``,
``DELETE/INSERT ... WHERE``, ``DELETE WHERE``, ``LOAD``, ``CLEAR``, ``DROP``, ``CREATE``,
``ADD``, ``MOVE``, ``COPY``, several joined by ``;``) and changes the id table and Oxigraph
together, in one store transaction:

1. The text is read first (:mod:`nesy.store.update_text`): the graphs each operation may
   write, SERVICE (refused unless allowed), ``LOAD`` (refused unless allowed; only local
   ``file:`` documents are read, by nesy's own reader, and become ``INSERT DATA``), nesy's
   provenance graphs named as a target (refused), and Oxigraph's parser for syntax errors
   (a :class:`QueryError` with line and column; nothing is written).
2. **Data only** (every operation ``INSERT DATA`` / ``DELETE DATA``): the quads are read
   as TriG and written like any other write: O(size of the data).
3. **Otherwise** the graphs it may write are named in the journal, Oxigraph runs the
   update (one transaction of its own), and each of those graphs is compared with the table
   (:func:`~nesy.store.repair.diff_graph`): the quads that appeared become rows with a
   source record of kind ``sparql-update``, the rows whose quad went are removed through
   :meth:`~nesy.store.store.Store.remove_rows`. This costs O(size of the graphs it may
   write) whatever it changed; a template with ``GRAPH ?g`` may write any graph, so every
   graph is compared.

An update that would change nesy's ``extracted``, ``inferred``, ``predicted`` or
``dl-reasoner`` graph, that fails in Oxigraph, or that passes its deadline is undone:
Oxigraph is brought back to the table and the files stay as they were.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyoxigraph as ox

from nesy.errors import NesyError, QueryError, QueryTimeout, StoreError
from nesy.namespaces import GRAPH_NS
from nesy.store.commit import crash_point
from nesy.store.graphs import GRAPH_CODE, USER_CODE_BASE
from nesy.store.repair import diff_graph
from nesy.store.sparql_run import query_error
from nesy.store.sparql_text import check_no_service, check_query_shape, skip_group
from nesy.store.terms import from_ox
from nesy.store.update_text import DEFAULT, Operation, read_update, rewrite

_DATA = ("INSERT DATA", "DELETE DATA")
#: What a source record of an update keeps of its text.
SNIPPET = 300


@dataclass
class UpdateReport:
    """What an update changed.

    Attributes:
        operations: The kinds of its operations, in order (``INSERT DATA``, ``MODIFY``...).
        inserted, deleted: Table rows added and removed.
        graphs: Per graph changed (a provenance name or a user graph's IRI): ``[inserted, deleted]``.
        compared: The graphs compared with Oxigraph after it ran (empty on the data-only path).
        seconds: Wall-clock time.
    """

    operations: list[str] = field(default_factory=list)
    inserted: int = 0
    deleted: int = 0
    graphs: dict[str, list[int]] = field(default_factory=dict)
    compared: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, graph: str, inserted: int = 0, deleted: int = 0) -> None:
        entry = self.graphs.setdefault(graph, [0, 0])
        entry[0] += inserted
        entry[1] += deleted
        self.inserted += inserted
        self.deleted += deleted

    def __str__(self) -> str:
        parts = ", ".join(f"{g}: +{i} -{d}" for g, (i, d) in self.graphs.items())
        return (f"update ({len(self.operations)} operation{'s' if len(self.operations) != 1 else ''}): "
                f"{self.inserted} inserted, {self.deleted} deleted" + (f" ({parts})" if parts else "")
                + f" in {self.seconds:.2f}s")


def run_update(store: Any, text: str, *, base: str | None = None, prefixes: dict[str, str] | None = None,
               allow_load: bool = False, allow_service: bool = False, timeout: float | None = None,
               namespace: str | None = None) -> UpdateReport:
    """Run the SPARQL 1.1 update ``text`` on ``store`` (see the module docstring).

    Args:
        base: Base IRI for relative IRIs (default: none; the update may declare ``BASE``).
        prefixes: Prefixes usable without declaring them.
        allow_load: Permit ``LOAD`` of local ``file:`` documents (remote ones are never fetched).
        allow_service: Permit ``SERVICE`` in ``WHERE`` clauses (reaches the network).
        timeout: Seconds the update may take (None or 0: no limit); past it, it is undone.
        namespace: For ``LOAD`` of a TSV file: the namespace its names go to.

    Raises:
        StoreError: the store is read-only or remote.
        QueryError: a syntax error (line and column), a refused ``LOAD``/``SERVICE``, a write
            to nesy's own graphs, or a failure while Oxigraph ran it; nothing was changed.
        QueryTimeout: ``timeout`` passed; nothing was changed.
    """
    started = time.monotonic()
    deadline = started + timeout if timeout else None
    if store.backend.native is None:
        raise StoreError("SPARQL Update runs on a local knowledge base; send it to the remote endpoint itself")
    if store.read_only:
        raise StoreError(f"knowledge base {store.path} is open read-only: an update needs a writable open")
    check_query_shape(text)
    if not allow_service:
        check_no_service(text)
    prefixes = dict(prefixes or {})
    ops = read_update(text, prefixes, base)
    if not allow_service or "service" not in text.lower():  # the check runs it on an empty store
        check_syntax(text, ops, base, prefixes)
    _check_targets(ops)
    report = UpdateReport(operations=[op.kind for op in ops])
    if ops:
        with store.transaction():
            if not (all(op.kind in _DATA for op in ops) and _data_only(store, text, ops, report, deadline)):
                users = {store.graphs.name(c) for c in store.graphs.user_codes()}
                rewritten = rewrite(text, ops, users, allow_load=allow_load, namespace=namespace)
                _run_general(store, rewritten, ops, base, prefixes, report, deadline, text)
    report.seconds = time.monotonic() - started
    return report


# -- before anything is written ------------------------------------------------------------
def check_syntax(text: str, ops: list[Operation], base: str | None, prefixes: dict[str, str]) -> None:
    """Parse the update with Oxigraph, on an empty in-memory store, so a syntax error is
    reported before anything is written. ``LOAD`` operations are blanked first (Oxigraph
    would fetch them); this reader checked their syntax.

    Raises:
        QueryError: a syntax error, with line and column.
    """
    loads = [op for op in ops if op.kind == "LOAD"]
    starts = {op.tokens[0].start for op in loads}
    for op in ops:
        for tok in op.tokens:
            # Oxigraph would fetch a LOAD this reader did not see as one: it must start an operation.
            if tok.kind == "word" and tok.text.upper() == "LOAD" and tok.start not in starts:
                raise QueryError("SPARQL syntax error: LOAD must start an operation (after ';')",
                                 line=tok.line, column=tok.column)
    probe = text
    for op in sorted(loads, key=lambda o: -o.start):
        width = op.end - op.start
        blank = "DROP DEFAULT".ljust(width) if width >= 12 else "DROP DEFAULT"
        probe = probe[:op.start] + blank + probe[op.end:]
    try:
        ox.Store().update(probe, base_iri=base, prefixes=prefixes)
    except SyntaxError as exc:
        error = query_error(exc)
        shared = _SHARED_BNODE.search(error.message)
        if isinstance(error, QueryError) and error.line is None and shared:
            error = _at_shared_bnode(error, ops, shared.group(1))
        raise error from None
    except Exception:  # noqa: BLE001 - evaluating on an empty store (a missing graph...) is not the point
        pass


_SHARED_BNODE = re.compile(r"blank node (_:\S+) cannot be shared")


def _at_shared_bnode(error: QueryError, ops: list[Operation], label: str) -> QueryError:
    """Oxigraph names a blank node label used by two operations without a position: point
    at its first use in the second operation that uses it."""
    uses = [next(t for t in op.tokens if t.text == label) for op in ops if any(t.text == label for t in op.tokens)]
    if len(uses) < 2:
        return error
    return QueryError(error.message, line=uses[1].line, column=uses[1].column)


def _check_targets(ops: list[Operation]) -> None:
    """Refuse an operation that names one of nesy's own graphs as a target."""
    for op in ops:
        for iri in sorted(op.writes):
            if iri.startswith(GRAPH_NS):
                raise _refuse_graph(iri, op)


def _refuse_graph(iri: str, op: Operation | None = None) -> QueryError:
    kind = iri[len(GRAPH_NS):]
    if kind == "asserted":
        what = "the asserted data is the update's default graph: write it without GRAPH"
    elif kind in GRAPH_CODE:
        what = (f"nesy's {kind} graph is written only by nesy (rules, extraction, the link predictor, the "
                "DL reasoner); an update may read it (GRAPH or USING it) but not change it")
    else:
        what = f"IRIs under {GRAPH_NS} are reserved for nesy's graphs"
    where = op.tokens[0] if op is not None else None
    return QueryError(f"SPARQL update refused: it would write <{iri}>; {what}. Nothing was changed",
                      line=where.line if where else None, column=where.column if where else None)


# -- INSERT DATA / DELETE DATA -------------------------------------------------------------
def _data_only(store: Any, text: str, ops: list[Operation], report: UpdateReport, deadline: float | None) -> bool:
    """Apply an update made of ``INSERT DATA``/``DELETE DATA`` directly; False when its
    data does not read as TriG (then the general path runs it)."""
    final: dict[ox.Quad, bool] = {}  # each quad's last word: inserted (True) or deleted
    for op in ops:
        quads = _data_quads(text, op)
        if quads is None:
            return False
        for q in quads:
            final[q] = op.kind == "INSERT DATA"
    _check_deadline(deadline)
    groups: dict[str, list[ox.Quad]] = {}
    for q, insert in final.items():
        groups.setdefault(_graph_name(q) if insert else "", []).append(q)
    gone = groups.pop("", [])
    touched = sorted(set(groups) | {_graph_name(q) for q in gone})
    mark, token = store.savepoint(), store.journal([])
    try:
        for name, quads in groups.items():
            src = _source(store, name, text)
            s, p, o = store.encode_quads(quads)
            n = len(quads)
            report.count(name, inserted=store.add_encoded(name, s, p, o, np.ones(n), np.full(n, src.id), quads=quads))
        _delete_quads(store, gone, report)
    except BaseException:
        store.rollback(mark)  # and Oxigraph back to the table, graphs written before the failure included
        store.restore_graphs(touched)
        store.unjournal(token)
        raise
    return True


def _graph_name(q: ox.Quad) -> str:
    return "asserted" if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name.value


def _delete_quads(store: Any, quads: list[ox.Quad], report: UpdateReport) -> None:
    """Remove the rows of ``quads`` (those stored; one lookup for all)."""
    names, vocab, table = store.graphs, store.vocab, store.table
    keys = []
    for q in quads:
        code = names.code_of_target(q.graph_name)
        ids = [vocab.get(from_ox(t)) for t in (q.subject, q.predicate, q.object)] if code is not None else [None]
        if None not in ids:
            keys.append([code, *ids])
    if not keys:
        return
    g, s, p, o = np.asarray(keys, dtype=np.int64).T
    rows = table.find(g, s, p, o)
    gone = np.zeros(len(table), dtype=bool)
    gone[rows[rows >= 0]] = True
    for code in np.unique(table.g[gone]):
        report.count(names.name(code), deleted=int((table.g[gone] == code).sum()))
    if gone.any():
        store.remove_rows(gone)


def _data_quads(text: str, op: Operation) -> list[ox.Quad] | None:
    """The quads of an ``INSERT DATA``/``DELETE DATA`` operation, read as TriG with the
    prologue in force (``None`` when the text does not read as TriG)."""
    toks = op.tokens[3:-1]  # between DATA { and the closing }
    header = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in op.prefixes.items())
    parts: list[str] = []
    run: list[int] = []  # [start, end] of the current run of default-graph triples

    def flush() -> None:
        if run:
            parts.append("{ " + text[run[0]:run[1]] + " }")
            run.clear()

    k = 0
    while k < len(toks):
        tok = toks[k]
        if tok.kind == "word" and tok.text.upper() == "GRAPH":
            flush()
            end = skip_group(toks, k + 2)
            last = toks[end - 1]
            parts.append(text[tok.start:last.start + len(last.text)])
            k = end + 1 if end < len(toks) and toks[end].text == "." else end
            continue
        if not run:
            run.extend([tok.start, tok.start + len(tok.text)])
        run[1] = tok.start + len(tok.text)
        k += 1
    flush()
    try:
        return list(ox.parse(header + "\n".join(parts), format=ox.RdfFormat.TRIG, base_iri=op.base or None))
    except (SyntaxError, ValueError):
        return None


def _source(store: Any, graph: str, text: str) -> Any:
    """A source record for what one update wrote into ``graph``."""
    snippet = " ".join(text.split())
    return store.new_source("sparql-update", graph,
                            extra={"update": snippet[:SNIPPET] + ("..." if len(snippet) > SNIPPET else "")})


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise QueryTimeout("SPARQL update stopped: its timeout passed; nothing was changed. Raise the timeout "
                           "(--timeout, kb.json \"timeout\", timeout=...) or split the update")


# -- everything else: Oxigraph runs it, the touched graphs are compared ---------------------
def _run_general(store: Any, text: str, ops: list[Operation], base: str | None, prefixes: dict[str, str],
                 report: UpdateReport, deadline: float | None, original: str) -> None:
    native, names = store.backend.native, store.graphs
    before = {g.value for g in native.named_graphs() if isinstance(g, ox.NamedNode)}
    wild = any(op.any_graph for op in ops)
    keep: set[str] | None = None
    if wild:
        journal = [names.name(c) for c in range(len(names))]
        keep = {iri for iri in before if names.code_of_target(ox.NamedNode(iri)) is None}
    else:
        journal = sorted({"asserted" if w == DEFAULT else w for op in ops for w in op.writes})
    mark = store.savepoint()
    token = store.journal(journal, keep=keep)
    try:
        crash_point("before-oxigraph")
        native.update(text, base_iri=base, prefixes=prefixes)
        crash_point("after-oxigraph")
    except Exception as exc:  # noqa: BLE001 - Oxigraph's update is one transaction: nothing was written
        store.unjournal(token)
        raise _update_error(exc) from None
    except BaseException:
        store.unjournal(token)
        raise
    try:
        _adopt(store, journal, wild, before, report, deadline, original)
    except BaseException:
        store.rollback(mark)
        store.restore_graphs(journal + [g.value for g in native.named_graphs()
                                        if isinstance(g, ox.NamedNode) and g.value not in before], keep)
        store.unjournal(token)
        raise


def _adopt(store: Any, journal: list[str], wild: bool, before: set[str], report: UpdateReport,
           deadline: float | None, text: str) -> None:
    """Make the table follow what Oxigraph's update did to the graphs it may have written."""
    native, names = store.backend.native, store.graphs
    after = {g.value for g in native.named_graphs() if isinstance(g, ox.NamedNode)}
    codes: set[int] = set(range(len(names))) if wild else set()
    if wild:  # any graph the update created is a user's graph now
        for iri in sorted(after - before):
            if iri.startswith(GRAPH_NS):
                raise _refuse_graph(iri)
            if names.code_of_target(ox.NamedNode(iri)) is None:
                codes.add(names.code(iri, create=True))
    for name in journal:
        code = names.find(name)
        if code is None and name in after:
            code = names.code(name, create=True)
        if code is not None:
            codes.add(code)
    _check_deadline(deadline)
    diffs = {code: diff_graph(native, store.vocab, store.table, names, code) for code in sorted(codes)}
    report.compared = [names.name(c) for c in sorted(codes)]
    for code, diff in diffs.items():
        if 0 < code < USER_CODE_BASE and not diff.clean:
            raise _refuse_graph(GRAPH_NS + names.name(code))
    _check_deadline(deadline)
    gone = np.zeros(len(store.table), dtype=bool)
    for code, diff in diffs.items():
        name = names.name(code)
        if diff.extra:
            src = _source(store, name, text)
            s, p, o = store.encode_quads(diff.extra)
            n = len(diff.extra)
            report.count(name, inserted=store.add_encoded(name, s, p, o, np.ones(n), np.full(n, src.id),
                                                          quads=diff.extra))
        if len(diff.missing):
            gone[diff.missing] = True
            report.count(name, deleted=len(diff.missing))
        if code >= USER_CODE_BASE:
            names.set_live(code, name in after)
    if gone.any():
        store.remove_rows(np.concatenate([gone, np.zeros(len(store.table) - len(gone), dtype=bool)]))


def _update_error(exc: BaseException) -> NesyError:
    if isinstance(exc, SyntaxError | NesyError):
        return query_error(exc)
    text = str(exc).strip() or type(exc).__name__
    return QueryError(f"SPARQL update failed: {text}; nothing was changed")


__all__ = ["SNIPPET", "UpdateReport", "check_syntax", "run_update"]
