"""The W3C SPARQL 1.1 query test suite: nesy passes at least what plain pyoxigraph passes.

The suite is ``rdf-tests/sparql11/manifest-sparql11-query.ttl`` and the 13 manifests it
includes (328 tests). Every test runs twice in this one test run: on a fresh nesy
:class:`~nesy.kb.KnowledgeBase` (``qt:data`` loaded into the default graph, ``qt:graphData``
into named graphs) and on a fresh ``pyoxigraph.Store`` holding the same files. An
evaluation test passes when the result equals the expected ``.srx``/``.srj``/``.ttl``
(solution multisets up to blank-node renaming, in order when the query ends with ORDER BY;
ASK by its boolean; CONSTRUCT graphs up to blank-node renaming); a syntax test when the
query is accepted (positive) or refused with a syntax error (negative). What nesy still
fails is listed with reasons in ``docs/sparql.md``.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import RDF, Graph, Literal, Namespace
from rdflib.collection import Collection

from nesy.errors import NesyError, QueryError
from nesy.kb import KnowledgeBase
from nesy.store.terms import to_ox

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
DAWGT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#")
RS = "http://www.w3.org/2001/sw/DataAccess/tests/result-set#"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
MANIFEST = Path("rdf-tests") / "sparql11" / "manifest-sparql11-query.ttl"
KINDS = {"QueryEvaluationTest": "evaluation", "PositiveSyntaxTest11": "syntax", "NegativeSyntaxTest11": "syntax"}
#: Seconds one query may take in nesy (the whole suite runs in well under a minute).
TIMEOUT = 20.0


@dataclass(frozen=True)
class Case:
    """One test of the suite."""

    name: str
    kind: str  # evaluation | syntax
    negative: bool
    query: Path
    data: tuple[Path, ...] = ()
    graph_data: tuple[Path, ...] = ()
    result: Path | None = None


@dataclass
class Outcome:
    """Passed tests and the reasons of the failed ones, per system."""

    passed: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)


def _path(node: Any) -> Path:
    return Path(str(node)[len("file://"):])


def read_cases(root: Path) -> list[Case]:
    """Every test of the query manifests that is not withdrawn or rejected."""
    top = Graph().parse(root, format="turtle")
    cases = []
    for manifest in top.subjects(MF.include, None):
        for include in Collection(top, top.value(manifest, MF.include)):
            g = Graph().parse(str(include), format="turtle")
            man = next(g.subjects(RDF.type, MF.Manifest))
            for entry in Collection(g, g.value(man, MF.entries)):
                kind = str(g.value(entry, RDF.type)).split("#")[1]
                if str(g.value(entry, DAWGT.approval)).split("#")[-1] in ("Withdrawn", "Rejected"):
                    continue
                action = g.value(entry, MF.action)
                name = f"{_path(include).parent.name}/{g.value(entry, MF.name)}"
                if kind != "QueryEvaluationTest":
                    cases.append(Case(name, KINDS[kind], kind.startswith("Negative"), _path(action)))
                    continue
                cases.append(Case(name, "evaluation", False, _path(g.value(action, QT.query)),
                                  tuple(sorted(_path(d) for d in g.objects(action, QT.data))),
                                  tuple(sorted(_path(d) for d in g.objects(action, QT.graphData))),
                                  _path(g.value(entry, MF.result))))
    return sorted(cases, key=lambda c: c.name)


# -- comparing results ------------------------------------------------------------------
Row = dict[str, Any]


def _key(term: Any, by_value: bool) -> Any:
    """A term for comparing: its text (RDF term equality; language tags are
    case-insensitive), or with ``by_value`` a typed literal's datatype and value
    (``"3.0E4"^^xsd:double`` equals ``"30000"^^xsd:double``, ``"1.0"^^xsd:decimal`` ``"1"``)."""
    if isinstance(term, ox.Literal) and term.language:
        return str(ox.Literal(term.value, language=term.language.lower()))
    if by_value and isinstance(term, ox.Literal) and term.datatype.value != XSD_STRING:
        value = Literal(term.value, datatype=term.datatype.value).value
        if value is not None:
            return (term.datatype.value, value)
    return str(term)


def same_rows(expected: list[Row], got: list[Row], *, ordered: bool, by_value: bool = False) -> bool:
    """Whether two solution sequences are equal up to a one-to-one renaming of blank nodes
    (as multisets, or position by position when ``ordered``); ``by_value``: see :func:`_key`."""
    if len(expected) != len(got):
        return False
    exp = [{v: t for v, t in r.items() if t is not None} for r in expected]
    gotr = [{v: t for v, t in r.items() if t is not None} for r in got]

    def ground(r: Row) -> bool:
        return not any(isinstance(t, ox.BlankNode) for t in r.values())

    if not ordered:
        # Rows without blank nodes must match exactly; only the others need a search.
        ge = collections.Counter(frozenset((v, _key(t, by_value)) for v, t in r.items()) for r in exp if ground(r))
        gg = collections.Counter(frozenset((v, _key(t, by_value)) for v, t in r.items()) for r in gotr if ground(r))
        if ge != gg:
            return False
        exp, gotr = [r for r in exp if not ground(r)], [r for r in gotr if not ground(r)]
        if len(exp) != len(gotr):
            return False
    return _search(exp, gotr, ordered, by_value)


def _unify(a: Row, b: Row, fwd: dict[str, str], back: dict[str, str],
           by_value: bool) -> tuple[dict[str, str], dict[str, str]] | None:
    if a.keys() != b.keys():
        return None
    fwd, back = dict(fwd), dict(back)
    for v, x in a.items():
        y = b[v]
        if isinstance(x, ox.BlankNode) and isinstance(y, ox.BlankNode):
            if fwd.setdefault(x.value, y.value) != y.value or back.setdefault(y.value, x.value) != x.value:
                return None
        elif isinstance(x, ox.BlankNode) or isinstance(y, ox.BlankNode) or _key(x, by_value) != _key(y, by_value):
            return None
    return fwd, back


def _search(exp: list[Row], got: list[Row], ordered: bool, by_value: bool) -> bool:
    """Backtracking search for a blank-node bijection (bounded: the suite's results are small)."""
    used = [False] * len(got)
    budget = [200_000]

    def step(i: int, fwd: dict[str, str], back: dict[str, str]) -> bool:
        if i == len(exp):
            return True
        for j in ([i] if ordered else range(len(got))):
            budget[0] -= 1
            if used[j] or budget[0] < 0:
                continue
            found = _unify(exp[i], got[j], fwd, back, by_value)
            if found is None:
                continue
            used[j] = True
            if step(i + 1, *found):
                return True
            used[j] = False
        return False

    return step(0, {}, {})


def _ordered(query: str) -> bool:
    """Whether the query's outermost solution modifiers hold ORDER BY."""
    text = re.sub(r"#[^\n]*", "", query)
    return re.search(r"ORDER\s+BY", text[text.rfind("}"):], re.I) is not None


def expected_result(case: Case) -> Any:
    """The expected result: a bool (ASK), a list of rows (SELECT), or a list of triples as
    rows ``{s, p, o}`` (CONSTRUCT), in Oxigraph terms."""
    path = case.result
    assert path is not None
    if path.suffix in (".srx", ".srj", ".tsv"):
        fmt = {".srx": ox.QueryResultsFormat.XML, ".srj": ox.QueryResultsFormat.JSON,
               ".tsv": ox.QueryResultsFormat.TSV}[path.suffix]
        parsed = ox.parse_query_results(path=str(path), format=fmt)
        if isinstance(parsed, ox.QueryBoolean):
            return bool(parsed)
        names = [v.value for v in parsed.variables]
        return [{n: sol[n] for n in names} for sol in parsed]
    triples = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.as_uri()))
    if any(t.object == ox.NamedNode(RS + "ResultSet") for t in triples):
        return _rdf_result_set(triples)
    return [{"s": t.subject, "p": t.predicate, "o": t.object} for t in triples]


