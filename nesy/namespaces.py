"""nesy's own namespaces and default prefixes, in one place.

Plain strings only (no rdflib import), so that any layer, down to the rule parser and
the store, can use them without cost. Users' data never needs these names except
:data:`DEFAULT_NAMESPACE` (bare names in rules) and ``nesy:`` (built-in predicates).
"""

from __future__ import annotations

#: Namespace of bare names (``parent(ann, bob)``) and TSV names when a KB declares none.
DEFAULT_NAMESPACE = "http://example.org/nesy#"
#: Namespace of the built-in predicates (``nesy:concat``...); the prefix ``nesy:`` is always known.
NESY_NS = "https://w3id.org/nesy#"
#: Template properties (``tpl:P``) of the ontology rule packs.
TEMPLATE_NS = "https://w3id.org/nesy/template#"
#: Helper relations of the OWL 2 RL rule pack (``rl:listOf``...).
OWL2RL_HELPER_NS = "https://w3id.org/nesy/owl2rl#"
#: Question patterns and the head of QA answers' proofs (``qa:answer``).
QA_NS = "urn:nesy:qa#"
#: Prefix of the provenance graphs' IRIs (``urn:nesy:graph:asserted``...).
GRAPH_NS = "urn:nesy:graph:"
#: Datatype that wraps an RDF-star triple term stored as a literal.
TRIPLE_TERM = "urn:nesy:triple-term"
#: Base IRI of RDF text parsed without a file.
INPUT_BASE = "urn:nesy:input"
#: A predicate no data uses: ``kb.resolve_term`` parses a lone term as its argument.
TERM_PROBE = "urn:nesy:term"

#: Prefixes every rule text, query and printout knows without declaring them.
DEFAULT_PREFIXES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "nesy": NESY_NS,
}

__all__ = ["DEFAULT_NAMESPACE", "DEFAULT_PREFIXES", "GRAPH_NS", "INPUT_BASE", "NESY_NS",
           "OWL2RL_HELPER_NS", "QA_NS", "TEMPLATE_NS", "TERM_PROBE", "TRIPLE_TERM"]
