"""Rich renderables for the shell: answer tables, CSV/JSON text and coloured proof trees."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

#: Colour of each proof-node kind (the first word of a node's line).
KIND_STYLES: dict[str, str] = {
    "asserted": "green",
    "extracted": "cyan",
    "derived": "bold blue",
    "inferred": "blue",
    "predicted": "magenta",
    "learned": "yellow",
    "builtin": "bright_black",
    "negation": "red",
    "comparison": "bright_black",
    "assignment": "bright_black",
    "aggregate": "bright_black",
    "query": "bold",
}


def is_sparql_result(result: Any) -> bool:
    """Whether ``result`` is a :class:`~nesy.engine.sparql.SparqlResult` (not a list of answers)."""
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


def answers_csv(kb: Any, result: Any) -> str:
    """All answers as CSV: a header of the variables and ``score``, one line per answer."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    form = result.form if is_sparql_result(result) else "SELECT"
    if form == "ASK":
        w.writerow(["ask"])
        w.writerow(["true" if result.boolean else "false"])
    elif form in ("CONSTRUCT", "DESCRIBE"):
        w.writerow(["subject", "predicate", "object", "score"])
        for s, p, o, score in result.triples:
            w.writerow([kb.shorten(s), kb.shorten(p), kb.shorten(o), f"{score:g}"])
    else:
        items = numbered(result)
        names = list(result.variables) if is_sparql_result(result) else (list(items[0].bindings) if items else [])
        w.writerow([*names, "score"])
        for a in items:
            w.writerow([*(kb.shorten(a.bindings[n]) if n in a.bindings else "" for n in names), f"{a.score:g}"])
    return buf.getvalue().rstrip("\n")


def answers_json(kb: Any, result: Any) -> str:
    """All answers with their proofs as JSON (the shape of :func:`nesy.output.to_json`)."""
    from nesy.output import to_json

    return json.dumps(to_json(kb, result, explain=True), indent=2, ensure_ascii=False)


def node_text(node: Any, prefixes: dict[str, str]) -> Text:
    """One proof node's line (as :meth:`Proof.label` writes it) with its kind coloured."""
    label = node.label(prefixes)
    text = Text()
    if label.startswith(node.kind):
        text.append(node.kind, style=KIND_STYLES.get(node.kind, "bold"))
        rest = label[len(node.kind):]
    else:
        rest = label
    text.append(rest)
    return text


def proof_tree(proof: Any, prefixes: dict[str, str]) -> Tree:
    """A proof as a rich tree; a node already shown is marked ``(see above)``, not repeated."""
    shown: set[int] = set()

    def add(parent: Tree | None, node: Any) -> Tree:
        again = id(node) in shown and bool(node.premises)
        label = node_text(node, prefixes)
        if again:
            label.append("  (see above)", style="dim")
        branch = Tree(label, guide_style="dim") if parent is None else parent.add(label)
        if not again:
            shown.add(id(node))
            for p in node.premises:
                add(branch, p)
        return branch

    return add(None, proof)
