"""Benchmark deletions: incremental retraction against re-materialising from scratch.

Two workloads, each in two fresh child processes that make the same seeded changes:

* **LUBM(1) + OWL 2 RL**: ``owl/lubm/lubm1/University0_*.owl`` loaded, then
  ``kb.load_ontology(univ-bench.ttl, profile="rl")`` (the OWL 2 RL pack and its closure);
* **family x N**: ``examples/family/family.ttl`` copied N times (every individual renamed
  per copy) with ``examples/family/family.rules`` (recursion, negation, a count, arithmetic,
  a weighted rule).

Steps: batches of 1% and of 10% of the loaded data triples are removed (``kb.remove``) and
then added back (``kb.store.add_triples`` inside ``kb.changing()``). The *incremental* child
keeps its reasoner (retraction, then incremental additions); the *scratch* child forgets
its reasoner before every step and materialises from scratch, as nesy did before
retraction. After every step both children digest their ``inferred`` graph (terms and
scores); the digests must be equal. Prints one markdown table and a goal line::

    .venv/bin/python benchmarks/update.py [--data ../shared/data] [--family-copies N] [--quick]
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - the helpers sit next to this script
    REPO,
    ChildError,
    Timer,
    bench_parser,
    emit_result,
    machine_line,
    markdown_table,
    run_child,
)

SYSTEMS = ("incremental", "scratch")
#: Batch sizes (fraction of the data triples) and how many batches of each.
BATCHES = ((0.01, 3), (0.10, 2))
QUICK_BATCHES = ((0.01, 1), (0.10, 1))
FAMILY = REPO / "examples" / "family"
FAM = "http://example.org/family#"
#: The goal: removing 1% of the data costs under this fraction of a full re-materialisation.
GOAL_RATIO = 0.10


# -- workloads (child side) --------------------------------------------------------------
def family_copies(n: int, out: Path) -> Path:
    """``family.ttl`` copied ``n`` times into one N-Triples file, each copy's individuals
    (every ``fam:`` IRI in subject or object position) renamed ``name_i``."""
    from rdflib import Graph, URIRef

    g = Graph()
    g.parse(FAMILY / "family.ttl")
    triples = list(g)
    lines = []
    for i in range(n):
        def term(t: Any, i: int = i) -> str:
            if isinstance(t, URIRef) and str(t).startswith(FAM):
                return f"<{t}_{i}>"
            return t.n3()
        lines += [f"{term(s)} <{p}> {term(o)} ." for s, p, o in triples]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _setup(spec: dict[str, Any]) -> tuple[Any, np.ndarray]:
    """The workload's KB, materialised, and its data triples as ids ``(n, 3)``."""
    from nesy.kb import KnowledgeBase
    from nesy.store.graphs import GRAPH_CODE

    kb = KnowledgeBase()
    for f in spec["data"]:
        kb.load(f, progress=False)
    t = kb.store.table
    data = np.stack([t.s, t.p, t.o], axis=1)[t.g == GRAPH_CODE["asserted"]]
    if spec["workload"] == "lubm":
        kb.load_ontology(spec["ontology"], profile="rl")
    else:
        kb.add_rules(spec["rules"])
    kb.materialize()
    order = np.lexsort((data[:, 2], data[:, 1], data[:, 0]))
    return kb, data[order]


def _digest(kb: Any) -> tuple[str, int]:
    """A digest of the ``inferred`` graph (terms as N-Triples, scores to 9 places) and its size."""
    rows = sorted(f"{s.n3()} {p.n3()} {o.n3()} {round(score, 9)}" for s, p, o, score in _inferred(kb))
    return hashlib.sha1("\n".join(rows).encode()).hexdigest(), len(rows)


def _inferred(kb: Any) -> list[tuple[Any, Any, Any, float]]:
    from nesy.store.graphs import GRAPH_CODE

    t, term = kb.store.table, kb.vocab.term
    rows = np.flatnonzero(t.g == GRAPH_CODE["inferred"])
    return [(term(int(t.s[i])), term(int(t.p[i])), term(int(t.o[i])), float(t.score[i])) for i in rows]


