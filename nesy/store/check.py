"""Verify a KB directory file by file and against Oxigraph, and repair what can be repaired
(the work behind ``nesy check-store``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyoxigraph as ox

from nesy.errors import StoreError
from nesy.store import commit as kbdir
from nesy.store.graphs import GRAPHS, USER_CODE_BASE
from nesy.store.repair import diff_graph, other_graphs, sync_graph
from nesy.store.sources import Source, parse_sources, read_sources
from nesy.store.triples import TripleTable
from nesy.store.usergraphs import GraphNames
from nesy.store.vocab import Vocab


@dataclass
class Problem:
    """One finding: what is wrong, where, and whether ``--repair`` fixed it."""

    where: str
    what: str
    repaired: bool = False

    def __str__(self) -> str:
        return f"{'repaired: ' if self.repaired else ''}{self.where}: {self.what}"


@dataclass
class Report:
    """What :func:`check_store` found: problems and per-graph counts (table / Oxigraph)."""

    directory: str
    problems: list[Problem] = field(default_factory=list)
    graphs: dict[str, dict[str, int]] = field(default_factory=dict)
    other_graphs: dict[str, int] = field(default_factory=dict)
    generation: int | None = None

    @property
    def remaining(self) -> list[Problem]:
        return [p for p in self.problems if not p.repaired]

    def to_json(self) -> dict[str, Any]:
        return {"directory": self.directory, "generation": self.generation, "graphs": self.graphs,
                "other_graphs": self.other_graphs, "ok": not self.remaining,
                "problems": [{"where": p.where, "what": p.what, "repaired": p.repaired} for p in self.problems]}


def check_store(directory: Path, *, repair: bool = False) -> Report:
    """Check every file of the KB in ``directory`` against the manifest, the ids between
    vocabulary, table and sources, and each provenance graph in Oxigraph against the table.

    With ``repair``: recover an interrupted write, cut uncommitted bytes, remove stray
    files, rebuild a lost manifest from the newest complete table, restore a damaged
    ``kb.json`` from the manifest, and bring Oxigraph's graphs back to the table; then check
    again. Damaged committed data (vocabulary, sources, table) is reported, not guessed at.
    """
    found = _inspect(directory)
    if not repair or not found.remaining:
        return found
    _repair(directory, found)
    after = _inspect(directory)
    left = {str(p) for p in after.remaining}
    for p in found.problems:
        p.repaired = p.repaired or str(p) not in left
    seen = {str(p) for p in found.problems}
    found.problems += [p for p in after.problems if str(p) not in seen]
    found.graphs, found.other_graphs, found.generation = after.graphs, after.other_graphs, after.generation
    return found


def _inspect(directory: Path) -> Report:
    """Everything :func:`check_store` reports, changing nothing."""
    report = Report(str(directory))
    if not kbdir.is_kb(directory) and not (directory / kbdir.VOCAB_FILE).exists():
        report.problems.append(Problem(str(directory), "not a knowledge base (no manifest.json or kb.json)"))
        return report
    if not _check_manifest(directory, report):
        return report
    journal = kbdir.read_journal(directory)
    if journal is not None:
        report.problems.append(Problem(kbdir.JOURNAL, "an interrupted write: graphs "
                                       f"{', '.join(journal.get('graphs', [])) or '(none)'} may differ from the "
                                       "table until the next writable open brings them back"))
    _check_config(directory, report)
    for copy in kbdir.changed_rule_copies(directory, kbdir.read_manifest(directory)):
        report.problems.append(Problem(copy, "rule copy missing or changed since it was committed (nesy will not "
                                       "use it: reload or remove that rule set with `nesy rules`)"))
    try:
        vocab, table, names = _read_committed(directory, report)
    except StoreError as exc:
        report.problems.append(Problem(_file_of(exc, directory), exc.message))
        return report
    try:
        native = ox.Store.read_only(str(directory / "oxigraph"))
    except (OSError, RuntimeError) as exc:  # RocksDB reports damaged files as RuntimeError
        report.problems.append(Problem("oxigraph", f"cannot open the RDF database: {str(exc)[:300]}"))
        return report
    _compare_graphs(native, vocab, table, names, report)
    return report


def _check_manifest(directory: Path, report: Report) -> bool:
    """Whether the manifest can be read (or the KB is from before manifests)."""
    try:
        manifest = kbdir.read_manifest(directory)
    except StoreError as exc:
        report.problems.append(Problem(kbdir.MANIFEST, exc.message))
        return False
    if manifest is None and kbdir.lost_manifest(directory):
        report.problems.append(Problem(kbdir.MANIFEST, "missing, but the directory holds id tables of the "
                                       "commit protocol (it was deleted or lost)"))
        return False
    report.generation = None if manifest is None else int(manifest["generation"])
    return True


def rebuild_manifest(directory: Path, report: Report) -> bool:
    """Write a manifest for the whole vocabulary and sources and the newest id table that
    reads back and fits them; the graphs are then brought back to that table."""
    try:
        vocab = Vocab.from_bytes(_whole(directory / kbdir.VOCAB_FILE), directory / kbdir.VOCAB_FILE)
        sources = read_sources(directory / kbdir.SOURCES_FILE)
    except StoreError as exc:
        report.problems.append(Problem(_file_of(exc, directory), f"cannot rebuild the manifest: {exc.message}"))
        return False
    tables = sorted(directory.glob("triples.*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in tables:
        try:
            table = TripleTable.read(path)
        except StoreError:
            continue
        if len(table) and (max(table.s.max(), table.p.max(), table.o.max()) >= len(vocab)
                           or table.src.max() >= len(sources)):
            continue
        config = json.loads((directory / kbdir.CONFIG_FILE).read_text(encoding="utf-8")) \
            if (directory / kbdir.CONFIG_FILE).exists() else None
        data = path.read_bytes()
        names = _registry_from_sources(table, sources)
        # Where the asserted data lived is not known: "named" makes the next writable open
        # move it to the default graph, which is right either way.
        body = {**kbdir.empty_manifest(), **names.to_manifest(), "asserted_graph": "named",
                "generation": 1, "config": config,
                "table": {"file": path.name, "size": len(data), "sha256": kbdir.sha256(data)},
                "vocab": _whole_entry(directory / kbdir.VOCAB_FILE, len(vocab)),
                "sources": _whole_entry(directory / kbdir.SOURCES_FILE, len(sources)),
                "rules": kbdir.rule_digests(directory, config), "graphs": {}}
        if config is not None:
            body["config_sha256"] = kbdir.sha256(kbdir.config_bytes(config))
        kbdir.write_manifest(directory, body)
        kbdir.write_journal(directory, {"base": 1, "graphs": list(GRAPHS) + names.user})
        report.problems.append(Problem(kbdir.MANIFEST, f"rebuilt from {path.name} ({len(table)} rows)", repaired=True))
        return True
    report.problems.append(Problem(kbdir.MANIFEST, "cannot rebuild: no id table reads back and fits the vocabulary"))
    return False


def _registry_from_sources(table: TripleTable, sources: list[Source]) -> GraphNames:
    """Users' graphs of a table whose manifest was lost: each code's IRI is the ``graph`` of
    the source records of its rows (a code whose rows name no IRI gets a placeholder)."""
    names = GraphNames(asserted_default=False)
    top = int(table.g.max()) + 1 if len(table) else 0
    for code in range(USER_CODE_BASE, top):
        found = {sources[int(i)].graph for i in np.unique(table.src[table.g == code])}
        iris = sorted(g for g in found if g not in GRAPHS)
        names.add(iris[0] if len(iris) == 1 else f"urn:nesy:lost-graph:{code}")
    return names


def _whole(path: Path) -> bytes:
    data = path.read_bytes() if path.exists() else b""
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]  # an uncommitted half line at the end
    return data


def _whole_entry(path: Path, count: int) -> dict[str, Any]:
    data = _whole(path)
    return {"size": len(data), "count": count, "sha256": kbdir.sha256(data)}


def _check_config(directory: Path, report: Report) -> None:
    """kb.json against the manifest's copy: damaged (restored by ``--repair``) or edited."""
    manifest = kbdir.read_manifest(directory)
    committed = (manifest or {}).get("config")
    file = directory / kbdir.CONFIG_FILE
    if committed is None:
        return
    data = file.read_bytes() if file.exists() else None
    if data is not None and kbdir.sha256(data) == manifest.get("config_sha256"):
        return
    try:
        ok = data is not None and isinstance(json.loads(data), dict)
    except ValueError:
        ok = False
    if ok:
        report.problems.append(Problem(kbdir.CONFIG_FILE, "edited by hand since the last commit (the edit is "
                                       "taken on the next write)", repaired=True))
    else:
        report.problems.append(Problem(kbdir.CONFIG_FILE, "missing or not valid JSON; the manifest keeps the "
                                       "last committed settings"))


