"""The KB's rule sets: parsing, their own copies under DIR/rules with checksums, and restoring them.

A rule set is what one ``add_rules`` call added. On an on-disk KB its ``kb.json`` entry
(``config["rules"][i]``) is, in the format ``docs/rules.md`` documents::

    {"name": "family", "kind": "derived", "trust": false,
     "file": "/home/me/family.rules",            # the original (informational only)
     "file_sha256": "...",                       # the original's checksum when copied
     "copy": "rules/003-family.rules", "sha256": "...",
     "imports": [{"file": "/home/me/lib/base.rules", "file_sha256": "...",
                  "copy": "rules/003-family.imports/1-base.rules", "sha256": "..."}]}

Every path under ``copy`` is relative to the KB directory, and every copy is written
atomically (temporary file, fsync, ``os.replace``). A copy's ``@import`` names are
rewritten to its imports' copies, so the copies form a closed set under ``rules/``: the
KB reads only them, never the originals, and a copy whose SHA-256 differs is a
:class:`~nesy.errors.StoreError` (reported when the rules are used, so ``--list``,
``--remove`` and ``--reload`` still work on a damaged KB).
"""

from __future__ import annotations

import copy as _copy
import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nesy.errors import NesyError, StoreError
from nesy.kbview import LEARNED_HEADER

if TYPE_CHECKING:
    from nesy.rules.ast import Program
    from nesy.rules.parser import RuleSources
    from nesy.store.store import Store

#: The folder of a KB directory that holds its rule copies.
RULES_DIR = "rules"


@dataclass
class RuleSet:
    """One rule set: its ``kb.json`` entry and its program (None when its copy is damaged)."""

    entry: dict[str, Any]
    program: Program | None
    damage: StoreError | None = None

    @property
    def name(self) -> str:
        return str(self.entry["name"])

    @property
    def kind(self) -> str:
        return str(self.entry.get("kind", "derived"))


def parse_rules(source: str | os.PathLike[str], *, trust: bool, prefixes: dict[str, str],
                default_ns: str, allow_paths: tuple[str, ...] = ()) -> Program:
    """A rule file (a path, or a one-line string ending in ``.rules``) or rule text, parsed."""
    return read_sources(source, trust=trust, prefixes=prefixes, default_ns=default_ns,
                        allow_paths=allow_paths)[0].program


def read_sources(source: str | os.PathLike[str], *, trust: bool, prefixes: dict[str, str], default_ns: str,
                 allow_paths: tuple[str, ...] = ()) -> tuple[RuleSources, str | None, str]:
    """Parse a rule file or rule text: ``(sources, real path of the root file or None, its text)``."""
    from nesy.rules.builder import read_text
    from nesy.rules.parser import parse_sources

    kwargs: dict[str, Any] = {"prefixes": prefixes, "default_ns": default_ns, "trust_plugins": trust,
                              "allow_paths": allow_paths}
    text = str(source)
    if isinstance(source, os.PathLike) or (("\n" not in text) and text.rstrip().endswith(".rules")):
        file = os.fspath(source)
        text = read_text(file, None, None)
        return parse_sources(text, file=file, **kwargs), os.path.realpath(file), text
    return parse_sources(text, **kwargs), None, text


def rule_kind(program: Program, source: str | os.PathLike[str], learned: bool | None) -> str:
    """``learned`` when asked, or by default when the text starts with :data:`LEARNED_HEADER`."""
    if learned is None:
        text = str(source)
        if program.files and Path(program.files[0]).exists():
            with open(program.files[0], encoding="utf-8") as fh:
                text = fh.readline()
        learned = text.lstrip().startswith(LEARNED_HEADER)
    return "learned" if learned else "derived"


