"""Benchmark query latency: nesy rule queries and SPARQL, with and without proofs, against rdflib SPARQL.

Datasets:

* ``family``: ``examples/family/family.ttl`` with ``examples/family/family.rules``
  (recursion, negation, an aggregate, a weighted rule), 7 queries written twice, as a rule
  query and as SPARQL without ``PREFIX`` lines (the KB's prefixes stand in);
* ``LUBM(1)``: ``owl/lubm/univ-bench.ttl`` plus the 15 RDF/XML files ``lubm1/University0_*.owl``
  with :data:`LUBM_RULES`, a hand-written rule file for the OWL entailments the 14 LUBM
  queries need (nesy has no OWL reasoner yet); the SPARQL text is ``lubm/queries/q*.rq``
  as shipped, the rule queries are their translations (:data:`LUBM_RULE_QUERIES`).

Measured in the steady state, on a KB that has been loaded and materialised once
(``kb.materialize()``), each query asked repeatedly after one untimed warm-up run:

* ``rule``: ``kb.ask("?- ...")``; with explanation also every answer's proof as a dict,
  all written together with :func:`nesy.engine.proofdata.answer_proof_dicts` (what
  ``nesy query --explain --format json`` does);
* ``SPARQL``: ``kb.sparql(query)``; with explanation also every row's ``proofs``, as
  dicts, all written together with :func:`nesy.engine.proofdata.row_proof_dicts` (as the
  CLI does);
* ``rdflib SPARQL``: ``list(rdflib.Graph.query(query))`` on an in-memory ``Graph`` holding
  nesy's asserted and inferred triples (exported as N-Triples by the nesy process).

nesy and rdflib run in separate fresh child processes per dataset (so each peak RSS is
that system's own). The three kinds must return the same number of rows per query;
otherwise the script says so loudly and exits with status 1. Prints one markdown table,
notes, the machine it ran on and whether the goal is met::

    .venv/bin/python benchmarks/query.py [--data ../shared/data] [--repeat N] [--budget S] [--quick]
"""

from __future__ import annotations

import json
import math
import signal
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from _common import (  # noqa: E402 - the helpers sit next to this script
    REPO,
    ChildError,
    Timer,
    bench_parser,
    emit_result,
    fmt_num,
    machine_line,
    markdown_table,
    peak_rss_mib,
    run_child,
)

KINDS = ("rule", "SPARQL", "rdflib SPARQL")
#: The goal: explanation adds under this fraction to a query's latency ...
GOAL_EXPLAIN_OVERHEAD = 0.20
#: ... and the median rule query on the family data is under this many milliseconds.
GOAL_FAMILY_RULE_MS = 50.0
#: Timed runs per measurement stop after ``--budget`` seconds once this many are done.
MIN_RUNS = 3
#: A query whose warm-up run exceeds this many seconds is reported as timed out
#: (with ``--quick``: :data:`QUICK_CAP_S`).
QUERY_CAP_S = 60.0
QUICK_CAP_S = 10.0
QUICK_LUBM_FILES = 2
CHILD_TIMEOUT_S = 3600.0

# -- the queries ---------------------------------------------------------------------------
#: family: (label, rule query, SPARQL without PREFIX lines). Every SPARQL query projects
#: all the variables of its rule query, so both return one row per distinct binding.
FAMILY_QUERIES: tuple[tuple[str, str, str], ...] = (
    ("grandparent(ann, X)", "?- fam:grandparent(fam:ann, X).",
     "SELECT ?X WHERE { fam:ann fam:grandparent ?X }"),
    ("ancestor(X, Y)", "?- fam:ancestor(X, Y).",
     "SELECT ?X ?Y WHERE { ?X fam:ancestor ?Y }"),
    ("ancestor(X, eve)", "?- fam:ancestor(X, fam:eve).",
     "SELECT ?X WHERE { ?X fam:ancestor fam:eve }"),
    ("Childless(X)", "?- fam:Childless(X).",
     "SELECT ?X WHERE { ?X a fam:Childless }"),
    ("kids(X, N)", "?- fam:kids(X, N).",
     "SELECT ?X ?N WHERE { ?X fam:kids ?N }"),
    ("livesIn(X, C)", "?- fam:livesIn(X, C).",
     "SELECT ?X ?C WHERE { ?X fam:livesIn ?C }"),
    ("Adult(X), job(X, J), pay(J, P)", "?- fam:Adult(X), fam:job(X, J), fam:pay(J, P).",
     "SELECT ?X ?J ?P WHERE { ?X a fam:Adult ; fam:job ?J . ?J fam:pay ?P }"),
)

