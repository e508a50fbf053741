"""Proofs as data: a query's answers serialised straight from the derivation records, without proof nodes.

A fact's proof is already data: its row names the rule of its best derivation and that
derivation's premise handles (:class:`~nesy.engine.explain.ProofBuilder` follows them to
build :class:`~nesy.engine.proofs.Proof` nodes). :class:`ProofWriter` follows the same
records and writes each proof node's dict directly, as :meth:`Proof.to_dict` would write
it: terms are known by their vocabulary ids, so each term is rendered once per query (an
int lookup after that), and each fact once, however many answers share it (the same
dict). Steps (comparisons, negations, assignments, aggregates, built-ins), predicted
facts and the other rare cases go through the builder and
:class:`~nesy.engine.proofjson.ProofSerializer`, which write the same dicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rdflib import URIRef

from nesy.engine.compile import TYPE_ANY, CRule, Key
from nesy.engine.explain import ProofBuilder, base_key
from nesy.engine.proofjson import RDF_TYPE, ProofSerializer, json_value, n3_text, paused_gc
from nesy.engine.proofs import Prefixes
from nesy.engine.relation import Relation
from nesy.engine.table import Table


class ProofWriter:
    """Writes the proof dicts of the facts and query matches of one :class:`ProofBuilder`.

    Args:
        builder: The builder whose evaluator snapshot, rules and input sources to follow.
        ser: The serialiser for the rare nodes the builder builds (and for prefixes).
    """

    def __init__(self, builder: ProofBuilder, ser: ProofSerializer) -> None:
        self.b = builder
        self.ser = ser
        self.vocab = builder.vocab
        self._texts: dict[int, str] = {}
        self._n3: dict[int, str | None] = {}
        self._preds: dict[Key, tuple[str, str, bool]] = {}
        self._done: dict[tuple[int, int], dict[str, Any]] = {}
        self._open: set[tuple[int, int]] = set()
        self._plain: dict[int, tuple[CRule, bool]] = {}

    def text(self, i: int) -> str:
        """Term ``i`` as :func:`~nesy.engine.proofs.term_text` prints it (``_`` for -1)."""
        got = self._texts.get(i)
        if got is None:
            got = self._texts[i] = "_" if i < 0 else self.ser.text(self.vocab.term(i))
        return got

    def n3(self, i: int) -> str | None:
        """Term ``i`` in N3 (None for -1)."""
        got = self._n3.get(i, "")
        if got == "":
            got = self._n3[i] = None if i < 0 else n3_text(self.vocab.term(i))
        return got

    def fact(self, key: Key, cols: list[int]) -> tuple[str, str, list[str | None]]:
        """``(rendered atom, predicate IRI, args as N3)`` of the fact ``cols`` of relation ``key``."""
        key = base_key(key)
        pred = self._preds.get(key)
        if pred is None:
            iri = RDF_TYPE if key[0] == "c" else self.vocab.term(key[1])
            pred = self._preds[key] = (self.ser.text(iri), str(iri), iri == RDF_TYPE)
        args = [cols[0], key[1]] if key[0] == "c" else cols
        # The caches read inline: this runs for every fact of every proof.
        texts, n3s = self._texts, self._n3
        shown = [texts[a] if a in texts else self.text(a) for a in args]
        if pred[2] and len(args) == 2 and args[1] >= 0 and isinstance(self.vocab.term(args[1]), URIRef):
            rendered = f"{shown[1]}({shown[0]})"  # rdf:type as the class atom C(x)
        else:
            rendered = f"{pred[0]}({', '.join(shown)})"
        return rendered, pred[1], [n3s[a] if a in n3s else self.n3(a) for a in args]

    def plain(self, rule: CRule) -> bool:
        """Whether this writer writes the applications of ``rule`` itself: no copy of an
        input relation, no steps in the body."""
        got = self._plain.get(id(rule))
        if got is None:
            got = self._plain[id(rule)] = (rule, not rule.copy_edb and not self.b.layout(rule)[1])
        return got[1]

    def node(self, rel: Relation, row: int) -> dict[str, Any]:
        """The dict of the proof of row ``row`` of ``rel`` (a fact seen before: the same dict)."""
        k = (rel.rel_id, row)
        got = self._done.get(k)
        if got is not None:
            return got
        rule_id = int(rel.rule[row])
        if rule_id < 0 and base_key(rel.key)[0] != "n":
            out = self.leaf(rel, row, int(rel.deriv[row]))
        else:
            app = self.b.application(rel, rule_id, int(rel.deriv[row])) if rule_id >= 0 else None
            if app is None or not self.plain(app[0]) or k in self._open:
                # Predicted facts, copies, steps (and cycles, which strict improvement rules
                # out): the builder's node, serialised.
                out = self.ser.node(self.b.fact(rel, row))
            else:
                self._open.add(k)
                try:
                    out = self.derived(rel, row, *app)
                finally:
                    self._open.discard(k)
        self._done[k] = out
        return out

    def leaf(self, rel: Relation, row: int, deriv: int) -> dict[str, Any]:
        """An input fact's dict: kind, score, the fact and its source."""
        kind, source = self.b.input_info(base_key(rel.key), deriv)
        out: dict[str, Any] = {"kind": kind, "score": float(rel.score[row])}
        out["fact"], out["predicate"], out["args"] = self.fact(rel.key, rel.cols[row].tolist())
        if source:
            out["source"] = {k: json_value(v) for k, v in source.items()}
        return out

    def derived(self, rel: Relation, row: int, rule: CRule, prem: list[int]) -> dict[str, Any]:
        """A derived fact's dict, through a rule whose body has atoms only."""
        cols = rel.cols[row].tolist()
        b: dict[str, int] = {}
        head_cols = [*cols, base_key(rel.key)[1]] if rule.head_key == TYPE_ANY else cols
        for a, c in zip(rule.head_args, head_cols, strict=False):
            if isinstance(a, str):
                b[a] = c
        premises = self.body(rule, prem, b)
        orig = rule.origin or rule
        out: dict[str, Any] = {"kind": orig.kind, "score": float(rel.score[row])}
        out["fact"], out["predicate"], out["args"] = self.fact(rel.key, cols)
        out["rule"] = self.ser.rule(self.b.info(orig))
        self.bindings(out, b)
        if premises:
            out["premises"] = premises
        return out

    def bindings(self, out: dict[str, Any], b: dict[str, int]) -> None:
        """Add the user-visible bindings of ``b`` to ``out`` (none: no key)."""
        text = self.text
        shown = {v: text(c) for v, c in b.items() if not v.startswith(("_", "#"))}
        if shown:
            out["bindings"] = shown

    def body(self, rule: CRule, prem: list[int], b: dict[str, int]) -> list[dict[str, Any]]:
        """The premise dicts of one application of an atoms-only body; completes ``b``."""
        return [self.node(rel, row) for _, rel, row in self.b.premises(rule, prem, b)]

    def answer(self, rule: CRule, table: Table, row: int, score: float) -> dict[str, Any]:
        """The dict of the proof of one query answer (row ``row`` of the query's matches)."""
        if self.b.layout(rule)[1]:  # steps in the query: the builder's node, serialised
            return self.ser.to_dict(self.b.matches(rule, table, row, score, "query"))
        cols, handles = self.b.table_lists(table)
        b = {v: c[row] for v, c in cols.items()}
        premises = self.body(rule, [handles[s][row] if s in handles else -1 for s in range(rule.slots)], b)
        if len(rule.body) == 1 and len(premises) == 1:
            return dict(premises[0])
        out: dict[str, Any] = {"kind": "query", "score": score}
        note = self.b.body_text(rule)
        if note:
            out["note"] = note
        self.bindings(out, b)
        if premises:
            out["premises"] = premises
        return out


