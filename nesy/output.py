"""Answers and proofs as tables, JSON and CSV: one shape for the CLI, the REPL and scripts.

JSON shape (``--format json``): a list with one object per answer::

    {"bindings": {"X": "fam:cid"}, "score": 1.0, "proof": {...}}

``proof`` (with ``--explain``) is the proof tree of :meth:`nesy.engine.proofs.Proof.to_dict`:
``kind``, ``fact``, ``score``, ``rule`` (for derived facts), ``bindings``, ``source``
(for leaves) and ``premises`` (the children). A SPARQL row has ``proofs`` instead: the
proof trees of the derived triples it matched.

Every term, in a cell, a binding or a proof, is printed by
:func:`nesy.rules.printer.format_term` with the KB's prefixes and default namespace (as
``kb.shorten`` prints it), so one term reads the same everywhere and parses back.
"""

from __future__ import annotations

import csv
import io
import json
from contextlib import nullcontext
from typing import Any

import click

from nesy.engine.proofdata import answer_proof_dicts
from nesy.engine.proofjson import ProofSerializer, paused_gc


def rows_of(kb: Any, answers: Any) -> tuple[list[str], list[dict[str, str]], list[float]]:
    """Variable names, rows of shortened terms, and scores of rule answers or SPARQL rows."""
    if hasattr(answers, "variables"):
        names = list(answers.variables)
        items = answers.rows
    else:
        items = list(answers)
        names = list(items[0].bindings) if items else []
    rows = [{n: kb.shorten(a.bindings[n]) if n in a.bindings else "" for n in names} for a in items]
    return names, rows, [a.score for a in items]


def to_json(kb: Any, answers: Any, explain: bool) -> list[dict[str, Any]]:
    """The JSON shape documented above."""
    if getattr(answers, "form", "SELECT") == "ASK":
        return [{"ask": answers.boolean}]
    if getattr(answers, "form", "SELECT") in ("CONSTRUCT", "DESCRIBE"):
        return [{"triple": [kb.shorten(x) for x in t[:3]], "score": t[3]} for t in answers.triples]
    items = answers.rows if hasattr(answers, "rows") else list(answers)
    # One serialiser for every proof of the answers: terms rendered once, shared sub-proofs once.
    ser = ProofSerializer(kb.prefixes, kb.default_namespace)
    short = ser.text  # kb.shorten, with each term's text computed once
    rule_answers = not hasattr(answers, "rows")
    # Rule answers' proofs are written straight from the derivation records, all together.
    proofs = answer_proof_dicts(items, kb.prefixes, default_ns=kb.default_namespace) \
        if explain and rule_answers else None
    out = []
    with paused_gc() if explain else nullcontext():
        for i, a in enumerate(items):
            item: dict[str, Any] = {"bindings": {k: short(v) for k, v in a.bindings.items()}, "score": a.score}
            if proofs is not None:
                item["proof"] = proofs[i]
            elif explain:
                item["proofs"] = a.proof_dicts(ser) if hasattr(a, "proof_dicts") else ser.many(a.proofs)
            out.append(item)
    return out


def answers_csv(kb: Any, result: Any) -> str:
    """All answers as CSV: a header of the variables and ``score``, one line per answer
    (ASK: ``ask`` and true/false; CONSTRUCT/DESCRIBE: subject, predicate, object, score)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    form = getattr(result, "form", "SELECT")
    if form == "ASK":
        w.writerow(["ask"])
        w.writerow(["true" if result.boolean else "false"])
    elif form in ("CONSTRUCT", "DESCRIBE"):
        w.writerow(["subject", "predicate", "object", "score"])
        for s, p, o, score in result.triples:
            w.writerow([kb.shorten(s), kb.shorten(p), kb.shorten(o), f"{score:g}"])
    else:
        names, rows, scores = rows_of(kb, result)
        w.writerow([*names, "score"])
        for row, score in zip(rows, scores):
            w.writerow([*(row[n] for n in names), f"{score:g}"])
    return buf.getvalue().rstrip("\n")


def print_answers(kb: Any, answers: Any, fmt: str, explain: bool) -> None:
    """Print answers (rule answers or a SPARQL result) as ``table``, ``json`` or ``csv``."""
    form = getattr(answers, "form", "SELECT")
    if fmt == "json":
        click.echo(json.dumps(to_json(kb, answers, explain), indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        click.echo(answers_csv(kb, answers))
        return
    if form == "ASK":
        click.echo("yes" if answers.boolean else "no")
        return
    if form in ("CONSTRUCT", "DESCRIBE"):
        for s, p, o, score in answers.triples:
            click.echo(f"{kb.shorten(s)} {kb.shorten(p)} {kb.shorten(o)} .   # score {score:g}")
        return
    names, rows, scores = rows_of(kb, answers)
    if not rows:
        click.echo("no answers")
        return
    items = answers.rows if hasattr(answers, "rows") else list(answers)
    for i, (row, score, a) in enumerate(zip(rows, scores, items), 1):
        b = ", ".join(f"{k} = {v}" for k, v in row.items()) or "yes"
        click.echo(f"{i:3d}. {b}   score {score:g}")
        if explain:
            proofs = a.proofs if hasattr(a, "proofs") else [a.proof]
            for proof in proofs:
                text = proof.to_text(kb.prefixes, default_ns=kb.default_namespace)
                click.echo("     " + text.replace("\n", "\n     "))
