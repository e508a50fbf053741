"""Text: the encoder, labels, entity linking, fusion and alignment, documents and extraction."""
