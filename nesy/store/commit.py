"""The commit protocol of a KB directory: one manifest is the commit point of every write.

A KB directory holds ``oxigraph/`` (the RDF database), ``vocab.nt`` and ``sources.jsonl``
(append-only), the id table ``triples.<generation>.npz``, ``kb.json`` and the rule copies
it lists under ``rules/``. ``manifest.json`` names the committed generation: the byte size
and SHA-256 of the committed prefix of each append-only file, the table's file name and
SHA-256, the committed settings (a copy of ``kb.json``) and the SHA-256 of every rule copy.
It is replaced atomically (temporary file, fsync, ``os.replace``, fsync of the directory),
so a reader sees the old generation or the new one, never a mix.

Why this shape: appending to the vocabulary and the sources keeps ``nesy load`` linear in
what it adds (no rewrite of a large vocabulary); bytes after the committed size are an
interrupted write and are cut off on the next writable open. The table is small next to
the data and is written under a new name per generation, so the previous one stays valid
until the manifest points elsewhere. Oxigraph cannot join this commit (``bulk_load`` is not
transactional), so the id table is the truth: ``journal.json``, written before the first
Oxigraph change of a transaction, names the graphs being changed; when it is found on open
those graphs are brought back to the committed table (:mod:`nesy.store.repair`).

Crash points (see :func:`crash_point`; ``NESY_CRASH_AT=NAME`` or ``NAME:COUNT``) are listed
in :data:`CRASH_POINTS` and in ``docs/store.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nesy.errors import StoreError

MANIFEST = "manifest.json"
JOURNAL = "journal.json"
VOCAB_FILE = "vocab.nt"
SOURCES_FILE = "sources.jsonl"
CONFIG_FILE = "kb.json"
#: The id table of KBs written before the manifest existed.
LEGACY_TABLE = "triples.npz"
FORMAT_VERSION = 1
#: Every name :func:`crash_point` is called with, in the order a commit reaches them.
CRASH_POINTS = (
    "journal", "before-oxigraph", "after-oxigraph", "before-vocab", "after-vocab",
    "after-sources", "after-table", "before-manifest", "after-manifest", "after-config",
    "after-cleanup", "recovery",
)

_CRASH_SPEC = os.environ.get("NESY_CRASH_AT") or None
_CRASH_TRACE = os.environ.get("NESY_CRASH_TRACE") or None
_crash_seen: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Kill this process (SIGKILL, no cleanup) when ``NESY_CRASH_AT`` names this point, for
    the kill tests; ``NAME:COUNT`` kills at the COUNT-th time it is reached. With
    ``NESY_CRASH_TRACE=FILE`` each point reached is appended to FILE. Unset: a no-op."""
    if _CRASH_SPEC is None and _CRASH_TRACE is None:
        return
    if _CRASH_TRACE is not None:
        with open(_CRASH_TRACE, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
    if _CRASH_SPEC is None:
        return
    want, _, count = _CRASH_SPEC.partition(":")
    if want != name:
        return
    _crash_seen[name] = _crash_seen.get(name, 0) + 1
    if _crash_seen[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)


# -- files ------------------------------------------------------------------------------
def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temporary file, fsync, rename, fsync of the directory."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def config_bytes(config: dict[str, Any]) -> bytes:
    """``kb.json``'s text for ``config`` (the bytes whose SHA-256 the manifest keeps)."""
    return json.dumps(config, indent=2, sort_keys=True).encode("utf-8")


def damaged(path: Path, what: str, directory: Path) -> StoreError:
    """The error for a file that fails its check: which file, and what to run."""
    return StoreError(f"{path.name} is damaged ({what}); nothing was read from it. Run "
                      f"`nesy check-store {directory}` for a full report, and restore the "
                      "directory from a backup if `--repair` cannot fix it", file=str(path))


@dataclass
class AppendLog:
    """The committed prefix of an append-only file: ``size`` bytes holding ``count`` records,
    and a running SHA-256 of them (so a commit hashes only what it appends)."""

    path: Path
    size: int = 0
    count: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)

    def read(self, directory: Path, expect: dict[str, Any] | None) -> bytes:
        """The committed bytes, checked against the manifest entry ``expect`` (legacy KBs:
        the whole file, which must end in a complete line)."""
        if not self.path.exists():
            if expect and expect["size"]:
                raise damaged(self.path, "the file is missing", directory)
            return b""
        with open(self.path, "rb") as fh:
            data = fh.read() if expect is None else fh.read(expect["size"])
        if expect is not None:
            if len(data) < expect["size"]:
                raise damaged(self.path, f"{len(data)} bytes, the manifest says {expect['size']}", directory)
            if sha256(data) != expect["sha256"]:
                raise damaged(self.path, "its checksum differs from the manifest", directory)
        elif data and not data.endswith(b"\n"):
            raise damaged(self.path, "its last line is incomplete (an interrupted write)", directory)
        self.size = len(data)
        self.hasher = hashlib.sha256(data)
        return data

    def entry(self) -> dict[str, Any]:
        return {"size": self.size, "count": self.count, "sha256": self.hasher.hexdigest()}

    def appended(self, data: bytes, count: int) -> AppendLog:
        """Append ``data`` (``count`` records) after the committed prefix, cutting off any
        uncommitted tail first; the new state is committed only once the manifest says so."""
        hasher = self.hasher.copy()
        if data or (self.path.exists() and self.path.stat().st_size != self.size):
            with open(self.path, "ab") as fh:
                fh.truncate(self.size)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            hasher.update(data)
        return AppendLog(self.path, self.size + len(data), self.count + count, hasher)


