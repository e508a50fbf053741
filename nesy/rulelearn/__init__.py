"""Rule learning: differentiable Neural LP, decoding into weighted rules, learn and eval --rules."""
