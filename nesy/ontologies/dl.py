"""The owlready2 bridge: OWL 2 DL classification with HermiT or Pellet.

OWL 2 RL (the rule pack) is complete for its profile only; users whose ontologies need
OWL 2 DL (existentials on the right, unions, cardinalities) can ask a DL reasoner.
:func:`classify` hands the knowledge base's stored facts (``asserted`` and ``extracted``
graphs) to owlready2, runs HermiT or Pellet (Java programs shipped inside owlready2), and
stores what they entail that the KB lacks in the ``dl-reasoner`` graph, so a proof that
uses such a fact shows ``dl-reasoner`` with the reasoner's name.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nesy.errors import NesyError
from nesy.extras import missing_extra

if TYPE_CHECKING:
    from nesy.kbview import KBView

#: Reasoner name -> (owlready2 function name, display name).
REASONERS = {"hermit": ("sync_reasoner_hermit", "HermiT"), "pellet": ("sync_reasoner_pellet", "Pellet")}
#: The graphs a DL reasoner reads: the stored facts, not soft predictions or RL inferences.
INPUT_GRAPHS = ("asserted", "extracted")
OWL_IMPORTS = "http://www.w3.org/2002/07/owl#imports"


def _owlready() -> Any:
    try:
        import owlready2
    except ImportError as exc:  # pragma: no cover - the [dl] extra; users may lack it
        raise (missing_extra(exc) or NesyError(f"the DL reasoners need owlready2: {exc}")) from None
    return owlready2


def _check_java(owlready2: Any) -> None:
    java = getattr(owlready2, "JAVA_EXE", "java")
    if shutil.which(java) is None:
        raise NesyError(
            f"HermiT and Pellet run on Java, but {java!r} was not found: install Java 17 or newer "
            "(e.g. `apt install openjdk-17-jre-headless`) or point owlready2.JAVA_EXE at a java binary"
        )


def _java_error(text: str) -> str:
    """The line of a Java stack trace that says what went wrong (not where)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "Exception" in line or "Error" in line:
            return line.removeprefix('Exception in thread "main" ')
    return lines[-1] if lines else "no message"


def _triples(world: Any) -> set[tuple[Any, Any, Any]]:
    return set(world.as_rdflib_graph().triples((None, None, None)))


def _without_imports(path: Path) -> int:
    """Drop the ``owl:imports`` triples from an N-Triples file; how many there were.

    owlready2 follows every ``owl:imports`` it loads (over HTTP, or to a ``file://`` path)
    and has no switch to stop it for imported ontologies, so they must not reach it.
    """
    import pyoxigraph as ox

    triples = [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)]
    kept = [t for t in triples if t.predicate.value != OWL_IMPORTS]
    if len(kept) != len(triples):
        path.write_bytes(ox.serialize(kept, format=ox.RdfFormat.N_TRIPLES) or b"")
    return len(triples) - len(kept)


def classify(kb: KBView, reasoner: str = "hermit", *, property_values: bool = True,
             allow_imports: bool = False) -> tuple[dict[str, Any], list[tuple[Any, Any, Any]]]:
    """Classify the knowledge base with a DL reasoner; :meth:`KnowledgeBase.classify` stores
    what it returns.

    Args:
        kb: The knowledge base; its ``asserted`` and ``extracted`` graphs are the input.
        reasoner: ``"hermit"`` or ``"pellet"``.
        property_values: Also infer property assertions between individuals.
        allow_imports: Let owlready2 follow ``owl:imports`` (it fetches them over the
            network or reads local files); off by default, the imports are left out.

    Returns:
        A report — ``reasoner``, ``consistent`` (False: no triples), ``unsatisfiable`` (class
        IRIs equivalent to ``owl:Nothing``), ``seconds``, ``imports_skipped`` — and the entailed triples the input
        lacks (rdflib terms; blank nodes left out: their labels are the reasoner's own).

    Raises:
        NesyError: unknown reasoner, owlready2 or Java missing, or the reasoner failed.
    """
    from rdflib import BNode, URIRef

    if reasoner not in REASONERS:
        raise NesyError(f"unknown DL reasoner {reasoner!r}; choose one of: {', '.join(REASONERS)}")
    owlready2 = _owlready()
    _check_java(owlready2)
    func, display = REASONERS[reasoner]
    start = time.perf_counter()
    world = owlready2.World()
    skipped = 0
    with tempfile.TemporaryDirectory(prefix="nesy-dl-") as tmp:
        for graph in INPUT_GRAPHS:
            if kb.store.count(graph):
                path = Path(tmp) / f"{graph}.nt"
                kb.export(path, format="nt", graph=graph)
                if not allow_imports:
                    skipped += _without_imports(path)
                try:
                    world.get_ontology(path.as_uri()).load(only_local=not allow_imports)
                except (owlready2.OwlReadyOntologyParsingError, OSError) as exc:
                    raise NesyError(f"owlready2 could not read an imported ontology: {exc}") from None
        before = _triples(world)
        try:
            getattr(owlready2, func)(world, infer_property_values=property_values, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            return {"reasoner": reasoner, "consistent": False, "unsatisfiable": [],
                    "seconds": time.perf_counter() - start, "imports_skipped": skipped}, []
        except (owlready2.OwlReadyJavaError, OSError) as exc:
            raise NesyError(f"{display} failed: {_java_error(str(exc))}") from None
    nothing = URIRef("http://www.w3.org/2002/07/owl#Nothing")
    new = [t for t in _triples(world) - before if not any(isinstance(x, BNode) for x in t)]
    unsat = sorted(str(c) for c, p, o in new if o == nothing and str(p).endswith("equivalentClass") and c != nothing)
    return {"reasoner": reasoner, "consistent": True, "unsatisfiable": unsat,
            "seconds": time.perf_counter() - start, "imports_skipped": skipped}, new


def classify_into(kb: KBView, reasoner: str = "hermit", *, property_values: bool = True,
                  allow_imports: bool = False) -> dict[str, Any]:
    """:func:`classify`, and store its new entailments in the ``dl-reasoner`` graph (source:
    the reasoner's name); what :meth:`nesy.kb.KnowledgeBase.classify` runs. The report gains
    ``added``: the new triples (none when the KB is inconsistent)."""
    report, triples = classify(kb, reasoner, property_values=property_values, allow_imports=allow_imports)
    with kb.changing():
        fields = {"extractor": f"owlready2 {REASONERS[reasoner][1]}"}
        report["added"] = kb.store.add_triples(triples, "dl-reasoner", **fields) if triples else 0
    return report


__all__ = ["INPUT_GRAPHS", "REASONERS", "classify", "classify_into"]