def answer_proof_dicts(answers: Iterable[Any], prefixes: Prefixes = None, *,
                       default_ns: str | None = None) -> list[dict[str, Any]]:
    """The proofs of a query's answers as :meth:`Proof.to_dict` writes each, all written
    together from the derivation records (see :class:`ProofWriter`); an answer whose
    proof was already built, or one from elsewhere, is serialised from its proof."""
    ser = ProofSerializer(prefixes, default_ns)
    writers: dict[int, ProofWriter] = {}
    out = []
    with paused_gc():
        for a in answers:
            data = getattr(a, "data", None)
            if data is None or a.built:
                out.append(ser.to_dict(a.proof))
                continue
            builder, rule, table, row, score = data
            writer = writers.get(id(builder))
            if writer is None:
                writer = writers[id(builder)] = ProofWriter(builder, ser)
            out.append(writer.answer(rule, table, row, score))
    return out


def row_proof_dicts(rows: Iterable[Any], prefixes: Prefixes = None, *,
                    default_ns: str | None = None) -> list[list[dict[str, Any]]]:
    """The ``proofs`` of each SPARQL row as :meth:`Proof.to_dict` writes them, all written
    together (as ``nesy query --explain --format json`` does): from the reasoner's records
    where the rows can (``row.proof_dicts``), else from their proofs."""
    ser = ProofSerializer(prefixes, default_ns)
    with paused_gc():
        return [row.proof_dicts(ser) if hasattr(row, "proof_dicts") else ser.many(row.proofs) for row in rows]


__all__ = ["ProofWriter", "answer_proof_dicts", "row_proof_dicts"]
