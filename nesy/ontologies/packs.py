"""The shipped ontology rule packs (RDFS, OWL 2 RL) and their template expansion.

nesy rules have no variable predicates, but many RDFS and OWL 2 RL rules quantify over
properties (``prp-trp``: *for every transitive property P*). The packs write such a
rule once with a *template* property ``tpl:P`` (namespace :data:`TEMPLATE_NS`); the
rule's schema atoms (``rdf:type(tpl:P, owl:TransitiveProperty)``) say which properties
it applies to. :func:`expand` asks the knowledge base for those properties and writes
one ordinary rule per property, keeping the W3C name, so proofs read "by prp-trp".
Because schema triples can themselves be entailed (``scm-spo``, ``eq-rep-p``...),
:func:`apply_pack` alternates expansion and materialisation until nothing new appears.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import OWL, RDF, RDFS, URIRef

from nesy.errors import NesyError
from nesy.namespaces import OWL2RL_HELPER_NS as HELPER_NS
from nesy.namespaces import TEMPLATE_NS
from nesy.rules.ast import Atom, BodyLiteral, Program, Query, Rule, Term, Var

if TYPE_CHECKING:
    import os

    from nesy.kbview import KBView
#: Profile name -> rule pack file.
PACKS: dict[str, Path] = {
    "rl": Path(__file__).with_name("owl2rl.rules"),
    "rdfs": Path(__file__).with_name("rdfs.rules"),
}
_SCHEMA_NS = (str(OWL), str(RDFS))
_SCHEMA_PREDICATES = {RDF.first, RDF.rest, URIRef(HELPER_NS + "listOf")}


def pack_path(profile: str) -> Path:
    """The rule file of a profile (``rl`` or ``rdfs``)."""
    try:
        return PACKS[profile]
    except KeyError:
        raise NesyError(f"unknown ontology profile {profile!r}; choose one of {', '.join(PACKS)}") from None


def _is_template(term: object) -> bool:
    return isinstance(term, URIRef) and str(term).startswith(TEMPLATE_NS)


def _atoms(rule: Rule) -> list[Atom]:
    atoms = [lit for lit in rule.body if isinstance(lit, Atom)]
    return atoms + ([rule.head] if rule.head is not None else [])


def template_names(rule: Rule) -> set[URIRef]:
    """The template properties (``tpl:P``...) a rule mentions; empty for an ordinary rule."""
    names: set[URIRef] = set()
    for atom in _atoms(rule):
        names |= {t for t in (atom.predicate, *atom.args) if _is_template(t)}  # type: ignore[misc]
    return names


def is_template(rule: Rule) -> bool:
    """True when the rule quantifies over a property and must be expanded before use."""
    return bool(template_names(rule))


def _is_schema(atom: Atom) -> bool:
    """A body atom about the ontology rather than the data: it binds template properties."""
    if atom.negated or atom.neural or _is_template(atom.predicate):
        return False
    a = atom.triple_form()
    if a.predicate == RDF.type:
        return isinstance(a.args[1], URIRef) and not _is_template(a.args[1])
    return a.predicate in _SCHEMA_PREDICATES or str(a.predicate).startswith(_SCHEMA_NS)


def _var(name: URIRef) -> Var:
    return Var("Tpl_" + str(name)[len(TEMPLATE_NS):])


def _subst_atom(atom: Atom, env: dict[URIRef, Term]) -> Atom:
    return Atom(
        env.get(atom.predicate, atom.predicate),  # type: ignore[arg-type]
        tuple(env.get(t, t) if isinstance(t, URIRef) else t for t in atom.args),
        atom.negated, atom.neural, atom.loc,
    )


def _substitute(rule: Rule, env: dict[URIRef, Term]) -> Rule:
    body: list[BodyLiteral] = [_subst_atom(lit, env) if isinstance(lit, Atom) else lit for lit in rule.body]
    head = _subst_atom(rule.head, env) if rule.head is not None else None
    return Rule(head, tuple(body), rule.weight, rule.name, rule.loc)


def _conditions(rule: Rule, names: set[URIRef]) -> list[Atom]:
    """The schema atoms connected (through shared variables) to a template property."""
    schema = [a for a in rule.body if isinstance(a, Atom) and _is_schema(a)]
    chosen: list[Atom] = []
    reach: set[object] = set(names)
    changed = True
    while changed:
        changed = False
        for a in schema:
            if a in chosen:
                continue
            terms = set(a.args) | {a.predicate}
            if terms & reach:
                chosen.append(a)
                reach |= {t for t in a.args if isinstance(t, Var) or _is_template(t)}
                changed = True
    return chosen


def _bindings(kb: KBView, rule: Rule, properties: list[URIRef]) -> list[dict[URIRef, Term]]:
    """Every assignment of IRIs to the rule's template properties its schema atoms allow."""
    names = sorted(template_names(rule))
    conds = _conditions(rule, set(names))
    bound = {n for a in conds for n in a.args if _is_template(n)}
    rows: list[dict[URIRef, Term]] = [{}]
    if conds:
        env = {n: _var(n) for n in bound}
        query = Query(tuple(_subst_atom(a, env) for a in conds))  # type: ignore[arg-type]
        rows = []
        seen: set[tuple[Term, ...]] = set()
        for answer in kb.reasoner.ask(query):
            values = tuple(answer.bindings[_var(n).name] for n in sorted(bound))
            if values in seen or not all(isinstance(v, URIRef) for v in values):
                continue  # a blank-node or literal property cannot be a predicate
            seen.add(values)
            rows.append(dict(zip(sorted(bound), values)))
    free = [n for n in names if n not in bound]
    if not free:
        return rows
    return [{**row, **dict(zip(free, combo))}
            for row in rows for combo in itertools.product(properties, repeat=len(free))]