#: The OWL entailments of ``univ-bench`` that the 14 LUBM queries need, as Datalog:
#: subclasses (GraduateStudent is a Student only implicitly, through ``takesCourse some
#: GraduateCourse``), subproperties, the inverse hasAlumnus/degreeFrom, the transitive
#: subOrganizationOf, Chair = Person and headOf some Department, and the domain of
#: degreeFrom. Not a general OWL reasoner: no other domain/range typing, no
#: ``Student = Person and takesCourse some Course`` in the other direction.
LUBM_RULES = """\
@prefix ub: <http://www.lehigh.edu/~zhp2/2004/0401/univ-bench.owl#> .
ub:Student(X) :- ub:UndergraduateStudent(X).
ub:Student(X) :- ub:GraduateStudent(X).
ub:Professor(X) :- ub:FullProfessor(X).
ub:Professor(X) :- ub:AssociateProfessor(X).
ub:Professor(X) :- ub:AssistantProfessor(X).
ub:Professor(X) :- ub:VisitingProfessor(X).
ub:Professor(X) :- ub:Chair(X).
ub:Professor(X) :- ub:Dean(X).
ub:Faculty(X) :- ub:Professor(X).
ub:Faculty(X) :- ub:Lecturer(X).
ub:Faculty(X) :- ub:PostDoc(X).
ub:AdministrativeStaff(X) :- ub:ClericalStaff(X).
ub:AdministrativeStaff(X) :- ub:SystemsStaff(X).
ub:Employee(X) :- ub:Faculty(X).
ub:Employee(X) :- ub:AdministrativeStaff(X).
ub:Person(X) :- ub:Student(X).
ub:Person(X) :- ub:Employee(X).
ub:Person(X) :- ub:ResearchAssistant(X).
ub:Person(X) :- ub:TeachingAssistant(X).
ub:Person(X) :- ub:degreeFrom(X, U).
ub:Course(X) :- ub:GraduateCourse(X).
ub:Chair(X) :- ub:headOf(X, D), ub:Department(D).
ub:worksFor(X, Y) :- ub:headOf(X, Y).
ub:memberOf(X, Y) :- ub:worksFor(X, Y).
ub:degreeFrom(X, Y) :- ub:undergraduateDegreeFrom(X, Y).
ub:degreeFrom(X, Y) :- ub:mastersDegreeFrom(X, Y).
ub:degreeFrom(X, Y) :- ub:doctoralDegreeFrom(X, Y).
ub:degreeFrom(X, Y) :- ub:hasAlumnus(Y, X).
ub:hasAlumnus(Y, X) :- ub:degreeFrom(X, Y).
ub:subOrganizationOf(X, Z) :- ub:subOrganizationOf(X, Y), ub:subOrganizationOf(Y, Z).
"""

