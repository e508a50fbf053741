"""Learning: link prediction, Neural LP, text encoder, fusion and extraction."""