def _rdf_result_set(triples: list[Any]) -> Any:
    """A result set written in RDF (the ``rs:`` vocabulary): a bool or a list of rows."""
    out: dict[Any, dict[str, list[Any]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for t in triples:
        out[t.subject][t.predicate.value[len(RS):]].append(t.object)
    [top] = [node for node, props in out.items() if "resultVariable" in props or "boolean" in props]
    if "boolean" in out[top]:
        return out[top]["boolean"][0].value == "true"
    rows = []
    for solution in out[top]["solution"]:
        row = {}
        for binding in out[solution]["binding"]:
            row[out[binding]["variable"][0].value] = out[binding]["value"][0]
        rows.append(row)
    return rows


def compare(case: Case, expected: Any, got: Any, *, by_value: bool) -> str | None:
    """None when ``got`` equals ``expected``, else the reason."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return None if expected is got else f"expected {expected}, got {got}"
    query = case.query.read_text(encoding="utf-8")
    ordered = _ordered(query) and case.result is not None and case.result.suffix != ".ttl"
    if same_rows(expected, got, ordered=ordered, by_value=by_value):
        return None
    if not by_value and same_rows(expected, got, ordered=ordered, by_value=True):
        return "equal values, other lexical forms"
    return f"results differ: expected {len(expected)} rows, got {len(got)}"


# -- running one system -----------------------------------------------------------------
def _rdf_format(path: Path) -> ox.RdfFormat:
    return {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES, ".rdf": ox.RdfFormat.RDF_XML}[path.suffix]


def run_pyoxigraph(case: Case) -> Any:
    """The result of ``case`` on a fresh pyoxigraph store (raises what Oxigraph raises)."""
    store = ox.Store()
    for d in case.data:
        store.load(path=str(d), format=_rdf_format(d), base_iri=d.as_uri())
    for g in case.graph_data:
        store.load(path=str(g), format=_rdf_format(g), base_iri=g.as_uri(), to_graph=ox.NamedNode(g.as_uri()))
    res = store.query(case.query.read_text(encoding="utf-8"), base_iri=case.query.as_uri())
    if isinstance(res, ox.QueryBoolean):
        return bool(res)
    if isinstance(res, ox.QuerySolutions):
        names = [v.value for v in res.variables]
        return [{n: sol[n] for n in names} for sol in res]
    return [{"s": t.subject, "p": t.predicate, "o": t.object} for t in res]


class NamedGraphsMissing(Exception):
    """The KB could not load a ``qt:graphData`` file into a named graph of its own."""


def run_nesy(case: Case) -> Any:
    """The result of ``case`` on a fresh in-memory KB, in Oxigraph terms (raises NesyError)."""
    kb = KnowledgeBase()
    for d in case.data:
        kb.load(d, progress=False)
    for g in case.graph_data:
        try:
            kb.load(g, graph=g.as_uri(), progress=False)
        except Exception as exc:  # noqa: BLE001 - users' named graphs are still being built (issue 16)
            raise NamedGraphsMissing(f"loading {g.name} as a named graph: {type(exc).__name__}: {exc}") from None
    res = kb.sparql(case.query.read_text(encoding="utf-8"), base=case.query.as_uri(), timeout=TIMEOUT)
    if res.form == "ASK":
        return res.boolean
    if res.form == "SELECT":
        return [{v: to_ox(t) for v, t in row.bindings.items()} for row in res.rows]
    return [{"s": to_ox(s), "p": to_ox(p), "o": to_ox(o)} for s, p, o, _ in res.triples]


def _syntax_nesy(kb: KnowledgeBase, case: Case) -> bool:
    """Whether nesy accepts the query's syntax (run on an empty KB)."""
    try:
        kb.sparql(case.query.read_text(encoding="utf-8"), base=case.query.as_uri(), timeout=TIMEOUT)
    except QueryError as exc:
        return not ("syntax error" in exc.message or "not a SPARQL query" in exc.message)
    return True


def _syntax_pyoxigraph(store: ox.Store, case: Case) -> bool:
    try:
        res = store.query(case.query.read_text(encoding="utf-8"), base_iri=case.query.as_uri())
        if not isinstance(res, ox.QueryBoolean):
            list(res)
    except SyntaxError:
        return False
    except Exception:  # noqa: BLE001 - evaluation errors are not syntax errors
        return True
    return True


def run_suite(cases: Iterable[Case]) -> dict[str, dict[str, Outcome]]:
    """Both systems on every case: ``{category: {"nesy": Outcome, "pyoxigraph": Outcome}}``.

    Categories: ``syntax``; ``evaluation`` and ``named-graphs`` (evaluation tests with
    ``qt:graphData``) by RDF term equality, and the same two ``... by value`` with typed
    literals compared by value (Oxigraph writes numbers in its own canonical forms).
    """
    out: dict[str, dict[str, Outcome]] = collections.defaultdict(lambda: {"nesy": Outcome(), "pyoxigraph": Outcome()})
    empty_kb, empty_store = KnowledgeBase(), ox.Store()
    for case in cases:
        if case.kind == "syntax":
            for system, accepted in (("nesy", _syntax_nesy(empty_kb, case)),
                                     ("pyoxigraph", _syntax_pyoxigraph(empty_store, case))):
                _record(out["syntax"][system], case, None if accepted != case.negative
                        else ("accepted" if accepted else "refused"))
            continue
        category = "named-graphs" if case.graph_data else "evaluation"
        expected = expected_result(case)
        for system, run in (("nesy", run_nesy), ("pyoxigraph", run_pyoxigraph)):
            try:
                got, error = run(case), None
            except (NesyError, NamedGraphsMissing, SyntaxError, OSError, RuntimeError, ValueError) as exc:
                if system == "nesy" and not isinstance(exc, (NesyError, NamedGraphsMissing)):
                    raise  # nesy lets no raw Oxigraph error out
                got, error = None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            for by_value, suffix in ((False, ""), (True, " by value")):
                reason = error or compare(case, expected, got, by_value=by_value)
                _record(out[category + suffix][system], case, reason)
    return dict(out)


def _record(outcome: Outcome, case: Case, reason: str | None) -> None:
    if reason is None:
        outcome.passed.add(case.name)
    else:
        outcome.failed[case.name] = reason


def _data_dir() -> Path:
    """``$NESY_DATA`` or ``../shared/data`` (as the ``shared_data`` fixture, for a module-scoped fixture)."""
    return Path(os.environ.get("NESY_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")).resolve()


@pytest.fixture(scope="module")
def suite() -> dict[str, dict[str, Outcome]]:
    root = _data_dir() / MANIFEST
    if not root.is_file():
        pytest.skip(f"the W3C SPARQL tests are not at {root} (set NESY_DATA)")
    cases = read_cases(root)
    assert len(cases) == 328, f"the query manifests list {len(cases)} tests, not 328"
    results = run_suite(cases)
    for category, systems in sorted(results.items()):
        n = len(systems["nesy"].passed) + len(systems["nesy"].failed)
        print(f"W3C SPARQL 1.1 query, {category}: nesy {len(systems['nesy'].passed)}/{n}, "
              f"pyoxigraph {len(systems['pyoxigraph'].passed)}/{n}")
        if not category.endswith("by value"):
            for name, why in sorted(systems["nesy"].failed.items()):
                print(f"  nesy fails {name}: {why}")
    return results


@pytest.mark.parametrize("category", ["evaluation", "evaluation by value", "syntax"])
def test_nesy_passes_at_least_what_pyoxigraph_passes(suite: dict[str, dict[str, Outcome]], category: str) -> None:
    nesy, plain = suite[category]["nesy"], suite[category]["pyoxigraph"]
    assert len(nesy.passed) >= len(plain.passed), (
        f"{category}: nesy passes {len(nesy.passed)}, pyoxigraph {len(plain.passed)}; "
        f"only pyoxigraph passes {sorted(plain.passed - nesy.passed)}")
    assert not plain.passed - nesy.passed, f"{category}: pyoxigraph passes these and nesy not: " \
        f"{ {n: nesy.failed[n] for n in sorted(plain.passed - nesy.passed)} }"


@pytest.mark.parametrize("category", ["named-graphs", "named-graphs by value"])
def test_named_graph_tests_pass_like_pyoxigraph(suite: dict[str, dict[str, Outcome]], category: str) -> None:
    """Evaluation tests with ``qt:graphData``: they need users' named graphs in the KB."""
    nesy, plain = suite[category]["nesy"], suite[category]["pyoxigraph"]
    assert len(nesy.passed) >= len(plain.passed), (
        f"named graphs: nesy passes {len(nesy.passed)}, pyoxigraph {len(plain.passed)}: "
        f"{ {n: nesy.failed[n] for n in sorted(plain.passed - nesy.passed)} }")
