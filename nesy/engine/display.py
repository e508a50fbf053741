"""Answers and proofs for people: HTML for Jupyter, rich renderables for terminals.

Terms are printed by :func:`nesy.rules.printer.format_term` (through
:meth:`~nesy.engine.proofs.Proof.label` and ``kb.shorten``), so a table cell, a proof
line and ``kb.shorten`` show a term the same way.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from nesy.rules.printer import format_term

Prefixes = Mapping[str, str] | None

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
#: Rich style of each proof-node kind (terminal), including the step kinds.
KIND_STYLES: dict[str, str] = {
    "asserted": "green",
    "extracted": "cyan",
    "derived": "bold blue",
    "inferred": "blue",
    "predicted": "magenta",
    "dl-reasoner": "bright_blue",
    "learned": "yellow",
    "builtin": "bright_black",
    "negation": "red",
    "comparison": "bright_black",
    "assignment": "bright_black",
    "aggregate": "bright_black",
    "query": "bold",
}


#: Longest sentence quote in a proof line, in characters (longer ones end with "…").
QUOTE_CHARS = 160
#: Source fields an ``extracted`` leaf shows in its quote, not again as ``key=value``.
EXTRACTION_FIELDS = ("graph", "file", "document", "sentence", "span", "extra")


def extraction_text(source: dict[str, Any]) -> str | None:
    """``extracted from DOC, sentence N, chars A–B: "the sentence…"`` for the source of an
    extracted fact (N counts from 1), or None when the source names no document."""
    doc = source.get("document")
    if not doc:
        return None
    extra = source.get("extra") if isinstance(source.get("extra"), dict) else {}
    parts = [f"extracted from {doc}"]
    if extra.get("sentence_index") is not None:
        parts.append(f"sentence {int(extra['sentence_index']) + 1}")
    span = source.get("span")
    if span is not None and len(span) == 2:
        parts.append(f"chars {span[0]}\u2013{span[1]}")
    text = ", ".join(parts)
    sentence = " ".join(str(source.get("sentence") or "").split())
    if sentence:
        if len(sentence) > QUOTE_CHARS:
            sentence = sentence[:QUOTE_CHARS - 1].rstrip() + "\u2026"
        text += f': "{sentence}"'
    return text


def source_fields(kind: str, source: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """A leaf's source as (quote line for an extraction or None, the other fields to list)."""
    quote = extraction_text(source) if kind == "extracted" else None
    if quote is None:
        return None, dict(source)
    return quote, {k: v for k, v in source.items() if k not in EXTRACTION_FIELDS}


def _node_html(node: Any, prefixes: Prefixes, default_ns: str | None) -> str:
    color = KIND_COLORS.get(node.kind, "#455a64")
    what = node.fact.render(prefixes, default_ns) if node.fact is not None else (node.note or "")
    parts = [f'<span style="color:{color};font-weight:bold">{html.escape(node.kind)}</span>',
             f"<code>{html.escape(what)}</code>", f"<small>score {node.score:.4g}</small>"]
    if node.rule is not None:
        parts.append(f"<small>rule <b>{html.escape(str(node.rule.label))}</b>"
                     + (f" @ {html.escape(str(node.rule.where))}" if getattr(node.rule, "where", None) else "") + "</small>")
    quote, rest = source_fields(node.kind, node.source)
    if quote:
        parts.append(f"<small><i>{html.escape(quote)}</i></small>")
    if rest:
        src = ", ".join(f"{k}={v}" for k, v in rest.items())
        parts.append(f"<small style='color:#777'>{html.escape(src)}</small>")
    return " ".join(parts)


def proof_html(proof: Any, prefixes: Prefixes = None, default_ns: str | None = None) -> str:
    """A proof as nested HTML lists, each node's kind coloured."""
    def go(node: Any) -> str:
        inner = "".join(go(p) for p in node.premises)
        return f"<li>{_node_html(node, prefixes, default_ns)}" + (f"<ul>{inner}</ul>" if inner else "") + "</li>"

    return f'<ul style="list-style:none;padding-left:1em">{go(proof)}</ul>'


def node_text(node: Any, prefixes: Prefixes, default_ns: str | None = None) -> Any:
    """One proof node's line (as :meth:`Proof.label` writes it) as rich ``Text``, kind coloured."""
    from rich.text import Text

    label = node.label(prefixes, default_ns)
    text = Text()
    if label.startswith(node.kind):
        text.append(node.kind, style=KIND_STYLES.get(node.kind, "bold"))
        label = label[len(node.kind):]
    text.append(label)
    return text


def proof_rich(proof: Any, prefixes: Prefixes = None, default_ns: str | None = None) -> Any:
    """A proof as a ``rich.tree.Tree``; a node already shown is marked ``(see above)``."""
    from rich.tree import Tree

    shown: set[int] = set()

    def add(parent: Any, node: Any) -> Any:
        again = id(node) in shown and bool(node.premises)
        label = node_text(node, prefixes, default_ns)
        if again:
            label.append("  (see above)", style="dim")
        branch = Tree(label, guide_style="dim") if parent is None else parent.add(label)
        if not again:
            shown.add(id(node))
            for p in node.premises:
                add(branch, p)
        return branch

    return add(None, proof)


class Answers(list):  # type: ignore[type-arg]
    """The answers of a query: a plain list that also renders as a table in Jupyter and rich.

    Args:
        answers: The answers.
        prefixes: Prefixes for the proofs (``kb.prefixes``).
        shorten: How a cell prints a term (``kb.shorten``); by default
            :func:`~nesy.rules.printer.format_term` with ``prefixes`` and ``default_ns``.
        default_ns: The namespace of bare names, for the proofs and the default ``shorten``.
    """

    def __init__(
        self,
        answers: list[Any],
        prefixes: Prefixes = None,
        shorten: Callable[[Any], str] | None = None,
        *,
        default_ns: str | None = None,
    ) -> None:
        super().__init__(answers)
        self.prefixes = prefixes
        self.default_ns = default_ns
        self.shorten = shorten or self._format

    def _format(self, term: Any) -> str:
        return format_term(term, self.prefixes, self.default_ns)

    def _names(self) -> list[str]:
        return list(self[0].bindings) if self else []

    def _repr_html_(self) -> str:
        names = self._names()
        head = "".join(f"<th>{html.escape(n)}</th>" for n in ["#", *names, "score", "proof"])
        body = []
        for i, a in enumerate(self, 1):
            cells = [str(i), *(html.escape(self.shorten(a.bindings[n])) for n in names), f"{a.score:.4g}"]
            proof = f"<details><summary>why</summary>{proof_html(a.proof, self.prefixes, self.default_ns)}</details>"
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + f"<td>{proof}</td></tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>" if self else "<i>no answers</i>"

    def __rich__(self) -> Any:
        from rich.table import Table

        table = Table(show_lines=False)
        for n in ["#", *self._names(), "score"]:
            table.add_column(n, justify="right" if n in ("#", "score") else "left")
        for i, a in enumerate(self, 1):
            table.add_row(str(i), *(self.shorten(a.bindings[n]) for n in self._names()), f"{a.score:.4g}")
        return table