_D0 = "<http://www.Department0.University0.edu>"
_U0 = "<http://www.University0.edu>"
#: LUBM query name -> the rule query equivalent to ``queries/<name>.rq`` (same variables,
#: all of which the SPARQL projects).
LUBM_RULE_QUERIES: dict[str, str] = {
    "q1": "ub:GraduateStudent(X), ub:takesCourse(X, <http://www.Department0.University0.edu/GraduateCourse0>)",
    "q2": "ub:GraduateStudent(X), ub:University(Y), ub:Department(Z), ub:memberOf(X, Z), "
          "ub:subOrganizationOf(Z, Y), ub:undergraduateDegreeFrom(X, Y)",
    "q3": "ub:Publication(X), ub:publicationAuthor(X, <http://www.Department0.University0.edu/AssistantProfessor0>)",
    "q4": f"ub:Professor(X), ub:worksFor(X, {_D0}), ub:name(X, Y1), ub:emailAddress(X, Y2), ub:telephone(X, Y3)",
    "q5": f"ub:Person(X), ub:memberOf(X, {_D0})",
    "q6": "ub:Student(X)",
    "q7": "ub:Student(X), ub:Course(Y), ub:takesCourse(X, Y), "
          "ub:teacherOf(<http://www.Department0.University0.edu/AssociateProfessor0>, Y)",
    "q8": f"ub:Student(X), ub:Department(Y), ub:memberOf(X, Y), ub:subOrganizationOf(Y, {_U0}), ub:emailAddress(X, Z)",
    "q9": "ub:Student(X), ub:Faculty(Y), ub:Course(Z), ub:advisor(X, Y), ub:teacherOf(Y, Z), ub:takesCourse(X, Z)",
    "q10": "ub:Student(X), ub:takesCourse(X, <http://www.Department0.University0.edu/GraduateCourse0>)",
    "q11": f"ub:ResearchGroup(X), ub:subOrganizationOf(X, {_U0})",
    "q12": f"ub:Chair(X), ub:Department(Y), ub:worksFor(X, Y), ub:subOrganizationOf(Y, {_U0})",
    "q13": f"ub:Person(X), ub:hasAlumnus({_U0}, X)",
    "q14": "ub:UndergraduateStudent(X)",
}

#: The published answer counts of the LUBM queries on LUBM(1) (all 15 files), the
#: completeness check of :data:`LUBM_RULES`.
LUBM_REFERENCE_ROWS: dict[str, int] = {
    "q1": 4, "q2": 0, "q3": 6, "q4": 34, "q5": 719, "q6": 7790, "q7": 67,
    "q8": 7790, "q9": 208, "q10": 4, "q11": 224, "q12": 15, "q13": 1, "q14": 5916,
}


@dataclass
class Dataset:
    """One dataset: what nesy loads, its rules and its queries.

    Attributes:
        name: Row label.
        files: Data files, loaded in order.
        rules: A rule file path or rule text.
        queries: (label, rule query, SPARQL query) triples.
        full_lubm: Whether this is all of LUBM(1) (the reference counts apply).
        results: ``nesy`` / ``rdflib`` -> that child's result.
    """

    name: str
    files: list[Path]
    rules: str
    queries: list[tuple[str, str, str]]
    full_lubm: bool = False
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


def prepare_family() -> Dataset | str:
    """The family example, or a skip message if it is missing."""
    ttl, rules = REPO / "examples" / "family" / "family.ttl", REPO / "examples" / "family" / "family.rules"
    if not (ttl.is_file() and rules.is_file()):
        return f"skipping family: {ttl} or {rules} not found"
    return Dataset("family", [ttl], str(rules), list(FAMILY_QUERIES))


