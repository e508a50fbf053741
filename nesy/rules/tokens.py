"""The tokens the LALR driver produces and the syntax failure it raises.

They live apart from :mod:`nesy.rules.lalr` so that :mod:`nesy.rules.syntax_errors`,
which explains failures to the driver, does not import the driver back.
"""

from __future__ import annotations

__all__ = ["SyntaxFailure", "Tok"]


class Tok:
    """A token: its terminal name, text and 1-based start line and column."""

    __slots__ = ("type", "value", "line", "column")

    def __init__(self, type_: str, value: str, line: int, column: int) -> None:
        self.type = type_
        self.value = value
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        return f"Tok({self.type}, {self.value!r}, {self.line}:{self.column})"


class SyntaxFailure(Exception):
    """Raised by the driver; turned into a :class:`~nesy.errors.ParseError` by the caller."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
