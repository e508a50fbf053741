"""KBView: the typed protocol of the knowledge base that feature packages program against.

Feature packages (``ontologies``, ``linkpred``, ``text``, ``rulelearn``, ``qa``) sit below
``nesy.kb`` and may not import it; they receive the :class:`nesy.kb.KnowledgeBase` as a
:class:`KBView` and use only these public members. The protocol lists what they use,
nothing more: a new need of a feature package is a new (public) member here and on the
facade, never a reach into ``kb._something``.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rdflib.term import Identifier

    from nesy.engine.proofs import Proof
    from nesy.engine.reasoner import Reasoner
    from nesy.ml.slots import ModelSlots
    from nesy.plugins import Registry
    from nesy.rules.ast import Program, Rule
    from nesy.store.store import Store
    from nesy.store.vocab import Vocab

#: First line of a rule file written by `nesy learn` or `nesy qa-train`: the knowledge base
#: adds its rules as ``learned`` (proofs say so) instead of ``derived``.
LEARNED_HEADER = "# nesy:learned"
#: The kinds of rule programs: the user's rules, and rules a learner wrote.
RULE_KINDS = ("derived", "learned")


class KBView(Protocol):
    """The knowledge base as feature packages see it (see the module docstring)."""

    # -- where it lives, what it holds --------------------------------------------------
    #: The KB directory, or ``None`` for an in-memory (or remote) knowledge base.
    path: Path | None
    #: The physical RDF layer: triple table, sources, backend.
    store: Store
    #: ``kb.json`` as a dict; change it, then call :meth:`save_config`.
    config: dict[str, Any]
    #: The one home of the KB's models: ``DIR/models/NAME`` and in-memory values.
    models: ModelSlots

    @property
    def vocab(self) -> Vocab:
        """The shared term <-> id vocabulary."""

    def save_config(self) -> None:
        """Write ``config`` to ``kb.json`` atomically (nothing for an in-memory KB)."""

    # -- names ---------------------------------------------------------------------------
    @property
    def prefixes(self) -> dict[str, str]:
        """Prefixes known to the KB (declared in loaded files and rule files)."""

    @property
    def default_namespace(self) -> str:
        """Namespace of bare names in rules and of TSV names."""

    def resolve_term(self, text: Identifier | str) -> Identifier:
        """A term written as in rules (``fam:ann``, ``<http://...>``, ``"lit"``) as rdflib."""

    def shorten(self, term: Identifier) -> str:
        """A term as users write it: a prefixed name where a known prefix fits."""

    # -- data ----------------------------------------------------------------------------
    def changing(self) -> AbstractContextManager[None]:
        """Wrap every direct write to ``store``: ``with kb.changing(): kb.store.add_...``,
        so the reasoner continues from the new rows and ``inferred`` is marked stale."""

    def load(self, path: str | os.PathLike[str], *, graph: str = "asserted",
             format: str | None = None) -> Any:
        """Load a data file into ``graph`` (a :class:`nesy.kb.LoadReport`)."""

    def export(self, path: str | os.PathLike[str], *, format: str | None = None,
               graph: str | None = None) -> int:
        """Write the KB (or one graph) to ``path``; the number of triples written."""

    # -- rules and reasoning -------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        """Built-in and plugin components of this KB."""

    @property
    def semiring(self) -> str:
        """How scores of alternative derivations combine."""

    @property
    def reasoner(self) -> Reasoner:
        """The reasoner over the current data and rules."""

    @property
    def rules(self) -> list[Rule]:
        """Every rule added so far, in order."""

    def rule_programs(self) -> list[tuple[Program, str]]:
        """Every rule program added so far with its kind (:data:`RULE_KINDS`)."""

    def parse_rules(self, source: str | os.PathLike[str], *, trust: bool = False) -> Program:
        """Parse a rule file (path) or rule text with the KB's prefixes; nothing is added."""

    def add_rules(self, source: str | os.PathLike[str], *, trust: bool = False,
                  learned: bool | None = None) -> Program:
        """Add a rule file or rule text, all or nothing."""

    def materialize(self) -> dict[str, Any]:
        """Derive everything and store the binary facts in ``inferred``."""

    def violations(self) -> list[Any]:
        """Matches of the constraints (``false :- body``), each with its proof."""

    def prove_triple(self, triple: tuple[Identifier, Identifier, Identifier]) -> Proof:
        """The best proof of a triple that holds."""

    def check_proof(self, proof: Proof, *, extra_rules: Any = ()) -> Any:
        """Re-validate a proof against the rules and the stored facts."""

    # -- the link predictor --------------------------------------------------------------
    @property
    def link_predictor(self) -> Any:
        """The current link predictor, or None."""

    def link_predictor_or_fail(self) -> Any:
        """The link predictor; :class:`nesy.errors.NoLinkPredictorError` when none is trained."""

    def set_link_predictor(self, predictor: Any) -> None:
        """Use ``predictor`` for ``~p(X, Y)`` atoms from now on."""


__all__ = ["LEARNED_HEADER", "RULE_KINDS", "KBView"]
