"""Reasoning glue of the KB: build and feed the reasoner, materialise into ``inferred``, check proofs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
from rdflib import RDF, URIRef
from rdflib.term import Identifier

from nesy.engine.limits import Limits, format_size
from nesy.errors import NesyError
from nesy.kb.rulebook import runnable
from nesy.store.graphs import GRAPH_CODE, kind_of

if TYPE_CHECKING:
    from nesy.engine.proofs import Proof
    from nesy.engine.reasoner import Reasoner
    from nesy.kb.removal import ChangeLog
    from nesy.kbview import KBView
    from nesy.store.store import Store


class DeferredPredictor:
    """Stands in for the KB's link predictor in the reasoner: the checkpoint (and torch) is
    loaded only when a rule first asks a ``~p(X, Y)`` atom."""

    def __init__(self, kb: KBView) -> None:
        self.kb = kb

    @property
    def source(self) -> dict[str, Any] | None:
        return getattr(self.kb.link_predictor, "source", None)

    def __call__(self, pred: int, heads: np.ndarray | None, tails: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        return self.kb.link_predictor_or_fail()(pred, heads, tails)


def build_reasoner(kb: KBView) -> Reasoner:
    """A reasoner over every stored triple and every rule program of ``kb``."""
    from nesy.engine.reasoner import Reasoner

    r = Reasoner(
        kb.vocab,
        registry=kb.registry,
        semiring=kb.semiring,
        limits_source=kb.limits.effective,
        describe_source=kb.store.describe_source,
    )
    r.prefixes.update(kb.prefixes)
    r.link_predictor = DeferredPredictor(kb)
    feed(r, kb.store, np.ones(len(kb.store.table), dtype=bool))
    for program, kind in kb.rule_programs():
        r.add_program(runnable(program), kind=kind)
    return r


def _by_graph_and_predicate(g: np.ndarray, p: np.ndarray) -> list[tuple[np.ndarray, int, int]]:
    """``(rows, graph code, predicate)`` for each (graph, predicate) pair among the rows."""
    order = np.lexsort((p, g))
    cuts = np.flatnonzero((np.diff(g[order]) != 0) | (np.diff(p[order]) != 0)) + 1
    return [(order[lo:hi], int(g[order[lo]]), int(p[order[lo]]))
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(g)], strict=True) if hi > lo]


def feed(r: Reasoner, store: Store, rows_mask: np.ndarray) -> None:
    """Give the reasoner the stored triples selected by ``rows_mask`` (bool, ``(n,)``),
    except the ``inferred`` graph, which is the reasoner's own output."""
    t = store.table
    keep = rows_mask & (t.g != GRAPH_CODE["inferred"])
    if keep.any():
        g, p = t.g[keep], t.p[keep]
        rows = np.stack([t.s[keep], t.o[keep]], axis=1)
        score, src = t.score[keep], t.src[keep]
        # One call per (graph, predicate): the graph gives the proof kind of those facts.
        for at, code, pred in _by_graph_and_predicate(g, p):
            r.add_edb(pred, rows[at], score[at], src[at], kind=kind_of(code))


