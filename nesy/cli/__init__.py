"""The `nesy` command line: one module per area, gathered into one click group."""

from nesy.cli.main import cli, main

__all__ = ["cli", "main"]