# -- the manifest ---------------------------------------------------------------------------
def manifest_checksum(body: dict[str, Any]) -> str:
    return sha256(json.dumps({k: v for k, v in body.items() if k != "checksum"}, sort_keys=True).encode("utf-8"))


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The committed manifest of ``directory`` (``None`` when it has none), checked."""
    path = directory / MANIFEST
    try:
        body = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise damaged(path, f"unreadable: {exc}", directory) from None
    if not isinstance(body, dict) or body.get("checksum") != manifest_checksum(body):
        raise damaged(path, "its checksum does not match its content", directory)
    if body.get("format") != FORMAT_VERSION:
        raise StoreError(f"{path} has format {body.get('format')!r}; this nesy reads format {FORMAT_VERSION}")
    return body


def write_manifest(directory: Path, body: dict[str, Any]) -> dict[str, Any]:
    """Replace the manifest atomically (the commit point); returns what was written."""
    body = {**body, "format": FORMAT_VERSION}
    body["checksum"] = manifest_checksum(body)
    atomic_write(directory / MANIFEST, json.dumps(body, indent=1, sort_keys=True).encode("utf-8"))
    return body


def empty_manifest() -> dict[str, Any]:
    """The manifest of a new KB: nothing committed; the asserted data in Oxigraph's default
    graph and no user graphs (see :class:`~nesy.store.usergraphs.GraphNames`)."""
    return {"generation": 0, "vocab": None, "sources": None, "table": None, "config": None,
            "config_sha256": None, "previous_config_sha256": None, "rules": {}, "graphs": {},
            "asserted_graph": "default", "user_graphs": []}


# -- the journal ----------------------------------------------------------------------------
def read_journal(directory: Path) -> dict[str, Any] | None:
    """The journal of an unfinished write (``None`` when there is none). A journal that
    cannot be read was torn while written, before any change it guards: it names no graph."""
    path = directory / JOURNAL
    try:
        body = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"graphs": [], "torn": True}
    return body if isinstance(body, dict) else {"graphs": [], "torn": True}


def write_journal(directory: Path, body: dict[str, Any]) -> None:
    atomic_write(directory / JOURNAL, json.dumps(body, sort_keys=True).encode("utf-8"))
    crash_point("journal")


def remove_file(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# -- what a directory is ------------------------------------------------------------------
def is_kb(directory: Path) -> bool:
    """Whether ``directory`` is a knowledge base (it has a manifest or a ``kb.json``)."""
    return (directory / MANIFEST).exists() or (directory / CONFIG_FILE).exists()


def check_new_kb_dir(directory: Path) -> None:
    """Refuse to turn a directory that holds other things into a knowledge base."""
    if not directory.exists() or is_kb(directory):
        return
    if not directory.is_dir():
        raise StoreError(f"{directory} exists and is not a directory")
    others = sorted(p.name for p in directory.iterdir() if p.name != MANIFEST + ".tmp")
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise StoreError(f"{directory} is not empty and is not a knowledge base (it holds {shown}); "
                         "choose a new or empty directory")


# -- open directories, so kb.json writes join the store's commit -----------------------------
_OPEN: dict[Path, weakref.ref[Any]] = {}


def register(directory: Path, owner: Any) -> None:
    """Remember the writable store of ``directory``: settings written for it join its commits."""
    _OPEN[directory.resolve()] = weakref.ref(owner)


def unregister(directory: Path, owner: Any) -> None:
    key = directory.resolve()
    ref = _OPEN.get(key)
    if ref is not None and ref() in (owner, None):
        del _OPEN[key]


def owner_of(directory: Path) -> Any:
    """The open writable store of ``directory`` in this process, or ``None``."""
    ref = _OPEN.get(directory.resolve())
    return ref() if ref is not None else None


@dataclass
class Committed:
    """The committed state of a KB directory as read by :func:`open_directory`."""

    manifest: dict[str, Any] | None
    vocab: AppendLog
    sources: AppendLog
    vocab_bytes: bytes
    sources_bytes: bytes
    table_bytes: bytes | None
    journal: dict[str, Any] | None
    legacy: bool


def open_directory(directory: Path, *, read_only: bool) -> Committed:
    """Read the committed files of ``directory``, each checked against the manifest (a
    legacy KB without one: each checked for completeness); nothing is changed here."""
    for _ in range(3):
        manifest = read_manifest(directory)
        try:
            return _read_generation(directory, manifest)
        except StoreError:
            # A reader racing a writer's commit may find the previous table already gone:
            # a newer manifest means "read again", the same one means the file is damaged.
            if read_manifest(directory) == manifest:
                raise
    return _read_generation(directory, read_manifest(directory))


def _read_generation(directory: Path, manifest: dict[str, Any] | None) -> Committed:
    if manifest is None and lost_manifest(directory):
        raise damaged(directory / MANIFEST, "it is missing, but id tables of committed generations are "
                      f"there; `nesy check-store {directory} --repair` rebuilds it", directory)
    legacy = manifest is None and any((directory / n).exists() for n in (VOCAB_FILE, LEGACY_TABLE, SOURCES_FILE))
    journal = read_journal(directory)
    sizes = (journal or {}).get("legacy") if legacy else None
    vocab, sources = AppendLog(directory / VOCAB_FILE), AppendLog(directory / SOURCES_FILE)
    entries = [None, None] if manifest is None else [manifest.get("vocab"), manifest.get("sources")]
    if sizes:
        # A legacy KB whose first commit was interrupted: only the bytes it had before count.
        entries = [_legacy_entry(vocab.path, sizes["vocab"]), _legacy_entry(sources.path, sizes["sources"])]
    vocab_bytes = vocab.read(directory, entries[0])
    sources_bytes = sources.read(directory, entries[1])
    table_bytes = None
    if manifest is not None and manifest.get("table"):
        entry = manifest["table"]
        path = directory / entry["file"]
        try:
            table_bytes = path.read_bytes()
        except FileNotFoundError:
            raise damaged(path, "the file is missing", directory) from None
        if sha256(table_bytes) != entry["sha256"]:
            raise damaged(path, "its checksum differs from the manifest", directory)
    elif legacy and (directory / LEGACY_TABLE).exists():
        table_bytes = (directory / LEGACY_TABLE).read_bytes()
    return Committed(manifest, vocab, sources, vocab_bytes, sources_bytes, table_bytes, journal, legacy)


def lost_manifest(directory: Path) -> bool:
    """Whether a manifest should be there and is not: generation tables without one (and no
    journal of an interrupted first commit of an old KB, which also writes one)."""
    return (not (directory / MANIFEST).exists() and not (directory / JOURNAL).exists()
            and not (directory / LEGACY_TABLE).exists() and any(directory.glob("triples.*.npz")))


def _legacy_entry(path: Path, size: int) -> dict[str, Any]:
    with open(path, "rb") if path.exists() else open(os.devnull, "rb") as fh:
        return {"size": size, "sha256": sha256(fh.read(size))}


def needs_recovery(directory: Path) -> bool:
    """Whether an interrupted write left something a writable open would clean up: a
    journal, temporary files, a table no manifest names, bytes after the committed end."""
    if (directory / JOURNAL).exists():
        return True
    try:
        manifest = read_manifest(directory)
    except StoreError:
        return False  # the open itself reports it
    table = ((manifest or {}).get("table") or {}).get("file")
    for p in directory.iterdir():
        if p.name.endswith(".tmp") or (manifest is not None and p.name.startswith("triples.")
                                       and p.name.endswith(".npz") and p.name != table):
            return True
    for name in (VOCAB_FILE, SOURCES_FILE):
        entry = (manifest or {}).get(name.split(".")[0])
        if entry and (directory / name).exists() and (directory / name).stat().st_size > entry["size"]:
            return True
    return False


def tidy(directory: Path, manifest: dict[str, Any] | None) -> None:
    """Remove what an interrupted write left that no manifest names: temporary files and
    id tables of other generations (run on a writable open, before anything else)."""
    keep = (manifest or {}).get("table") or {}
    for p in directory.iterdir():
        stale_table = p.name.startswith("triples.") and p.name.endswith(".npz") and p.name != LEGACY_TABLE
        if p.name.endswith(".tmp") or p.name.endswith(".tmp.npz") or (stale_table and p.name != keep.get("file")):
            remove_file(p)
        elif p.name == LEGACY_TABLE and manifest is not None and manifest.get("generation", 0) > 0:
            remove_file(p)  # migrated: the manifest's table replaced it


def rule_copies(config: dict[str, Any] | None) -> list[str]:
    """The rule copies ``config["rules"]`` lists (each set's copy and its imports' copies)."""
    out = []
    for entry in (config or {}).get("rules", []) or []:
        if isinstance(entry, dict):
            out += [e["copy"] for e in [entry, *(entry.get("imports") or [])]
                    if isinstance(e, dict) and isinstance(e.get("copy"), str)]
    return out


def rule_digests(directory: Path, config: dict[str, Any] | None) -> dict[str, str]:
    """SHA-256 of every rule copy ``config["rules"]`` lists (that exists)."""
    return {copy: sha256((directory / copy).read_bytes()) for copy in rule_copies(config)
            if (directory / copy).is_file()}


def changed_rule_copies(directory: Path, manifest: dict[str, Any] | None) -> list[str]:
    """The rule copies the manifest lists whose file is missing or differs from its checksum.
    (Opening a KB leaves them to :mod:`nesy.kb.rulebook`, which refuses to use a copy that
    fails its own ``sha256`` and names the fix, so that ``--remove`` still works.)"""
    out = []
    for copy, digest in ((manifest or {}).get("rules") or {}).items():
        path = directory / copy
        if not path.is_file() or sha256(path.read_bytes()) != digest:
            out.append(copy)
    return out


@dataclass
class Pending:
    """What one commit writes: bytes to append to the vocabulary and the sources (with how
    many records they hold), the table's bytes (``None``: unchanged) and the settings
    (``None``: unchanged), plus triples per graph and the graph registry (``user_graphs``,
    where the asserted data lives) for the manifest."""

    vocab: tuple[bytes, int]
    sources: tuple[bytes, int]
    table: bytes | None
    config: dict[str, Any] | None
    graphs: dict[str, int]
    registry: dict[str, Any] = field(default_factory=dict)


def commit_generation(directory: Path, manifest: dict[str, Any] | None, logs: tuple[AppendLog, AppendLog],
                      pending: Pending) -> tuple[dict[str, Any], tuple[AppendLog, AppendLog]]:
    """Write the next generation; the manifest's rename is the commit point. Returns the
    new manifest and append logs (the caller's state changes only after that)."""
    old = manifest or empty_manifest()
    gen = int(old["generation"]) + 1
    crash_point("before-vocab")
    vocab = logs[0].appended(*pending.vocab)
    crash_point("after-vocab")
    sources = logs[1].appended(*pending.sources)
    crash_point("after-sources")
    table = old.get("table")
    if pending.table is not None:
        table = {"file": f"triples.{gen}.npz", "size": len(pending.table), "sha256": sha256(pending.table)}
        atomic_write(directory / table["file"], pending.table)
        crash_point("after-table")
    body = {**old, **pending.registry, "generation": gen, "vocab": vocab.entry(), "sources": sources.entry(),
            "table": table, "graphs": pending.graphs}
    config_file = directory / CONFIG_FILE
    data = None
    if pending.config is not None:
        data = config_bytes(pending.config)
        # What kb.json holds until it is replaced below: on reopen, that checksum says the
        # manifest is newer (roll kb.json forward), any other says the user edited it.
        on_disk = sha256(config_file.read_bytes()) if config_file.exists() else None
        body.update(config=pending.config, config_sha256=sha256(data), previous_config_sha256=on_disk)
    body["rules"] = rule_digests(directory, body.get("config"))
    crash_point("before-manifest")
    body = write_manifest(directory, body)
    crash_point("after-manifest")
    if data is not None and body["previous_config_sha256"] != body["config_sha256"]:
        atomic_write(config_file, data)
        crash_point("after-config")
    if old.get("table") and old["table"] != table:
        remove_file(directory / old["table"]["file"])
    remove_file(directory / LEGACY_TABLE)
    remove_file(directory / JOURNAL)
    crash_point("after-cleanup")
    return body, (vocab, sources)


__all__ = [
    "CONFIG_FILE", "CRASH_POINTS", "JOURNAL", "LEGACY_TABLE", "MANIFEST", "SOURCES_FILE", "VOCAB_FILE",
    "AppendLog", "Committed", "Pending", "commit_generation", "atomic_write", "changed_rule_copies", "check_new_kb_dir", "config_bytes",
    "crash_point", "damaged", "empty_manifest", "fsync_dir", "is_kb", "lost_manifest", "needs_recovery", "open_directory", "owner_of",
    "read_journal", "read_manifest", "register", "remove_file", "rule_copies", "rule_digests", "sha256", "tidy",
    "unregister", "write_journal", "write_manifest",
]
