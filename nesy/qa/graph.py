"""The graph a question walks: relation operators over the KB's facts, topic mentions, paths.

Compact ids: entities 0..E-1 (``nodes`` holds their vocabulary ids), base relations 0..R-1.
Operator ``r`` (0..R-1) follows the facts ``r(x, y)`` from x to y, ``r + R`` follows them
backwards, ``2R`` is the identity ("stop": a path shorter than the number of hops), as in
:mod:`nesy.rulelearn.neural_lp`. Every graph but ``predicted`` is walked (asserted, extracted,
inferred...), without the label and comment predicates (their objects name terms) and the
question patterns of ``urn:nesy:qa#``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np
from rdflib import Literal, URIRef

from nesy.engine.kernels import unique
from nesy.namespaces import QA_NS
from nesy.store.store import GRAPH_CODE
from nesy.text.encoder import COMMENT_PREDICATES, LABEL_PREDICATES, label_index, local_name, words
from nesy.text.mentions import Span, find_spans
from nesy.text.tokens import name_key, tokens

if TYPE_CHECKING:
    from nesy.kbview import KBView

#: Words never taken alone as an entity mention (a KB may have an entity called "the").
_STOP = frozenset("a an the of is are was what which who whom whose where when how s in on at to and or "
                  "for by with from does do did".split())


@dataclass(frozen=True)
class Mention:
    """An entity name found in a question.

    Attributes:
        start: Char offset of the mention.  end: Char offset after it.
        text: The question's text there.
        nodes: Compact ids of the entities with that name (several when names clash).
        written: True when written exactly as an IRI local name or label (``ann_smith``).
    """

    start: int
    end: int
    text: str
    nodes: tuple[int, ...]
    written: bool


class QAGraph:
    """The KB's facts as relation operators, a name index of its entities, and path walking.

    Args:
        kb: The knowledge base (its store is read once; build a new graph after changes).
        max_frontier: Most entities one step of a path may reach (hub guard).
    """

    def __init__(self, kb: KBView, *, max_frontier: int = 200_000) -> None:
        self.kb = kb
        self.max_frontier = max_frontier
        t = kb.store.table
        vocab = kb.vocab
        skip = {vocab.get(p) for p in (*LABEL_PREDICATES, *COMMENT_PREDICATES)} - {None}
        # Question patterns loaded back as rules (qa:...) would be shortcuts of the paths.
        skip |= {i for i in np.unique(t.p).tolist() if str(vocab.term(i)).startswith(QA_NS)}
        keep = (t.g != GRAPH_CODE["predicted"]) & ~np.isin(t.p, list(skip))
        s, p, o, sc = t.s[keep], t.p[keep], t.o[keep], t.score[keep].astype(np.float64)
        self.nodes = unique(np.concatenate([s, o]))        # vocabulary ids, (E,)
        self.relations = unique(p)                         # vocabulary ids, (R,)
        src = np.searchsorted(self.nodes, s)
        dst = np.searchsorted(self.nodes, o)
        rel = np.searchsorted(self.relations, p)
        # One edge per (s, p, o): a fact stored in several graphs keeps its best score.
        E, R = len(self.nodes), len(self.relations)
        key = (src * max(R, 1) + rel) * max(E, 1) + dst
        order = np.lexsort((-sc, key))
        first = np.ones(len(order), dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        pick = order[first]
        self.src, self.rel, self.dst, self.score = src[pick], rel[pick], dst[pick], sc[pick]
        self.num_entities, self.num_relations = E, R
        K = self.num_operators
        # Adjacency by (node, operator): keys sorted, with the neighbour and edge id of each.
        n = len(self.src)
        adj_key = np.concatenate([self.src * K + self.rel, self.dst * K + self.rel + R])
        order = np.argsort(adj_key, kind="stable")
        self._key = adj_key[order]
        self._nbr = np.concatenate([self.dst, self.src])[order]
        self._eid = np.concatenate([np.arange(n), np.arange(n)])[order]
        self._ukey = unique(self._key)
        self._names: dict[tuple[str, ...], set[int]] | None = None
        self._written: dict[str, set[int]] | None = None
        self._exact: set[str] = set()

    # -- operators ---------------------------------------------------------------------------
    @property
    def num_operators(self) -> int:
        """K = 2R + 1 (forward, backward, identity)."""
        return 2 * self.num_relations + 1

    @property
    def identity(self) -> int:
        return 2 * self.num_relations

    def relation_term(self, r: int) -> URIRef:
        """The predicate IRI of base relation ``r``."""
        return self.kb.vocab.term(int(self.relations[r]))

    def node_term(self, i: int) -> Any:
        """The rdflib term of compact entity ``i``."""
        return self.kb.vocab.term(int(self.nodes[i]))

    def node_of(self, term: Any) -> int | None:
        """The compact id of an rdflib term, or None when the graph does not have it."""
        vid = self.kb.vocab.get(term)
        if vid is None:
            return None
        i = int(np.searchsorted(self.nodes, vid))
        return i if i < len(self.nodes) and self.nodes[i] == vid else None

    def ops_from(self, nodes: np.ndarray) -> np.ndarray:
        """The operators (sorted, identity excluded) with an edge out of any of ``nodes``."""
        K = self.num_operators
        lo = np.searchsorted(self._ukey, nodes * K)
        hi = np.searchsorted(self._ukey, nodes * K + K)
        if not len(nodes):
            return np.empty(0, dtype=np.int64)
        idx = np.concatenate([np.arange(a, b) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])
        return unique(self._ukey[idx.astype(np.int64)] % K)

    def step(self, nodes: np.ndarray, op: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Edges of operator ``op`` out of ``nodes`` (m,): ``(position in nodes, neighbour, edge id)``."""
        K = self.num_operators
        lo = np.searchsorted(self._key, nodes * K + op, side="left")
        hi = np.searchsorted(self._key, nodes * K + op, side="right")
        counts = hi - lo
        pos = np.repeat(np.arange(len(nodes)), counts)
        offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(lo, counts)
        return pos, self._nbr[offs], self._eid[offs]

    def reach(self, start: int, path: tuple[int, ...]) -> np.ndarray:
        """The entities (sorted compact ids) a path of operators reaches from ``start``."""
        cur = np.array([start], dtype=np.int64)
        for op in path:
            if op == self.identity:
                continue
            cur = unique(self.step(cur, op)[1])[: self.max_frontier]
        return cur

    def execute(self, start: int, path: tuple[int, ...]) -> dict[int, tuple[float, list[tuple[int, bool]]]]:
        """Run a path symbolically: each answer with its best chain of facts (maxprod of their
        scores) as ``answer -> (score, [(edge id, forward), ...])``."""
        R = self.num_relations
        ops = [op for op in path if op != self.identity]
        nodes, scores = np.array([start], dtype=np.int64), np.array([1.0])
        back: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for op in ops:
            pos, nbr, eid = self.step(nodes, op)
            if not len(nbr):
                return {}
            s = scores[pos] * self.score[eid]
            order = np.lexsort((-s, nbr))
            first = np.ones(len(order), dtype=bool)
            first[1:] = nbr[order][1:] != nbr[order][:-1]
            pick = order[first][: self.max_frontier]
            back.append((nbr[pick], nodes[pos[pick]], eid[pick]))
            nodes, scores = nbr[pick], s[pick]
        out: dict[int, tuple[float, list[tuple[int, bool]]]] = {}
        for i, (node, score) in enumerate(zip(nodes.tolist(), scores.tolist(), strict=True)):
            chain: list[tuple[int, bool]] = []
            cur, j = node, i
            for step_i in range(len(ops) - 1, -1, -1):
                nb, prev, eid = back[step_i]
                j = int(np.searchsorted(nb, cur)) if step_i != len(ops) - 1 else j
                chain.append((int(eid[j]), ops[step_i] < R))
                cur = int(prev[j])
            out[node] = (score, chain[::-1])
        return out

    # -- names ---------------------------------------------------------------------------------
    def _index(self) -> None:
        names: dict[tuple[str, ...], set[int]] = {}
        written: dict[str, set[int]] = {}
        labels = label_index(self.kb, LABEL_PREDICATES)
        for i, term in enumerate(self.kb.vocab.terms(self.nodes)):
            if isinstance(term, Literal):
                continue
            texts = [unquote(local_name(term)), *labels.get(term, [])]  # TSV names are %-quoted
            for text in texts:
                words_of = name_key(text)
                if words_of:
                    names.setdefault(words_of, set()).add(i)
                    written.setdefault(text.casefold(), set()).add(i)
                    self._exact.add(text)
        self._names, self._written = names, written

    def find_mentions(self, question: str) -> list[Mention]:
        """Entity names in ``question`` (:func:`nesy.text.mentions.find_spans`), best first,
        not overlapping: written exactly as in the KB (same case, underscores) before written
        in another case, before plain words; then longer before shorter."""
        if self._names is None:
            self._index()
        names, written = self._names, self._written
        assert names is not None and written is not None

        def accept(span: Span[set[int]]) -> bool:
            return not (span.stop - span.first == 1 and toks[span.first].word in _STOP)

        def prefer(span: Span[set[int]]) -> tuple[bool, bool, int, int, int]:
            text = question[span.start:span.end]
            return (text not in self._exact, text.casefold() not in written, span.first - span.stop,
                    span.start - span.end, span.start)

        toks = tokens(question)
        longest = max((len(k) for k in names), default=0)
        out = []
        for span in find_spans(toks, names.get, max_words=longest, accept=accept, prefer=prefer):
            text = question[span.start:span.end]
            out.append(Mention(span.start, span.end, text, tuple(sorted(span.value)), text.casefold() in written))
        return out

    def resolve_name(self, name: str) -> list[int]:
        """Entities named ``name``: an IRI, a prefixed name, a local name or label (any case,
        underscores or spaces)."""
        name = name.strip()
        if self._names is None:
            self._index()
        assert self._names is not None
        if name.startswith("<") or (":" in name and " " not in name):
            try:
                node = self.node_of(self.kb.resolve_term(name))
            except Exception:  # noqa: BLE001 - not a term in rule syntax: try it as a name
                node = None
            if node is not None:
                return [node]
        node = self.node_of(URIRef(name)) if "://" in name else None
        if node is not None:
            return [node]
        return sorted(self._names.get(name_key(name), ()))

    # -- text ---------------------------------------------------------------------------------
    def operator_texts(self) -> list[str]:
        """What each operator says in words (for the encoder): the relation's label or local
        name in words; backwards ``"inverse of ..."``; the identity ``"stop"``."""
        labels = label_index(self.kb, LABEL_PREDICATES)
        base = []
        for r in range(self.num_relations):
            term = self.relation_term(r)
            base.append((labels.get(term) or [words(local_name(term))])[0])
        return [*base, *(f"inverse of {b}" for b in base), "stop"]

    def verbalise(self, path: tuple[int, ...], texts: list[str]) -> str:
        """A path as a phrase about its start X: ``X 's spouse 's nationality``."""
        R = self.num_relations
        out = "X"
        for op in path:
            out += f" 's {texts[op]}" if op < R else f" is {texts[op - R]} of"
        return out