def prepare_lubm(data: Path, quick: bool) -> Dataset | str:
    """LUBM(1) (ontology first) with the shipped queries, or a skip message if absent."""
    lubm = data / "owl" / "lubm"
    files = sorted((lubm / "lubm1").glob("University0_*.owl"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    onto = lubm / "univ-bench.ttl"
    if not files or not onto.is_file():
        return f"skipping LUBM(1): no {lubm / 'lubm1' / 'University0_*.owl'} or {onto}"
    full = not quick
    if quick:
        files = files[:QUICK_LUBM_FILES]
    queries = []
    for name, body in LUBM_RULE_QUERIES.items():
        rq = lubm / "queries" / f"{name}.rq"
        if rq.is_file():
            queries.append((name, f"?- {body}.", rq.read_text(encoding="utf-8")))
        else:
            print(f"LUBM: skipping {name}, {rq} not found", file=sys.stderr)
    name = f"LUBM(1){f' ({QUICK_LUBM_FILES} files)' if quick else ''}"
    return Dataset(name, [onto, *files], LUBM_RULES, queries, full_lubm=full and len(queries) == len(LUBM_RULE_QUERIES))


# -- timing ----------------------------------------------------------------------------------
class QueryTimeout(Exception):
    """A query ran past its time cap (raised from the SIGALRM handler)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise QueryTimeout


def _capped(fn: Callable[[], int], cap: float) -> tuple[float, int]:
    """Seconds and row count of one call of ``fn``; :class:`QueryTimeout` past ``cap`` s."""
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, cap)
    try:
        with Timer() as t:
            rows = fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return t.seconds, rows


def bench(fn: Callable[[], int], repeat: int, budget: float, cap: float) -> dict[str, Any]:
    """Time ``fn`` (which returns its row count) in the steady state.

    One untimed warm-up call (it counts as a timed run when it alone took longer than
    ``budget``), then up to ``repeat`` timed calls, stopping once ``budget`` seconds are
    spent and at least :data:`MIN_RUNS` calls are done. A warm-up past ``cap`` seconds
    gives ``{"timeout": cap}``.

    Returns:
        ``seconds`` (one per timed call), ``rows`` (the count, or ``None`` when calls
        disagreed).
    """
    times: list[float] = []
    counts: set[int] = set()
    try:
        s, n = _capped(fn, cap)
    except QueryTimeout:
        return {"timeout": cap}
    counts.add(n)
    if s > budget:
        times.append(s)
    spent = sum(times)
    while len(times) < repeat and (len(times) < MIN_RUNS or spent < budget):
        with Timer() as t:
            counts.add(fn())
        times.append(t.seconds)
        spent += t.seconds
    return {"seconds": times, "rows": counts.pop() if len(counts) == 1 else None}


# -- workers (child processes, one system each) ----------------------------------------------
def _worker_nesy(spec: dict[str, Any]) -> dict[str, Any]:
    from nesy.engine.proofdata import answer_proof_dicts, row_proof_dicts
    from nesy.kb import KnowledgeBase

    with Timer() as t_load:
        kb = KnowledgeBase()
        for f in spec["files"]:
            kb.load(f, progress=False)
        rules = spec["rules"]
        kb.add_rules(Path(rules) if "\n" not in rules else rules)
    with Timer() as t_mat:
        stats = kb.materialize()
    prefixes, default_ns = kb.prefixes, kb.default_namespace

    def rule_plain(q: str) -> Callable[[], int]:
        return lambda: len(kb.ask(q))

    def rule_explained(q: str) -> Callable[[], int]:
        def run() -> int:
            answers = kb.ask(q)
            # Every answer's proof as a dict, as `nesy query --explain --format json` writes
            # them: all of one query's proofs together, from the derivation records.
            answer_proof_dicts(answers, prefixes, default_ns=default_ns)
            return len(answers)
        return run

    def sparql_plain(q: str) -> Callable[[], int]:
        return lambda: len(kb.sparql(q).rows)

    def sparql_explained(q: str) -> Callable[[], int]:
        def run() -> int:
            result = kb.sparql(q)
            row_proof_dicts(result.rows, prefixes, default_ns=default_ns)
            return len(result.rows)
        return run

    repeat, budget, cap = spec["repeat"], spec["budget"], spec["cap"]
    out: dict[str, Any] = {}
    for label, rule_q, sparql_q in spec["queries"]:
        for kind, plain, explained, q in (("rule", rule_plain, rule_explained, rule_q),
                                          ("SPARQL", sparql_plain, sparql_explained, sparql_q)):
            res = bench(plain(q), repeat, budget, cap)
            if "timeout" not in res:
                res["explained"] = bench(explained(q), repeat, budget, cap)
            out[f"{label}\t{kind}"] = res
            print(f"  {spec['name']} / {label} / {kind}: {_progress(res)}", file=sys.stderr, flush=True)
    peak = peak_rss_mib()
    # The materialised graph for the rdflib process (after the measurements: not in the peak).
    n = 0
    with open(spec["export"], "w", encoding="utf-8") as fh:
        for s, p, o, _graph in kb.triples():
            fh.write(f"{s.n3()} {p.n3()} {o.n3()} .\n")
            n += 1
    return {"queries": out, "peak_mib": peak, "load_s": t_load.seconds, "materialize_s": t_mat.seconds,
            "derived": stats.get("facts"), "triples": n, "prefixes": prefixes}


def _worker_rdflib(spec: dict[str, Any]) -> dict[str, Any]:
    from rdflib import Graph

    prefixes = json.loads(Path(spec["prefixes"]).read_text(encoding="utf-8"))
    with Timer() as t_load:
        graph = Graph()
        graph.parse(spec["export"], format="nt")
    repeat, budget, cap = spec["repeat"], spec["budget"], spec["cap"]
    out: dict[str, Any] = {}
    for label, _rule_q, sparql_q in spec["queries"]:
        res = bench(lambda q=sparql_q: len(list(graph.query(q, initNs=prefixes))), repeat, budget, cap)
        out[f"{label}\trdflib SPARQL"] = res
        print(f"  {spec['name']} / {label} / rdflib: {_progress(res)}", file=sys.stderr, flush=True)
    return {"queries": out, "peak_mib": peak_rss_mib(), "load_s": t_load.seconds, "triples": len(graph)}


def _progress(res: dict[str, Any]) -> str:
    if "timeout" in res:
        return f"timed out (> {res['timeout']:g} s)"
    text = f"{res['rows']} rows, {_median_ms(res):.2f} ms median of {len(res['seconds'])}"
    if "explained" in res and "timeout" not in res["explained"]:
        text += f"; explained {_median_ms(res['explained']):.2f} ms"
    return text


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"nesy": _worker_nesy, "rdflib": _worker_rdflib}


def worker_main(system: str, spec_path: str) -> None:
    """Child entry point: measure ``system`` on the dataset of the spec; print JSON."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    emit_result(WORKERS[system](spec))


# -- parent ----------------------------------------------------------------------------------
def _median_ms(res: dict[str, Any]) -> float:
    return 1000 * statistics.median(res["seconds"])


def _p95_ms(res: dict[str, Any]) -> float:
    """Nearest-rank 95th percentile (the slowest run when there are fewer than 20)."""
    xs = sorted(res["seconds"])
    return 1000 * xs[max(0, math.ceil(0.95 * len(xs)) - 1)]


def measure(ds: Dataset, repeat: int, budget: float, cap: float, tmp: Path) -> None:
    """Run the nesy child, then the rdflib child on nesy's export; fill ``ds.results``."""
    slug = "".join(c if c.isalnum() else "-" for c in ds.name)
    export, prefixes = tmp / f"{slug}.nt", tmp / f"{slug}-prefixes.json"
    spec = {"name": ds.name, "files": [str(f) for f in ds.files], "rules": ds.rules, "queries": ds.queries,
            "repeat": repeat, "budget": budget, "cap": cap, "export": str(export), "prefixes": str(prefixes)}
    spec_path = tmp / f"{slug}-spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    for system in WORKERS:
        if system == "rdflib" and "nesy" not in ds.results:
            ds.results[system] = {"error": "no export: the nesy run failed"}
            continue
        try:
            res = run_child([__file__, "--worker", system, str(spec_path)], timeout=CHILD_TIMEOUT_S)
        except ChildError as exc:
            print(f"  {ds.name} / {system} failed: {exc}", file=sys.stderr)
            ds.results[system] = {"error": "failed"}
            continue
        ds.results[system] = res
        if system == "nesy":
            prefixes.write_text(json.dumps(res["prefixes"]), encoding="utf-8")


def _query_rows(ds: Dataset, label: str) -> dict[str, int | None | str]:
    """Kind -> row count of one query (``"timeout"``/``"failed"`` when there is none)."""
    out: dict[str, int | None | str] = {}
    for kind in KINDS:
        system = "rdflib" if kind.startswith("rdflib") else "nesy"
        res = ds.results.get(system, {}).get("queries", {}).get(f"{label}\t{kind}")
        out[kind] = "failed" if res is None else "timeout" if "timeout" in res else res["rows"]
    return out


def mismatches(datasets: Sequence[Dataset]) -> list[str]:
    """One line per query whose kinds disagree on the number of rows (or whose count varied)."""
    out = []
    for ds in datasets:
        for label, _, _ in ds.queries:
            rows = _query_rows(ds, label)
            counts = {k: v for k, v in rows.items() if not isinstance(v, str)}
            if None in counts.values() or len(set(counts.values())) > 1:
                detail = ", ".join(f"{k}: {'varied between runs' if v is None else v}" for k, v in rows.items())
                out.append(f"{ds.name} {label}: {detail}")
    return out


def reference_check(ds: Dataset) -> str | None:
    """For all of LUBM(1): whether nesy's row counts equal the published answer counts."""
    if not ds.full_lubm or "queries" not in ds.results.get("nesy", {}):
        return None
    differ = []
    for label, _, _ in ds.queries:
        got = _query_rows(ds, label)
        if any(got[k] != LUBM_REFERENCE_ROWS[label] for k in ("rule", "SPARQL")):
            differ.append(f"{label} (rule {got['rule']}, SPARQL {got['SPARQL']}, reference {LUBM_REFERENCE_ROWS[label]})")
    if differ:
        return "LUBM(1) answers NOT complete: row counts differ from the published reference for " + "; ".join(differ)
    names = ", ".join(label for label, _, _ in ds.queries)
    return (f"LUBM(1): with `LUBM_RULES` the row counts of {names} equal the published LUBM(1) reference "
            "answer counts (q1 4, q2 0, q3 6, q4 34, q5 719, q6 7,790, q7 67, q8 7,790, q9 208, q10 4, "
            "q11 224, q12 15, q13 1, q14 5,916), so these rules make those queries' answers complete.")


def overheads(datasets: Sequence[Dataset]) -> list[tuple[str, float]]:
    """(``dataset query kind``, explanation overhead as a fraction) of every nesy row measured."""
    out = []
    for ds in datasets:
        queries = ds.results.get("nesy", {}).get("queries", {})
        for label, _, _ in ds.queries:
            for kind in ("rule", "SPARQL"):
                res = queries.get(f"{label}\t{kind}")
                if res is None or "timeout" in res or "timeout" in res["explained"]:
                    continue
                plain, explained = _median_ms(res), _median_ms(res["explained"])
                out.append((f"{ds.name} {label} {kind}", explained / plain - 1))
    return out


def goal_line(datasets: Sequence[Dataset]) -> str:
    """The goal and whether the measurements meet it, with the numbers behind the verdict."""
    ovh = overheads(datasets)
    over = sorted(((name, x) for name, x in ovh if x >= GOAL_EXPLAIN_OVERHEAD), key=lambda t: -t[1])
    ok_explain = bool(ovh) and not over
    if not ovh:
        explain_detail = "not measured"
    elif not over:
        explain_detail = f"all {len(ovh)} nesy rows under {GOAL_EXPLAIN_OVERHEAD:.0%}"
    else:
        worst = ", ".join(f"{name} +{x:.0%}" for name, x in over[:5])
        explain_detail = (f"{len(ovh) - len(over)} of {len(ovh)} nesy rows under {GOAL_EXPLAIN_OVERHEAD:.0%}, "
                          f"{len(over)} at or over; worst {worst}")

    family = next((ds for ds in datasets if ds.name == "family"), None)
    fam_queries = family.results.get("nesy", {}).get("queries", {}) if family else {}
    medians = [_median_ms(res) for key, res in fam_queries.items() if key.endswith("\trule") and "timeout" not in res]
    fam_ms = statistics.median(medians) if medians else None
    ok_family = fam_ms is not None and fam_ms < GOAL_FAMILY_RULE_MS
    family_detail = "not measured" if fam_ms is None else f"{fam_ms:.2f} ms (median of the {len(medians)} queries' medians)"

    verdict = "met" if ok_explain and ok_family else "not met"
    return (f"Goal: explanation adds under {GOAL_EXPLAIN_OVERHEAD:.0%} to the latency of every nesy row (each "
            f"query, rule and SPARQL); median rule query on "
            f"the family data under {GOAL_FAMILY_RULE_MS:g} ms — {verdict} "
            f"(explanation: {'met' if ok_explain else 'not met'}, {explain_detail}; "
            f"family rule queries: {'met' if ok_family else 'not met'}, {family_detail})")


def report(datasets: Sequence[Dataset], repeat: int, budget: float, cap: float) -> str:
    """The markdown table, its notes, the machine line, the goal line and any mismatch."""
    bad = {line.split(":", 1)[0] for line in mismatches(datasets)}
    rows: list[list[str]] = []
    few_runs: list[str] = []
    timeouts: list[str] = []
    for ds in datasets:
        for label, _, _ in ds.queries:
            for kind in KINDS:
                system = "rdflib" if kind.startswith("rdflib") else "nesy"
                got = ds.results.get(system, {})
                res = got.get("queries", {}).get(f"{label}\t{kind}")
                if res is None:
                    rows.append([ds.name, label, kind, got.get("error", "failed"), "—", "—", "—", "—"])
                    continue
                if "timeout" in res:
                    timeouts.append(f"{ds.name} {label} {kind}")
                    rows.append([ds.name, label, kind, f"timed out (> {res['timeout']:g} s)", "—", "—", "—", "—"])
                    continue
                n_rows = "varies" if res["rows"] is None else f"{res['rows']:,}"
                if f"{ds.name} {label}" in bad:
                    n_rows += " ≠"
                med = _median_ms(res)
                if len(res["seconds"]) < min(repeat, 20):
                    few_runs.append(f"{ds.name} {label} {kind} ({len(res['seconds'])})")
                explained = res.get("explained")
                if explained is None:
                    with_expl, ovh = "—", "—"
                elif "timeout" in explained:
                    with_expl, ovh = f"timed out (> {explained['timeout']:g} s)", "—"
                else:
                    with_expl = fmt_num(_median_ms(explained))
                    ovh = f"{100 * (_median_ms(explained) / med - 1):+.0f}%"
                rows.append([ds.name, label, kind, n_rows, fmt_num(med), fmt_num(_p95_ms(res)), with_expl, ovh])
    table = markdown_table(["Dataset", "Query", "Kind", "Rows", "Median ms", "p95 ms", "Median ms with explanation",
                            "Explanation overhead"], rows, align="lllrrrrr")
    notes = [
        f"Steady state: the KB is loaded and materialised once (`kb.materialize()`); each query then runs once "
        f"untimed (warm-up), then up to {repeat} timed times, stopping after {budget:g} s once {MIN_RUNS} runs are "
        f"done (a warm-up slower than {budget:g} s counts as a timed run; one slower than {cap:g} s is "
        "reported as timed out). p95 is nearest-rank, so with fewer than 20 runs it is the slowest run.",
        "rule: `kb.ask(\"?- ...\")` (parsing included; on the materialised model). SPARQL: `kb.sparql(query)` "
        "(Oxigraph plus nesy's per-row scoring; the triple patterns of a query text are cached after the "
        "warm-up). With explanation: the same call plus every answer's `proof` (rule) or every row's "
        "`proofs` (SPARQL: proofs of the inferred triples the row matched), as dicts, all of a query's "
        "together, as `nesy query --explain --format json` writes them (`answer_proof_dicts`, "
        "`row_proof_dicts`). Overhead = median with explanation / median without − 1.",
        "rdflib SPARQL: `list(graph.query(query, initNs=kb.prefixes))` on an in-memory rdflib `Graph` "
        "holding nesy's asserted and inferred triples (parsed from an N-Triples export); the query is parsed "
        "on every call, as nesy's is. It has no scores and no explanation.",
        "family queries (rule form): " + "; ".join(f"`{q}`" for _, q, _ in FAMILY_QUERIES)
        + ". The SPARQL forms use the KB's `fam:` prefix without declaring it.",
        "LUBM: the SPARQL is `owl/lubm/queries/qN.rq` as shipped; the rule queries are their translations "
        "and the OWL entailments they need are a 30-rule file in the script (`LUBM_RULES`: subclass, "
        "subproperty, inverse hasAlumnus/degreeFrom, transitive subOrganizationOf, Chair from headOf a "
        "Department, Person from degreeFrom).",
    ]
    for ds in datasets:
        check = reference_check(ds)
        if check:
            notes.append(check)
    for ds in datasets:
        n, r = ds.results.get("nesy", {}), ds.results.get("rdflib", {})
        if "queries" in n:
            notes.append(
                f"{ds.name}: nesy load + rules {n['load_s']:.2f} s, `materialize()` {n['materialize_s']:.2f} s "
                f"({n['derived']:,} derived facts), {n['triples']:,} triples exported"
                + (f"; rdflib parse {r['load_s']:.2f} s, {r['triples']:,} distinct triples" if "queries" in r else "")
                + ". Peak RSS (own process, VmHWM, interpreter and imports included): "
                f"nesy {fmt_num(n['peak_mib'], 0)} MiB"
                + (f", rdflib {fmt_num(r['peak_mib'], 0)} MiB." if "queries" in r else "."))
    if few_runs:
        notes.append("Fewer timed runs (slow queries, by the time budget): " + ", ".join(few_runs) + ".")
    if timeouts:
        notes.append("Timed out (warm-up over the cap; no row count to compare): " + ", ".join(timeouts) + ".")
    out = [table, "", *(f"- {n}" for n in notes), "", machine_line(["nesy", "rdflib", "pyoxigraph", "numpy"]),
           "", goal_line(datasets)]
    bad_lines = mismatches(datasets)
    if bad_lines:
        out += ["", "**MISMATCH** — the kinds disagree on the number of rows:", *(f"- {line}" for line in bad_lines)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed runs per query, kind and variant (default: 20, or 3 with --quick)")
    parser.add_argument("--budget", type=float, default=None,
                        help=f"seconds after which a measurement stops once {MIN_RUNS} runs are done "
                             "(default: 5, or 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: 3 runs, a 1 s budget, a {QUICK_CAP_S:g} s cap, "
                        f"{QUICK_LUBM_FILES} LUBM files")
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(*args.worker)
        return 0
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 20)
    budget = args.budget if args.budget is not None else (1.0 if args.quick else 5.0)
    cap = QUICK_CAP_S if args.quick else QUERY_CAP_S
    if repeat < 1:
        parser.error("--repeat must be at least 1")

    datasets: list[Dataset] = []
    for prepared in (prepare_family(), prepare_lubm(args.data, args.quick)):
        if isinstance(prepared, str):
            print(prepared, file=sys.stderr)
        else:
            datasets.append(prepared)
    if not datasets:
        print("no benchmark data; pass --data", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="nesy-bench-query-") as tmp:
        for ds in datasets:
            measure(ds, repeat, budget, cap, Path(tmp))
    print(report(datasets, repeat, budget, cap))
    bad = mismatches(datasets)
    if bad:
        print("\nMISMATCH: " + "; ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
