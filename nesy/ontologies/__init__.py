"""OWL and RDFS: rule packs and the owlready2 bridge."""