#: Seconds the reasoner spent retracting during the current step (see :func:`_time_retractions`).
SPENT = {"retract": 0.0}


def _time_retractions(kb: Any) -> None:
    """Count the time of the reasoner's retractions (``remove_edbs``, which ``kb.remove``
    runs) in :data:`SPENT`."""
    r = kb.reasoner
    plain = r.remove_edbs

    def timed(*args: Any, **kwargs: Any) -> dict:
        with Timer() as t:
            out = plain(*args, **kwargs)
        SPENT["retract"] += t.seconds
        return out

    r.remove_edbs = timed


def _step(kb: Any, system: str, action: str, ids: np.ndarray) -> dict[str, Any]:
    """One removal or re-insertion of the data triples ``ids``; its times and the closure digest."""
    term = kb.vocab.term
    triples = [(term(int(s)), term(int(p)), term(int(o))) for s, p, o in ids]
    if system == "scratch":
        kb._reasoner = None  # noqa: SLF001 - what every removal did before retraction: start over
    SPENT["retract"] = 0.0
    with Timer() as total:
        if action == "delete":
            n = kb.remove(triples)
        else:
            with kb.changing():
                n = kb.store.add_triples(triples, "asserted")
        with Timer() as reason:
            kb.reasoner.materialize()  # scratch: build and evaluate; incremental: additions only
        kb.materialize()  # the inferred graph follows
    digest, size = _digest(kb)
    return {"action": action, "triples": n, "reasoner_s": reason.seconds + SPENT["retract"], "kb_s": total.seconds,
            "digest": digest, "inferred": size}


