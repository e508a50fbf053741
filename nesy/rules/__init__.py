"""The rule language: grammar, parser to frozen dataclasses, and printer."""
