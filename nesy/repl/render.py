"""Rich renderables for the shell: answer tables, CSV/JSON text and coloured proof trees."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from nesy.engine.display import KIND_STYLES, node_text, proof_rich
from nesy.output import answers_csv

__all__ = ["KIND_STYLES", "answers_csv", "node_text", "proof_tree"]


def is_sparql_result(result: Any) -> bool:
    """Whether ``result`` is a :class:`~nesy.store.sparql.SparqlResult` (not a list of answers)."""
    return hasattr(result, "form") and hasattr(result, "rows")


def numbered(result: Any) -> list[Any]:
    """The items ``:why N`` numbers: rule answers, or the rows of a SPARQL SELECT."""
    if result is None:
        return []
    if is_sparql_result(result):
        return list(result.rows) if result.form == "SELECT" else []
    return list(result)


def answers_table(kb: Any, result: Any, max_rows: int | None = None) -> RenderableType:
    """Rule answers or a SPARQL result as a table (``#``, one column per variable, ``score``).

    Args:
        kb: The knowledge base (for shortening terms).
        result: A list of :class:`~nesy.engine.answers.Answer` or a ``SparqlResult``.
        max_rows: Show at most this many rows, then a note with how many were left out.
    """
    form = result.form if is_sparql_result(result) else "SELECT"
    if form == "ASK":
        return Text("yes" if result.boolean else "no", style="bold")
    if form in ("CONSTRUCT", "DESCRIBE"):
        table = Table("subject", "predicate", "object", "score", header_style="bold")
        triples = list(result.triples)
        for s, p, o, score in triples[:max_rows]:
            table.add_row(kb.shorten(s), kb.shorten(p), kb.shorten(o), f"{score:.4g}")
        return _with_note(table, len(triples), max_rows, "triples")
    items = numbered(result)
    if not items:
        return Text("no answers", style="yellow")
    names = list(result.variables) if is_sparql_result(result) else list(items[0].bindings)
    if not names:
        # A ground query: one answer with no bindings.
        return Text(f"yes   score {items[0].score:.4g}   (:why 1 for the proof)", style="bold")
    table = Table("#", *names, "score", header_style="bold")
    table.columns[0].style = "dim"
    table.columns[0].justify = "right"
    table.columns[-1].justify = "right"
    for i, a in enumerate(items[:max_rows], 1):
        cells = [kb.shorten(a.bindings[n]) if n in a.bindings else "" for n in names]
        table.add_row(str(i), *cells, f"{a.score:.4g}")
    return _with_note(table, len(items), max_rows, "answers")


def _with_note(table: Table, total: int, max_rows: int | None, what: str) -> RenderableType:
    if max_rows is None or total <= max_rows:
        return table
    note = Text(f"… {total - max_rows} more {what} (:format csv shows them all)", style="yellow")
    return Group(table, note)


def answers_json(kb: Any, result: Any) -> str:
    """All answers with their proofs as JSON (the shape of :func:`nesy.output.to_json`)."""
    from nesy.output import to_json

    return json.dumps(to_json(kb, result, explain=True), indent=2, ensure_ascii=False)


def proof_tree(proof: Any, prefixes: dict[str, str], default_ns: str | None = None) -> Any:
    """A proof as a rich tree (see :func:`nesy.engine.display.proof_rich`); terms print as
    ``kb.shorten`` prints them when ``default_ns`` is the KB's default namespace."""
    return proof_rich(proof, prefixes, default_ns)
