"""Questions in English: topic entity, relation paths scored by a trained or zero-shot model, answers with proofs."""