def worker_main(system: str, spec_path: str) -> None:
    """Child entry point: set the workload up, run every step, print the JSON result."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    with Timer() as setup:
        kb, data = _setup(spec)
    if system == "incremental":
        _time_retractions(kb)
    rng = np.random.default_rng(spec["seed"])
    steps = []
    for frac, batches in spec["batches"]:
        for _ in range(batches):
            ids = data[np.sort(rng.choice(len(data), max(1, round(frac * len(data))), replace=False))]
            for action in ("delete", "add back"):
                steps.append({"frac": frac, **_step(kb, system, action, ids)})
    emit_result({"setup_s": setup.seconds, "data": len(data), "steps": steps})


# -- parent -------------------------------------------------------------------------------
def workloads(data: Path, quick: bool, copies: int, tmp: Path) -> dict[str, dict[str, Any]]:
    """The specs of the workloads whose data is there (LUBM needs the shared data)."""
    out: dict[str, dict[str, Any]] = {}
    lubm = data / "owl" / "lubm"
    files = sorted((lubm / "lubm1").glob("University0_*.owl"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    if (lubm / "univ-bench.ttl").is_file() and files:
        out["LUBM(1) + OWL 2 RL"] = {"workload": "lubm", "ontology": str(lubm / "univ-bench.ttl"),
                                     "data": [str(f) for f in (files[:2] if quick else files)]}
    else:
        print(f"skipping LUBM(1): no {lubm / 'lubm1'} with univ-bench.ttl", file=sys.stderr)
    n = 100 if quick else copies
    out[f"family x {n:,}"] = {"workload": "family", "rules": str(FAMILY / "family.rules"),
                              "data": [str(family_copies(n, tmp / "family.nt"))]}
    return out


def summarise(name: str, inc: dict[str, Any], scr: dict[str, Any]) -> tuple[list[list[str]], list[float], list[str]]:
    """Table rows per (batch size, action), the 1% deletion ratios, and mismatch messages."""
    rows, ratios, bad = [], [], []
    groups: dict[tuple[float, str], list[tuple[dict, dict]]] = {}
    for a, b in zip(inc["steps"], scr["steps"], strict=True):
        groups.setdefault((a["frac"], a["action"]), []).append((a, b))
        if a["digest"] != b["digest"] or a["triples"] != b["triples"]:
            bad.append(f"{name}, {a['action']} {a['frac']:.0%}: incremental closure {a['inferred']:,} triples, "
                       f"from scratch {b['inferred']:,} (digests {a['digest'][:8]} / {b['digest'][:8]})")
    for (frac, action), pairs in groups.items():
        i_s = statistics.median(a["reasoner_s"] for a, _ in pairs)
        s_s = statistics.median(b["reasoner_s"] for _, b in pairs)
        if action == "delete" and frac == BATCHES[0][0]:
            ratios += [a["reasoner_s"] / b["reasoner_s"] for a, b in pairs]
        same = all(a["digest"] == b["digest"] for a, b in pairs)
        rows.append([name, f"{action} {frac:.0%}", f"{pairs[0][0]['triples']:,}", f"{i_s:.3f}", f"{s_s:.3f}",
                     f"{i_s / s_s:.1%}",
                     f"{statistics.median(a['kb_s'] for a, _ in pairs):.3f}",
                     f"{statistics.median(b['kb_s'] for _, b in pairs):.3f}",
                     f"{inc['peak_rss_mib']:.0f} / {scr['peak_rss_mib']:.0f}", "yes" if same else "**NO**"])
    return rows, ratios, bad


def report(results: dict[str, tuple[dict, dict]], quick: bool) -> tuple[str, bool]:
    """The table, its notes, the machine line and the goal line; and whether all closures agreed."""
    rows, lines, bad, goal = [], [], [], []
    for name, (inc, scr) in results.items():
        r, ratios, b = summarise(name, inc, scr)
        rows += r
        bad += b
        worst = max(ratios)
        goal.append(f"{name}: {statistics.median(ratios):.1%} median, {worst:.1%} worst "
                    f"({'met' if worst < GOAL_RATIO else 'not met'})")
        lines.append(f"{name}: {inc['data']:,} data triples; setting up (load, rules, first closure) took "
                     f"{inc['setup_s']:.1f} s.")
    table = markdown_table(
        ["Workload", "Step", "Triples", "Incremental s", "From scratch s", "Ratio", "KB incremental s",
         "KB from scratch s", "Peak RSS MiB (inc / scratch)", "Same closure"],
        rows, align="llrrrrrrrl")
    notes = [
        "Incremental s: the reasoner's work in the kept model (the retraction inside `kb.remove`, or the "
        "incremental evaluation of the added triples). From scratch s: building a new reasoner from the store "
        "and materialising everything, which is what each change cost before retraction. Medians over the "
        "batches; Ratio = incremental / from scratch.",
        "KB s: the whole step as a user sees it: the store write (Oxigraph), the reasoning, and writing the "
        "difference into the `inferred` graph (`kb.materialize()`).",
        "Same closure: after every step the two processes' `inferred` graphs (terms and scores) are equal.",
        *lines,
        *(["quick run: 2 LUBM files, family x 100, one batch of each size"] if quick else []),
    ]
    text = "\n".join([table, "", *(f"- {n}" for n in notes), "",
                      machine_line(["nesy", "numpy", "pyoxigraph"]), ""])
    met = all("not met" not in g for g in goal) and not bad
    text += (f"Goal: deleting 1% of the data costs under {GOAL_RATIO:.0%} of a full re-materialisation — "
             f"{'met' if met else 'not met'} ({'; '.join(goal)})")
    if bad:
        text += "\n\n**MISMATCH**\n" + "\n".join(f"- {m}" for m in bad)
    return text, not bad


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 LUBM files, family x 100, one batch each")
    parser.add_argument("--family-copies", type=int, default=2000, help="copies of the family (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the batches (default %(default)s)")
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(*args.worker)
        return 0
    results: dict[str, tuple[dict, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in workloads(args.data, args.quick, args.family_copies, Path(tmp)).items():
            spec.update(seed=args.seed, batches=QUICK_BATCHES if args.quick else BATCHES)
            spec_path = Path(tmp) / "spec.json"
            spec_path.write_text(json.dumps(spec), encoding="utf-8")
            try:
                inc, scr = (run_child([__file__, "--worker", s, str(spec_path)], timeout=1800) for s in SYSTEMS)
            except ChildError as exc:
                print(f"{name}: {exc}", file=sys.stderr)
                return 1
            results[name] = (inc, scr)
    text, ok = report(results, args.quick)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