def _read_committed(directory: Path, report: Report) -> tuple[Vocab, TripleTable, GraphNames]:
    """The committed vocabulary, table and graph registry, every file and id checked (raises StoreError)."""
    state = kbdir.open_directory(directory, read_only=True)
    vocab = Vocab.from_bytes(state.vocab_bytes, directory / kbdir.VOCAB_FILE)
    sources = parse_sources(state.sources_bytes, directory / kbdir.SOURCES_FILE)
    name = ((state.manifest or {}).get("table") or {"file": kbdir.LEGACY_TABLE})["file"]
    table = TripleTable.from_bytes(state.table_bytes, directory / name) if state.table_bytes else TripleTable()
    names = GraphNames.from_manifest(state.manifest)
    if len(table):
        top = max(int(table.s.max()), int(table.p.max()), int(table.o.max()))
        if top >= len(vocab) or int(table.src.max()) >= len(sources) or int(table.g.max()) >= len(names):
            raise kbdir.damaged(directory / name, "ids beyond the vocabulary, the sources or the graphs", directory)
    for log, label in ((state.vocab, kbdir.VOCAB_FILE), (state.sources, kbdir.SOURCES_FILE)):
        size = log.path.stat().st_size if log.path.exists() else 0
        if size > log.size and state.manifest is not None:
            report.problems.append(Problem(label, f"{size - log.size} bytes after the committed end (an "
                                           "interrupted write; cut off on the next writable open)"))
    stray = sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp")
                   or (p.name.startswith("triples.") and p.name.endswith(".npz")
                       and p.name != name and state.manifest is not None))
    if stray:
        report.problems.append(Problem(", ".join(stray), "files no commit names (removed on the next writable open)"))
    return vocab, table, names


