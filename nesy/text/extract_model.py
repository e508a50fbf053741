"""The extractor's model: the store's properties and surface forms, pair features, prior, head.

For one text the frozen encoder gives token states ``H`` ``(L, d)``; every mention node
(a span with one candidate term) gets its span mean. An ordered pair of nodes ``(i, j)``
is the vector ``[h_i, h_j, between, text, h_i * h_j]`` ``(5d,)``, where ``between`` is the
mean of the tokens between the two spans (what usually says the relation). The head maps
it to ``(k,)`` and scores every predicate by a dot product with the predicate's vector,
itself a projection of the encoder's vector of the predicate's label (so a property never
seen in training still gets a zero-shot score), plus (``label_match``) a learned multiple
of the cosine of ``between`` with the label's vector; with ``residual`` trained predicates
also get a learned residual and bias of their own. The store prior (optional) adds four
indicator features per (pair, predicate): the store holds ``(s, p, o)``; holds
``(o, p, s)``; ``s`` has some ``p``; ``o`` is some subject's ``p``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np
from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.namespace import OWL

from nesy.engine.kernels import unique
from nesy.text.encoder import COMMENT_PREDICATES, LABEL_PREDICATES, label_index, local_name, words
from nesy.text.mentions import Gazetteer

if TYPE_CHECKING:
    import torch

    from nesy.kbview import KBView
    from nesy.text.mentions import Found

N_PRIOR = 4
#: Predicates that are vocabulary, not relations to extract.
SKIP_PREDICATES = frozenset({*LABEL_PREDICATES, *COMMENT_PREDICATES, RDF.type, RDFS.subClassOf,
                             RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.sameAs, OWL.inverseOf})
_PROPERTY_TYPES = {RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty}


@dataclass
class TextFeatures:
    """Everything the head needs about one text.

    Attributes:
        hidden: float16 ``(L, d)`` token states (real tokens only).
        nodes: ``(n, 2)`` int token range ``[a, b)`` of each node.
        terms: The candidate term (n3 text) of each node.
        mention: Index of each node's mention in the text's mention list.
        pairs: ``(m, 2)`` int node indices (subject, object), different mentions and terms.
        starts: ``(n,)`` int char offset in the text where each node's mention starts.
    """

    hidden: torch.Tensor
    nodes: np.ndarray
    terms: list[str]
    mention: list[int]
    pairs: np.ndarray
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def featurize(encoder: Any, texts: list[str], found: list[list[Found]], batch: int = 64,
              pairs_nil: bool = True) -> list[TextFeatures]:
    """One encoder pass per text; mentions → token-range nodes → candidate pairs (subject
    never a literal; with ``pairs_nil`` False, never two new entities)."""
    out: list[TextFeatures | None] = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths: less padding
    for lo in range(0, len(texts), batch):
        chunk = order[lo:lo + batch]
        states = encoder.token_states([texts[j] for j in chunk])
        for i, j in enumerate(chunk):
            n_tok = int(states.mask[i].sum())
            out[j] = text_features(states.hidden[i, :n_tok].half(), states.offsets[i, :n_tok].numpy(), found[j],
                                   pairs_nil)
    return out  # type: ignore[return-value]


def text_features(hidden: torch.Tensor, off: np.ndarray, ments: list[Found], pairs_nil: bool = True) -> TextFeatures:
    """The nodes and candidate pairs of one text from its token states ``hidden`` ``(L, d)``
    and the tokens' char offsets ``off`` ``(L, 2)`` (special tokens ``(0, 0)``)."""
    nodes, terms, mention, starts = [], [], [], []
    for mi, f in enumerate(ments):
        sel = np.nonzero((off[:, 1] > f.start) & (off[:, 0] < f.end) & (off[:, 1] > off[:, 0]))[0]
        if not len(sel):  # cut off by truncation
            continue
        for term, _ in f.candidates:
            nodes.append((int(sel[0]), int(sel[-1]) + 1))
            terms.append(term)
            mention.append(mi)
            starts.append(f.start)
    # A literal is never a subject; two new entities are never related by a trained model.
    pairs = [(a, b) for a in range(len(nodes)) for b in range(len(nodes))
             if mention[a] != mention[b] and terms[a] != terms[b] and not terms[a].startswith('"')
             and not (pairs_nil is False and terms[a][0] == terms[b][0] == "?")]
    return TextFeatures(hidden, np.array(nodes, dtype=np.int64).reshape(-1, 2), terms, mention,
                        np.array(pairs, dtype=np.int64).reshape(-1, 2), np.array(starts, dtype=np.int64))


