"""Answer questions in English from the graph: topic entity, relation path, answers with proofs.

A question is answered in three steps. (1) Its topic entity is found by name
(:meth:`QAGraph.find_mentions`: KB local names, with underscores or as plain words, and
labels; :class:`nesy.text.linking.EntityLinker` when that finds nothing) and masked out.
(2) Relation paths from the topic are scored: by the trained :mod:`nesy.qa.model`
(beam over its per-hop attention, only operators with edges, renormalised over all the
paths at each hop as the training walk is), or, with no model yet, zero-shot by the
encoder's cosine between the question and each path put in words. (3) The best paths run symbolically on the KB; every answer comes
with a proof: the chain rule the path instantiates, ``qa:answer(X, Y) :- spouse(X, Z1),
nationality(Z1, Y).``, whose weight is the path's score, over the proofs of the stored facts.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
from rdflib import URIRef
from rdflib.term import Identifier

from nesy.engine.kernels import unique
from nesy.engine.proofs import GroundAtom, Proof, RuleInfo
from nesy.errors import TextError
from nesy.namespaces import QA_NS
from nesy.qa.answers import QAAnswer, QAAnswers
from nesy.qa.graph import QAGraph

if TYPE_CHECKING:
    from nesy.kbview import KBView

ANSWER = URIRef(QA_NS + "answer")
#: The KB's model slot of the QA model (``DIR/models/qa``, or ``(model, meta)`` in memory).
QA_SLOT = "qa"
#: The slot that caches the answerer over the current data and model.
ANSWERER_SLOT = "qa-answerer"
__all__ = ["ANSWER", "ANSWERER_SLOT", "QA_NS", "QA_SLOT", "QAAnswer", "QAAnswers", "QuestionAnswerer",
           "question_answerer", "relation_name"]
#: Lowest path score that still answers: trained (beam probability), zero-shot (cosine).
THRESHOLDS = {"trained": 0.2, "zero-shot": 0.3}


def relation_name(term: URIRef) -> str:
    """A relation's local name as an identifier (``qa_spouse_nationality`` is built from these)."""
    from nesy.text.encoder import local_name

    return re.sub(r"\W+", "_", local_name(term)).strip("_") or "r"


