"""Run the OWL 2 RL-tagged W3C conformance tests (positive entailment and inconsistency)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import OWL, RDF, BNode, Graph, Literal, Namespace

import nesy

TEST = Namespace("http://www.w3.org/2007/OWL/testOntology#")


@dataclass
class W3CResults:
    """Identifiers of the selected tests by outcome."""

    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped_syntax: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def _ask_query(conclusion: Graph) -> str | None:
    """A SPARQL ASK for the conclusion graph, blank nodes as variables; None when empty."""
    patterns = []
    for s, p, o in conclusion:
        if p == RDF.type and o == OWL.Ontology or (s, RDF.type, OWL.Ontology) in conclusion:
            continue  # the ontology header is not an entailment

        def term(t: object) -> str:
            return f"?b{t}" if isinstance(t, BNode) else t.n3()  # type: ignore[union-attr]
        patterns.append(f"{term(s)} {term(p)} {term(o)} .")
    return "ASK { " + "\n".join(patterns) + " }" if patterns else None


def run_test(kind: str, premise: str, conclusion: str | None, workdir: Path) -> bool:
    """Load the premise with the RL profile; check the conclusion or the inconsistency."""
    path = workdir / "premise.rdf"
    path.write_text(premise, encoding="utf-8")
    kb = nesy.KnowledgeBase()
    kb.load_ontology(path, profile="rl", format="xml")
    if kind == "inconsistency":
        return bool(kb.violations())
    g = Graph()
    g.parse(data=conclusion, format="xml")
    query = _ask_query(g)
    if query is None:
        return True
    closure = Graph()
    for s, p, o, _graph in kb.triples():
        closure.add((s, p, o))
    return bool(closure.query(query).askAnswer)


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
            try:
                ok = run_test(kind, str(premise), str(conclusion) if conclusion is not None else None, Path(tmp))
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
