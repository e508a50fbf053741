"""Proof trees and answers as the JSON the CLI prints, bounded in nodes and depth for the wire."""

from __future__ import annotations

import dataclasses
from typing import Any

#: Deepest proof level written out (a deeper branch is cut with a note).
MAX_DEPTH = 200


def trimmed(proof: Any, max_nodes: int, max_depth: int = MAX_DEPTH) -> tuple[Any, bool]:
    """A copy of ``proof`` with about ``max_nodes`` nodes written out (plus at most one cut
    node per level; shared sub-proofs
    count each time they appear, as the JSON repeats them) and at most ``max_depth`` levels;
    a cut node keeps its fact and score and says how many premises were left out.

    Returns:
        ``(proof, cut)``: the (possibly) trimmed proof and whether anything was left out.
    """
    budget = [max_nodes]
    cut = [False]

    def go(node: Any, depth: int) -> Any:
        budget[0] -= 1
        if not node.premises:
            return node
        if depth >= max_depth or budget[0] <= 0:
            cut[0] = True
            note = f"{len(node.premises)} premise(s) not shown: the proof is too large to send whole"
            return dataclasses.replace(node, premises=[], note=f"{node.note}; {note}" if node.note else note)
        return dataclasses.replace(node, premises=[go(p, depth + 1) for p in node.premises])

    return go(proof, 0), cut[0]


def serializer(kb: Any) -> Any:
    """One :class:`~nesy.engine.proofjson.ProofSerializer` for a response's proofs: each
    term's text is made once for all of them."""
    from nesy.engine.proofjson import ProofSerializer

    return ProofSerializer(kb.prefixes, kb.default_namespace)


def proof_dict(kb: Any, proof: Any, max_nodes: int, ser: Any = None) -> dict[str, Any]:
    """``proof`` as :meth:`~nesy.engine.proofs.Proof.to_dict` writes it (the CLI's JSON),
    with ``"truncated": true`` at the top when it had to be trimmed; ``ser`` (see
    :func:`serializer`) is shared by the proofs of one response."""
    shown, cut = trimmed(proof, max_nodes)
    out = (ser or serializer(kb)).to_dict(shown)
    if cut:
        out["truncated"] = True
    return out


def matched_leaves(kb: Any, row: Any) -> list[dict[str, Any]]:
    """The stored (not derived) triples a SPARQL row matched, as proof leaves: kind (the
    graph), fact and score."""
    out = []
    for s, p, o, graph in row.matched:
        if graph == "inferred":
            continue
        copies = kb.provenance(s, p, o)
        copy = next((c for c in copies if c.get("graph") == graph), copies[0] if copies else {})
        kind = graph if graph in ("asserted", "extracted", "predicted", "dl-reasoner") else "asserted"
        source = copy.get("source") if isinstance(copy.get("source"), dict) else {"graph": graph}
        out.append({"kind": kind, "score": float(copy.get("score", 1.0)),
                    "fact": f"{kb.shorten(p)}({kb.shorten(s)}, {kb.shorten(o)})",
                    "source": {str(k): v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
                               for k, v in source.items()}})
    return out


__all__ = ["MAX_DEPTH", "matched_leaves", "proof_dict", "serializer", "trimmed"]