def new_entry(sets: list[RuleSet], name: str | None, root: str | None, *, trust: bool, kind: str) -> dict[str, Any]:
    """The ``kb.json`` entry of a new rule set (no copy yet): a name not yet taken."""
    taken = {s.name for s in sets}
    if name is not None:
        if not name or name in taken or not _SAFE.fullmatch(name):
            raise NesyError(f"rule set name {name!r} is taken or not a plain name (letters, digits, . _ -)"
                            if name in taken else f"rule set name {name!r} is not a plain name (letters, digits, . _ -)")
    else:
        name = base = _safe(Path(root).stem if root else "session")
        k = 2
        while name in taken:
            name, k = f"{base}-{k}", k + 1
    return {"name": name, "file": root, "trust": trust, "kind": kind}


_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


def _safe(text: str) -> str:
    """``text`` as a plain file name part (letters, digits, ``.``, ``_``, ``-``)."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:60]
    return out or "rules"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file, fsync, ``os.replace``, fsync of the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_copies(kb_dir: Path, name: str, sources: RuleSources, root: str | None, root_text: str) -> dict[str, Any]:
    """Copy a rule set's files into ``kb_dir/rules`` (imports renamed to their copies); the
    entry fields ``copy``, ``sha256``, ``file_sha256`` and ``imports``."""
    folder = kb_dir / RULES_DIR
    folder.mkdir(exist_ok=True)
    stem = f"{_next_number(folder):03d}-{_safe(name)}"
    texts = {root: root_text, **{k: v for k, v in sources.texts.items() if k != root}}
    names: dict[str | None, str] = {root: f"{RULES_DIR}/{stem}.rules"}
    for k, real in enumerate((r for r in texts if r != root), 1):
        names[real] = f"{RULES_DIR}/{stem}.imports/{k}-{_safe(Path(real).name)}"
    records: dict[str | None, dict[str, Any]] = {}
    for real, text in texts.items():
        links = [link for link in sources.links if link.importer == real]
        here = os.path.dirname(names[real])
        renamed = {(ln.line, ln.column, ln.raw): '"' + os.path.relpath(names[ln.target], here).replace(os.sep, "/")
                   + '"' for ln in links}
        data = rename_imports(text, renamed).encode("utf-8")
        write_atomic(kb_dir / names[real], data)
        records[real] = {"file": real, "file_sha256": sha256(text.encode("utf-8")), "copy": names[real],
                         "sha256": sha256(data)}
    top = records.pop(root)
    return {"copy": top["copy"], "sha256": top["sha256"], "file_sha256": top["file_sha256"] if root else None,
            "imports": list(records.values())}


def rename_imports(text: str, renamed: dict[tuple[int, int, str], str]) -> str:
    """``text`` with each quoted ``@import`` name at ``(line, column, raw)`` replaced."""
    if not renamed:
        return text
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    edits = sorted(((starts[line - 1] + column - 1, raw, new) for (line, column, raw), new in renamed.items()),
                   reverse=True)
    for offset, raw, new in edits:
        if text[offset:offset + len(raw)] != raw:  # the lexer and this count lines alike; guard anyway
            raise StoreError(f"cannot copy the rule file: @import {raw} not found at offset {offset}")
        text = text[:offset] + new + text[offset + len(raw):]
    return text


def _next_number(folder: Path) -> int:
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := re.match(r"(\d+)-", p.name))]
    return max(numbers, default=-1) + 1


def copies_of(entry: dict[str, Any]) -> list[str]:
    """The copy paths (relative to the KB directory) an entry lists: root first."""
    return [c for c in [entry.get("copy"), *(i.get("copy") for i in entry.get("imports", []))] if c]


def restore_rule_sets(config: dict[str, Any], path: Path | None, prefixes: dict[str, str],
                      default_ns: str) -> list[RuleSet]:
    """The rule sets ``kb.json`` lists, read from the KB's own copies (never the originals);
    a damaged one is kept with its error, raised when the rules are used."""
    sets: list[RuleSet] = []
    for i, entry in enumerate(config.get("rules", [])):
        if "name" not in entry:  # a KB written before rule sets had names
            base = _safe(re.sub(r"^\d+-", "", Path(entry.get("copy") or f"set{i}").stem))
            entry["name"], k = base, 2
            while entry["name"] in {s.name for s in sets}:
                entry["name"], k = f"{base}-{k}", k + 1
        try:
            program = load_copy(entry, path, prefixes, default_ns) if path is not None else None
            sets.append(RuleSet(entry, program))
        except StoreError as exc:
            sets.append(RuleSet(entry, None, exc))
    return sets


def load_copy(entry: dict[str, Any], path: Path, prefixes: dict[str, str], default_ns: str) -> Program:
    """The program of one entry, parsed from its checked copies."""
    from nesy.rules.parser import parse_sources

    name = entry["name"]
    fix = (f"restore it from a backup, or run `nesy rules {path} --reload {name}` to copy it again from "
           f"{entry.get('file') or 'its original'}, or `nesy rules {path} --remove {name}`")
    if not entry.get("copy"):
        raise StoreError(f"rule set {name!r} has no copy in the KB; fix: {fix}", file=str(path / "kb.json"))
    expected = {entry["copy"]: entry.get("sha256"), **{i["copy"]: i.get("sha256") for i in entry.get("imports", [])}}
    texts: dict[str, str] = {}
    for rel, digest in expected.items():
        file = path / rel
        try:
            data = file.read_bytes()
        except OSError:
            raise StoreError(f"the copy of rule set {name!r} is missing; fix: {fix}", file=str(file)) from None
        if digest is not None and sha256(data) != digest:
            raise StoreError(f"the copy of rule set {name!r} is damaged (SHA-256 mismatch); fix: {fix}",
                             file=str(file)) from None
        texts[os.path.realpath(file)] = data.decode("utf-8", errors="replace")
    root = path / entry["copy"]
    try:
        sources = parse_sources(texts[os.path.realpath(root)], file=str(root), prefixes=prefixes,
                                default_ns=default_ns, trust_plugins=bool(entry.get("trust")))
    except NesyError as exc:
        raise StoreError(f"the copy of rule set {name!r} no longer parses ({exc.message}); fix: {fix}",
                         file=exc.file, line=exc.line, column=exc.column) from None
    stray = set(sources.texts) - set(texts)
    if stray:
        raise StoreError(f"the copy of rule set {name!r} imports files it does not list ({', '.join(sorted(stray))});"
                         f" fix: {fix}", file=str(root))
    return sources.program


def healthy(sets: list[RuleSet]) -> list[tuple[Program, str]]:
    """``(program, kind)`` of every rule set that could be read, in order."""
    return [(s.program, s.kind) for s in sets if s.program is not None]


def check_healthy(sets: list[RuleSet]) -> None:
    """Raise the first damaged rule set's StoreError: damaged rules are never silently skipped."""
    for s in sets:
        if s.damage is not None:
            raise s.damage


