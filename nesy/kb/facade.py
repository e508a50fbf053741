"""KnowledgeBase: the one object users hold; it wires the store, rules, reasoner and models."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from rdflib import BNode, Literal, URIRef
from rdflib.term import Identifier

from nesy.store.formats import read_file
from nesy.store.store import GRAPH_CODE, GRAPHS, Store, check_graph
from nesy.store.vocab import Vocab
from nesy.errors import NesyError, NoLinkPredictorError, QueryError, StoreError

if TYPE_CHECKING:
    from nesy.engine.display import Answers
    from nesy.engine.proofs import Proof
    from nesy.engine.reasoner import Reasoner
    from nesy.store.sparql import SparqlResult
    from nesy.plugins import Registry
    from nesy.rules.ast import Atom, Program, Query, Rule

#: Namespace for bare names when the KB declares no default prefix.
DEFAULT_NAMESPACE = "http://example.org/nesy#"
_CONFIG = "kb.json"


@dataclass(frozen=True)
class LoadReport:
    """What one :meth:`KnowledgeBase.load` call did."""

    file: str
    format: str
    graph: str
    parsed: int
    added: int

    def __str__(self) -> str:
        dup = self.parsed - self.added
        extra = f" ({dup} already present)" if dup else ""
        return f"{self.file}: {self.added} triples added to {self.graph}{extra}"


class ExtractedTriple(NamedTuple):
    """One triple an extractor found (at or above the confidence threshold)."""

    document: str
    subject: Identifier
    predicate: Identifier
    object: Identifier
    confidence: float


@dataclass
class ExtractReport:
    """What one :meth:`KnowledgeBase.extract` call did.

    Attributes:
        extractor: The extractor's name.
        documents: Documents extracted from, and files that could not be read (empty files
            are not counted).
        sentences: Their sentences.
        triples: Triples new to the ``extracted`` graph (minted entities' labels not counted).
        entities: New entities minted for unlinked mentions (each with an ``rdfs:label``).
        errors: ``(document or file, message)`` of each document that failed; its triples
            were not added, the other documents' were.
        skipped: Empty files.
        seconds: Wall time.
        extracted: Every triple found at or above the threshold, in document order.
    """

    extractor: str = ""
    documents: int = 0
    sentences: int = 0
    triples: int = 0
    entities: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    extracted: list[ExtractedTriple] = field(default_factory=list)

    def __str__(self) -> str:
        def n(k: int, word: str) -> str:
            return f"{k} {word}{'' if k == 1 else 's'}"

        text = (f"{n(self.documents, 'document')}, {n(self.sentences, 'sentence')}: "
                f"{n(self.triples, 'triple')} added to extracted, {n(self.entities, 'new entity')} "
                f"({self.extractor}, {self.seconds:.2f} s)").replace("new entitys", "new entities")
        if self.skipped:
            text += f"; {n(len(self.skipped), 'empty file')} skipped"
        if self.errors:
            text += f"; {n(len(self.errors), 'document')} failed"
        return text


class KnowledgeBase:
    """A knowledge base: RDF data with provenance, rules, and the models trained on them.

    ``KnowledgeBase("./kb")`` opens or creates an on-disk KB (Oxigraph through rdflib);
    ``KnowledgeBase()`` lives in memory; :meth:`connect` uses a remote SPARQL endpoint.

    Args:
        path: KB directory, created when missing; ``None`` for an in-memory KB.
        read_only: Open without the writer lock (for reading while another process writes).
        default_namespace: Namespace of bare names in rules and of TSV names, for a new KB.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        read_only: bool = False,
        default_namespace: str | None = None,
        _store: Store | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None and self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path} exists and is not a knowledge base directory")
        self.store = _store if _store is not None else Store(self.path, read_only=read_only)
        self.config: dict[str, Any] = {
            "version": 1,
            "default_namespace": default_namespace or DEFAULT_NAMESPACE,
            "tsv_namespace": None,
            "prefixes": {},
            "semiring": "maxprod",
            "rules": [],
            "trusted_plugins": [],
        }
        cfg = self.path / _CONFIG if self.path else None
        if cfg is not None and cfg.exists():
            try:
                self.config.update(json.loads(cfg.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise StoreError(f"cannot read {cfg}: {exc}") from None
        elif cfg is not None and not read_only:
            self._save_config()
        self._programs: list[Program] = []
        self._kinds: list[str] = []  # per program: "derived" (user rules) or "learned"
        self._reasoner: Reasoner | None = None
        self._predictor: Any = None
        self._memory_model: Any = None  # (model, meta) of an in-memory KB's training
        self._registry: Registry | None = None
        self._linker: Any = None  # EntityLinker, built on the first kb.link
        self._qa_memory: Any = None  # (model, meta) of an in-memory KB's QA training
        self._qa_version = 0  # bumped by QA training, so the cached answerer is rebuilt
        self._qa_cache: tuple[Any, Any] | None = None
        for entry in self.config.get("rules", []):
            self._programs.append(self._parse_saved_rules(entry))
            self._kinds.append(entry.get("kind", "derived"))

    @classmethod
    def connect(cls, endpoint: str, *, update_endpoint: str | None = None, default_namespace: str | None = None) -> KnowledgeBase:
        """A KB whose triples live in a remote SPARQL 1.1 endpoint (the scale-out path).

        Args:
            endpoint: The query endpoint, e.g. ``http://127.0.0.1:7878/query``.
            update_endpoint: The update endpoint; by default ``/query`` is replaced by ``/update``.
        """
        return cls(None, default_namespace=default_namespace, _store=Store(endpoint=endpoint, update_endpoint=update_endpoint))

    # -- lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        """Persist everything and release the directory's writer lock."""
        self.store.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _save_config(self) -> None:
        if self.path is None or self.store.read_only:
            return
        tmp = self.path / (_CONFIG + ".tmp")
        tmp.write_text(json.dumps(self.config, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path / _CONFIG)

    # -- data -------------------------------------------------------------------------
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
        self._save_config()

    def load(
        self,
        path: str | os.PathLike[str],
        *,
        graph: str = "asserted",
        format: str | None = None,  # noqa: A002 - the natural name for users
        namespace: str | None = None,
        score: float = 1.0,
        progress: bool | None = None,
        _reason: bool = True,
    ) -> LoadReport:
        """Load a data file into ``graph``: all of it, or nothing when it has an error.

        When the knowledge base reasons with an ontology profile (see :meth:`load_ontology`),
        the new triples are reasoned over at once: template rules are copied for properties
        they introduce and the closure is materialised, so later queries (also from a later
        process) see it.

        Args:
            path: Turtle, N-Triples, N-Quads, TriG, RDF/XML, JSON-LD, OWL (RDF syntaxes) or
                TSV ``head<TAB>relation<TAB>tail`` file (optionally ``.gz``).
            graph: One of ``asserted``, ``extracted``, ``inferred``, ``predicted``.
            format: Format name; guessed from the extension when ``None``.
            namespace: For TSV: the namespace names are placed in. Remembered by the KB, so
                later TSV files (test splits...) map to the same IRIs.
            score: Confidence given to every triple of the file, in (0, 1].
            progress: Show a progress bar (default: on a terminal).
        """
        check_graph(graph)
        if namespace is None:
            namespace = self.config.get("tsv_namespace") or self.default_namespace
        parsed = read_file(path, format, namespace=namespace, progress=progress)
        fields = {"file": str(Path(path).resolve()), "format": parsed.format}
        mark = self._mark()
        added = self.store.add_parsed(parsed, graph, fields, score=score)
        changed = False
        if parsed.format == "tsv" and self.config.get("tsv_namespace") != namespace:
            self.config["tsv_namespace"] = namespace
            changed = True
        for name, ns in parsed.prefixes.items():
            if self.config["prefixes"].get(name) != ns:
                self.config["prefixes"][name] = ns
                changed = True
        if changed:
            self._save_config()
        self._data_changed(mark)
        if _reason and added and self.config.get("ontology_profile"):
            self._apply_ontology()
        return LoadReport(str(path), parsed.format, graph, len(parsed), added)

    def add(
        self, s: Identifier, p: Identifier, o: Identifier, *, graph: str = "asserted", score: float = 1.0, **source: Any
    ) -> bool:
        """Add one triple with its score and source fields; True when it was new."""
        mark = self._mark()
        added = self.store.add_triples([(s, p, o)], graph, scores=[score], **source) > 0
        self._data_changed(mark)
        return added

    def _mark(self) -> tuple[int, int]:
        return len(self.store.table), self.store.table.upgrades

    def _set_stale(self, stale: bool = True) -> None:
        """Record whether the ``inferred`` graph lags behind the data and rules."""
        if self.config.get("inferred_stale") != stale:
            self.config["inferred_stale"] = stale
            self._save_config()

    def _data_changed(self, mark: tuple[int, int]) -> None:
        """New rows were appended to the triple table after ``mark``: hand them to the
        reasoner, which continues from them (incremental). A score raised in place, or
        removed rows, make it start over on the next question instead."""
        if self._programs:
            self._set_stale()
        if self._reasoner is None:
            return
        table = self.store.table
        if table.upgrades != mark[1] or len(table) < mark[0]:
            self._reasoner = None
            return
        new = np.zeros(len(table), dtype=bool)
        new[mark[0]:] = True
        self._feed(self._reasoner, new)

    def __len__(self) -> int:
        return len(self.store)

    def stats(self) -> dict[str, Any]:
        """Triples per graph and per predicate, number of terms and sources."""
        return self.store.stats()

    def export(self, path: str | os.PathLike[str], *, format: str | None = None, graph: str | None = None) -> int:  # noqa: A002
        """Write the KB (or one graph) to ``path``; the format defaults from the extension."""
        from nesy.store.formats import detect_format

        fmt = format or detect_format(Path(path), None)
        return self.store.export(path, fmt, graph, prefixes=self.prefixes)

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
        mask = t.select(p=pid, g=GRAPH_CODE[check_graph(graph)] if graph else None)
        return np.stack([t.s[mask], t.o[mask]], axis=1), t.score[mask]

    def triples(self, graph: str | None = None) -> list[tuple[Identifier, Identifier, Identifier, str]]:
        """All triples (with their graph names) as rdflib terms."""
        return list(self.store.triples(graph))

    def graph(self, name: str | None = None) -> Any:
        """An rdflib ``Graph`` over one provenance graph, or the ``Dataset`` when ``None``."""
        from nesy.store.store import graph_iri

        if name is None:
            return self.store.dataset
        return self.store.dataset.graph(graph_iri(name))

    # -- rules and reasoning ------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        """Built-in and plugin components (predicates, operators, semirings...)."""
        if self._registry is None:
            from nesy.plugins import default_registry

            self._registry = default_registry()
            for module in self.config.get("trusted_plugins", []):
                self._registry.load_module(module)
        return self._registry

    @property
    def semiring(self) -> str:
        """How scores of alternative derivations combine: ``maxprod``, ``boolean``, ``noisyor``, ``topk``."""
        return str(self.config.get("semiring", "maxprod"))

    @semiring.setter
    def semiring(self, name: str) -> None:
        from nesy.engine.semirings import get_semiring

        get_semiring(name)  # raises with suggestions for an unknown name
        self.config["semiring"] = name
        self.config["inferred_stale"] = True
        self._save_config()
        self._reasoner = None

    def _parse_rules(self, source: str | os.PathLike[str], *, trust: bool) -> Program:
        from nesy.rules.parser import parse_file, parse_program

        kwargs = {"prefixes": self.prefixes, "default_ns": self.default_namespace, "trust_plugins": trust}
        text = str(source)
        if isinstance(source, os.PathLike) or (("\n" not in text) and text.rstrip().endswith(".rules")):
            return parse_file(source, **kwargs)
        return parse_program(text, **kwargs)

    def _parse_saved_rules(self, entry: dict[str, Any]) -> Program:
        from nesy.rules.parser import parse_file, parse_program

        kwargs = {"prefixes": self.prefixes, "default_ns": self.default_namespace, "trust_plugins": entry.get("trust", False)}
        if entry.get("file") and Path(entry["file"]).exists():
            return parse_file(entry["file"], **kwargs)
        assert self.path is not None
        text = (self.path / entry["copy"]).read_text(encoding="utf-8")
        return parse_program(text, file=entry.get("file") or entry["copy"], **kwargs)

    def add_rules(self, source: str | os.PathLike[str], *, trust: bool = False, learned: bool | None = None) -> Program:
        """Add a rule file (path) or rule text to the knowledge base; all or nothing.

        The rules are checked (syntax, safety, stratification with the rules already
        present) before anything changes. On an on-disk KB they are kept: the file's path
        and a copy, so ``nesy query`` in a later process sees them.

        Args:
            source: A path to a ``.rules`` file, or the rule text itself.
            trust: Allow ``@plugin`` directives (rule files are data, not code, by default).
            learned: Proofs call the rules' conclusions ``learned`` instead of ``derived``;
                default: when the text starts with the header ``nesy learn`` writes
                (``# nesy:learned``).
        """
        program = self._parse_rules(source, trust=trust)
        if learned is None:
            learned = _is_learned(program, source)
        kind = "learned" if learned else "derived"
        for directive in program.plugins:
            self.registry.load_module(directive.module)
        # The reasoner checks the program against the rules it has (stratification...) and
        # adds it all or nothing; its model then grows from what is already derived.
        self.reasoner.add_program(_runnable(program), kind=kind)
        self._programs.append(program)
        self._kinds.append(kind)
        for name, ns in program.prefixes:
            self.config["prefixes"][name] = ns
        if self.path is not None and not self.store.read_only:
            rules_dir = self.path / "rules"
            rules_dir.mkdir(exist_ok=True)
            n = len(self.config["rules"])
            is_file = program.files and Path(program.files[0]).exists()
            copy = rules_dir / f"{n:03d}-{Path(program.files[0]).name if is_file else 'session.rules'}"
            text = Path(program.files[0]).read_text(encoding="utf-8") if is_file else str(source)
            copy.write_text(text, encoding="utf-8")
            self.config["rules"].append({
                "file": str(Path(program.files[0]).resolve()) if is_file else None,
                "copy": str(copy.relative_to(self.path)),
                "trust": trust,
                "kind": kind,
            })
        self.config["inferred_stale"] = True
        self._save_config()
        self.reasoner.prefixes.update(self.prefixes)
        return program

    @property
    def rules(self) -> list[Rule]:
        """Every rule added so far, in order."""
        return [r for p in self._programs for r in p.rules]

    def clear_rules(self) -> None:
        """Forget every rule and rule-file fact (the ``inferred`` graph is emptied too)."""
        self._programs = []
        self._kinds = []
        self.config["rules"] = []
        self._save_config()
        self._reasoner = None
        if self.store.count("inferred"):
            self.store.clear("inferred")

    def _build_reasoner(self, programs: list[Program], kinds: list[str]) -> Reasoner:
        from nesy.engine.reasoner import Reasoner

        r = Reasoner(
            self.vocab,
            registry=self.registry,
            semiring=self.semiring,
            max_facts=int(self.config.get("max_facts", 50_000_000)),
            max_iterations=int(self.config.get("max_iterations", 10_000)),
            describe_source=self.store.describe_source,
        )
        r.prefixes.update(self.prefixes)
        r.link_predictor = _DeferredPredictor(self)
        self._feed(r, np.ones(len(self.store.table), dtype=bool))
        for program, kind in zip(programs, kinds, strict=True):
            r.add_program(_runnable(program), kind=kind)
        return r

    def _feed(self, r: Reasoner, rows_mask: np.ndarray) -> None:
        """Give the reasoner the stored triples selected by ``rows_mask`` (bool, ``(n,)``),
        except the ``inferred`` graph, which is the reasoner's own output."""
        t = self.store.table
        keep = rows_mask & (t.g != GRAPH_CODE["inferred"])
        if keep.any():
            g, p = t.g[keep], t.p[keep]
            rows = np.stack([t.s[keep], t.o[keep]], axis=1)
            score, src = t.score[keep], t.src[keep]
            # One call per (graph, predicate): the graph is the proof kind of those facts.
            order = np.lexsort((p, g))
            g, p, rows, score, src = g[order], p[order], rows[order], score[order], src[order]
            cuts = np.flatnonzero((np.diff(g) != 0) | (np.diff(p) != 0)) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(g)]):
                r.add_edb(int(p[lo]), rows[lo:hi], score[lo:hi], src[lo:hi], kind=GRAPHS[int(g[lo])])

    @property
    def reasoner(self) -> Reasoner:
        """The reasoner over the current data and rules (built on first use)."""
        if self._reasoner is None:
            self._reasoner = self._build_reasoner(self._programs, self._kinds)
        return self._reasoner

    def materialize(self) -> dict[str, Any]:
        """Derive everything the rules entail and store the binary facts in ``inferred``.

        Returns the reasoner's statistics (derived facts per predicate, iterations, seconds)
        plus ``stored``: how many triples the ``inferred`` graph now holds.
        """
        from rdflib import RDF

        r = self.reasoner
        stats = r.materialize()
        if self.store.read_only:
            return stats
        preds = {self.vocab.id(rule.head.predicate if rule.head.arity != 1 else RDF.type)
                 for rule in self.rules if rule.head is not None and rule.head.arity in (1, 2)}
        preds |= {self.vocab.id(f.atom.predicate if f.atom.arity != 1 else RDF.type)
                  for p in self._programs for f in p.facts if f.atom.arity in (1, 2)}
        cols: list[tuple[np.ndarray, ...]] = []
        not_rdf = 0
        for pid in sorted(preds):
            rows, scores = r.derived(pid)
            if len(rows) and rows.shape[1] == 2:
                # A literal subject is fine for the reasoner (generalised RDF, e.g. through
                # sameAs over literals) but has no place in an RDF graph: keep it out.
                ok = ~self.vocab.is_literal(rows[:, 0])
                not_rdf += int((~ok).sum())
                cols.append((rows[ok, 0], np.full(int(ok.sum()), pid), rows[ok, 1], scores[ok]))
        if cols:
            s_, p_, o_, sc_ = (np.concatenate(c) for c in zip(*cols))
        else:
            s_ = p_ = o_ = np.empty(0, dtype=np.int64)
            sc_ = np.empty(0)
        self._store_inferred(s_.astype(np.int64), p_.astype(np.int64), o_.astype(np.int64), sc_.astype(np.float64))
        stats["stored"] = self.store.count("inferred")
        stats["not_stored"] = not_rdf
        self._set_stale(False)
        return stats

    def _store_inferred(self, s: np.ndarray, p: np.ndarray, o: np.ndarray, scores: np.ndarray) -> None:
        """Make the ``inferred`` graph hold exactly these triples (ids, each ``(n,)``) with
        these scores, writing only the difference to the store."""
        table = self.store.table
        g = np.full(len(s), GRAPH_CODE["inferred"])
        rows = table.find(g, s, p, o)
        still = np.zeros(len(table), dtype=bool)
        still[rows[rows >= 0]] = True
        gone = (table.g == GRAPH_CODE["inferred"]) & ~still
        if gone.any():
            self.store.remove_rows(gone)
            rows = table.find(g, s, p, o)
        present = rows >= 0
        # Triples that stay may change score (new premises, weights, another semiring).
        table.score[rows[present]] = scores[present]
        if (~present).any():
            source = self.store.new_source("inferred", "inferred", extra={"semiring": self.semiring})
            fresh = ~present
            self.store.add_encoded("inferred", s[fresh], p[fresh], o[fresh], scores[fresh],
                                   np.full(int(fresh.sum()), source.id))
        else:
            self.store.commit()

    def ask(self, query: str | Query, *, limit: int | None = None) -> Answers:
        """Answers of a rule query (``?- body.``, or just the body), best first, with proofs.

        Example: ``kb.ask("?- fam:grandparent(fam:ann, X).")``; each answer has
        ``bindings`` (variable name -> term), ``score`` and ``proof``.
        """
        from nesy.engine.display import Answers
        from nesy.rules.parser import parse_query

        q = query if not isinstance(query, str) else parse_query(query, prefixes=self.prefixes, default_ns=self.default_namespace)
        return Answers(self.reasoner.ask(q, limit=limit), self.prefixes, self.shorten)

    def _atom(self, atom: str | Atom) -> Atom:
        from nesy.rules.parser import parse_atom

        return atom if not isinstance(atom, str) else parse_atom(atom, prefixes=self.prefixes, default_ns=self.default_namespace)

    def why(self, atom: str | Atom) -> Proof:
        """The best proof of a ground atom that holds (QueryError when it does not)."""
        from nesy.rules.ast import Var

        a = self._atom(atom).triple_form() if self._atom(atom).arity == 1 else self._atom(atom)
        if any(isinstance(t, Var) for t in a.args):
            raise QueryError("`why` needs a ground atom; use ask() for a query with variables")
        return self.reasoner.proof(self.vocab.id(a.predicate), tuple(self.vocab.id(t) for t in a.args))

    def why_not(self, atom: str | Atom) -> Any:
        """For an atom that does not hold: per rule that could derive it, the first body
        literal with no match."""
        return self.reasoner.why_not(self._atom(atom))

    def sparql(
        self, query: str, *, predicted: bool = False, graph: str | None = None, allow_service: bool = False
    ) -> SparqlResult:
        """Run a SPARQL 1.1 query; SELECT rows carry a ``score`` and their ``proofs``.

        The default graph is the union of ``asserted``, ``extracted`` and ``inferred``
        (``predicted`` too with ``predicted=True``); the KB's prefixes need no declaration.
        When rules changed since the last :meth:`materialize`, it runs first, so predicates
        defined by rules are queryable like stored ones.

        Args:
            query: SELECT, ASK, CONSTRUCT or DESCRIBE.
            predicted: Include link-predictor triples.
            graph: Query one provenance graph only.
            allow_service: Permit ``SERVICE`` clauses (off by default: no network at run time).
        """
        from nesy.store.sparql import Sparql

        if self._programs and self.config.get("inferred_stale", True) and not self.store.read_only:
            self.materialize()
        return Sparql(self.store, self.prefixes, self._prove_triple).run(
            query, predicted=predicted, graph=graph, allow_service=allow_service)

    def _prove_triple(self, triple: tuple[Identifier, Identifier, Identifier]) -> Proof:
        s, p, o = triple
        return self.reasoner.proof(self.vocab.id(p), (self.vocab.id(s), self.vocab.id(o)))

    def check_proof(self, proof: Proof, *, extra_rules: Any = ()) -> Any:
        """Re-validate a proof step by step against the rules and the stored facts, without
        the reasoner's derivation records (see :func:`nesy.engine.proofs.check_proof`).
        ``extra_rules``: rules outside the KB the proof may use (a QA answer's chain rule)."""
        from rdflib import RDF

        from nesy.engine.proofs import check_proof

        table = self.store.table
        inferred = GRAPH_CODE["inferred"]

        rule_facts: dict[tuple[Any, ...], float] = {}
        for program in self._programs:
            for f in program.facts:
                a = f.atom.triple_form()
                key = (a.predicate, a.args)
                rule_facts[key] = max(rule_facts.get(key, 0.0), f.score or 1.0)

        def lookup(predicate: URIRef, args: tuple[Identifier, ...]) -> float | None:
            """Best score of an input fact: rule-file facts and stored (non-inferred) triples."""
            if len(args) == 1:
                predicate, args = RDF.type, (args[0], predicate)
            best = rule_facts.get((predicate, args))
            ids = [self.vocab.get(x) for x in (args[0], predicate, args[1])] if len(args) == 2 else [None]
            if None not in ids:
                rows = [r for r in table.rows_of(*ids) if table.g[r] != inferred]
                if rows:
                    best = max(best or 0.0, float(table.score[rows].max()))
            return best

        return check_proof(proof, [*self.rules, *extra_rules], lookup, model_contains=self.reasoner.model_contains,
                           semiring=self.semiring, registry=self.registry)

    # -- questions in English -------------------------------------------------------------
    def ask_text(self, question: str, k: int = 5, *, topic: str | None = None) -> Any:
        """Answer a question in English from the graph: ranked answers with scores and proofs.

        The topic entity is found by name (or given as ``topic``); relation paths from it
        are scored by the QA model of ``DIR/models/qa`` (see :meth:`train_qa`), or zero-shot
        by text similarity when none is trained; the best paths run on the stored facts.
        Returns :class:`nesy.qa.answerer.QAAnswers`: empty, with a ``reason``, when there is
        no answer (no entity named, or no path scoring above the threshold).
        """
        return self.question_answerer().answer(question, k, topic)

    def question_answerer(self) -> Any:
        """The :class:`nesy.qa.answerer.QuestionAnswerer` over the current data (rebuilt when
        the store or the QA model changed)."""
        from nesy.qa.answerer import QuestionAnswerer

        key = (self._mark(), self._qa_version)
        cached = self._qa_cache
        if cached is None or cached[0] != key:
            cached = (key, QuestionAnswerer(self))
            self._qa_cache = cached
        return cached[1]

    def train_qa(self, questions: Any, **options: Any) -> dict[str, Any]:
        """Train the QA model on question-answer pairs (a TSV file, see
        :func:`nesy.qa.train.read_questions`) and save it in ``DIR/models/qa``.
        Options: see :func:`nesy.qa.train.train_qa`."""
        from nesy.qa.train import train_qa

        return train_qa(self, questions, **options)

    def evaluate_qa(self, questions: Any, **options: Any) -> dict[str, Any]:
        """Hits@1 (key ``hits@1``) of :meth:`ask_text` on a question TSV file, with speed and
        the number of answers whose proof checks; see :func:`nesy.qa.train.evaluate_qa`."""
        from nesy.qa.train import evaluate_qa

        return evaluate_qa(self, questions, **options)

    def load_ontology(
        self,
        path: str | os.PathLike[str],
        *,
        profile: str | None = None,
        format: str | None = None,  # noqa: A002 - the natural name for users
        graph: str = "asserted",
    ) -> dict[str, Any]:
        """Load an ontology (or data under one), enable a reasoning profile and materialise.

        The profile's rule pack (``nesy/ontologies/owl2rl.rules`` or ``rdfs.rules``) is
        added once and remembered in ``config["ontology_profile"]``, so a reopened KB keeps
        it; its property-generic rules are copied for the properties the ontology declares
        (see :mod:`nesy.ontologies.packs`), until the closure yields no new copy.

        Args:
            path: An RDF file (Turtle, RDF/XML ``.owl``, N-Triples, JSON-LD...).
            profile: ``"rl"`` (OWL 2 RL/RDF rules) or ``"rdfs"``; default: the KB's
                profile, else ``"rl"``.
            format: Data format; guessed from the extension when ``None``.
            graph: Provenance graph the file goes to.

        Returns:
            ``load`` (the :class:`LoadReport`), ``profile``, ``rules_added`` (template
            copies added by this call), ``inferred`` (triples in the inferred graph),
            ``violations`` (how many inconsistencies) and ``seconds``.
        """
        import time

        from nesy.ontologies.packs import pack_path

        start = time.perf_counter()
        current = self.config.get("ontology_profile")
        profile = profile or current or "rl"
        pack = pack_path(profile)
        if current is not None and current != profile:
            raise NesyError(f"this knowledge base already reasons with the {current!r} profile, not {profile!r}")
        report = self.load(path, format=format, graph=graph, _reason=False)
        if current is None:
            self.add_rules(pack)
            self.config["ontology_profile"] = profile
        added = self._apply_ontology()
        return {
            "load": report,
            "profile": profile,
            "rules_added": added,
            "inferred": self.store.count("inferred"),
            "violations": len(self.violations()),
            "seconds": time.perf_counter() - start,
        }

    def classify(self, reasoner: str = "hermit", *, property_values: bool = True) -> dict[str, Any]:
        """Classify with an OWL 2 DL reasoner (HermiT or Pellet, through owlready2) and store
        its new entailments in the ``dl-reasoner`` graph (proof kind ``dl-reasoner``).

        Args:
            reasoner: ``"hermit"`` or ``"pellet"`` (both need Java).
            property_values: Also infer property assertions between individuals.

        Returns:
            ``reasoner``, ``consistent``, ``added`` (new triples), ``unsatisfiable`` (classes
            equivalent to ``owl:Nothing``) and ``seconds``. An inconsistent KB stores nothing.
        """
        from nesy.ontologies.dl import REASONERS, classify

        report, triples = classify(self, reasoner, property_values=property_values)
        mark = self._mark()
        fields = {"extractor": f"owlready2 {REASONERS[reasoner][1]}"}
        report["added"] = self.store.add_triples(triples, "dl-reasoner", **fields) if triples else 0
        self._data_changed(mark)
        return report

    # -- text ----------------------------------------------------------------------------
    def extract(self, paths: str | os.PathLike[str] | list[str | os.PathLike[str]], *, extractor: Any = None,
                min_confidence: float = 0.5, lines: bool = False, progress: bool | None = None) -> ExtractReport:
        """Extract triples from text documents into the ``extracted`` graph.

        Each triple keeps its provenance: document id, sentence, character span, extractor
        and confidence (its score); mentions the extractor cannot link become new entities
        with an ``rdfs:label``. A document adds all its triples or none: a document that
        fails is listed in ``errors`` and the others are kept. Rules reason over the new
        facts at once; their proofs quote the sentence.

        Args:
            paths: ``.txt``/``.md`` files or directories of them.
            extractor: An object with ``extract(sentences, kb)``, the name of one (a plugin
                of kind ``extractor``, or a built-in), or None for the default (the model
                trained with :meth:`train_extractor` when there is one).
            min_confidence: Leave out triples below this confidence.
            lines: Each non-blank line of a file is its own document (``path:LINE``).
            progress: Progress bar over sentences (default: on a terminal, from 200 sentences).
        """
        from nesy.text.ingest import extract_into

        report = extract_into(self, paths, extractor=extractor, min_confidence=min_confidence, lines=lines,
                              progress=progress)
        if (report.triples or report.entities) and self.config.get("ontology_profile"):
            self._apply_ontology()  # as load() does: OWL/RDFS reasoning covers extracted facts too
        return report

    def train_extractor(self, examples: Any = (), *, texts: Any = (), config: dict[str, Any] | None = None,
                        progress: bool | None = None) -> dict[str, Any]:
        """Train the extractor's relation model; later :meth:`extract` calls use it.

        Args:
            examples: Labelled examples: paths of WebNLG XML or JSONL files (``{"text": ...,
                "triples": [[s, p, o], ...]}``), or ``Example`` objects.
            texts: Text files (``.txt``/``.md``) whose sentences are labelled with the facts
                already in the store (distant supervision).
            config: Training options (``epochs``, ``lr``...; see :mod:`nesy.text.extract_train`).
            progress: Show progress bars (default: on a terminal).

        Returns:
            Metrics (examples, held-out precision/recall/F1, seconds...) and where the model was
            saved (``DIR/models/extractor``; an in-memory KB keeps it in memory).
        """
        from nesy.text.ingest import train_from

        return train_from(self, examples, texts=texts, config=config, progress=progress)

    def link(self, mention: str, k: int = 5) -> list[Any]:
        """The ``k`` KB entities ``mention`` most likely names, best first (``Candidate``:
        ``term``, ``label``, ``score``, ``method``); an empty list when none passes the
        linker's NIL threshold."""
        from nesy.text.linking import EntityLinker

        # One linker per KB: it follows the store by itself, and keeps its entity vectors.
        if self._linker is None:
            self._linker = EntityLinker(self)
        return self._linker.link(mention, k)

    # -- link prediction ---------------------------------------------------------------
    def train(self, *, valid: str | os.PathLike[str] | None = None, resume: bool = False, nproc: int = 1,
              name: str | None = None, progress: bool | None = None, **options: Any) -> dict[str, Any]:
        """Train the link predictor on the KB's entity triples (asserted, extracted).

        Args:
            valid: Validation triples (TSV or RDF) for early stopping and calibration;
                default: 5% of the triples (at most 5,000) are held out.
            resume: Continue the current model; new entities start from their neighbours.
            nproc: Data-parallel processes (torchrun).
            name: Checkpoint name under ``DIR/models`` (default: the model name).
            progress: Progress bar with loss and validation MRR (default: on a terminal).
            options: :class:`nesy.linkpred.train.TrainConfig` fields: ``model`` (``transe``,
                ``distmult``, ``complex``, ``rotate``, ``rgcn``), ``dim``, ``epochs``, ``lr``...

        Returns:
            A summary: model, checkpoint, entities, relations, triples, valid,
            best_valid_mrr, epochs, seconds, new_entities.
        """
        from nesy.linkpred.kbtrain import train_kb

        return train_kb(self, name=name, valid=valid, resume=resume, nproc=nproc, progress=progress, **options)

    def evaluate(self, test: str | os.PathLike[str], *, rules: str | os.PathLike[str] | None = None,
                 hybrid: bool = False, hybrid_weight: float = 0.5) -> dict[str, Any]:
        """Filtered MRR, MR and Hits@1/3/10 (ties: mean of optimistic and pessimistic rank;
        ``optimistic_*`` too) on a file of test triples.

        Args:
            test: Test triples (TSV in the KB's namespace, or RDF).
            rules: Rank by the chain rules of this rule file (e.g. from :meth:`learn`)
                instead of the link predictor.
            hybrid: With ``rules``: add ``hybrid_weight`` times the link predictor's
                probability to each candidate's rule score.
        """
        if rules is not None:
            from nesy.rulelearn.kblearn import evaluate_rules

            return evaluate_rules(self, rules, test, hybrid=hybrid, weight=hybrid_weight)
        from nesy.linkpred.kbtrain import evaluate_kb

        return evaluate_kb(self, test)

    def learn(self, *, out: str | os.PathLike[str] | None = None, relations: list[str] | None = None,
              train: str | os.PathLike[str] | None = None, valid: str | os.PathLike[str] | None = None,
              top: int = 20, min_confidence: float = 0.0, soft_links: bool = False,
              progress: bool | None = None, **options: Any) -> dict[str, Any]:
        """Learn weighted chain rules from the KB's triples (Neural LP) and write them to
        ``out`` as a rule file (header ``# nesy:learned``: loaded back, proofs say
        ``learned``). See :func:`nesy.rulelearn.kblearn.learn_kb` for the arguments; options
        are :class:`nesy.rulelearn.neural_lp.LearnConfig` fields (``max_len``, ``epochs``...)."""
        from nesy.rulelearn.kblearn import learn_kb

        return learn_kb(self, out=out, relations=relations, train=train, valid=valid, top=top,
                        min_confidence=min_confidence, soft_links=soft_links, progress=progress, **options)

    def predict(self, head: Identifier | str, relation: Identifier | str, k: int = 10, *,
                tails: bool = True) -> list[tuple[Identifier, float]]:
        """The ``k`` most probable tails of ``(head, relation, ?)`` (heads of
        ``(?, relation, head)`` with ``tails=False``), with calibrated probabilities."""
        lp = self.link_predictor_or_fail()
        anchor = self.vocab.get(self.resolve_term(head))
        pid = self.vocab.get(self.resolve_term(relation))
        if pid is None:
            raise QueryError(f"unknown relation {relation}")
        if anchor is None:
            raise QueryError(f"unknown entity {head}")
        pairs, probs = lp.top(np.array([anchor]), pid, tails=tails, k=k, threshold=0.0)
        return [(self.vocab.term(int(o)), float(p)) for (_, o), p in zip(pairs, probs, strict=True)]

    def predict_links(self, *, relation: Identifier | str | None = None, threshold: float = 0.5,
                      k: int = 10) -> dict[str, Any]:
        """Store the model's new links in the ``predicted`` graph (replacing its earlier
        predictions for those relations), each with its probability as score and the model
        and checkpoint as source. Returns ``added``, ``relations``, ``threshold``."""
        from nesy.store.store import GRAPH_CODE
        from nesy.linkpred.kbtrain import predicted_links

        triples, probs, source = predicted_links(self, relation=relation, threshold=threshold, k=k)
        rels = source.pop("relations")
        mark = self._mark()
        t = self.store.table
        old = (t.g == GRAPH_CODE["predicted"]) & np.isin(t.p, rels)
        if old.any():
            self.store.remove_rows(old)
        added = 0
        if len(triples):
            src = self.store.new_source("predicted", "predicted", model=source.get("model"),
                                        checkpoint=source.get("checkpoint"),
                                        extra={"trained": source.get("trained"), "threshold": threshold})
            added = self.store.add_encoded("predicted", triples[:, 0], triples[:, 1], triples[:, 2],
                                           np.clip(probs, 1e-12, 1.0), np.full(len(triples), src.id))
        self._data_changed(mark)
        return {"added": int(added), "relations": len(rels), "threshold": threshold}

    @property
    def link_predictor(self) -> Any:
        """The current link predictor (loaded from its checkpoint on first use), or None."""
        if self._predictor is None and (self.config.get("link_predictor") or self._memory_model is not None):
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

    def resolve_term(self, text: Identifier | str) -> Identifier:
        """A term written as in rules (``fam:ann``, ``<http://...>``, ``"lit"``) as rdflib."""
        if not isinstance(text, str) or isinstance(text, URIRef | Literal | BNode):
            return text
        return self._atom(f"<urn:nesy:term>({text})").args[0]

    def _apply_ontology(self) -> int:
        """Copy the profile's template rules for the properties now in the KB and
        materialise; the number of copies added."""
        from nesy.ontologies.packs import apply_pack, pack_path
        from nesy.rules.parser import parse_file

        pack = pack_path(self.config["ontology_profile"])
        program = parse_file(pack, prefixes=self.prefixes, default_ns=self.default_namespace)
        added = apply_pack(self, program)
        self._save_config()
        return added

    def violations(self) -> list[Any]:
        """Matches of the constraints (``false :- body``), each with its proof."""
        return self.reasoner.violations()

    def shorten(self, term: Identifier) -> str:
        """A term as users write it: a prefixed name where a known prefix fits."""
        from nesy.rules.printer import format_term

        return format_term(term, self.prefixes, self.default_namespace)

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "memory"
        return f"<KnowledgeBase {where}: {len(self)} triples>"


#: First line of a rule file written by `nesy learn`: its rules are ``learned`` in proofs.
LEARNED_HEADER = "# nesy:learned"


def _is_learned(program: Program, source: str | os.PathLike[str]) -> bool:
    text = str(source)
    if program.files and Path(program.files[0]).exists():
        with open(program.files[0], encoding="utf-8") as fh:
            text = fh.readline()
    return text.lstrip().startswith(LEARNED_HEADER)


class _DeferredPredictor:
    """Stands in for the KB's link predictor in the reasoner: the checkpoint (and torch) is
    loaded only when a rule first asks a ``~p(X, Y)`` atom."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    @property
    def source(self) -> dict[str, Any] | None:
        return getattr(self.kb.link_predictor, "source", None)

    def __call__(self, pred: int, heads: np.ndarray | None, tails: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        return self.kb.link_predictor_or_fail()(pred, heads, tails)


__all__ = ["GRAPHS", "ExtractReport", "ExtractedTriple", "KnowledgeBase", "LoadReport", "NesyError"]


def _runnable(program: Program) -> Program:
    """``program`` without ontology-pack template rules (``tpl:P(X, Y)``): they only say
    which copies to make (see :mod:`nesy.ontologies.packs`). Unexpanded, they would still
    count in stratification and make every property depend on every other, rejecting a
    user's negation over classes that the copies themselves allow."""
    from nesy.ontologies.packs import is_template

    if not any(is_template(r) for r in program.rules):
        return program
    return replace(program, rules=tuple(r for r in program.rules if not is_template(r)))