def pair_inputs(feats: TextFeatures) -> torch.Tensor:
    """The ``(m, 5d)`` float32 input of every candidate pair of one text."""
    import torch

    h = feats.hidden.float()
    cs = torch.cat([torch.zeros(1, h.shape[1]), h.cumsum(0)])  # (L+1, d)

    def mean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (cs[b] - cs[a]) / (b - a).clamp(min=1).unsqueeze(1).float()

    nodes = torch.from_numpy(feats.nodes)
    pairs = torch.from_numpy(feats.pairs)
    vec = mean(nodes[:, 0], nodes[:, 1])
    s, o = pairs[:, 0], pairs[:, 1]
    lo = torch.minimum(nodes[s, 1], nodes[o, 1])
    hi = torch.maximum(nodes[s, 0], nodes[o, 0])
    between = torch.where((hi > lo).unsqueeze(1), mean(lo, torch.maximum(hi, lo)), torch.zeros(1, h.shape[1]))
    text = h.mean(0).expand(len(pairs), -1)
    return torch.cat([vec[s], vec[o], between, text, vec[s] * vec[o]], dim=1)


def add_unseen(logits: torch.Tensor, n_known: int, bonus: float) -> torch.Tensor:
    """``logits`` ``(m, P)`` with ``bonus`` added to the columns after the first ``n_known``
    (the predicates a trained model knows by their label only)."""
    if not bonus or logits.shape[1] <= n_known:
        return logits
    out = logits.clone()
    out[:, n_known:] += bonus
    return out


def one_per_pair(logits: torch.Tensor) -> torch.Tensor:
    """``logits`` ``(m, P)`` with all but each pair's best predicate set to -inf: a text
    rarely states two relations between the same two things, and the runner-up label of a
    pair is most often a near-synonym of the best one."""
    import torch

    if not logits.numel():
        return logits
    best = logits.argmax(1, keepdim=True)
    return torch.full_like(logits, float("-inf")).scatter(1, best, logits.gather(1, best))


def object_ids(feats: list[TextFeatures]) -> torch.Tensor:
    """``(M,)`` an id of the object mention of every pair of ``feats`` (stacked in order),
    distinct across texts."""
    import torch

    ids, base = [], 0
    for f in feats:
        mention = np.asarray(f.mention, dtype=np.int64)
        if len(f.pairs):
            ids.append(torch.from_numpy(mention[f.pairs[:, 1]] + base))
        base += len(mention)
    return torch.cat(ids) if ids else torch.zeros(0, dtype=torch.long)


def one_per_object(logits: torch.Tensor, objects: torch.Tensor) -> torch.Tensor:
    """``logits`` ``(m, P)`` with every pair set to -inf but the best-scoring one of each
    object mention (``objects`` ``(m,)``, :func:`object_ids`): where the training texts
    almost never state two triples with one object (WebNLG: 0.26% of texts), the runner-up
    subject of an object is a wrong reading."""
    import torch

    if not logits.numel():
        return logits
    # The candidate terms of one mention score the same: of equal pairs the first one (the
    # mention's most frequent term) wins, so that one object is never read twice.
    top = logits.max(1).values.double() - torch.arange(len(logits), dtype=torch.float64) * 1e-9
    best = torch.full((int(objects.max()) + 1,), float("-inf"), dtype=torch.float64)
    best = best.scatter_reduce(0, objects, top, "amax")
    keep = (top == best[objects]) & torch.isfinite(top)
    return torch.where(keep.unsqueeze(1), logits, torch.full_like(logits, float("-inf")))


def subject_ids(feats: list[TextFeatures]) -> torch.Tensor:
    """``(M,)`` an id of the subject term of every pair of ``feats`` (stacked in order): the
    same within one text for every mention of one term, distinct across texts."""
    import torch

    ids: dict[tuple[int, str], int] = {}
    out = [ids.setdefault((t, f.terms[a]), len(ids)) for t, f in enumerate(feats) for a in f.pairs[:, 0].tolist()]
    return torch.tensor(out, dtype=torch.long)


def one_object_per_predicate(logits: torch.Tensor, subjects: torch.Tensor, penalty: float) -> torch.Tensor:
    """``logits`` ``(m, P)`` less ``penalty`` wherever another pair of the same subject
    (``subjects`` ``(m,)``, :func:`subject_ids`) scores the same predicate higher: a text
    seldom gives one thing two values of one property (7% of WebNLG's training subject-property
    pairs have two), so a second object is believed less, not dropped."""
    import torch

    if not penalty or not logits.numel():
        return logits
    m, n = logits.shape
    keys = (subjects[:, None] * n + torch.arange(n)[None, :]).reshape(-1)
    flat = logits.reshape(-1)
    best = torch.full((int(keys.max()) + 1,), float("-inf"), dtype=flat.dtype)
    best = best.scatter_reduce(0, keys, flat, "amax")
    return torch.where((flat < best[keys]).reshape(m, n), logits - penalty, logits)