def find(sets: list[RuleSet], key: str | os.PathLike[str], kb_dir: Path | None) -> int:
    """The index of the rule set named ``key``, or whose original or copy is the file ``key``."""
    text = os.fspath(key)
    for i, s in enumerate(sets):
        if s.name == text:
            return i
    real = os.path.realpath(text)
    hits = [i for i, s in enumerate(sets)
            if s.entry.get("file") == real or (kb_dir is not None and s.entry.get("copy")
                                               and os.path.realpath(kb_dir / s.entry["copy"]) == real)]
    if len(hits) == 1:
        return hits[0]
    names = ", ".join(s.name for s in sets) or "none"
    if hits:
        raise NesyError(f"{text} was added as several rule sets ({', '.join(sets[i].name for i in hits)}): "
                        "name the one to use")
    raise NesyError(f"no rule set named {text!r} and none copied from that file (rule sets: {names})")


def describe(s: RuleSet, kb_dir: Path | None) -> dict[str, Any]:
    """What ``--list`` shows of a rule set: name, kind, counts, original and whether it changed."""
    program = s.program
    originals = [(s.entry.get("file"), s.entry.get("file_sha256")),
                 *((i.get("file"), i.get("file_sha256")) for i in s.entry.get("imports", []))]
    status = "text" if not s.entry.get("file") else "unchanged"
    for file, digest in originals:
        if not file:
            continue
        try:
            now = sha256(Path(file).read_bytes())
        except OSError:
            status = "missing"
            break
        if digest is None:
            status = "unknown"  # copied before nesy kept the original's checksum
        elif now != digest:
            status = "changed"
    return {"name": s.name, "kind": s.kind, "rules": len(program.rules) if program else None,
            "facts": len(program.facts) if program else None, "file": s.entry.get("file"),
            "copy": s.entry.get("copy"), "original": status, "trust": bool(s.entry.get("trust")),
            "damaged": str(s.damage.message) if s.damage is not None else None}


