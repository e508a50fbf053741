"""Answers and proofs for people: HTML for Jupyter, rich renderables for terminals."""

from __future__ import annotations

import html
from typing import Any

#: The colour of each proof-node kind, shared by HTML and the terminal.
KIND_COLORS = {
    "asserted": "#2e7d32",
    "extracted": "#00838f",
    "derived": "#1565c0",
    "learned": "#6a1b9a",
    "predicted": "#ef6c00",
    "builtin": "#616161",
    "dl-reasoner": "#4e342e",
}
RICH_COLORS = {"asserted": "green", "extracted": "cyan", "derived": "blue", "learned": "magenta",
               "predicted": "dark_orange", "builtin": "grey50", "dl-reasoner": "yellow"}


def _node_html(node: Any, prefixes: dict[str, str] | None) -> str:
    color = KIND_COLORS.get(node.kind, "#455a64")
    what = node.fact.render(prefixes) if node.fact is not None else (node.note or "")
    parts = [f'<span style="color:{color};font-weight:bold">{html.escape(node.kind)}</span>',
             f"<code>{html.escape(what)}</code>", f"<small>score {node.score:.4g}</small>"]
    if node.rule is not None:
        parts.append(f"<small>rule <b>{html.escape(str(node.rule.label))}</b>"
                     + (f" @ {html.escape(str(node.rule.where))}" if getattr(node.rule, "where", None) else "") + "</small>")
    if node.source:
        src = ", ".join(f"{k}={v}" for k, v in node.source.items())
        parts.append(f"<small style='color:#777'>{html.escape(src)}</small>")
    return " ".join(parts)


def proof_html(proof: Any, prefixes: dict[str, str] | None = None) -> str:
    """A proof as nested HTML lists, each node's kind coloured."""
    def go(node: Any) -> str:
        inner = "".join(go(p) for p in node.premises)
        return f"<li>{_node_html(node, prefixes)}" + (f"<ul>{inner}</ul>" if inner else "") + "</li>"

    return f'<ul style="list-style:none;padding-left:1em">{go(proof)}</ul>'


def proof_rich(proof: Any, prefixes: dict[str, str] | None = None) -> Any:
    """A proof as a ``rich.tree.Tree`` with each node's kind coloured."""
    from rich.markup import escape
    from rich.tree import Tree

    def label(node: Any) -> str:
        color = RICH_COLORS.get(node.kind, "white")
        what = node.fact.render(prefixes) if node.fact is not None else (node.note or "")
        text = f"[bold {color}]{node.kind}[/] {escape(what)}  [dim]score {node.score:.4g}[/]"
        if node.rule is not None:
            text += f"  [dim]rule[/] [bold]{escape(str(node.rule.label))}[/]"
        if node.source:
            text += "  [dim]" + escape(", ".join(f"{k}={v}" for k, v in node.source.items())) + "[/]"
        return text

    def go(node: Any, tree: Any) -> None:
        for p in node.premises:
            go(p, tree.add(label(p)))

    root = Tree(label(proof))
    go(proof, root)
    return root


class Answers(list):  # type: ignore[type-arg]
    """The answers of a query: a plain list that also renders as a table in Jupyter and rich."""

    def __init__(self, answers: list[Any], prefixes: dict[str, str] | None = None, shorten: Any = None) -> None:
        super().__init__(answers)
        self.prefixes = prefixes
        self._shorten = shorten or str

    def _names(self) -> list[str]:
        return list(self[0].bindings) if self else []

    def _repr_html_(self) -> str:
        names = self._names()
        head = "".join(f"<th>{html.escape(n)}</th>" for n in ["#", *names, "score", "proof"])
        body = []
        for i, a in enumerate(self, 1):
            cells = [str(i), *(html.escape(self._shorten(a.bindings[n])) for n in names), f"{a.score:.4g}"]
            proof = f"<details><summary>why</summary>{proof_html(a.proof, self.prefixes)}</details>"
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + f"<td>{proof}</td></tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>" if self else "<i>no answers</i>"

    def __rich__(self) -> Any:
        from rich.table import Table

        table = Table(show_lines=False)
        for n in ["#", *self._names(), "score"]:
            table.add_column(n, justify="right" if n in ("#", "score") else "left")
        for i, a in enumerate(self, 1):
            table.add_row(str(i), *(self._shorten(a.bindings[n]) for n in self._names()), f"{a.score:.4g}")
        return table
