"""The nesy exception family: every error a user can cause is a NesyError."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """Where something was written: a file (or ``None`` for text), 1-based line and column."""

    file: str | None
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file or '<input>'}:{self.line}:{self.column}"


class NesyError(Exception):
    """Base class of all errors nesy raises on bad input or bad state.

    Args:
        message: What went wrong and, where possible, what was expected.
        file: The file the error is in, if any.
        line: 1-based line number, if known.
        column: 1-based column number, if known.
        excerpt: The offending source line, shown under the message with a caret.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        excerpt: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.excerpt = excerpt
        super().__init__(self.render())

    @property
    def location(self) -> SourceLocation | None:
        """The error's position, when it has a line."""
        if self.line is None:
            return None
        return SourceLocation(self.file, self.line, self.column or 1)

    def render(self) -> str:
        """The message with its position prefix and, when known, a caret excerpt."""
        where = ""
        if self.file is not None or self.line is not None:
            parts = [self.file or "<input>"]
            if self.line is not None:
                parts.append(str(self.line))
                if self.column is not None:
                    parts.append(str(self.column))
            where = ":".join(parts) + ": "
        text = f"{where}{self.message}"
        if self.excerpt is not None and self.line is not None:
            line_text = self.excerpt.rstrip("\n")
            caret = " " * max((self.column or 1) - 1, 0) + "^"
            text += f"\n    {line_text}\n    {caret}"
        return text


class ParseError(NesyError):
    """Syntax error in a rule file, a query or a data file."""


class RuleError(NesyError):
    """A rule that parses but is not acceptable (unsafe, arity clash, unknown prefix...)."""


class StratificationError(RuleError):
    """Negation or aggregation through recursion: the program has no stratification."""


class ImportCycleError(RuleError):
    """An ``@import`` chain that comes back to a file already being imported."""


class LoadError(NesyError):
    """A data file that cannot be loaded (missing, unknown format, malformed)."""


class StoreError(NesyError):
    """The knowledge-base directory or endpoint cannot be used as asked."""


class LimitExceeded(NesyError):
    """Evaluation stopped at the configured limit on derived facts or iterations."""


class NoLinkPredictorError(NesyError):
    """A neural atom ``~p(X, Y)`` was evaluated but no link predictor is trained."""


class PluginError(NesyError):
    """A plugin that cannot be loaded, or one that is not trusted."""


class QueryError(NesyError):
    """A query that cannot be run (bad SPARQL, disabled SERVICE, unknown answer number)."""


def excerpt_of(text: str, line: int) -> str | None:
    """Return line ``line`` (1-based) of ``text``, or ``None`` when out of range."""
    lines = text.splitlines()
    if 1 <= line <= len(lines):
        return lines[line - 1]
    return None


class TextError(NesyError):
    """Bad text input or text model: unreadable document, missing or broken model directory."""


class MissingExtraError(NesyError):
    """A feature needs an optional dependency group (``pip install 'nesy[EXTRA]'``)."""


class QueryTimeout(LimitExceeded):
    """Evaluation stopped at its time limit (``timeout``); nothing it started was kept.

    A subclass of :class:`LimitExceeded`: a timeout is one more budget on the work (next to
    ``max_facts``, ``max_iterations`` and ``max_memory``), so code that handles "the work
    was too big" catches every one of them with one ``except``; the query itself was
    valid, which is why it is not a :class:`QueryError`.
    """