@dataclass
class Snapshot:
    """The rule state before a rule transaction, to put back when it fails."""

    sets: list[RuleSet]
    entries: list[dict[str, Any]]
    prefixes: dict[str, str]
    stale: Any
    savepoint: Any
    written: list[Path] = field(default_factory=list)  # copies written since (deleted on rollback)
    dropped: list[str] = field(default_factory=list)  # copies of sets removed (deleted on commit)

    @classmethod
    def take(cls, sets: list[RuleSet], config: dict[str, Any], store: Store) -> Snapshot:
        return cls(list(sets), _copy.deepcopy(config.get("rules", [])), dict(config.get("prefixes", {})),
                   config.get("inferred_stale"), store.savepoint())

    def restore(self, sets: list[RuleSet], config: dict[str, Any], store: Store) -> None:
        """Put the rule sets, their entries and the prefixes back; delete the new copies and
        forget the terms the failed reasoning minted (an on-disk KB's vocabulary is saved)."""
        sets[:] = self.sets
        config["rules"] = self.entries
        for s, entry in zip(sets, self.entries):
            s.entry = entry
        config["prefixes"] = self.prefixes
        config["inferred_stale"] = self.stale
        for file in self.written:
            _unlink(file)
        folders = {f.parent.parent if f.parent.name.endswith(".imports") else f.parent for f in self.written}
        for folder in folders:
            if folder.name == RULES_DIR and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()  # made for this transaction alone
        untouched = tuple(store.savepoint())[:2] == tuple(self.savepoint)[:2]  # sources and rows as before
        if untouched and store.path is not None and not store.read_only:
            store.rollback(self.savepoint)
        elif not untouched:
            config["inferred_stale"] = True  # the store changed under the failed step: re-derive later

    def discard_dropped(self, kb_dir: Path | None, config: dict[str, Any]) -> None:
        """After the commit: delete the copies no entry lists any more."""
        if kb_dir is None:
            return
        kept = {c for e in config.get("rules", []) for c in copies_of(e)}
        for rel in self.dropped:
            if rel not in kept:
                _unlink(kb_dir / rel)


def _unlink(file: Path) -> None:
    try:
        file.unlink()
        if file.parent.name.endswith(".imports") and not any(file.parent.iterdir()):
            file.parent.rmdir()
    except OSError:
        pass  # already gone: nothing to undo


def runnable(program: Program) -> Program:
    """``program`` without ontology-pack template rules (``tpl:P(X, Y)``): they only say
    which copies to make (see :mod:`nesy.ontologies.packs`). Unexpanded, they would still
    count in stratification and make every property depend on every other, rejecting a
    user's negation over classes that the copies themselves allow."""
    from nesy.ontologies.packs import is_template

    if not any(is_template(r) for r in program.rules):
        return program
    return replace(program, rules=tuple(r for r in program.rules if not is_template(r)))


__all__ = ["RULES_DIR", "RuleSet", "Snapshot", "check_healthy", "copies_of", "describe", "find", "healthy",
           "load_copy", "new_entry", "parse_rules", "read_sources", "restore_rule_sets", "rule_kind", "runnable",
           "sha256", "write_atomic", "write_copies"]
