"""Proofs as JSON in bulk: many proofs serialised at once, each term rendered once and each shared node once.

:meth:`nesy.engine.proofs.Proof.to_dict` and the CLI's, the server's and the REPL's JSON
go through :class:`ProofSerializer`. The dicts are exactly those the node-by-node
serialiser wrote (same keys, same order, same text); what changed is the work: a term's
text under given prefixes is computed once per process (a pure function of the term and
the prefixes, kept in a bounded cache), a ground atom's text once per serialiser, and a
node shared by several proofs (answers that share a sub-proof) is serialised once, its
dict then appearing wherever the node does. Only the outermost dict of each proof is a
fresh copy, so a caller may add keys to it (``"truncated"``); nested dicts may be shared
between proofs and are not to be modified.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rdflib import Literal, URIRef
from rdflib.term import Identifier

from nesy.rules.printer import format_term

if TYPE_CHECKING:
    from nesy.engine.proofs import Proof, RuleInfo

#: ``rdf:type`` once: an attribute of rdflib's ``RDF`` namespace is a slow lookup.
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
Prefixes = Mapping[str, str] | None

#: Term texts kept per prefix set, at most; a full cache starts again empty.
MAX_CACHED_TERMS = 500_000
_TEXTS: dict[tuple[Any, ...], dict[Any, str]] = {}
_N3: dict[Any, str] = {}
_PLAIN = frozenset({str, int, float, bool, type(None)})


def term_key(term: Any) -> Any:
    """What a term's text is cached under."""
    # rdflib finds "1" and "01" (xsd:integer) equal, and "a"@en and "a"@EN: they print
    # differently, so a literal is known by its lexical form, language and datatype.
    # (type() before isinstance(): this runs for every term of every proof.)
    t = type(term)
    if t is URIRef:
        return term
    if t is Literal or isinstance(term, Literal):
        return (str(term), term.language, term.datatype)
    return term


def text_cache(prefixes: Prefixes, default_ns: str | None) -> dict[Any, str]:
    """The (shared, bounded) cache of term texts under ``prefixes`` and ``default_ns``."""
    key = (tuple(prefixes.items()) if prefixes else (), default_ns)
    cache = _TEXTS.get(key)
    if cache is None or len(cache) > MAX_CACHED_TERMS:
        if len(_TEXTS) > 64:  # many prefix sets over a long session: start again
            _TEXTS.clear()
        cache = _TEXTS[key] = {}
    return cache


def n3_text(term: Identifier) -> str:
    """``term.n3()``, cached (a pure function of the term)."""
    key = term_key(term)
    got = _N3.get(key)
    if got is None:
        if len(_N3) > MAX_CACHED_TERMS:
            _N3.clear()
        got = _N3[key] = term.n3()
    return got


def json_value(v: Any) -> Any:
    """``v`` as JSON: numbers, strings, lists (spans) and dicts (extra fields) kept, the rest as text."""
    if type(v) in _PLAIN or isinstance(v, (int, float, str, bool, type(None))):
        return v
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): json_value(x) for k, x in v.items()}
    return str(v)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector while many proofs are built and serialised.

    Proof nodes and their dicts form no reference cycles, yet creating tens of thousands
    of them triggers collections that each walk every object of the process (a loaded
    KB holds millions): measured on LUBM(1) q6, q8, that was a third of the time.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class ProofSerializer:
    """Serialises proofs to JSON-ready dicts, sharing the work between the proofs it is given.

    Args:
        prefixes: Prefixes the terms are shortened with (as :func:`~nesy.rules.printer.format_term`).
        default_ns: Namespace of bare names.
    """

    def __init__(self, prefixes: Prefixes = None, default_ns: str | None = None) -> None:
        self.prefixes = prefixes
        self.default_ns = default_ns
        self._texts = text_cache(prefixes, default_ns)
        # id(fact) -> (fact, its texts): ground atoms are compared by identity, as equal
        # rdflib literals may print differently.
        self._facts: dict[int, tuple[Any, tuple[str, str, list[str | None]]]] = {}
        self._rules: dict[int, tuple[Any, dict[str, Any]]] = {}
        # id(node) -> (node, dict): the node is kept so that its id stays its own.
        self._done: dict[int, tuple[Any, dict[str, Any]]] = {}

    def text(self, term: Any) -> str:
        """A term as :func:`nesy.engine.proofs.term_text` prints it."""
        if term is None:
            return "_"
        if type(term) is not URIRef and not isinstance(term, Identifier):
            return str(term)
        key = term_key(term)
        got = self._texts.get(key)
        if got is None:
            got = self._texts[key] = format_term(term, self.prefixes, self.default_ns)  # type: ignore[arg-type]
        return got

    def fact(self, fact: Any) -> tuple[str, str, list[str | None]]:
        """``(rendered atom, predicate IRI, args as N3)`` of a ground atom."""
        hit = self._facts.get(id(fact))
        if hit is not None:
            return hit[1]
        pred, args = fact
        text = self.text
        if pred == RDF_TYPE and len(args) == 2 and isinstance(args[1], URIRef):
            rendered = f"{text(args[1])}({text(args[0])})"
        else:
            rendered = f"{text(pred)}({', '.join([text(a) for a in args])})"
        n3 = [None if a is None else (n3_text(a) if type(a) is URIRef or isinstance(a, Identifier) else str(a))
              for a in args]
        got = (rendered, str(pred), n3)
        self._facts[id(fact)] = (fact, got)
        return got

    def rule(self, rule: RuleInfo) -> dict[str, Any]:
        """A rule's fields without the empty ones (one dict per rule, shared)."""
        got = self._rules.get(id(rule))
        if got is None:
            got = self._rules[id(rule)] = (rule, {k: v for k, v in vars(rule).items() if v is not None})
        return got[1]

    def node(self, node: Proof) -> dict[str, Any]:
        """The dict of ``node`` and everything below it (a node seen before: the same dict)."""
        got = self._done.get(id(node))
        if got is not None:
            return got[1]
        out: dict[str, Any] = {"kind": node.kind, "score": node.score}
        if node.fact is not None:
            out["fact"], out["predicate"], args = self.fact(node.fact)
            out["args"] = args
        if node.note:
            out["note"] = node.note
        if node.rule is not None:
            out["rule"] = self.rule(node.rule)
        if node.bindings:
            text = self.text
            out["bindings"] = {k: text(v) for k, v in node.bindings.items()}
        if node.source:
            out["source"] = {k: json_value(v) for k, v in node.source.items()}
        if node.premises:
            out["premises"] = [self.node(p) for p in node.premises]
        self._done[id(node)] = (node, out)
        return out

    def to_dict(self, proof: Proof) -> dict[str, Any]:
        """One proof as :meth:`~nesy.engine.proofs.Proof.to_dict` returns it (a fresh outer dict)."""
        return dict(self.node(proof))

    def many(self, proofs: Iterable[Proof]) -> list[dict[str, Any]]:
        """Several proofs at once (shared sub-proofs serialised once); ``proofs`` may be a
        generator that builds them (built and serialised with the cycle collector paused)."""
        with paused_gc():
            return [dict(self.node(p)) for p in proofs]


__all__ = ["MAX_CACHED_TERMS", "RDF_TYPE", "ProofSerializer", "json_value", "n3_text", "paused_gc", "term_key", "text_cache"]
