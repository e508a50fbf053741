"""Compile ``grammar.lark`` with Lark into the plain tables the rule-language driver runs.

The driver (:mod:`nesy.rules.lalr`) needs Lark's LALR(1) tables and terminal definitions,
nothing else of Lark. Compiling them takes Lark a tenth of a second or more, which every
``nesy query`` paid at start. So the tables are kept as plain data in ``grammar_tables.json``
beside the grammar, stamped with the grammar's SHA-256: the grammar stays the single
source of truth (a stamp that does not match the grammar makes the driver compile it
again, and ``tests/rules/test_lalr_tables.py`` fails until the file is rewritten with
``python -m nesy.rules.lalr_build``). The file is JSON, never pickle, so reading it runs
no code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["GRAMMAR_PATH", "TABLES_PATH", "compile_tables", "grammar_digest", "write_tables"]

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")
TABLES_PATH = Path(__file__).with_name("grammar_tables.json")

START_SYMBOLS = ("start", "query_input", "atom_input")

# How the driver reduces a rule (chosen per rule here, read by the driver).
CALL = 0  # call the rule's callback with its children
INLINE = 1  # an inlined `_rule` or `(...)*` helper: hand the children to the parent
INLINE_FLATTEN = 2  # INLINE, and some children are themselves inlined lists to splice
INLINE1 = 3  # a `?rule`: a single child stands for the rule itself, else call
FLATTEN = 4  # CALL, after splicing inlined children


def grammar_digest(text: str | None = None) -> str:
    """SHA-256 of the grammar text (the file's, unless ``text`` is given)."""
    if text is None:
        text = GRAMMAR_PATH.read_text(encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def reference_lark(text: str | None = None) -> Any:
    """The ``lark.Lark`` LALR parser of the grammar, configured as the driver reads it."""
    import lark

    return lark.Lark(
        text if text is not None else GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start=list(START_SYMBOLS),
        propagate_positions=True,
        maybe_placeholders=False,
    )


def _rule_info(rule: Any) -> list[Any]:
    """(size, produced nonterminal, callback name, reduce mode) of a grammar rule."""
    # Lark names are sometimes Token objects; plain strings keep lookups fast.
    origin = str(rule.origin.name)
    flatten = any(not s.is_term and s.name.startswith("_") for s in rule.expansion)
    if origin.startswith("_"):
        mode = INLINE_FLATTEN if flatten else INLINE
    elif rule.options.expand1:
        mode = INLINE1
    else:
        mode = FLATTEN if flatten else CALL
    return [len(rule.expansion), origin, str(rule.alias or origin), mode]


def _terminal(t: Any) -> dict[str, Any]:
    from lark.lexer import PatternStr

    return {
        "regexp": t.pattern.to_regexp(),
        "priority": t.priority,
        "max_width": t.pattern.max_width,
        "value": t.pattern.value,
        "is_str": isinstance(t.pattern, PatternStr),
    }


def _canonical_order(table: Any, terminals: Mapping[str, Any]) -> dict[int, int]:
    """Lark's state number -> a number fixed by the automaton alone.

    Lark numbers states in an order that depends on string hashing, so two compilations of
    one grammar differ in numbering only; a breadth-first walk from the start states, over
    sorted symbols, names each state the same way every time.
    """
    from lark.parsers.lalr_analysis import Shift

    order: dict[int, int] = {}
    queue = [table.start_states[s] for s in sorted(table.start_states)]
    while queue:
        state = queue.pop(0)
        if state in order:
            continue
        order[state] = len(order)
        for sym, (action, arg) in sorted(table.states[state].items(), key=lambda kv: str(kv[0])):
            is_term = str(sym) in terminals or str(sym) == "$END"
            if not is_term or action is Shift:
                queue.append(arg)
    for state in sorted(table.states):  # unreachable states, if Lark ever keeps any
        order.setdefault(state, len(order))
    return order


def compile_tables(text: str | None = None) -> dict[str, Any]:
    """The driver's tables as plain data, compiled by Lark from the grammar.

    ``actions[state][terminal]`` is ``[true, next_state]`` for a shift and ``[false,
    rule info]`` for a reduce; ``gotos[state][nonterminal]`` the state after a reduce.
    """
    from lark.parsers.lalr_analysis import Shift

    if text is None:
        text = GRAMMAR_PATH.read_text(encoding="utf-8")
    parser = reference_lark(text)
    table = parser.parser.parser.parser.parse_table
    terminals = {str(t.name): _terminal(t) for t in parser.terminals}
    num = _canonical_order(table, terminals)
    actions: dict[str, dict[str, list[Any]]] = {}
    gotos: dict[str, dict[str, int]] = {}
    for state, row in table.states.items():
        acts: dict[str, list[Any]] = {}
        goes: dict[str, int] = {}
        for sym, (action, arg) in row.items():
            sym = str(sym)
            if sym in terminals or sym == "$END":
                acts[sym] = [True, num[arg]] if action is Shift else [False, _rule_info(arg)]
            else:
                goes[sym] = num[arg]
        actions[str(num[state])] = acts
        gotos[str(num[state])] = goes
    return {
        "grammar_sha256": grammar_digest(text),
        "start_states": {str(k): num[v] for k, v in table.start_states.items()},
        "end_states": {str(k): num[v] for k, v in table.end_states.items()},
        "terminals": terminals,
        "ignore": sorted(str(t) for t in parser.ignore_tokens),
        "actions": actions,
        "gotos": gotos,
    }


def write_tables(path: Path = TABLES_PATH) -> Path:
    """Compile the grammar and write its tables to ``path`` (atomically)."""
    data = compile_tables()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n", "utf-8")
    tmp.replace(path)
    return path


if __name__ == "__main__":
    print(f"wrote {write_tables()}")
