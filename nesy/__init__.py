"""nesy: a neuro-symbolic knowledge base with answers and proofs."""
