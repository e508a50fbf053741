"""RuleMethods: the KnowledgeBase's rule sets: add (all or nothing), list, remove, reload.

A mixin of :class:`nesy.kb.KnowledgeBase`; the facade supplies the state. Every change
runs in :meth:`RuleMethods.rules_transaction`: the rule sets, ``kb.json`` and the
``inferred`` graph change together, or not at all. The copies under ``DIR/rules`` and
their checksums are :mod:`nesy.kb.rulebook`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nesy.errors import LimitExceeded, NesyError
from nesy.kb import rulebook

if TYPE_CHECKING:
    from nesy.engine.reasoner import Reasoner
    from nesy.kbview import KBView
    from nesy.rules.ast import Program, Rule

    _Base = KBView
else:
    _Base = object

PathLike = str | os.PathLike[str]


class RuleMethods(_Base):
    """Rule-set methods of :class:`nesy.kb.KnowledgeBase` (a mixin: the facade supplies the state)."""

    _rule_sets: list[rulebook.RuleSet]
    _programs: list[tuple[Program, str]]
    _reasoner: Reasoner | None
    #: The open rule transaction (None outside one); nested transactions join it.
    _rules_txn: rulebook.Snapshot | None = None

    def add_rules(self, source: PathLike, *, trust: bool = False, learned: bool | None = None,
                  materialize: bool = False, name: str | None = None,
                  allow_paths: Iterable[PathLike] = ()) -> Program:
        """Add a rule file (path) or rule text to the knowledge base; all or nothing.

        The rules are checked (syntax, safety, confined ``@import``, stratification with
        the rules already present) before anything changes. On an on-disk KB the file and
        every file it imports are copied into ``DIR/rules`` (with their SHA-256 in
        ``kb.json``), and the KB reads only those copies from then on.

        Args:
            source: A path to a ``.rules`` file, or the rule text itself.
            trust: Allow ``@plugin`` directives (rule files are data, not code, by default).
            learned: Proofs call the rules' conclusions ``learned`` instead of ``derived``;
                default: when the text starts with the header ``nesy learn`` writes
                (``# nesy:learned``).
            materialize: Also derive everything and store it in ``inferred``; when that
                fails (a limit, a timeout, memory), the rules are not kept and the KB is as
                before.
            name: The rule set's name (default: the file's stem, or ``session``).
            allow_paths: More folders ``@import`` may read from (the file's own folder and
                the KB's ``rules/`` folder always may).
        """
        with self.rules_transaction(materialize=materialize):
            sources, root, text = rulebook.read_sources(
                source, trust=trust, prefixes=self.prefixes, default_ns=self.default_namespace,
                allow_paths=self._import_folders(allow_paths))
            program = sources.program
            kind = rulebook.rule_kind(program, source, learned)
            entry = rulebook.new_entry(self._rule_sets, name, root, trust=trust, kind=kind)
            self._register(program, kind)
            self._keep(entry, sources, root, text)
            self._rule_sets.append(rulebook.RuleSet(entry, program))
            self.config["rules"].append(entry)
            self._programs[:] = rulebook.healthy(self._rule_sets)
        return program

    def _register(self, program: Program, kind: str) -> None:
        """Load the program's trusted plugins and give it to the reasoner (which checks it
        against the rules it has, stratification included, and adds it all or nothing)."""
        for directive in program.plugins:
            self.registry.load_module(directive.module)
        self.reasoner.add_program(rulebook.runnable(program), kind=kind)
        self.config["prefixes"].update(dict(program.prefixes))
        self.reasoner.prefixes.update(self.prefixes)

    def _keep(self, entry: dict[str, Any], sources: Any, root: str | None, text: str) -> None:
        """Write the rule set's copies (on-disk, writable KBs) and note them for a rollback."""
        if self.path is None or self.store.read_only:
            return
        entry.update(rulebook.write_copies(self.path, entry["name"], sources, root, text))
        if self._rules_txn is not None:
            self._rules_txn.written.extend(self.path / c for c in rulebook.copies_of(entry))

    def _import_folders(self, allow_paths: Iterable[PathLike]) -> tuple[str, ...]:
        extra = tuple(os.fspath(p) for p in allow_paths)
        return (*extra, str(self.path / rulebook.RULES_DIR)) if self.path is not None else extra

    @contextmanager
    def rules_transaction(self, *, materialize: bool = False) -> Iterator[dict[str, Any]]:
        """Group rule changes (:meth:`add_rules`, :meth:`remove_rules`, :meth:`reload_rules`)
        so that they happen together or not at all: ``with kb.rules_transaction(materialize=True):``.

        On leaving the block, ``materialize=True`` derives everything in memory first; an
        exception in the block or in that step (``LimitExceeded``, a timeout,
        ``MemoryError``, Ctrl-C) puts the rule sets, ``kb.json`` (untouched on disk until
        the commit) and the copies back as they were, and is raised again. On success
        ``kb.json`` is written once, then ``inferred`` is stored. Yields a dict that holds
        the materialisation statistics afterwards. Nested transactions join the outer one.
        """
        if self._rules_txn is not None:
            yield {}
            return
        txn = self._rules_txn = rulebook.Snapshot.take(self._rule_sets, self.config, self.store)
        stats: dict[str, Any] = {}
        try:
            yield stats
            if materialize:
                rulebook.check_healthy(self._rule_sets)
                stats.update(self._derive_in_memory())
        except BaseException:
            self._rules_txn = None
            txn.restore(self._rule_sets, self.config, self.store)
            self._programs[:] = rulebook.healthy(self._rule_sets)
            self._reasoner = None
            raise
        self._rules_txn = None
        self.config["inferred_stale"] = True
        self.save_config()  # the commit point: kb.json lists the new rule sets
        txn.discard_dropped(self.path, self.config)
        if materialize:
            done = self.materialize()  # already derived: stores the inferred graph
            stats.update(stored=done.get("stored"), not_stored=done.get("not_stored"))
        elif txn.sets and not self._rule_sets and self.store.count("inferred"):
            self.store.clear("inferred")  # the last rule set is gone: nothing derives it any more

    def _derive_in_memory(self) -> dict[str, Any]:
        """Run the reasoner to its fixpoint (nothing stored yet); running out of memory is a
        limit like the others."""
        try:
            return self.reasoner.materialize()
        except MemoryError as exc:
            raise LimitExceeded(f"materialising the rules ran out of memory ({exc or 'allocation failed'}); "
                                "nothing was changed: lower max_facts or fix the rules") from None

    def rule_sets(self) -> list[dict[str, Any]]:
        """One dict per rule set, in order: ``name``, ``kind``, ``rules``, ``facts``,
        ``file`` (the original), ``copy``, ``original`` (``unchanged``, ``changed``,
        ``missing`` or ``text`` for typed rules), ``trust`` and ``damaged`` (the error
        when its copy fails its checksum, else None)."""
        return [rulebook.describe(s, self.path) for s in self._rule_sets]

    def remove_rules(self, name: PathLike, *, materialize: bool = False) -> dict[str, Any]:
        """Remove the rule set called ``name`` (or copied from the file ``name``); returns
        its :meth:`rule_sets` entry. ``inferred`` is re-derived with ``materialize``
        (else marked stale), and emptied when no rules remain. All or nothing."""
        with self.rules_transaction(materialize=materialize):
            i = rulebook.find(self._rule_sets, name, self.path)
            gone = self._rule_sets.pop(i)
            del self.config["rules"][i]
            self._programs[:] = rulebook.healthy(self._rule_sets)
            assert self._rules_txn is not None
            self._rules_txn.dropped.extend(rulebook.copies_of(gone.entry))
            self._reasoner = None
        return rulebook.describe(gone, self.path)

    def reload_rules(self, name: PathLike, *, materialize: bool = False,
                     allow_paths: Iterable[PathLike] = ()) -> Program:
        """Copy the rule set ``name`` (a name, or its original file) again from its original
        file and its imports, replacing the old copy in place; all or nothing."""
        with self.rules_transaction(materialize=materialize):
            i = rulebook.find(self._rule_sets, name, self.path)
            old = self._rule_sets[i]
            if not old.entry.get("file"):
                raise NesyError(f"rule set {old.name!r} was typed, not read from a file: nothing to reload")
            if not Path(old.entry["file"]).is_file():
                raise NesyError(f"cannot reload rule set {old.name!r}: its original {old.entry['file']} is gone")
            sources, root, text = rulebook.read_sources(
                Path(old.entry["file"]), trust=bool(old.entry.get("trust")), prefixes=self.prefixes,
                default_ns=self.default_namespace, allow_paths=self._import_folders(allow_paths))
            entry = {k: old.entry[k] for k in ("name", "file", "trust", "kind") if k in old.entry}
            self._rule_sets[i] = rulebook.RuleSet(entry, sources.program)
            self.config["rules"][i] = entry
            assert self._rules_txn is not None
            self._rules_txn.dropped.extend(rulebook.copies_of(old.entry))
            self._reasoner = None  # the reasoner is rebuilt from every set, the new one in place
            self._programs[:] = rulebook.healthy(self._rule_sets)
            for directive in sources.program.plugins:
                self.registry.load_module(directive.module)
            self.reasoner.prefixes.update(dict(sources.program.prefixes))
            self.config["prefixes"].update(dict(sources.program.prefixes))
            self._keep(entry, sources, root, text)
        return sources.program

    @property
    def rules(self) -> list[Rule]:
        """Every rule added so far, in order (StoreError when a rule copy is damaged)."""
        return [r for p, _ in self.rule_programs() for r in p.rules]

    def rule_programs(self) -> list[tuple[Program, str]]:
        """Every rule program added so far with its kind (``derived`` or ``learned``);
        StoreError when a rule set's copy is damaged (see :meth:`rule_sets`)."""
        rulebook.check_healthy(self._rule_sets)
        return list(self._programs)

    def clear_rules(self) -> None:
        """Forget every rule set and rule-file fact (the ``inferred`` graph is emptied too)."""
        with self.rules_transaction():
            for s in self._rule_sets:
                assert self._rules_txn is not None
                self._rules_txn.dropped.extend(rulebook.copies_of(s.entry))
            self._rule_sets.clear()
            self.config["rules"] = []
            self._programs.clear()
            self._reasoner = None


__all__ = ["RuleMethods"]