def _properties(kb: KBView) -> list[URIRef]:
    """Every IRI used as a predicate in the knowledge base (all graphs)."""
    import numpy as np

    ids = np.unique(kb.store.table.p)
    return sorted(t for t in kb.vocab.terms(ids) if isinstance(t, URIRef))


def expand(kb: KBView, templates: Iterable[Rule], done: set[str]) -> list[str]:
    """Rule texts of the template copies that the current closure calls for and that are
    not in ``done`` yet (``done`` is updated)."""
    from nesy.rules.printer import format_rule

    properties = _properties(kb)
    out: list[str] = []
    for rule in templates:
        for env in _bindings(kb, rule, properties):
            text = format_rule(_substitute(rule, env), kb.prefixes, kb.default_namespace)
            if text not in done:
                done.add(text)
                out.append(text)
    return out


def apply_pack(kb: KBView, program: Program, *, max_rounds: int = 20) -> int:
    """Expand the template rules of a pack against ``kb`` until a fixpoint, adding the
    copies to the knowledge base and materialising after each round.

    Returns the number of template copies added.
    """
    templates = [r for r in program.rules if is_template(r)]
    done = {str(text) for text in kb.config.get("ontology_expanded", [])}
    added = 0
    for _ in range(max_rounds):
        kb.materialize()
        new = expand(kb, templates, done)
        if not new:
            break
        kb.add_rules("\n".join(new) + "\n")
        added += len(new)
    kb.config["ontology_expanded"] = sorted(done)
    return added


def apply_ontology(kb: KBView) -> int:
    """Copy the KB's profile's template rules for the properties now in the KB and
    materialise (see :func:`apply_pack`); the number of copies added."""
    from nesy.rules.parser import parse_file

    pack = pack_path(kb.config["ontology_profile"])
    program = parse_file(pack, prefixes=kb.prefixes, default_ns=kb.default_namespace)
    added = apply_pack(kb, program)
    kb.save_config()
    return added


def load_ontology(kb: KBView, path: str | os.PathLike[str], *, profile: str | None = None,
                  format: str | None = None, graph: str = "asserted") -> dict[str, Any]:
    """Load an ontology (or data under one), enable a reasoning profile and materialise.

    The profile's rule pack (``nesy/ontologies/owl2rl.rules`` or ``rdfs.rules``) is
    added once and remembered in ``config["ontology_profile"]``, so a reopened KB keeps
    it; its property-generic rules are copied for the properties the ontology declares
    (see :func:`apply_pack`), until the closure yields no new copy.

    Args:
        kb: The knowledge base.
        path: An RDF file (Turtle, RDF/XML ``.owl``, N-Triples, JSON-LD...).
        profile: ``"rl"`` (OWL 2 RL/RDF rules) or ``"rdfs"``; default: the KB's
            profile, else ``"rl"``.
        format: Data format; guessed from the extension when ``None``.
        graph: Provenance graph the file goes to.

    Returns:
        ``load`` (the :class:`nesy.kb.LoadReport`), ``profile``, ``rules_added`` (template
        copies added by this call), ``inferred`` (triples in the inferred graph),
        ``violations`` (how many inconsistencies) and ``seconds``.
    """
    import time

    start = time.perf_counter()
    current = kb.config.get("ontology_profile")
    profile = profile or current or "rl"
    pack = pack_path(profile)
    if current is not None and current != profile:
        raise NesyError(f"this knowledge base already reasons with the {current!r} profile, not {profile!r}")
    before = len(kb.config.get("ontology_expanded", []))
    # With a profile already on, load() reasons over the new triples itself.
    report = kb.load(path, format=format, graph=graph)
    if current is None:
        kb.add_rules(pack)
        kb.config["ontology_profile"] = profile
        apply_ontology(kb)
    elif not report.added:
        apply_ontology(kb)
    return {
        "load": report,
        "profile": profile,
        "rules_added": len(kb.config.get("ontology_expanded", [])) - before,
        "inferred": kb.store.count("inferred"),
        "violations": len(kb.violations()),
        "seconds": time.perf_counter() - start,
    }


__all__ = ["HELPER_NS", "PACKS", "TEMPLATE_NS", "apply_ontology", "apply_pack", "expand", "is_template",
           "load_ontology", "pack_path", "template_names"]
