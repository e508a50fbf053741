"""The explanation outputs the proof golden files keep: `nesy query --explain --format json`, SPARQL rows' proofs and `why`.

Each case renders what a user gets through the same functions the CLI calls
(:func:`nesy.output.to_json`, :func:`nesy.output.print_answers`, and ``kb.why`` rendered
as ``nesy explain`` renders it). ``python tests/engine/proof_golden.py --write`` rewrites
the files under ``tests/golden/proofs/`` from the current code; the test compares.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "proofs"
FAMILY = ROOT / "examples" / "family"

#: Rule queries of the family example (those of benchmarks/query.py and more).
FAMILY_QUERIES = (
    "?- fam:grandparent(fam:ann, X).",
    "?- fam:ancestor(X, Y).",
    "?- fam:ancestor(X, fam:eve).",
    "?- fam:Childless(X).",
    "?- fam:kids(X, N).",
    "?- fam:livesIn(X, C).",
    "?- fam:Adult(X), fam:job(X, J), fam:pay(J, P).",
    "?- fam:ageGap(X, Y, D).",
    "?- fam:ancestor(X, fam:eve), fam:Adult(X).",
    "?- fam:kids(X, N), N >= 2.",
)
FAMILY_SPARQL = (
    "SELECT ?X ?Y WHERE { ?X fam:ancestor ?Y }",
    "SELECT ?X ?C WHERE { ?X fam:livesIn ?C }",
    "SELECT ?X ?N WHERE { ?X fam:kids ?N }",
    "SELECT ?X WHERE { ?X a fam:Childless }",
)
FAMILY_WHY = (
    "fam:ancestor(fam:abe, fam:eve)",
    "fam:livesIn(fam:abe, fam:york)",
    "fam:Childless(fam:eve)",
    "fam:kids(fam:ann, 2)",
)

UB = "http://www.lehigh.edu/~zhp2/2004/0401/univ-bench.owl#"
D0, U0 = "<http://www.Department0.University0.edu>", "<http://www.University0.edu>"
#: Two LUBM(1) files keep the test fast; every query below still has answers there.
LUBM_FILES = ("University0_0.owl", "University0_1.owl")
LUBM_QUERIES = (
    "?- ub:GraduateStudent(X), ub:takesCourse(X, <http://www.Department0.University0.edu/GraduateCourse0>).",
    f"?- ub:Professor(X), ub:worksFor(X, {D0}), ub:name(X, Y1), ub:emailAddress(X, Y2), ub:telephone(X, Y3).",
    "?- ub:Student(X), ub:Course(Y), ub:takesCourse(X, Y), "
    "ub:teacherOf(<http://www.Department0.University0.edu/AssociateProfessor0>, Y).",
    f"?- ub:ResearchGroup(X), ub:subOrganizationOf(X, {U0}).",
    f"?- ub:Chair(X), ub:Department(Y), ub:worksFor(X, Y), ub:subOrganizationOf(Y, {U0}).",
)
LUBM_SPARQL = (
    f"SELECT ?X WHERE {{ ?X a ub:ResearchGroup . ?X ub:subOrganizationOf {U0} }}",
    f"SELECT ?X ?Y WHERE {{ ?X a ub:Chair . ?X ub:worksFor ?Y . ?Y ub:subOrganizationOf {U0} }}",
)
LUBM_WHY = (
    f"ub:subOrganizationOf(<http://www.Department0.University0.edu/ResearchGroup0>, {U0})",
    "ub:Person(<http://www.Department0.University0.edu/FullProfessor0>)",
)


def family_kb() -> Any:
    """The family example in memory."""
    from nesy.kb import KnowledgeBase

    kb = KnowledgeBase()
    kb.load(FAMILY / "family.ttl", progress=False)
    kb.add_rules(FAMILY / "family.rules")
    return kb


def lubm_kb(data: Path) -> Any:
    """The LUBM ontology, two LUBM(1) files and the benchmark's rules, in memory."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from query import LUBM_RULES

    from nesy.kb import KnowledgeBase

    kb = KnowledgeBase()
    lubm = data / "owl" / "lubm"
    for f in (lubm / "univ-bench.ttl", *(lubm / "lubm1" / n for n in LUBM_FILES)):
        kb.load(f, progress=False)
    kb.add_rules(LUBM_RULES)
    kb.bind("ub", UB)
    return kb


def _printed(kb: Any, answers: Any, fmt: str) -> str:
    """What ``nesy query --explain --format FMT`` prints for ``answers``."""
    from nesy.output import print_answers

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print_answers(kb, answers, fmt, True)
    return buf.getvalue()


def outputs(kb: Any, queries: tuple[str, ...], sparql: tuple[str, ...], why: tuple[str, ...]) -> dict[str, Any]:
    """Every explanation output of one KB, by case name."""
    out: dict[str, Any] = {}
    for q in queries:
        answers = kb.ask(q)
        out[f"query json {q}"] = _printed(kb, answers, "json")
        out[f"query table {q}"] = _printed(kb, answers, "table")
    for q in sparql:
        rows = json.loads(_printed(kb, kb.sparql(q), "json"))
        # SPARQL leaves the row order unspecified: compare the rows as a sorted list.
        out[f"sparql json {q}"] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    for atom in why:
        proof = kb.why(atom)
        out[f"why tree {atom}"] = proof.to_text(kb.prefixes, default_ns=kb.default_namespace)
        out[f"why json {atom}"] = proof.to_json(kb.prefixes, default_ns=kb.default_namespace)
        out[f"why mermaid {atom}"] = proof.to_mermaid(kb.prefixes, default_ns=kb.default_namespace)
        out[f"why leaves {atom}"] = [leaf.label(kb.prefixes, kb.default_namespace) for leaf in proof.leaves()]
    return out


def portable(got: dict[str, Any], data: Path | None = None) -> dict[str, Any]:
    """``got`` with the checkout's and the data's directories (in proof sources and rule
    files) written ``$ROOT`` and ``$DATA``, so the files hold on any machine."""
    text = json.dumps(got, ensure_ascii=False)
    places = [(ROOT, "$ROOT")] + ([(data, "$DATA")] if data is not None else [])
    for path, name in places:
        for form in {str(path.resolve()), str(path)}:
            text = text.replace(json.dumps(form)[1:-1], name)
    return json.loads(text)


def family_outputs() -> dict[str, Any]:
    """The family example's cases."""
    return portable(outputs(family_kb(), FAMILY_QUERIES, FAMILY_SPARQL, FAMILY_WHY))


def lubm_outputs(data: Path) -> dict[str, Any]:
    """The LUBM cases."""
    return portable(outputs(lubm_kb(data), LUBM_QUERIES, LUBM_SPARQL, LUBM_WHY), data)


def write(data: Path) -> None:
    """Rewrite the golden files from the current code."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, got in (("family", family_outputs()), ("lubm", lubm_outputs(data))):
        (GOLDEN / f"{name}.json").write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] != ["--write"]:
        sys.exit("usage: python tests/engine/proof_golden.py --write [DATA_DIR]")
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import data_dir

    write(Path(sys.argv[2]) if len(sys.argv) > 2 else data_dir())