def one_direction(logits: torch.Tensor, feats: list[TextFeatures]) -> torch.Tensor:
    """``logits`` ``(M, P)`` (the pairs of ``feats``, stacked; -inf: dropped) with a candidate
    set to -inf where the same two nodes in the other order score the same predicate
    higher (ties: the first pair stays). A text states a relation between two things in one
    direction; the reverse reading of a pair was wrong in 297 of 372 triples where the reader
    gave both (validation half, 2026-12-06)."""
    import torch

    rows, revs, base = [], [], 0
    for f in feats:
        at = {(a, b): k for k, (a, b) in enumerate(f.pairs.tolist())}
        for (a, b), k in at.items():
            r = at.get((b, a))
            if r is not None:
                rows.append(base + k)
                revs.append(base + r)
        base += len(f.pairs)
    if not rows:
        return logits
    k, r = torch.tensor(rows), torch.tensor(revs)
    mine, theirs = logits[k], logits[r]
    worse = torch.isfinite(mine) & ((theirs > mine) | ((theirs == mine) & (r < k).unsqueeze(1)))
    out = logits.clone()
    out[k] = torch.where(worse, torch.full_like(mine, float("-inf")), mine)
    return out


def decode_logits(logits: torch.Tensor, feats: list[TextFeatures], n_known: int, bonus: float,
                  config: dict[str, Any]) -> torch.Tensor:
    """The reader's decoding of ``logits`` ``(M, P)`` (the pairs of ``feats``, stacked): the
    unseen predicates' bonus, one predicate per pair, with ``one_per_object`` one subject per
    object mention, and ``repeat_penalty`` off a subject's second object of one predicate."""
    logits = one_per_pair(add_unseen(logits, n_known, bonus))
    if config.get("one_per_object") is True:
        logits = one_per_object(logits, object_ids(feats))
    return one_object_per_predicate(logits, subject_ids(feats), float(config.get("repeat_penalty", 0.0)))


def repeats_objects(triples: list[list[tuple[str, str, str]]], most: float = 0.02) -> bool:
    """Whether more than ``most`` of the texts (their triples) state two triples with one object."""
    twice = sum(1 for ts in triples if len({o for _, _, o in ts}) < len({(s, p, o) for s, p, o in ts}))
    return twice > most * max(1, len(triples))


class StorePrior:
    """Indicator features from the facts in the store's ``asserted`` and ``extracted`` graphs."""

    def __init__(self, kb: KBView | None) -> None:
        from rdflib.util import from_n3

        self._from_n3 = from_n3
        self.spo: dict[tuple[int, int], set[int]] = {}
        self.s_has: dict[int, set[int]] = {}
        self.o_of: dict[int, set[int]] = {}
        self.vocab = kb.vocab if kb is not None else None
        self._ids: dict[str, int | None] = {}
        if kb is None:
            return
        table = kb.store.table
        rows = np.nonzero(table.g <= 1)[0]  # codes 0, 1: asserted, extracted
        for s, p, o in zip(table.s[rows].tolist(), table.p[rows].tolist(), table.o[rows].tolist(), strict=True):
            self.spo.setdefault((s, o), set()).add(p)
            self.s_has.setdefault(s, set()).add(p)
            self.o_of.setdefault(o, set()).add(p)

    def id(self, n3: str) -> int | None:
        """The vocabulary id of a term given as n3 text (None: not in the store)."""
        if n3 not in self._ids:  # "?name" is a new entity: never in the store
            known = self.vocab is not None and not n3.startswith("?")
            self._ids[n3] = self.vocab.get(self._from_n3(n3)) if known else None
        return self._ids[n3]

    def features(self, feats: TextFeatures, columns: dict[int, int], n_pred: int) -> torch.Tensor:
        """``(m, P, 4)`` float32 prior features of every pair of ``feats`` and predicate."""
        import torch

        out = torch.zeros(len(feats.pairs), n_pred, N_PRIOR)
        if not self.spo:
            return out
        ids = [self.id(t) for t in feats.terms]
        rows: list[int] = []
        cols: list[int] = []
        kinds: list[int] = []
        for k, (a, b) in enumerate(feats.pairs.tolist()):
            s, o = ids[a], ids[b]
            if s is None or o is None:
                continue
            for f, preds in enumerate((self.spo.get((s, o), ()), self.spo.get((o, s), ()),
                                       self.s_has.get(s, ()), self.o_of.get(o, ()))):
                for p in preds:
                    c = columns.get(p)
                    if c is not None:
                        rows.append(k)
                        cols.append(c)
                        kinds.append(f)
        if rows:
            out[torch.tensor(rows), torch.tensor(cols), torch.tensor(kinds)] = 1.0
        return out


