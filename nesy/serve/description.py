"""The SPARQL 1.1 Service Description that ``GET /sparql`` without a query returns."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS_NS = "http://www.w3.org/ns/formats/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
#: The result and RDF formats the endpoint writes (W3C format IRIs).
RESULT_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                  "Turtle", "N-Triples", "JSON-LD", "RDF_XML")
COMMENT = ("nesy knowledge base. The default graph is the union of the asserted, extracted and inferred "
           "graphs; users' named graphs are the named graphs. SELECT results carry each row's score (and "
           "links to the proofs of its derived triples) in the extension member 'nesy' of the JSON results "
           "and the attribute nesy:score of the XML results; see docs/serve.md.")


def description(endpoint: str, *, update: bool, named_graphs: list[str]) -> list[Any]:
    """The triples describing the service at ``endpoint``."""
    def sd(name: str) -> ox.NamedNode:
        return ox.NamedNode(SD + name)

    service, dataset, default = ox.BlankNode(), ox.BlankNode(), ox.BlankNode()
    triples = [ox.Triple(service, RDF_TYPE, sd("Service")),
               ox.Triple(service, sd("endpoint"), ox.NamedNode(endpoint)),
               ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
               ox.Triple(service, RDFS_COMMENT, ox.Literal(COMMENT)),
               ox.Triple(service, sd("defaultDataset"), dataset),
               ox.Triple(dataset, RDF_TYPE, sd("Dataset")),
               ox.Triple(dataset, sd("defaultGraph"), default),
               ox.Triple(default, RDF_TYPE, sd("Graph"))]
    if update:
        triples.append(ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Update")))
    triples += [ox.Triple(service, sd("resultFormat"), ox.NamedNode(FORMATS_NS + f)) for f in RESULT_FORMATS]
    for iri in named_graphs:
        node = ox.BlankNode()
        triples += [ox.Triple(dataset, sd("namedGraph"), node), ox.Triple(node, RDF_TYPE, sd("NamedGraph")),
                    ox.Triple(node, sd("name"), ox.NamedNode(iri))]
    return triples


__all__ = ["SD", "description"]
