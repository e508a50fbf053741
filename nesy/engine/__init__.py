"""Answering: the store, the vocabulary, the reasoner, provenance and proofs."""
