"""The hostile campaign's pristine KB and its fingerprint: what a rejected command must leave
exactly as it was (every file's bytes, and the Oxigraph store's quads)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from chaos_inputs import REPO

PRISTINE_FAMILY = REPO / "examples" / "family"

#: Budgets the pristine KB is given, as an operator facing untrusted input would set them.
BUDGETS: dict[str, Any] = {"timeout": 3, "max_memory": "1GB", "max_facts": 5_000_000}

SET_BUDGETS = """
import json, sys
from nesy.kb import KnowledgeBase
kb = KnowledgeBase(sys.argv[1])
try:
    limits = getattr(kb, "limits", None)
    if limits is None or not hasattr(limits, "set"):
        print("not available")
    else:
        limits.set(persist=True, **json.loads(sys.argv[2]))
        print("set")
finally:
    kb.close()
"""


def nesy_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "nesy", *args]


def build_pristine(workdir: Path, budgets: dict[str, Any] | None = None) -> Path:
    """A small KB (family data, its rules, a tiny DistMult model) built through the CLI, with
    ``budgets`` (default :data:`BUDGETS`) set when this nesy has them (``budgets.txt`` says which)."""
    budgets = BUDGETS if budgets is None else budgets
    kb = workdir / "pristine"
    if (kb / "kb.json").exists() and (workdir / "budgets.txt").exists():
        return kb
    shutil.rmtree(kb, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "NESY_DEBUG"}
    for args in (("load", str(kb), str(PRISTINE_FAMILY / "family.ttl")),
                 ("rules", str(kb), str(PRISTINE_FAMILY / "family.rules")),
                 ("train", str(kb), "--model", "distmult", "--dim", "8", "--epochs", "2", "--device", "cpu")):
        done = subprocess.run(nesy_cmd(*args), capture_output=True, text=True, timeout=600, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"building the pristine KB failed at nesy {' '.join(args)}:\n{done.stderr[-2000:]}")
    done = subprocess.run([sys.executable, "-c", SET_BUDGETS, str(kb), json.dumps(budgets)], capture_output=True,
                          text=True, timeout=120, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"setting the budgets {budgets} failed:\n{done.stderr[-2000:]}")
    (workdir / "budgets.txt").write_text(f"{json.dumps(budgets)}: {done.stdout.strip()}\n")
    return kb


def is_store_dir(path: Path) -> bool:
    """A RocksDB directory (Oxigraph's), whose files change on every open: compared by content."""
    return (path / "CURRENT").is_file() and (path / "IDENTITY").is_file()


def store_digest(path: Path) -> str:
    """Hash of the store's sorted quads, or ``unreadable: ...`` for a damaged store."""
    import pyoxigraph as ox

    error = ""
    for _ in range(3):
        try:
            store = ox.Store.read_only(str(path))
            quads = sorted(str(q) for q in store)
            del store
            return hashlib.sha256("\n".join(quads).encode()).hexdigest()
        except Exception as exc:  # noqa: BLE001 - pyoxigraph reports damage as RuntimeError, OSError...
            error = str(exc).split(":")[0]
            time.sleep(0.05)
    return f"unreadable: {error}"


#: RocksDB's own bookkeeping, rewritten by every open even when no quad changes.
VOLATILE = ("LOCK", "LOG")


def file_digests(kb: Path) -> dict[str, str]:
    """Hash of every file of the KB by relative path (the store's log and lock left out)."""
    out = {}
    for f in sorted(kb.rglob("*")):
        if f.is_file() and f.name not in VOLATILE and not f.name.startswith("LOG.old") and f.suffix != ".lock":
            try:
                out[str(f.relative_to(kb))] = hashlib.sha256(f.read_bytes()).hexdigest()
            except FileNotFoundError:
                # RocksDB compacting in a thread the command left running (a SPARQL query past
                # its timeout) removed it meanwhile: the files differ, so quads are compared.
                out[str(f.relative_to(kb))] = "vanished"
    return out


class Fingerprint:
    """What the KB holds: its files' bytes outside the store, and the store's quads.

    Comparing is cheap when no file changed at all (a command rejected before it opened the
    store for writing); only then is Oxigraph skipped. Otherwise the store is compared by its
    quads, since RocksDB rewrites its manifest and options on every writable open.
    """

    def __init__(self, kb: Path) -> None:
        self.files = file_digests(kb)
        self._stores: dict[str, str] | None = None
        self.kb = kb

    def stores(self) -> dict[str, str]:
        if self._stores is None:
            self._stores = {str(d.relative_to(self.kb)): store_digest(d)
                            for d in sorted(self.kb.rglob("*")) if d.is_dir() and is_store_dir(d)}
        return self._stores

    def outside(self) -> dict[str, str]:
        """File hashes outside the stores."""
        roots = tuple(s + os.sep for s in self.stores())
        return {k: v for k, v in self.files.items() if not k.startswith(roots)}

    def same_as(self, kb: Path) -> bool:
        """Whether ``kb`` (now) holds what this fingerprint saw."""
        now = Fingerprint(kb)
        if now.files == self.files:
            return True
        return now.outside() == self.outside() and now.stores() == self.stores()


def snapshot(kb: Path) -> dict[str, bytes]:
    return {str(f.relative_to(kb)): f.read_bytes() for f in sorted(kb.rglob("*")) if f.is_file()}
