"""The W3C Turtle test suites: negative tests give a clean NesyError, positive ones load."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdf_compare import lower_langs
from rdflib import Graph
from rdflib.compare import isomorphic

from nesy.errors import LoadError, NesyError
from nesy.kb import KnowledgeBase

MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
MANIFESTS = ["turtle_rdf11/manifest.ttl", "turtle_rdf12/syntax/manifest.ttl", "turtle_rdf12/eval/manifest.ttl"]
ASSUMED_BASE = {
    "turtle_rdf11": "https://w3c.github.io/rdf-tests/rdf/rdf11/rdf-turtle/",
    "turtle_rdf12": "https://w3c.github.io/rdf-tests/rdf/rdf12/rdf-turtle/",
}


def _tests(root: Path) -> list[tuple[str, str, Path, Path | None]]:
    out = []
    for rel in MANIFESTS:
        man = root / "rdf-tests" / rel
        store = ox.Store()
        store.load(path=str(man), format=ox.RdfFormat.TURTLE, base_iri=man.resolve().as_uri())
        q = f"SELECT ?name ?type ?a ?r WHERE {{ ?t a ?type ; <{MF}name> ?name ; <{MF}action> ?a . OPTIONAL {{ ?t <{MF}result> ?r }} }}"
        for row in store.query(q):
            result = Path(row["r"].value[len("file://"):]) if row["r"] is not None else None
            out.append((row["name"].value, row["type"].value.split("#")[1], Path(row["a"].value[len("file://"):]), result))
    return sorted(out, key=lambda t: t[0])


def test_w3c_turtle_suites(shared_data: Path) -> None:
    tests = _tests(shared_data)
    assert len(tests) > 400, "the manifests list fewer tests than expected"
    failures = []
    compared = 0
    for name, kind, action, result in tests:
        suite = action.relative_to((shared_data / "rdf-tests").resolve()).parts[0]
        base = ASSUMED_BASE[suite] + action.name
        kb = KnowledgeBase()
        negative = "Negative" in kind
        try:
            parsed_ok = True
            from nesy.store.formats import read_file

            parsed = read_file(action, "turtle", base_iri=base, progress=False)
            kb.store.add_parsed(parsed, "asserted", {"file": str(action)})
        except LoadError as exc:
            parsed_ok = False
            assert exc.file, f"{name}: error without a file name"
            if negative:
                assert exc.line is not None or "invalid" in exc.message, f"{name}: error without position: {exc}"
        except NesyError:
            parsed_ok = False
        if parsed_ok == negative:
            failures.append(f"{name} ({kind})")
            continue
        # Evaluation tests of RDF 1.1: the stored triples must equal the expected ones.
        if kind == "TestTurtleEval" and result is not None and suite == "turtle_rdf11":
            got = lower_langs((s, p, o) for s, p, o, _ in kb.triples())
            expected = lower_langs(Graph().parse(result, format="nt"))
            if not isomorphic(got, expected):
                failures.append(f"{name} (result differs)")
            compared += 1
    assert not failures, f"{len(failures)} W3C Turtle tests failed: {failures}"
    assert compared > 100


def test_negative_turtle_error_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://ex/> .\nex:a ex:b ex:c .\nex:a ex:b .\n")
    kb = KnowledgeBase()
    with pytest.raises(LoadError) as info:
        kb.load(bad)
    err = info.value
    assert err.line == 3 and err.column is not None
    assert str(bad) in str(err) and "ex:a ex:b ." in str(err)
    assert len(kb) == 0