def retract(r: Reasoner, gone: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    """Take back from the reasoner the stored rows that went (columns as the store's removal
    listeners get them), except those of ``inferred``; one retraction for all of them."""
    cols = {name: np.concatenate([d[name] for d in gone]) if gone else np.empty(0, np.int64)
            for name in ("g", "s", "p", "o", "src")}
    keep = cols["g"] != GRAPH_CODE["inferred"]
    g, p, src = cols["g"][keep], cols["p"][keep], cols["src"][keep]
    rows = np.stack([cols["s"][keep], cols["o"][keep]], axis=1)
    return r.remove_edbs([(pred, rows[at], src[at], kind_of(code)) for at, code, pred in _by_graph_and_predicate(g, p)])


def follow(r: Reasoner, store: Store, log: ChangeLog, done: bool) -> Reasoner | None:
    """The reasoner brought up to what one ``kb.changing()`` block did to the store (removed
    rows retracted, appended rows fed), or None when it must start over on the next question."""
    if log.lost_track() or (log.gone and not done):
        return None  # rows went unheard of, or a removal may not have happened after all
    try:
        if log.gone:
            retract(r, log.gone)
    except NesyError:
        pass  # a limit stopped the retraction: the reasoner dropped its model and rebuilds it when asked
    except Exception:  # noqa: BLE001 - the store's write succeeded: never fail it over the reasoner
        return None
    new = np.zeros(len(store.table), dtype=bool)
    new[log.boundary:] = True
    feed(r, store, new)
    return r


class KBLimits:
    """``kb.limits``: the knowledge base's work limits, each from the first of: this session
    (:meth:`set` with ``persist=False``: the CLI flags, the REPL's ``:set``), ``kb.json``,
    the default. ``timeout`` (seconds), ``max_facts``, ``max_iterations``, ``max_memory``
    (bytes; ``"2GB"`` works) read and assign like attributes; assigning saves ``kb.json``.
    Per call, ``kb.ask(q, timeout=5)`` (and ``why``, ``why_not``, ``materialize``) wins."""

    def __init__(self, kb: KBView) -> None:
        self.kb = kb
        self.session: dict[str, Any] = {}

    def effective(self) -> Limits:
        """The limits in force now (session over ``kb.json`` over the defaults)."""
        base = Limits.from_config(self.kb.config).as_dict()
        base.update(self.session)
        return Limits(**base)

    def set(self, *, persist: bool = True, **values: Any) -> None:
        """Set limits by name; ``persist``: in ``kb.json`` (else for this session only).
        ``timeout=0`` / ``max_memory=0`` (or ``"none"``) mean no limit."""
        parsed = {name: Limits.check(name, value) for name, value in values.items()}
        if not persist:
            self.session.update(parsed)
            return
        for name, value in parsed.items():
            self.session.pop(name, None)
            if value is None:
                self.kb.config.pop(name, None)
            else:
                self.kb.config[name] = values[name] if name == "max_memory" and isinstance(values[name], str) else value
        self.kb.save_config()

    def origin(self, name: str) -> str:
        """Where the value of ``name`` comes from: ``session``, ``kb.json`` or ``default``."""
        if name in self.session:
            return "session"
        return "kb.json" if self.kb.config.get(name) is not None else "default"

    def describe(self) -> list[tuple[str, str, str]]:
        """``(name, value as text, origin)`` for each limit."""
        out = []
        for name, value in self.effective().as_dict().items():
            text = format_size(value) if name == "max_memory" else \
                ("none" if value is None else f"{value:g} s" if name == "timeout" else f"{value:,}")
            out.append((name, text, self.origin(name)))
        return out

    def __getattr__(self, name: str) -> Any:
        if name in Limits.NAMES:
            return getattr(self.effective(), name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in Limits.NAMES:
            self.set(**{name: value})
        else:
            super().__setattr__(name, value)

    def __repr__(self) -> str:
        return "<limits " + ", ".join(f"{n}={t} ({o})" for n, t, o in self.describe()) + ">"


@contextmanager
def limited(kb: KBView, what: str, overrides: dict[str, Any]) -> Iterator[Reasoner]:
    """The KB's reasoner, running under the KB's limits with ``overrides`` for one call."""
    for name in overrides:
        Limits.check(name, overrides[name])  # an unknown or malformed name fails before any work
    r = kb.reasoner
    flat = " ".join(str(what).split())
    with r.limited(flat if len(flat) <= 80 else flat[:79] + "…", **overrides):
        yield r


def materialize(kb: KBView, **limits: Any) -> dict[str, Any]:
    """Derive everything the rules entail and make ``inferred`` hold exactly the binary
    facts; the reasoner's statistics plus ``stored`` and ``not_stored``. ``limits``
    override the KB's for this call; when one stops the work, nothing is stored."""
    for name in limits:
        Limits.check(name, limits[name])
    r = kb.reasoner
    # One watch for deriving and storing: writing a million derived facts spends the budget too.
    with r.limited("materialize", **limits) as watch:
        stats = r.materialize()
        if kb.store.read_only:
            return stats
        store_model(kb, r, stats, watch.check_time)
    return stats


def store_model(kb: KBView, r: Any, stats: dict[str, Any], check: Callable[[], None]) -> None:
    """Store the binary facts of a model in ``inferred`` (``r``: the reasoner, or an
    out-of-core model: anything with ``derived(pred) -> (rows, scores)``); ``stats`` gets
    ``stored`` and ``not_stored``."""
    vocab = kb.vocab
    preds = {vocab.id(rule.head.predicate if rule.head.arity != 1 else RDF.type)
             for rule in kb.rules if rule.head is not None and rule.head.arity in (1, 2)}
    preds |= {vocab.id(f.atom.predicate if f.atom.arity != 1 else RDF.type)
              for p, _ in kb.rule_programs() for f in p.facts if f.atom.arity in (1, 2)}
    cols: list[tuple[np.ndarray, ...]] = []
    not_rdf = 0
    for pid in sorted(preds):
        rows, scores = r.derived(pid)
        if len(rows) and rows.shape[1] == 2:
            # A literal subject is fine for the reasoner (generalised RDF, e.g. through
            # sameAs over literals) but has no place in an RDF graph: keep it out.
            ok = ~vocab.is_literal(rows[:, 0])
            not_rdf += int((~ok).sum())
            cols.append((rows[ok, 0], np.full(int(ok.sum()), pid), rows[ok, 1], scores[ok]))
    if cols:
        s_, p_, o_, sc_ = (np.concatenate(c) for c in zip(*cols))
    else:
        s_ = p_ = o_ = np.empty(0, dtype=np.int64)
        sc_ = np.empty(0)
    store_inferred(kb.store, s_.astype(np.int64), p_.astype(np.int64), o_.astype(np.int64),
                   sc_.astype(np.float64), kb.semiring, check=check)
    stats["stored"] = kb.store.count("inferred")
    stats["not_stored"] = not_rdf


def store_inferred(store: Store, s: np.ndarray, p: np.ndarray, o: np.ndarray, scores: np.ndarray,
                   semiring: str, *, check: Callable[[], None] | None = None) -> None:
    """Make the ``inferred`` graph hold exactly these triples (ids, each ``(n,)``) with
    these scores, writing only the difference to the store.

    New triples go in first, in chunks with ``check`` (a deadline) before each: when it
    raises, the store is as before. Score changes and removals, which cannot be stopped
    half way, come after.
    """
    table = store.table
    inferred = GRAPH_CODE["inferred"]
    g = np.full(len(s), inferred)
    fresh = table.find(g, s, p, o) < 0
    if fresh.any():
        mark = store.savepoint()
        try:
            source = store.new_source("inferred", "inferred", extra={"semiring": semiring})
            store.add_encoded("inferred", s[fresh], p[fresh], o[fresh], scores[fresh],
                              np.full(int(fresh.sum()), source.id), check=check)
        except BaseException:
            store.rollback(mark)
            raise
    rows = table.find(g, s, p, o)
    # Triples that stay may change score (new premises, weights, another semiring).
    table.score[rows] = scores
    still = np.zeros(len(table), dtype=bool)
    still[rows] = True
    gone = (table.g == inferred) & ~still
    if gone.any():
        store.remove_rows(gone)
    else:
        store.commit()


def check_proof(kb: KBView, proof: Proof, extra_rules: Any = ()) -> Any:
    """Re-validate ``proof`` against the rules and the stored input facts (rule-file facts
    and non-inferred triples), without the reasoner's derivation records."""
    from nesy.engine.proofs import check_proof as check

    table, vocab = kb.store.table, kb.vocab
    inferred = GRAPH_CODE["inferred"]
    rule_facts: dict[tuple[Any, ...], float] = {}
    for program, _ in kb.rule_programs():
        for f in program.facts:
            a = f.atom.triple_form()
            key = (a.predicate, a.args)
            rule_facts[key] = max(rule_facts.get(key, 0.0), f.score or 1.0)

    def lookup(predicate: URIRef, args: tuple[Identifier, ...]) -> float | None:
        """Best score of an input fact: rule-file facts and stored (non-inferred) triples."""
        if len(args) == 1:
            predicate, args = RDF.type, (args[0], predicate)
        best = rule_facts.get((predicate, args))
        ids = [vocab.get(x) for x in (args[0], predicate, args[1])] if len(args) == 2 else [None]
        if None not in ids:
            rows = [r for r in table.rows_of(*ids) if table.g[r] != inferred]
            if rows:
                best = max(best or 0.0, float(table.score[rows].max()))
        return best

    return check(proof, [*kb.rules, *extra_rules], lookup, model_contains=kb.reasoner.model_contains,
                 semiring=kb.semiring, registry=kb.registry)


__all__ = ["DeferredPredictor", "KBLimits", "build_reasoner", "check_proof", "feed", "follow", "kind_of", "limited",
           "materialize", "retract", "store_inferred", "store_model"]
