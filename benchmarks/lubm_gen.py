"""Generate LUBM-shaped university data, seeded, as integer id arrays or N-Triples lines.

A stand-in for the LUBM generator (UBA 1.7) with its classes, predicates and proportions,
written for :mod:`benchmarks.scale` so that data of any size can be made in memory in
seconds, without Java and without files. The vocabulary is the LUBM ontology's
(``univ-bench.ttl``, namespace :data:`UB`); entities are named as UBA names them
(``http://www.Department3.University7.edu/GraduateStudent12``).

Per department, drawn with ``numpy.random.default_rng(seed)`` (UBA's ranges):

* 7-10 full, 10-14 associate, 8-11 assistant professors and 5-7 lecturers (faculty), each
  with name, e-mail, telephone, ``worksFor`` the department, three degrees from random
  universities (``University0`` .. ``University999``) and, except lecturers, a research
  interest; the first full professor is ``headOf`` the department;
* each faculty member teaches 1-2 courses and 1-2 graduate courses;
* 8-14 undergraduates and 3-4 graduate students per faculty member, ``memberOf`` the
  department; undergraduates take 2-4 courses, one in five has a professor as
  ``advisor``; graduate students take 1-3 graduate courses, all have an advisor and an
  undergraduate degree; about 22% are teaching assistants of a course, 29% research
  assistants;
* 10-20 research groups, ``subOrganizationOf`` the department;
* 15-20 / 10-18 / 5-10 / 0-5 publications per full / associate / assistant professor /
  lecturer, and each graduate student co-authors 0-5 of the department's publications.

A university of 15 departments (the default; UBA draws 15-25) is about 100,000 triples,
as ``University0`` of LUBM(1) is (100,573), and about 26,000 terms (17,000 entities).
The generation is one random stream, university after university, so the data of ``n``
universities is the start of the data of ``4n``. Nothing is written to disk unless asked::

    .venv/bin/python benchmarks/lubm_gen.py UNIVERSITIES [--departments D] [--seed S] [--out FILE.nt]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: The LUBM ontology's namespace, as ``univ-bench.ttl`` and the LUBM data use it.
UB = "http://www.lehigh.edu/~zhp2/2004/0401/univ-bench.owl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#: Properties of the ontology the generator uses (term ids 1.., after ``rdf:type``).
PROPERTIES = (
    "name", "emailAddress", "telephone", "researchInterest", "worksFor", "headOf", "memberOf",
    "subOrganizationOf", "undergraduateDegreeFrom", "mastersDegreeFrom", "doctoralDegreeFrom",
    "teacherOf", "takesCourse", "advisor", "teachingAssistantOf", "publicationAuthor",
)
#: Classes of the ontology the generator uses (term ids after the properties).
CLASSES = (
    "University", "Department", "FullProfessor", "AssociateProfessor", "AssistantProfessor",
    "Lecturer", "UndergraduateStudent", "GraduateStudent", "TeachingAssistant",
    "ResearchAssistant", "ResearchGroup", "Course", "GraduateCourse", "Publication",
)
#: Faculty kinds: (class, how many per department, publications each) as [low, high] ranges.
FACULTY = (
    ("FullProfessor", (7, 10), (15, 20)),
    ("AssociateProfessor", (10, 14), (10, 18)),
    ("AssistantProfessor", (8, 11), (5, 10)),
    ("Lecturer", (5, 7), (0, 5)),
)
#: Universities that degrees come from (UBA draws among 1,000).
DEGREE_UNIVERSITIES = 1000
TYPE = 0
#: The terms of ids ``0 .. N_FIXED - 1``: ``rdf:type``, the properties, the classes.
FIXED_IRIS = (RDF_TYPE, *(UB + p for p in PROPERTIES), *(UB + c for c in CLASSES))
N_FIXED = len(FIXED_IRIS)
P = {name: i + 1 for i, name in enumerate(PROPERTIES)}
C = {name: i + 1 + len(PROPERTIES) for i, name in enumerate(CLASSES)}


@dataclass
class Abox:
    """Generated data: every term once, and the triples as ids into it.

    Attributes:
        terms: N-Triples text of term ``i`` (``<iri>`` or ``"literal"``); ids 0..
            ``len(PROPERTIES) + len(CLASSES)`` are ``rdf:type``, the properties, the classes.
        triples: int64 ``(n, 3)``: subject, predicate, object ids; distinct rows.
        universities: How many universities.
        departments: Departments per university.
    """

    terms: list[str]
    triples: np.ndarray
    universities: int
    departments: int

    def ntriples(self) -> Iterator[str]:
        """The triples as N-Triples lines (without newline)."""
        t = self.terms
        for s, p, o in self.triples.tolist():
            yield f"{t[s]} {t[p]} {t[o]} ."

    def predicates(self) -> list[str]:
        """The predicate IRIs used, in id order."""
        return [self.terms[i][1:-1] for i in np.unique(self.triples[:, 1]).tolist()]

    def write(self, path: str | Path) -> None:
        """Write the triples as an N-Triples file."""
        with open(path, "w", encoding="utf-8") as fh:
            for line in self.ntriples():
                fh.write(line + "\n")


class _Builder:
    """Numbers terms and collects triple blocks while departments are generated. Without
    ``text`` it keeps no term text (ids only) and numbers every term exactly alike."""

    def __init__(self, rng: np.random.Generator, text: bool = True) -> None:
        self.rng, self.text = rng, text
        self.terms = [f"<{iri}>" for iri in FIXED_IRIS]
        self.n = len(self.terms)
        self.names: dict[str, np.ndarray] = {}  # literal "<kind><i>" -> ids by i
        self.constants: dict[str, int] = {}
        self.universities: dict[int, int] = {}
        self.blocks: list[np.ndarray] = []

    def _take(self, n: int, template: str, index: tuple[Any, ...]) -> np.ndarray:
        """Ids of ``n`` new terms, ``template.format(*row)`` over the rows of ``index``."""
        start, self.n = self.n, self.n + n
        if self.text:
            self.terms.extend(template.format(*row) for row in zip(*(np.asarray(a).tolist() for a in index)))
        return np.arange(start, self.n, dtype=np.int64)

    def new(self, template: str, *index: Any) -> np.ndarray:
        """Fresh IRIs ``template.format(*row)``, one per row of the ``index`` columns."""
        return self._take(len(index[0]), f"<{template}>", index)

    def fresh(self, template: str, *index: Any) -> np.ndarray:
        """Fresh plain literals (texts no other literal has), as :meth:`new`."""
        return self._take(len(index[0]), f'"{template}"', index)

    def name(self, kind: str, index: Any) -> np.ndarray:
        """Ids of the literals ``"<kind><i>"`` for ``i`` in ``index``, each text once."""
        index = np.asarray(index, dtype=np.int64)
        have = self.names.get(kind, np.empty(0, np.int64))
        top = int(index.max()) + 1 if index.size else 0
        if top > len(have):
            extra = self._take(top - len(have), f'"{kind}{{}}"', (range(len(have), top),))
            have = self.names[kind] = np.concatenate([have, extra])
        return have[index]

    def constant(self, text: str) -> int:
        """Id of the plain literal ``text``."""
        if text not in self.constants:
            self.constants[text] = int(self._take(1, f'"{text}"', (range(1),))[0])
        return self.constants[text]

    def university(self, numbers: np.ndarray) -> np.ndarray:
        """Ids of ``http://www.University<k>.edu``, typed ``University`` when first used."""
        out = np.empty(len(numbers), dtype=np.int64)
        for k, u in enumerate(numbers.tolist()):
            i = self.universities.get(u)
            if i is None:
                i = self.universities[u] = int(self.new("http://www.University{}.edu", [u])[0])
                self.add(i, TYPE, C["University"])
            out[k] = i
        return out

    def add(self, s: object, p: object, o: object) -> None:
        """Triples ``(s, p, o)``; scalars broadcast against arrays."""
        s_, p_, o_ = np.broadcast_arrays(np.asarray(s, np.int64), np.asarray(p, np.int64), np.asarray(o, np.int64))
        if s_.size:
            self.blocks.append(np.stack([s_.ravel(), p_.ravel(), o_.ravel()], axis=1))

    def draw(self, lo_hi: tuple[int, int], size: int | None = None) -> np.ndarray:
        """Integers in ``[lo, hi]`` (both included)."""
        return self.rng.integers(lo_hi[0], lo_hi[1] + 1, size=size)

    def choose(self, counts: np.ndarray, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For row ``i``, ``counts[i]`` distinct members of ``pool``: (row, member) pairs."""
        if not len(counts) or not len(pool):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        order = np.argsort(self.rng.random((len(counts), len(pool))), axis=1)
        rows, cols = np.nonzero(np.arange(len(pool))[None, :] < np.minimum(counts, len(pool))[:, None])
        return rows, pool[order[rows, cols]]


def _people(b: _Builder, prefix: str, host: str, kind: str, n: int) -> np.ndarray:
    """``n`` people of one class with type, name, e-mail and telephone; their ids."""
    ids = b.new(f"{prefix}/{kind}{{}}", range(n))
    b.add(ids, TYPE, C[kind])
    b.add(ids, P["name"], b.name(kind, np.arange(n)))
    b.add(ids, P["emailAddress"], b.fresh(f"{kind}{{}}@{host}", range(n)))
    b.add(ids, P["telephone"], b.constant("xxx-xxx-xxxx"))
    return ids


def _faculty(b: _Builder, prefix: str, host: str, dept: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The department's faculty and their publications: (all ids, professors, publications)."""
    everyone, profs, pubs = [], [], []
    for kind, count, pub_range in FACULTY:
        n = int(b.draw(count))
        ids = _people(b, prefix, host, kind, n)
        b.add(ids, P["worksFor"], dept)
        for degree in ("undergraduateDegreeFrom", "mastersDegreeFrom", "doctoralDegreeFrom"):
            b.add(ids, P[degree], b.university(b.rng.integers(0, DEGREE_UNIVERSITIES, n)))
        if kind != "Lecturer":
            b.add(ids, P["researchInterest"], b.name("Research", b.rng.integers(0, 30, n)))
            profs.append(ids)
        if kind == "FullProfessor":
            b.add(ids[0], P["headOf"], dept)
        counts = b.draw(pub_range, n)
        owner = np.repeat(np.arange(n), counts)
        nth = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
        pub_ids = b.new(f"{prefix}/{kind}{{}}/Publication{{}}", owner, nth)
        b.add(pub_ids, TYPE, C["Publication"])
        b.add(pub_ids, P["name"], b.name("Publication", nth))
        b.add(pub_ids, P["publicationAuthor"], ids[owner])
        everyone.append(ids)
        pubs.append(pub_ids)
    return np.concatenate(everyone), np.concatenate(profs), np.concatenate(pubs)


def _courses(b: _Builder, prefix: str, faculty: np.ndarray, kind: str) -> np.ndarray:
    """1-2 courses of ``kind`` per faculty member, each with its teacher and name."""
    per = b.draw((1, 2), len(faculty))
    n = int(per.sum())
    ids = b.new(f"{prefix}/{kind}{{}}", range(n))
    b.add(ids, TYPE, C[kind])
    b.add(ids, P["name"], b.name(kind, np.arange(n)))
    b.add(np.repeat(faculty, per), P["teacherOf"], ids)
    return ids


def _department(b: _Builder, u: int, d: int, univ: int) -> None:
    """One department of university ``u`` and everything in it."""
    host = f"Department{d}.University{u}.edu"
    prefix = f"http://www.{host}"
    dept = int(b.new(prefix, range(1))[0])
    b.add(dept, TYPE, C["Department"])
    b.add(dept, P["name"], b.name("Department", [d]))
    b.add(dept, P["subOrganizationOf"], univ)
    faculty, profs, pubs = _faculty(b, prefix, host, dept)
    courses = _courses(b, prefix, faculty, "Course")
    grad_courses = _courses(b, prefix, faculty, "GraduateCourse")

    n_ug = len(faculty) * int(b.draw((8, 14)))
    ug = _people(b, prefix, host, "UndergraduateStudent", n_ug)
    b.add(ug, P["memberOf"], dept)
    rows, cols = b.choose(b.draw((2, 4), n_ug), courses)
    b.add(ug[rows], P["takesCourse"], cols)
    advised = ug[b.rng.random(n_ug) < 0.2]
    b.add(advised, P["advisor"], profs[b.rng.integers(0, len(profs), len(advised))])

    n_gr = len(faculty) * int(b.draw((3, 4)))
    gr = _people(b, prefix, host, "GraduateStudent", n_gr)
    b.add(gr, P["memberOf"], dept)
    rows, cols = b.choose(b.draw((1, 3), n_gr), grad_courses)
    b.add(gr[rows], P["takesCourse"], cols)
    b.add(gr, P["advisor"], profs[b.rng.integers(0, len(profs), n_gr)])
    b.add(gr, P["undergraduateDegreeFrom"], b.university(b.rng.integers(0, DEGREE_UNIVERSITIES, n_gr)))
    shuffled = b.rng.permutation(gr)
    n_ta = min(round(0.22 * n_gr), len(courses))
    ta = shuffled[:n_ta]
    b.add(ta, TYPE, C["TeachingAssistant"])
    b.add(ta, P["teachingAssistantOf"], b.rng.permutation(courses)[:n_ta])
    b.add(shuffled[n_ta:n_ta + round(0.29 * n_gr)], TYPE, C["ResearchAssistant"])
    rows, cols = b.choose(b.draw((0, 5), n_gr), pubs)
    b.add(cols, P["publicationAuthor"], gr[rows])

    groups = b.new(f"{prefix}/ResearchGroup{{}}", range(int(b.draw((10, 20)))))
    b.add(groups, TYPE, C["ResearchGroup"])
    b.add(groups, P["subOrganizationOf"], dept)


def _universities(b: _Builder, universities: int, departments: int) -> Iterator[np.ndarray]:
    if universities < 1 or departments < 1:
        raise ValueError("need at least one university and one department")
    for u in range(universities):
        univ = int(b.university(np.array([u]))[0])
        b.add(univ, P["name"], b.name("University", [u]))
        for d in range(departments):
            _department(b, u, d, univ)
        block, b.blocks = np.concatenate(b.blocks), []
        yield block


def generate(universities: int, *, departments: int = 15, seed: int = 0) -> Abox:
    """The data of ``universities`` universities of ``departments`` departments each."""
    b = _Builder(np.random.default_rng(seed))
    triples = np.concatenate(list(_universities(b, universities, departments)))
    return Abox(b.terms, triples, universities, departments)


def generate_ids(universities: int, *, departments: int = 15, seed: int = 0) -> Iterator[np.ndarray]:
    """The triples of :func:`generate` (the same ids), one university's int64 ``(n, 3)``
    block at a time, keeping no term text: for data larger than memory. Ids below
    :data:`N_FIXED` are ``rdf:type``, :data:`PROPERTIES` and :data:`CLASSES`."""
    yield from _universities(_Builder(np.random.default_rng(seed), text=False), universities, departments)


def owl_rl_program(ontology: str | Path) -> tuple[list[Any], list[tuple[Any, Any, Any]]]:
    """The OWL 2 RL pack's rules for this data, and the ontology's triples in a fixed order.

    The pack is expanded on a small in-memory KB holding the ontology and one generated
    department (which uses every predicate the generator does); its runnable rules are
    kept, without templates and without constraints (rules with no head derive nothing).
    Pickled, both keep their blank-node labels, so every process numbers them alike.
    """
    from rdflib import Graph

    from nesy.kb import KnowledgeBase
    from nesy.ontologies.packs import is_template

    sample = generate(1, departments=1)
    assert len(sample.predicates()) == len(PROPERTIES) + 1, "the sample misses a predicate"
    with tempfile.TemporaryDirectory(prefix="lubm-gen-") as tmp:
        path = Path(tmp) / "sample.nt"
        sample.write(path)
        kb = KnowledgeBase()
        kb.load(path, progress=False)
        kb.load_ontology(ontology, profile="rl")
    rules = [r for r in kb.rules if r.head is not None and not is_template(r)]
    return rules, list(Graph().parse(ontology))


def engine_vocab(tbox: list[tuple[Any, Any, Any]], rules: list[Any]) -> tuple[Any, np.ndarray, dict[str, int], Callable[[np.ndarray], np.ndarray]]:
    """What nesy's engines get besides the data, alike in every process: a fresh ``Vocab``
    holding the ontology and the rules' constants; the ontology's triples as ids ``(n, 3)``;
    the derived predicates (IRI -> id); and the map from :func:`generate_ids` blocks to the
    engines' ids. The fixed terms (``rdf:type``, the properties and classes) become their
    vocabulary ids; every other term (entities, literals) an id past the vocabulary's end,
    so that no term object is made for the data: the engines only join and compare those
    ids, and without constraints no rule here asks what they stand for."""
    from rdflib import URIRef

    from nesy.rules.ast import Atom, Var
    from nesy.store.vocab import Vocab

    vocab = Vocab()
    tbox_ids = vocab.ids(t for triple in tbox for t in triple).reshape(-1, 3)
    for rule in rules:
        for a in [rule.head, *(x for x in rule.body if isinstance(x, Atom))]:
            vocab.ids([a.triple_form().predicate, *(t for t in a.args if not isinstance(t, Var))])
    fixed = vocab.ids(URIRef(t) for t in FIXED_IRIS)
    heads = sorted({vocab.id(r.head.triple_form().predicate) for r in rules if r.head is not None})
    offset = len(vocab)

    def to_engine(block: np.ndarray) -> np.ndarray:
        out = block + offset
        low = block < N_FIXED
        out[low] = fixed[block[low]]
        return out

    return vocab, tbox_ids, {str(vocab.term(p)): p for p in heads}, to_engine


def write_parquet(blocks: Iterable[np.ndarray], folder: Path, rows_per_file: int = 4_000_000) -> tuple[list[str], int]:
    """Write ``(n, 3)`` id blocks as Parquet files (int64 ``s, p, o``, float64 ``score`` 1.0)
    of about ``rows_per_file`` rows under ``folder``; the files and the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths: list[str] = []
    pending: list[np.ndarray] = []
    total = 0
    for block in itertools.chain(blocks, [None]):
        if block is not None:
            pending.append(block)
            total += len(block)
        if pending and (block is None or sum(map(len, pending)) >= rows_per_file):
            t = np.concatenate(pending)
            paths.append(str(folder / f"part-{len(paths)}.parquet"))
            pq.write_table(pa.table({"s": t[:, 0], "p": t[:, 1], "o": t[:, 2], "score": np.ones(len(t))}), paths[-1])
            pending = []
    return paths, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("universities", type=int)
    parser.add_argument("--departments", type=int, default=15, help="departments per university (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the triples here as N-Triples (default: only print counts)")
    args = parser.parse_args(argv)
    data = generate(args.universities, departments=args.departments, seed=args.seed)
    if args.out:
        data.write(args.out)
    print(f"{len(data.triples):,} triples, {len(data.terms):,} terms, {len(data.predicates())} predicates",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