def make_head(config: dict[str, Any]) -> torch.nn.Module:
    """The relation head for ``config`` (``dim``, ``hidden``, ``out``, ``n_known``)."""
    import torch
    from torch import nn

    class RelationHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            d, k = config["dim"], config["out"]
            self.pair = nn.Sequential(nn.Linear(5 * d, config["hidden"]), nn.GELU(), nn.Dropout(config["dropout"]),
                                      nn.Linear(config["hidden"], k))
            self.label = nn.Linear(d, k)
            self.residual = nn.Embedding(config["n_known"], k)
            nn.init.zeros_(self.residual.weight)
            # Start near the base rate (about one pair and predicate in a thousand is a fact) and
            # trusting a stored triple: Adam moves a scalar by ~lr a step, too slowly from 0.
            self.bias = nn.Parameter(torch.full((config["n_known"],), -6.0))
            self.prior = nn.Linear(N_PRIOR, 1, bias=False)
            with torch.no_grad():
                self.prior.weight.copy_(torch.tensor([[6.0, 1.0, 1.0, 1.0]]))
            self.use_prior = bool(config["use_prior"])
            # Without the per-predicate residual and bias every predicate, trained or not, is
            # scored by its label alone: what lets a predicate never seen in training compete.
            self.per_predicate = bool(config.get("residual", True))
            # The cosine of the words between the two mentions with the predicate's label, scaled:
            # the zero-shot extractor's evidence, which carries over to labels never trained on.
            if config.get("label_match", False):
                self.match = nn.Parameter(torch.tensor(8.0))

        def forward(self, x: torch.Tensor, labels: torch.Tensor, prior: torch.Tensor | None) -> torch.Tensor:
            """Logits ``(m, P)`` for pair inputs ``x`` ``(m, 5d)``, label vectors ``(P, d)``
            (the first ``n_known`` the trained predicates, in order) and prior ``(m, P, 4)``."""
            n_known, n_pred = self.bias.shape[0], labels.shape[0]
            pred = self.label(labels)
            extra = n_pred - n_known
            if self.per_predicate:
                pred = pred + torch.cat([self.residual.weight, pred.new_zeros(extra, pred.shape[1])])
                bias = torch.cat([self.bias, self.bias.mean().expand(extra)])
            else:
                bias = self.bias.mean().expand(n_pred)
            dot = self.pair(x) @ pred.T / pred.shape[1] ** 0.5 + bias
            if hasattr(self, "match"):
                d = labels.shape[1]
                between = nn.functional.normalize(x[:, 2 * d:3 * d], dim=1)
                dot = dot + self.match * (between @ nn.functional.normalize(labels, dim=1).T)
            if not self.use_prior or prior is None:
                return dot
            return dot + self.prior(prior).squeeze(-1)

    return RelationHead()


def kb_properties(kb: KBView) -> list[URIRef]:
    """Properties to extract: predicates used in the asserted/extracted graphs, and declared
    properties (rdf:Property, owl:ObjectProperty, owl:DatatypeProperty), less RDF/OWL vocabulary."""
    table, vocab = kb.store.table, kb.vocab
    used = {vocab.term(p) for p in unique(table.p[table.g <= 1]).tolist()}
    type_id = vocab.get(RDF.type)
    if type_id is not None:
        rows = table.select(p=type_id)
        for s, o in zip(table.s[rows].tolist(), table.o[rows].tolist(), strict=True):
            if vocab.term(o) in _PROPERTY_TYPES:
                used.add(vocab.term(s))
    return sorted(p for p in used if isinstance(p, URIRef) and p not in SKIP_PREDICATES)


def kb_gazetteer(kb: KBView) -> Gazetteer:
    """Surface forms of the store's entities (labels, local names as words) and literal values."""
    gaz, table, vocab = Gazetteer(), kb.store.table, kb.vocab
    skip = {vocab.get(p) for p in SKIP_PREDICATES} - {None}
    rows = np.nonzero((table.g <= 1) & ~np.isin(table.p, list(skip)))[0]
    ids = unique(np.concatenate([table.s[rows], table.o[rows]])).tolist()
    labels = label_index(kb)
    for i in ids:
        term = vocab.term(i)
        if isinstance(term, Literal):
            gaz.add(str(term), term.n3())
        elif isinstance(term, URIRef):
            name = unquote(local_name(term))
            for surface in [*labels.get(term, []), name.replace("_", " "), words(name)]:
                gaz.add(surface, term.n3())
    return gaz
