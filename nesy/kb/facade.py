"""KnowledgeBase: the one object users hold; a thin facade that wires the store, rules, reasoner and models.

It keeps the state (store, ``kb.json``, rule programs, reasoner, models) and delegates the
work: rule sets to :mod:`nesy.kb.rulesets` (copies: :mod:`nesy.kb.rulebook`), reasoning glue
to :mod:`nesy.kb.reasoning`, and each feature to its package (``ontologies``, ``linkpred``, ``text``, ``rulelearn``, ``qa``),
which sees this object through :class:`nesy.kbview.KBView`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyoxigraph as ox
from rdflib import URIRef
from rdflib.term import Identifier

from nesy.errors import NoLinkPredictorError, StoreError
from nesy.kb import reasoning, rulebook
from nesy.kb.config import open_config, write_config
from nesy.kb.features import FeatureMethods
from nesy.kb.queries import QueryMethods
from nesy.kb.removal import ChangeLog, RemovalMethods
from nesy.kb.reports import LoadReport
from nesy.kb.rulesets import RuleMethods
from nesy.kb.updates import UpdateMethods
from nesy.ml.slots import ModelSlots
from nesy.store.formats import read_file
from nesy.store.graphs import check_graph
from nesy.store.store import Store, check_score
from nesy.store.vocab import Vocab

if TYPE_CHECKING:
    from nesy.engine.reasoner import Reasoner
    from nesy.plugins import Registry
    from nesy.rules.ast import Program

PathLike = str | os.PathLike[str]


class KnowledgeBase(RuleMethods, QueryMethods, FeatureMethods, UpdateMethods, RemovalMethods):
    """A knowledge base: RDF data with provenance, rules, and the models trained on them.

    ``KnowledgeBase("./kb")`` opens or creates an on-disk KB (Oxigraph through rdflib);
    ``KnowledgeBase()`` lives in memory; :meth:`connect` uses a remote SPARQL endpoint.

    Args:
        path: KB directory, created when missing; ``None`` for an in-memory KB.
        read_only: Open without the writer lock (for reading while another process writes).
        default_namespace: Namespace of bare names in rules and of TSV names, for a new KB.
    """

    def __init__(self, path: PathLike | None = None, *, read_only: bool = False,
                 default_namespace: str | None = None, _store: Store | None = None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None and self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path} exists and is not a knowledge base directory")
        self.store = _store if _store is not None else Store(self.path, read_only=read_only)
        try:
            self._open(read_only, default_namespace)
        except BaseException:
            self.store.release()  # a KB that failed to open must not keep the writer lock
            raise

    def _open(self, read_only: bool, default_namespace: str | None) -> None:
        """Read the settings and restore the rule sets (``__init__``'s part that may fail)."""
        self.config: dict[str, Any] = open_config(self.path, read_only=read_only,
                                                  default_namespace=default_namespace)
        #: The one home of this KB's models (``DIR/models/NAME``, or in memory).
        self.models = ModelSlots(self.path)
        self._reasoner: Reasoner | None = None
        self._outofcore: Any = None  # the model an out-of-core engine computed, for `why`
        self._predictor: Any = None
        self._registry: Registry | None = None
        self._limits: reasoning.KBLimits | None = None
        self._change_log: ChangeLog | None = None
        self.store.removal_listeners.append(self._on_removal)  # removals are retracted (kb/removal.py)
        # Rule sets come from the KB's own copies under DIR/rules (see nesy.kb.rulesets).
        self._rule_sets = rulebook.restore_rule_sets(self.config, self.path, self.prefixes, self.default_namespace)
        self._programs: list[tuple[Program, str]] = rulebook.healthy(self._rule_sets)

    @classmethod
    def connect(cls, endpoint: str, *, update_endpoint: str | None = None,
                default_namespace: str | None = None) -> KnowledgeBase:
        """A KB whose triples live in a remote SPARQL 1.1 endpoint (the scale-out path).

        Args:
            endpoint: The query endpoint, e.g. ``http://127.0.0.1:7878/query``.
            update_endpoint: The update endpoint; by default ``/query`` is replaced by ``/update``.
        """
        return cls(None, default_namespace=default_namespace,
                   _store=Store(endpoint=endpoint, update_endpoint=update_endpoint))

    # -- lifecycle and settings -----------------------------------------------------------
    def close(self) -> None:
        """Persist everything and release the directory's writer lock."""
        if self._outofcore is not None:
            self._outofcore.close()
            self._outofcore = None
        self.store.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def save_config(self) -> None:
        """Write :attr:`config` to ``kb.json`` atomically (nothing in memory or read-only)."""
        if self.path is not None and not self.store.read_only:
            write_config(self.path, self.config)

    def _set_stale(self, stale: bool = True) -> None:
        """Record whether the ``inferred`` graph lags behind the data and rules."""
        if stale and self._outofcore is not None:
            self._outofcore.close()
            self._outofcore = None
        if self.config.get("inferred_stale") != stale:
            self.config["inferred_stale"] = stale
            self.save_config()

    # -- data -------------------------------------------------------------------------------
    @property
    def vocab(self) -> Vocab:
        """The shared term <-> id vocabulary."""
        return self.store.vocab

    @property
    def default_namespace(self) -> str:
        return str(self.config["default_namespace"])

    @property
    def prefixes(self) -> dict[str, str]:
        """Prefixes known to the KB (declared in loaded files and rule files)."""
        return dict(self.config.get("prefixes", {}))

    def bind(self, prefix: str, namespace: str) -> None:
        """Declare a prefix for later queries, rules and output."""
        self.config.setdefault("prefixes", {})[prefix] = str(namespace)
        self.save_config()

    def load(self, path: PathLike, *, graph: str = "asserted", format: str | None = None,  # noqa: A002
             namespace: str | None = None, score: float = 1.0, progress: bool | None = None) -> LoadReport:
        """Load a data file into ``graph``: all of it, or nothing when it has an error.

        With an ontology profile on (see :meth:`load_ontology`), the new triples are reasoned
        over at once and the closure is materialised.

        Args:
            path: Turtle, N-Triples, N-Quads, TriG, RDF/XML, JSON-LD, OWL (RDF syntaxes) or
                TSV ``head<TAB>relation<TAB>tail`` file (optionally ``.gz``).
            graph: One of ``asserted``, ``extracted``, ``inferred``, ``predicted``, or the
                absolute IRI of a named graph of yours (a TriG or N-Quads file keeps its own
                graphs; ``graph`` is then where its default graph goes).
            format: Format name; guessed from the extension when ``None``.
            namespace: For TSV: the namespace names are placed in. Remembered by the KB, so
                later TSV files (test splits...) map to the same IRIs.
            score: Confidence given to every triple of the file, in (0, 1].
            progress: Show a progress bar (default: on a terminal).
        """
        check_graph(graph)
        check_score(score)
        if namespace is None:
            namespace = self.config.get("tsv_namespace") or self.default_namespace
        parsed = read_file(path, format, namespace=namespace, progress=progress)
        fields = {"file": str(Path(path).resolve()), "format": parsed.format}
        # One commit for the triples and the prefixes (or TSV namespace) the file brings.
        with self.changing(), self.store.transaction():
            added = self.store.add_parsed(parsed, graph, fields, score=score)
            known = dict(self.config["prefixes"])
            self.config["prefixes"].update(parsed.prefixes)
            tsv = parsed.format == "tsv" and self.config.get("tsv_namespace") != namespace
            if tsv:
                self.config["tsv_namespace"] = namespace
            if tsv or known != self.config["prefixes"]:
                self.save_config()
        if added and self.config.get("ontology_profile"):
            from nesy.ontologies.packs import apply_ontology

            apply_ontology(self)
        return LoadReport(str(path), parsed.format, graph, len(parsed), added)

    def add(self, s: Identifier, p: Identifier, o: Identifier, *, graph: str = "asserted", score: float = 1.0,
            **source: Any) -> bool:
        """Add one triple with its score and source fields; True when it was new."""
        with self.changing():
            return self.store.add_triples([(s, p, o)], graph, scores=[score], **source) > 0

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Wrap every direct write to :attr:`store`: the reasoner then takes back the rows
        removed meanwhile and continues from the rows appended (both incremental); a score
        raised in place makes it start over on the next question instead."""
        if self._change_log is not None:  # inside another block: that one accounts for it all
            yield
            return
        log = self._change_log = ChangeLog(self.store.table)
        done = False
        try:
            yield
            done = True
        finally:
            self._change_log = None
            # A write the store refused left it as it was: derived facts are not stale then.
            if self._programs and (done or log.changed()):
                self._set_stale()
            if self._reasoner is not None:
                self._reasoner = reasoning.follow(self._reasoner, self.store, log, done)

    def __len__(self) -> int:
        return len(self.store)

    def stats(self) -> dict[str, Any]:
        """Triples per graph and per predicate, number of terms and sources."""
        return self.store.stats()

    def export(self, path: PathLike, *, format: str | None = None, graph: str | None = None) -> int:  # noqa: A002
        """Write the KB (or one graph) to ``path``; the format defaults from the extension."""
        from nesy.store.formats import detect_format

        return self.store.export(path, format or detect_format(Path(path), None), graph, prefixes=self.prefixes)

    def provenance(self, s: Identifier, p: Identifier, o: Identifier) -> list[dict[str, Any]]:
        """Where a triple is stored: graph, score and source of each copy."""
        return self.store.provenance(s, p, o)

    def encoded(self, predicate: Identifier | str, graph: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The triples of one predicate as ids: ``rows`` int64 ``(n, 2)`` (subject, object)
        and ``scores`` float64 ``(n,)``; from all graphs unless ``graph`` is given."""
        pid = self.vocab.get(URIRef(predicate) if isinstance(predicate, str) else predicate)
        t = self.store.table
        if pid is None:
            return np.empty((0, 2), dtype=np.int64), np.empty(0)
        code = self.store.graphs.find(graph) if graph else None
        if graph and code is None:
            return np.empty((0, 2), dtype=np.int64), np.empty(0)
        mask = t.select(p=pid, g=code)
        return np.stack([t.s[mask], t.o[mask]], axis=1), t.score[mask]

    def triples(self, graph: str | None = None) -> list[tuple[Identifier, Identifier, Identifier, str]]:
        """All triples (with their graph names) as rdflib terms."""
        return list(self.store.triples(graph))

    def graph(self, name: str | None = None) -> Any:
        """An rdflib ``Graph`` over one graph (a provenance graph's name or a named graph's
        IRI), or the ``Dataset`` when ``None``."""
        from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

        if name is None:
            return self.store.dataset
        target = self.store.graphs.target(self.store.graph_code(name))
        iri = DATASET_DEFAULT_GRAPH_ID if isinstance(target, ox.DefaultGraph) else URIRef(target.value)
        return self.store.dataset.graph(iri)

    # -- rules and reasoning ----------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        """Built-in and plugin components (predicates, operators, semirings...)."""
        if self._registry is None:
            from nesy.plugins import default_registry

            self._registry = default_registry()
            # Only plugins installed under the nesy.plugins entry points load by name: kb.json's
            # trusted_plugins and the @plugin directives of trusted rule sets.
            for module in self.config.get("trusted_plugins", []):
                self._registry.load_module(module)
            for program, _ in self._programs:
                for directive in program.plugins:
                    self._registry.load_module(directive.module)
        return self._registry

    @property
    def semiring(self) -> str:
        """How scores of alternative derivations combine: ``maxprod``, ``boolean``, ``noisyor``, ``topk``."""
        return str(self.config.get("semiring", "maxprod"))

    @semiring.setter
    def semiring(self, name: str) -> None:
        from nesy.engine.semirings import get_semiring

        get_semiring(name, self.registry)  # raises with suggestions for an unknown name
        self.config["semiring"] = name
        self.config["inferred_stale"] = True
        self.save_config()
        self._reasoner = None

    def parse_rules(self, source: PathLike, *, trust: bool = False) -> Program:
        """Parse a rule file (path) or rule text with the KB's prefixes; nothing is added."""
        return rulebook.parse_rules(source, trust=trust, prefixes=self.prefixes, default_ns=self.default_namespace)

    @property
    def reasoner(self) -> Reasoner:
        """The reasoner over the current data and rules (built on first use)."""
        if self._reasoner is None:
            self._reasoner = reasoning.build_reasoner(self)
        return self._reasoner

    @property
    def limits(self) -> reasoning.KBLimits:
        """The work limits (``timeout``, ``max_facts``, ``max_iterations``, ``max_memory``):
        ``kb.limits.timeout = 30`` saves to ``kb.json``; see :class:`nesy.kb.reasoning.KBLimits`."""
        if self._limits is None:
            self._limits = reasoning.KBLimits(self)
        return self._limits

    def materialize(self, *, engine: str = "memory", master: str | None = None, memory_limit: str | None = None,
                    progress: Any = None, **limits: Any) -> dict[str, Any]:
        """Derive everything the rules entail and store the binary facts in ``inferred``.

        Returns the reasoner's statistics (derived facts per predicate, iterations, seconds)
        plus ``stored``: how many triples the ``inferred`` graph now holds. ``limits``
        (``timeout=``, ``max_facts=``, ``max_iterations=``, ``max_memory=``) override
        :attr:`limits` for this call; when one stops it, nothing is stored.

        ``engine`` picks where the rules run (registry kind ``engine``): ``memory`` (this
        process), ``duckdb`` (embedded, spills to disk beyond ``memory_limit``) or ``spark``
        (``master``: ``local[2]`` by default, or a cluster URL); ``progress`` is called
        after every round of an out-of-core engine. See docs/scale.md.
        """
        from nesy.plugins.registry import resolve

        resolve("engine", engine, self.registry)  # an unknown name fails with suggestions
        if engine.strip().lower() != "memory":
            from nesy.kb import outofcore

            if self._outofcore is not None:
                self._outofcore.close()
                self._outofcore = None
            stats, self._outofcore = outofcore.materialize(self, engine.strip().lower(), master=master,
                                                           memory_limit=memory_limit, progress=progress)
        else:
            stats = reasoning.materialize(self, **limits)
        if not self.store.read_only:
            self._set_stale(False)
        return stats

    @property
    def link_predictor(self) -> Any:
        """The current link predictor (loaded from its checkpoint on first use), or None."""
        if self._predictor is None and self.config.get("link_predictor"):
            from nesy.linkpred.kbtrain import load_predictor

            self._predictor = load_predictor(self)
        return self._predictor

    def set_link_predictor(self, predictor: Any) -> None:
        """Use ``predictor`` (``fn(pred_id, heads|None, tails|None) -> (rows, scores)``) for
        ``~p(X, Y)`` atoms; answers computed with the old one are forgotten."""
        self._predictor = predictor
        self._reasoner = None

    def link_predictor_or_fail(self) -> Any:
        """The link predictor; NoLinkPredictorError when none is trained."""
        lp = self.link_predictor
        if lp is None:
            raise NoLinkPredictorError("no link predictor trained: run `nesy train DIR` (or kb.train()) first")
        return lp

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "memory"
        return f"<KnowledgeBase {where}: {len(self)} triples>"


__all__ = ["KnowledgeBase"]
