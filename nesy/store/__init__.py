"""The physical RDF layer: the Store (Oxigraph on disk or in memory, or a remote SPARQL endpoint), the vocabulary, id triples with scores and sources, file formats and SPARQL."""
