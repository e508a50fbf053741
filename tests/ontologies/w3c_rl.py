"""Run the OWL 2 RL-tagged W3C conformance tests (positive entailment and inconsistency).

How a conclusion is checked
- Positive triples: a SPARQL ASK over the closure, blank nodes as variables.
- Negative assertions, which the OWL 2 RL/RDF rules never materialise, are checked by
  the standard reduction to inconsistency: ``a owl:differentFrom b`` (and each pair of
  an ``owl:AllDifferent``) holds iff premise + ``a owl:sameAs b`` is inconsistent;
  ``x rdf:type [owl:complementOf D]`` holds iff premise + ``x rdf:type D`` is.
- ``p rdf:type owl:TransitiveProperty`` is checked on fresh individuals: premise +
  ``p(a, b), p(b, c)`` must entail ``p(a, c)``.
- Tests whose only semantics is the Direct Semantics ignore annotation triples of the
  conclusion (annotations carry no meaning there).
- Imported ontologies the manifest ships (``test:importedOntology``) are merged into the
  premise: nesy does not fetch ``owl:imports``.

Classification of the 20 tests that failed before these changes (39 run, 6 skipped as
functional-syntax only). (a) passes now, (b) outside what the OWL 2 RL/RDF rules
derive, (c) a real gap still open.

- chain2trans1: (a) TransitiveProperty checked on fresh individuals (prp-spo2).
- DisjointClasses-001, DisjointClasses-003: (a) complementOf membership by reduction
  (cax-dw, cax-adc).
- New-Feature-DisjointDataProperties-002: (a) AllDifferent by reduction (prp-adp, data
  properties).
- New-Feature-DisjointObjectProperties-001: (a) differentFrom by reduction (prp-pdw).
- New-Feature-DisjointObjectProperties-002: (a) AllDifferent by reduction (prp-adp).
- New-Feature-ObjectQCR-002: (a) complementOf membership by reduction (cls-maxqc3,
  eq-diff1).
- owl2-rl-rules-fp-differentFrom, owl2-rl-rules-ifp-differentFrom: (a) differentFrom by
  reduction (prp-fp / prp-ifp, eq-rep-*, eq-diff1).
- WebOnt-differentFrom-001: (a) differentFrom by reduction (eq-sym, eq-diff1).
- WebOnt-I4.6-005-Direct, WebOnt-equivalentClass-008-Direct: (a) Direct-Semantics
  tests whose conclusion differs from the premise only by annotations.
- WebOnt-imports-011: (a) the imported ontology from the manifest is merged in.
- New-Feature-ReflexiveProperty-001: (b) ReflexiveObjectProperty is not in OWL 2 RL and
  no OWL 2 RL/RDF rule derives ``p(x, x)``.
- WebOnt-I5.5-005: (b) the conclusion asserts a new anonymous class
  (``[owl:unionOf (a)]``): a comprehension axiom; the rules never create classes.
- WebOnt-I5.8-006, WebOnt-I5.8-008, WebOnt-I5.8-009: (b) datatype reasoning
  (``rdfs:range`` entailed through the xsd value spaces: byte ⊆ short, short ∩
  unsignedInt = unsignedShort, nonNegativeInteger ∩ nonPositiveInteger = {0} ⊆ short);
  the dt-* rules are not in the pack.
- WebOnt-I5.8-011: (b) ``xsd:integer a rdfs:Datatype``: an axiomatic triple (dt-type1),
  not in the pack.
- New-Feature-Keys-006 (inconsistency): (a) two different string values of a functional
  data property: the new pack rule prp-fp-dt (prp-fp with dt-diff) reports it. (It used
  to crash on the literal ``owl:sameAs`` prp-fp derives; fixed in ``nesy/kb.py``.)

Still failing, all (b): 33 of 39 pass; no (c) gap is left open.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection

import nesy

TEST = Namespace("http://www.w3.org/2007/OWL/testOntology#")
_FRESH = Namespace("https://w3id.org/nesy/w3c-test-fresh#")
#: Annotation properties of the OWL 2 vocabulary (others are declared owl:AnnotationProperty).
_ANNOTATIONS = {RDFS.comment, RDFS.label, RDFS.seeAlso, RDFS.isDefinedBy, OWL.versionInfo,
                OWL.deprecated, OWL.priorVersion, OWL.backwardCompatibleWith,
                OWL.incompatibleWith}


@dataclass
class W3CResults:
    """Identifiers of the selected tests by outcome."""

    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped_syntax: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def _ask_query(triples: list[tuple]) -> str | None:
    """A SPARQL ASK for the triples, blank nodes as variables; None when empty."""
    def term(t: object) -> str:
        return f"?b{t}" if isinstance(t, BNode) else t.n3()  # type: ignore[union-attr]

    patterns = [f"{term(s)} {term(p)} {term(o)} ." for s, p, o in triples]
    return "ASK { " + "\n".join(patterns) + " }" if patterns else None


def _load(premise: Graph, extra: list[tuple], workdir: Path) -> nesy.KnowledgeBase:
    """A knowledge base with the premise (plus ``extra`` triples) loaded under the RL profile."""
    g = Graph()
    for t in premise:
        g.add(t)
    for t in extra:
        g.add(t)
    path = workdir / "premise.nt"
    g.serialize(path, format="nt", encoding="utf-8")
    kb = nesy.KnowledgeBase()
    kb.load_ontology(path, profile="rl", format="nt")
    return kb


def _closure(kb: nesy.KnowledgeBase) -> Graph:
    closure = Graph()
    for s, p, o, _graph in kb.triples():
        closure.add((s, p, o))
    return closure


def _named(*terms: object) -> bool:
    return all(isinstance(t, URIRef | Literal) for t in terms)


def _split(conclusion: Graph, premise: Graph, direct_only: bool) -> tuple[list[tuple], list[list[tuple]], list[URIRef]]:
    """The conclusion as (positive triples, sameAs/type sets whose addition must make the
    premise inconsistent, properties that must be transitive)."""
    drop: set[tuple] = set()
    inconsistent: list[list[tuple]] = []
    transitive: list[URIRef] = []
    for s in conclusion.subjects(RDF.type, OWL.Ontology):
        drop |= set(conclusion.triples((s, None, None)))
    if direct_only:
        declared = set(premise.subjects(RDF.type, OWL.AnnotationProperty))
        declared |= set(conclusion.subjects(RDF.type, OWL.AnnotationProperty))
        drop |= {t for t in conclusion if t[1] in _ANNOTATIONS | declared}
    for a, _, b in conclusion.triples((None, OWL.differentFrom, None)):
        if _named(a, b):
            inconsistent.append([(a, OWL.sameAs, b)])
            drop.add((a, OWL.differentFrom, b))
    for x in conclusion.subjects(RDF.type, OWL.AllDifferent):
        for kind in (OWL.members, OWL.distinctMembers):
            for head in conclusion.objects(x, kind):
                items = list(Collection(conclusion, head))
                if not _named(*items):
                    continue
                inconsistent += [[(m, OWL.sameAs, n)] for i, m in enumerate(items) for n in items[i + 1:]]
                drop |= set(conclusion.triples((x, None, None)))
                cell = head
                while cell != RDF.nil:
                    drop |= set(conclusion.triples((cell, None, None)))
                    cell = conclusion.value(cell, RDF.rest) or RDF.nil
    for c, _, d in conclusion.triples((None, OWL.complementOf, None)):
        if not isinstance(c, BNode) or not _named(d):
            continue
        members = list(conclusion.subjects(RDF.type, c))
        if not _named(*members) or set(conclusion.subjects(None, c)) != set(members):
            continue
        inconsistent += [[(x, RDF.type, d)] for x in members]
        drop |= set(conclusion.triples((c, None, None))) | {(x, RDF.type, c) for x in members}
    for p in conclusion.subjects(RDF.type, OWL.TransitiveProperty):
        if isinstance(p, URIRef):
            transitive.append(p)
            drop.add((p, RDF.type, OWL.TransitiveProperty))
    return [t for t in conclusion if t not in drop], inconsistent, transitive


def run_test(kind: str, premise: str, conclusion: str | None, workdir: Path, *,
             imports: tuple[str, ...] = (), direct_only: bool = False) -> bool:
    """Load the premise with the RL profile; check the conclusion or the inconsistency."""
    pg = Graph()
    pg.parse(data=premise, format="xml")
    for text in imports:
        pg.parse(data=text, format="xml")
    kb = _load(pg, [], workdir)
    if kind == "inconsistency":
        return bool(kb.violations())
    g = Graph()
    g.parse(data=conclusion, format="xml")
    positive, inconsistent, transitive = _split(g, pg, direct_only)
    closure = _closure(kb)
    query = _ask_query(positive)
    if query is not None and not closure.query(query).askAnswer:
        return False
    for p in transitive:
        if (p, RDF.type, OWL.TransitiveProperty) in closure:
            continue
        a, b, c = _FRESH.a, _FRESH.b, _FRESH.c
        if (a, p, c) not in _closure(_load(pg, [(a, p, b), (b, p, c)], workdir)):
            return False
    return all(_load(pg, extra, workdir).violations() for extra in inconsistent)


def run_all(all_rdf: Path) -> W3CResults:
    """Every RL-profile positive entailment / inconsistency test of ``all.rdf``."""
    manifest = Graph()
    manifest.parse(all_rdf, format="xml")
    results = W3CResults()
    with tempfile.TemporaryDirectory() as tmp:
        for test in sorted(set(manifest.subjects(TEST.profile, TEST.RL))):
            ident = str(manifest.value(test, TEST.identifier) or test)
            types = set(manifest.objects(test, RDF.type))
            if TEST.InconsistencyTest in types:
                kind = "inconsistency"
            elif TEST.PositiveEntailmentTest in types:
                kind = "entailment"
            else:
                continue
            premise = manifest.value(test, TEST.rdfXmlPremiseOntology)
            conclusion = manifest.value(test, TEST.rdfXmlConclusionOntology)
            if not isinstance(premise, Literal) or (kind == "entailment" and not isinstance(conclusion, Literal)):
                results.skipped_syntax.append(ident)  # functional syntax only: nesy reads RDF syntaxes
                continue
            imports = tuple(str(text) for imp in manifest.objects(test, TEST.importedOntology)
                            if isinstance(text := manifest.value(imp, TEST.rdfXmlInputOntology), Literal))
            direct_only = set(manifest.objects(test, TEST.semantics)) == {TEST.DIRECT}
            try:
                ok = run_test(kind, str(premise), str(conclusion) if conclusion is not None else None, Path(tmp),
                              imports=imports, direct_only=direct_only)
            except Exception as exc:  # noqa: BLE001 - reported per test
                results.errors[ident] = f"{type(exc).__name__}: {exc}"[:200]
                ok = False
            (results.passed if ok else results.failed).append(f"{ident} ({kind})")
    return results


if __name__ == "__main__":
    import sys
    import time

    t = time.perf_counter()
    r = run_all(Path(sys.argv[1]))
    print(f"passed {len(r.passed)} failed {len(r.failed)} skipped {len(r.skipped_syntax)} in {time.perf_counter() - t:.1f}s")
    print("failed:", r.failed)
    print("errors:", r.errors)
