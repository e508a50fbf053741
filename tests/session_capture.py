"""A REPL session that prints into a string, for tests of the shell's commands."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from nesy.kb import KnowledgeBase
from nesy.repl.session import Session


class Captured(Session):
    """A :class:`Session` whose console writes to memory; :meth:`run` returns what it printed."""

    def __init__(self, kb: KnowledgeBase, width: int = 200, **kw: Any) -> None:
        super().__init__(kb, Console(file=io.StringIO(), width=width, height=40, color_system=None), **kw)

    def run(self, text: str) -> str:
        """Handle ``text`` and return what it printed."""
        buf = self.console.file
        assert isinstance(buf, io.StringIO)
        start = len(buf.getvalue())
        self.handle(text)
        return buf.getvalue()[start:]