class QuestionAnswerer:
    """Answers questions over one knowledge base (build it again after the KB changes).

    Args:
        kb: The knowledge base.
        encoder: A :class:`~nesy.text.encoder.TextEncoder` (default: ``get_encoder()``).
        model: ``(PathAttention, meta)``; default: ``DIR/models/qa`` when it exists (or the
            in-memory KB's last training), else zero-shot.
        hops: Longest path in zero-shot mode.  beam: Paths kept per hop.
        thresholds: Lowest path score per mode (see :data:`THRESHOLDS`).
    """

    def __init__(self, kb: KBView, *, encoder: Any = None, model: Any = None, hops: int = 2,
                 beam: int = 8, thresholds: dict[str, float] | None = None) -> None:
        from nesy.text.encoder import get_encoder

        self.kb = kb
        self.graph = QAGraph(kb)
        self.hops, self.beam = hops, beam
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}
        self.operator_texts = self.graph.operator_texts()
        self._linker: Any = None
        if model is None:
            model = kb.models.get(QA_SLOT)
            where = kb.models.dir(QA_SLOT)
            if model is None and where is not None and (where / "qa.json").exists():
                from nesy.qa.model import load_model

                model = load_model(where)
        self.model, self.meta = model if model is not None else (None, None)
        # A trained model reads the vectors of the encoder it was trained with.
        self.encoder = encoder or get_encoder(self.meta.get("encoder") if self.meta else None)
        if self.model is not None:
            if int(self.meta["q_dim"]) != self.encoder.dim:
                raise TextError(f"the QA model was trained on {self.meta['q_dim']}-dimensional question "
                                f"vectors, the encoder {self.encoder.name!r} gives {self.encoder.dim}")
            self._map_operators()

    @property
    def mode(self) -> str:
        return "trained" if self.model is not None else "zero-shot"

    def _map_operators(self) -> None:
        """Model operators <-> graph operators, by relation IRI (a relation new since training
        cannot be chosen; one gone has no edges)."""
        g = self.graph
        rels = [URIRef(r) for r in self.meta["relations"]]
        Rm, Rg = len(rels), g.num_relations
        pos = {g.relation_term(r): r for r in range(Rg)}
        m2g = np.full(2 * Rm + 1, -1, dtype=np.int64)
        for i, iri in enumerate(rels):
            if iri in pos:
                m2g[i], m2g[i + Rm] = pos[iri], pos[iri] + Rg
        m2g[2 * Rm] = g.identity
        g2m = np.full(g.num_operators, -1, dtype=np.int64)
        g2m[m2g[m2g >= 0]] = np.flatnonzero(m2g >= 0)
        self.m2g, self.g2m = m2g, g2m

    # -- topic ------------------------------------------------------------------------------
    def topic_of(self, question: str, topic: str | None = None) -> tuple[list[int], str | None, str, str | None]:
        """``(topic nodes, mention text, masked question, reason)``; no nodes when none found."""
        g = self.graph
        mentions = g.find_mentions(question)
        if topic is not None:
            nodes = g.resolve_name(topic)
            if not nodes:
                return [], None, question, f"the topic entity {topic!r} is not in the knowledge base"
            m = next((m for m in mentions if set(m.nodes) & set(nodes)), None)
            masked = question if m is None else question[:m.start] + "X" + question[m.end:]
            return nodes, m.text if m else topic, masked, None
        if mentions:
            m = mentions[0]
            return list(m.nodes), m.text, question[:m.start] + "X" + question[m.end:], None
        for start, end, cand in self._linked(question):
            node = g.node_of(cand.term)
            if node is not None:
                return [node], question[start:end], question[:start] + "X" + question[end:], None
        return [], None, question, "no entity of the knowledge base is named in the question"

    def _linked(self, question: str) -> list[Any]:
        try:
            if self._linker is None:
                from nesy.text.linking import EntityLinker

                self._linker = EntityLinker(self.kb, encoder=self.encoder)
            return self._linker.find_mentions(question)
        except ImportError:
            return []

    # -- paths ------------------------------------------------------------------------------
    def _beam(self, att: np.ndarray, topic: int) -> dict[tuple[int, ...], float]:
        """Graph-operator paths from ``topic`` by beam over the model's attention (T, Km)."""
        g, idm = self.graph, len(self.m2g) - 1
        states: dict[tuple[int, ...], float] = {(): 1.0}
        frontier = {(): np.array([topic], dtype=np.int64)}
        for step in att:
            grown: dict[tuple[int, ...], float] = {}
            for path, w in states.items():
                ops = g.ops_from(frontier[path])
                if path:  # never straight back the way it came (X's spouse's spouse is X)
                    ops = ops[ops != (path[-1] + g.num_relations) % (2 * g.num_relations)]
                avail = self.g2m[ops]
                avail = np.append(avail[avail >= 0], idm)
                for op, pr in zip(avail.tolist(), step[avail].tolist(), strict=True):
                    if pr > 1e-6:
                        key = path if op == idm else path + (int(self.m2g[op]),)
                        grown[key] = grown.get(key, 0.0) + w * pr
            # One normalisation over all paths, as the walk renormalises its whole vector:
            # a path stuck where no likely operator has edges loses its mass.
            total = sum(grown.values()) or 1.0
            states = {k: v / total for k, v in sorted(grown.items(), key=lambda kv: -kv[1])[: self.beam]}
            for key in states:
                if key not in frontier:
                    frontier[key] = unique(g.step(frontier[key[:-1]], key[-1])[1])[: g.max_frontier]
        return {k: v for k, v in states.items() if k}

    def _zero_shot(self, q: Any, topic: int) -> dict[tuple[int, ...], float]:
        """Paths up to ``hops`` from ``topic``, scored by cosine(question, path in words)."""
        g, R = self.graph, self.graph.num_relations
        layer = [((), np.array([topic], dtype=np.int64))]
        paths: list[tuple[int, ...]] = []
        for _ in range(self.hops):
            nxt = []
            for path, nodes in layer:
                for op in g.ops_from(nodes).tolist():
                    if path and op == (path[-1] + R) % (2 * R):
                        continue  # straight back the way it came
                    nxt.append((path + (op,), unique(g.step(nodes, op)[1])[: g.max_frontier]))
            paths += [p for p, _ in nxt]
            layer = nxt[:500]
        if not paths:
            return {}
        vecs = self.encoder.encode([g.verbalise(p, self.operator_texts) for p in paths])
        sims = (vecs @ q).tolist()
        return {p: max(s, 1e-4) for p, s in zip(paths, sims, strict=True)}

    # -- answering --------------------------------------------------------------------------
    def answer(self, question: str, k: int = 5, topic: str | None = None) -> QAAnswers:
        """The ``k`` best answers to ``question`` (``topic``: the topic entity's name, if known)."""
        return self.answer_many([question], k, [topic])[0]

    def answer_many(self, questions: list[str], k: int = 5, topics: list[str | None] | None = None,
                    *, proofs: bool = True) -> list[QAAnswers]:
        """:meth:`answer` for many questions; the encoder and the model run batched."""
        topics = topics or [None] * len(questions)
        found = [self.topic_of(q, t) for q, t in zip(questions, topics, strict=True)]
        qv = self.encoder.encode([f[2] for f in found])
        att = None
        if self.model is not None:
            import torch

            usable = torch.from_numpy(self.m2g >= 0)
            with torch.no_grad():
                att = self.model(qv, usable).numpy()
        out = []
        for i, (question, (nodes, mention, _, reason)) in enumerate(zip(questions, found, strict=True)):
            if not nodes:
                out.append(QAAnswers(question, [], self.mode, None, mention, reason))
                continue
            out.append(self._answers(question, nodes, mention, qv[i], None if att is None else att[i], k, proofs))
        return out

    def _answers(self, question: str, nodes: list[int], mention: str | None, q: Any, att: Any, k: int,
                 proofs: bool) -> QAAnswers:
        g, mode = self.graph, self.mode
        scored = []
        for topic in nodes[:5]:
            paths = self._beam(att, topic) if att is not None else self._zero_shot(q, topic)
            scored += [(w, topic, p) for p, w in paths.items()]
        scored.sort(key=lambda x: -x[0])
        topic_term = g.node_term(scored[0][1] if scored else nodes[0])
        if not scored:
            return QAAnswers(question, [], mode, topic_term, mention,
                             f"{self.kb.shorten(topic_term)} has no facts to follow")
        best = scored[0][0]
        if best < self.thresholds[mode]:
            why = "model's" if mode == "trained" else "zero-shot (encoder similarity)"
            return QAAnswers(question, [], mode, topic_term, mention,
                             f"the best relation path from {self.kb.shorten(topic_term)} "
                             f"({self._functional(scored[0][2])}) scores {best:.3f}, below the {why} "
                             f"threshold {self.thresholds[mode]}")
        picked: dict[int, tuple[float, float, int, tuple[int, ...], list[Any]]] = {}
        for w, topic, path in scored[: self.beam]:
            if w < self.thresholds[mode]:
                break  # weaker paths would only pad the list with guesses
            w = round(w, 4) or 1e-4
            for node, (fact_score, chain) in g.execute(topic, path).items():
                s = w * fact_score
                if node not in picked or s > picked[node][0]:
                    picked[node] = (s, w, topic, path, chain)
            if len(picked) >= k:
                break
        ranked = sorted(picked.items(), key=lambda kv: (-kv[1][0], str(g.node_term(kv[0]))))[:k]
        answers = [self._make(node, w, topic, path, chain, mode, proofs) for node, (_, w, topic, path, chain) in ranked]
        return QAAnswers(question, answers, mode, topic_term, mention)

    def _functional(self, path: tuple[int, ...]) -> str:
        g, R = self.graph, self.graph.num_relations
        text = "X"
        for op in path:
            name = self.kb.shorten(g.relation_term(op % R))
            text = f"{name}({text})" if op < R else f"{name}^-1({text})"
        return text

    def _make(self, node: int, w: float, topic: int, path: tuple[int, ...], chain: list[Any], mode: str,
              proofs: bool) -> QAAnswer:
        g, kb, R = self.graph, self.kb, self.graph.num_relations
        names = ["X", *(f"Z{i}" for i in range(1, len(path))), "Y"]
        atoms, check_atoms, premises = [], [], []
        bindings: dict[str, Identifier] = {}
        score = w
        for i, ((eid, _), op) in enumerate(zip(chain, path, strict=True)):
            s, p, o = g.node_term(int(g.src[eid])), g.relation_term(int(g.rel[eid])), g.node_term(int(g.dst[eid]))
            a, b = (names[i], names[i + 1]) if op < R else (names[i + 1], names[i])
            bindings[a], bindings[b] = s, o
            atoms.append(f"{kb.shorten(p)}({a}, {b})")
            check_atoms.append(f"<{p}>({a}, {b})")
            prem = kb.prove_triple((s, p, o)) if proofs else Proof(GroundAtom(p, (s, o)), "asserted", float(g.score[eid]))
            premises.append(prem)
            score *= prem.score
        label = "qa_" + "_".join(relation_name(g.relation_term(op % R)) + ("" if op < R else "_inv") for op in path)
        rule = f"{w} :: qa:answer(X, Y) :- {', '.join(atoms)}."
        check = f"[{label}] {w!r} :: <{ANSWER}>(X, Y) :- {', '.join(check_atoms)}."
        source = {"model": "qa model (trained)" if mode == "trained" else "qa zero-shot (encoder similarity)"}
        functional = self._functional(path)
        proof = Proof(GroundAtom(ANSWER, (g.node_term(topic), g.node_term(node))), "learned", score,
                      RuleInfo(label, label, None, None, w, rule), bindings, premises, source, functional)
        return QAAnswer(g.node_term(node), score, g.node_term(topic),
                        [(g.relation_term(op % R), op < R) for op in path], rule, functional, proof, check)


def question_answerer(kb: KBView) -> QuestionAnswerer:
    """The :class:`QuestionAnswerer` over ``kb``'s current data, kept in the KB's model
    slots and rebuilt when the stored triples or the QA model changed."""
    table = kb.store.table
    key = (len(table), table.upgrades, kb.models.version(QA_SLOT))
    cached = kb.models.get(ANSWERER_SLOT)
    if cached is None or cached[0] != key:
        cached = (key, QuestionAnswerer(kb))
        kb.models.keep(ANSWERER_SLOT, cached)
    return cached[1]