def _compare_graphs(native: ox.Store, vocab: Vocab, table: TripleTable, names: GraphNames, report: Report) -> None:
    """Each graph nesy tracks (provenance graphs, users' graphs) in Oxigraph against the table."""
    for code in range(len(names)):
        diff = diff_graph(native, vocab, table, names, code)
        report.graphs[diff.graph] = {"table": diff.in_table, "oxigraph": diff.in_oxigraph}
        if not diff.clean:
            sample = f" (e.g. {diff.extra[0]})" if diff.extra else ""
            report.problems.append(Problem(
                f"oxigraph graph {diff.graph}", f"{len(diff.extra)} quads without a table row{sample}, "
                f"{len(diff.missing)} table rows missing"))
    report.other_graphs = other_graphs(native, names)


def _repair(directory: Path, found: Report) -> None:
    """Rebuild a lost manifest, restore kb.json, then open writable (recovers a journal,
    cuts uncommitted bytes, removes stray files) and bring every graph back to the table."""
    from nesy.store.store import Store

    try:
        broken = kbdir.read_manifest(directory) is None and kbdir.lost_manifest(directory)
    except StoreError:
        broken = True
    if broken and not rebuild_manifest(directory, found):
        return
    manifest = kbdir.read_manifest(directory)
    file = directory / kbdir.CONFIG_FILE
    if manifest is not None and manifest.get("config") is not None:
        try:
            json.loads(file.read_bytes())
        except (OSError, ValueError):
            kbdir.atomic_write(file, kbdir.config_bytes(manifest["config"]))
    _set_aside_damaged_oxigraph(directory, found)
    try:
        store = Store(directory)
    except StoreError:
        return  # reported by the check after the repair
    try:
        assert store.backend.native is not None
        for code in range(len(store.graphs)):
            sync_graph(store.backend.native, store.vocab, store.table, store.graphs, code)
    finally:
        store.close()


def _set_aside_damaged_oxigraph(directory: Path, found: Report) -> None:
    """Move an RDF database that cannot be opened to ``oxigraph.damaged[.N]`` (kept, never
    deleted: it may hold graphs nesy does not track), so the repair rebuilds it from the
    committed triples."""
    db = directory / "oxigraph"
    if not db.exists():
        return
    try:
        ox.Store.read_only(str(db))
        return
    except (OSError, RuntimeError):
        pass
    aside, n = directory / "oxigraph.damaged", 1
    while aside.exists():
        n += 1
        aside = directory / f"oxigraph.damaged.{n}"
    db.rename(aside)
    kbdir.fsync_dir(directory)
    found.problems.append(Problem("oxigraph", f"damaged RDF database moved to {aside.name}; rebuilt from the "
                                              "committed triples (any graph nesy does not track is in the old copy)",
                                  repaired=True))


def _file_of(exc: StoreError, directory: Path) -> str:
    return Path(exc.file).name if exc.file else str(directory)


__all__ = ["Problem", "Report", "check_store", "rebuild_manifest"]
