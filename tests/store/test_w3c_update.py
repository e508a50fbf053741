"""The W3C SPARQL 1.1 Update test suite through ``kb.update``: every approved test passes.

``manifest-sparql11-update.ttl`` lists the sub-manifests; each evaluation test starts a
fresh in-memory KB with its default graph (``ut:data``) and named graphs (``ut:graphData``,
named by ``rdfs:label``) loaded, runs the request through ``kb.update``, and compares the
default graph (the asserted data) and every named graph (the users' graphs) with the
expected ones by isomorphism; Oxigraph must then match the id table graph by graph.
Negative syntax tests must raise a QueryError with a position, positive ones must parse
(a ``LOAD`` of a remote IRI is then refused, as nesy fetches nothing, which is not a
syntax error).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdf_compare import lower_langs
from rdflib import RDF, RDFS, Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic

from nesy.errors import NesyError, QueryError
from nesy.kb import KnowledgeBase
from nesy.store.repair import diff_graph

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
DAWGT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#")
SYNTAX_ERROR = "SPARQL syntax error"


def _path(node: Any) -> Path:
    return Path(str(node)[len("file://"):])


def _graphs(man: Graph, node: Any) -> tuple[Path | None, dict[str, Path]]:
    """The default graph's file and the named graphs' files (by name) of an action or result."""
    if node is None or isinstance(node, URIRef):
        return None, {}
    data = man.value(node, UT.data)
    named = {str(man.value(g, RDFS.label)): _path(man.value(g, UT.graph)) for g in man.objects(node, UT.graphData)}
    return (_path(data) if data is not None else None), named


def update_tests(root: Path) -> list[dict[str, Any]]:
    """Every test the update manifest lists (through its sub-manifests)."""
    top = root / "rdf-tests" / "sparql11" / "manifest-sparql11-update.ttl"
    g = Graph().parse(top, publicID=top.resolve().as_uri())
    out = []
    for includes in g.objects(None, MF.include):
        for sub in Collection(g, includes):
            man = Graph().parse(_path(sub), publicID=str(sub))
            for entries in man.objects(None, MF.entries):
                for test in Collection(man, entries):
                    kind = str(man.value(test, RDF.type)).split("#")[1]
                    action = man.value(test, MF.action)
                    request = action if isinstance(action, URIRef) else man.value(action, UT.request)
                    out.append({
                        "name": f"{_path(sub).parent.name}/{man.value(test, MF.name)}",
                        "kind": kind,
                        "approved": man.value(test, DAWGT.approval) == DAWGT.Approved,
                        "request": _path(request),
                        "action": _graphs(man, action),
                        "result": _graphs(man, man.value(test, MF.result)),
                    })
    return out


def _expected(path: Path | None) -> Graph:
    return lower_langs(Graph().parse(path, format="turtle", publicID=path.resolve().as_uri()) if path else [])


def run_evaluation(test: dict[str, Any]) -> str | None:
    """Run one evaluation test; the reason it failed, or None."""
    kb = KnowledgeBase()
    data, named = test["action"]
    if data is not None:
        kb.load(data)
    for name, path in named.items():
        kb.load(path, graph=name)
    try:
        kb.update(test["request"].read_text(encoding="utf-8"), base=test["request"].resolve().as_uri(),
                  allow_load=True)
    except NesyError as exc:
        return f"raised {exc}"
    want_default, want_named = test["result"]
    got = {name: lower_langs((s, p, o) for s, p, o, _ in kb.store.triples(name)) for name in kb.named_graphs()}
    if not isomorphic(lower_langs((s, p, o) for s, p, o, _ in kb.store.triples("asserted")), _expected(want_default)):
        return "the default graph differs"
    want = {name: _expected(path) for name, path in want_named.items()}
    for name in set(got) | set(want):
        if not isomorphic(got.get(name, Graph()), want.get(name, Graph())):
            return f"named graph {name} differs"
    store = kb.store
    for code in range(len(store.graphs)):
        if not diff_graph(store.backend.native, store.vocab, store.table, store.graphs, code).clean:
            return f"Oxigraph differs from the table in graph {store.graphs.name(code)}"
    return None


def run_syntax(test: dict[str, Any]) -> str | None:
    """Run one syntax test on an empty KB; the reason it failed, or None."""
    negative = "Negative" in test["kind"]
    try:
        KnowledgeBase().update(test["request"].read_text(encoding="utf-8"),
                               base=test["request"].resolve().as_uri())
    except QueryError as exc:
        if negative:
            return None if exc.line is not None else f"syntax error without a position: {exc}"
        return None if not exc.message.startswith(SYNTAX_ERROR) else f"refused as a syntax error: {exc}"
    except NesyError as exc:
        return f"raised {type(exc).__name__}: {exc}"
    return "accepted" if negative else None


def test_w3c_sparql11_update_suite(shared_data: Path) -> None:
    tests = update_tests(shared_data)
    approved = [t for t in tests if t["approved"]]
    assert len(approved) >= 150, f"the manifests list fewer approved tests than expected ({len(approved)})"
    failures = []
    counts = {"evaluation": 0, "syntax": 0}
    for test in approved:
        evaluation = test["kind"] == "UpdateEvaluationTest"
        reason = run_evaluation(test) if evaluation else run_syntax(test)
        counts["evaluation" if evaluation else "syntax"] += 1
        if reason is not None:
            failures.append(f"{test['name']}: {reason}")
    print(f"W3C SPARQL 1.1 Update: {len(approved) - len(failures)}/{len(approved)} approved tests pass "
          f"({counts['evaluation']} evaluation, {counts['syntax']} syntax)")
    assert not failures, f"{len(failures)} W3C update tests failed: {failures}"
    assert counts["evaluation"] >= 90 and counts["syntax"] >= 60
