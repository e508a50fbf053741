"""The physical RDF layer: the Store (Oxigraph on disk or in memory, or a remote SPARQL endpoint), the vocabulary, id triples with scores and sources, file formats and SPARQL."""

from nesy.store.graphs import GRAPH_CODE, GRAPHS, check_graph, graph_iri
from nesy.store.sources import Source
from nesy.store.store import Store
from nesy.store.triples import TripleTable
from nesy.store.vocab import Vocab

__all__ = ["GRAPHS", "GRAPH_CODE", "Source", "Store", "TripleTable", "Vocab", "check_graph", "graph_iri"]
