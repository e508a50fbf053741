"""Entity linking: a mention of text → ranked KB entities, or none (NIL).

Two stages, cheapest first: a label index — an exact match of the mention against the
entities' labels (``rdfs:label``, ``skos:prefLabel``; score 1.0) or an alias (``skos:altLabel``,
the IRI's local name in words; 0.95), compared after :func:`normalise` — and, only for a
mention no label matches, the cosine similarity of the encoder's vectors of the mention and
of each entity's text (:func:`nesy.text.encoder.term_texts`' rule), kept when it reaches
``nil_threshold``; nothing above it is NIL.

The index follows the store: rows appended since it was built are read incrementally; any
other change (removed rows) rebuilds it. Entity vectors are encoded only when a mention
first needs them, sorted by length in large batches, and on an on-disk KB kept in
``DIR/models/text/`` (safetensors, keyed by text and model) so a reopened KB does not
encode its entities again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from rdflib import Literal, URIRef
from rdflib.namespace import RDFS, SKOS

from nesy.engine.kernels import unique
from nesy.errors import TextError
from nesy.linkpred.predictor import TRAIN_GRAPHS
from nesy.text.encoder import local_name, words
from nesy.text.mentions import Span, find_spans
from nesy.text.tokens import WORD, tokens
from nesy.text.vectors import VectorStore

if TYPE_CHECKING:
    import torch

    from nesy.kbview import KBView
    from nesy.text.encoder import TextEncoder

#: Single words that are never mentions on their own when written in lower case ("us", "it").
_STOP = frozenset("a an and are as at be by for from he her his i in is it its of on or our "
                  "she so than that their them they this to us was we were with you".split())
#: Label predicates by method: exact (primary labels) and alias.
_EXACT = (RDFS.label, SKOS.prefLabel)
_ALIAS = (SKOS.altLabel,)
_MAX_WORDS = 12  # longest label (in words) find_mentions tries
#: Vocabularies whose terms are schema, not things a text talks about (``owl:Thing``).
_SCHEMA = ("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/2000/01/rdf-schema#",
           "http://www.w3.org/2002/07/owl#", "http://www.w3.org/2001/XMLSchema#",
           "http://www.w3.org/2004/02/skos/core#")


def _entity(term: Any) -> bool:
    return isinstance(term, URIRef) and not str(term).startswith(_SCHEMA)


#: Words left out of labels and mentions alike, so "the Bank of the West" is "Bank of the West".
_DROP = frozenset({"the"})


def normalise(text: str) -> str:
    """The form labels and mentions are compared in: the folded words of
    :func:`nesy.text.tokens.tokens` (case and accents folded, underscores and hyphens as
    spaces, punctuation dropped) without the word "the" (``The_Hague-city!`` → ``hague city``)."""
    return " ".join(t.word for t in tokens(text, drop=_DROP))


@dataclass(frozen=True)
class Candidate:
    """One entity a mention may mean.

    Attributes:
        term: The KB entity.
        label: The text it was matched on.
        score: In [0, 1]: 1.0 exact, 0.95 alias, else the cosine of the text vectors.
        method: ``exact``, ``alias`` or ``embedding``.
    """

    term: URIRef
    label: str
    score: float
    method: str


_RANK = {"exact": 2, "alias": 1, "embedding": 0}


def entity_terms(kb: KBView) -> list[URIRef]:
    """The entities a linker links to by default: every IRI that is the subject or object of
    an entity triple in ``asserted``/``extracted``, and every IRI with a label; in
    vocabulary order. Terms of the RDF, RDFS, OWL, XSD and SKOS vocabularies are left out."""
    from nesy.store.store import GRAPH_CODE

    t, vocab = kb.store.table, kb.vocab
    ent = np.isin(t.g, [GRAPH_CODE[g] for g in TRAIN_GRAPHS]) & ~vocab.is_literal(t.o)
    labelled = np.isin(t.p, [i for i in (vocab.get(p) for p in _EXACT + _ALIAS) if i is not None])
    ids = unique(np.concatenate([t.s[ent], t.o[ent], t.s[labelled]]))
    return [x for x in vocab.terms(ids) if _entity(x)]


class EntityLinker:
    """Links mentions to the entities of a knowledge base.

    Args:
        kb: The knowledge base.
        encoder: The text encoder for the embedding stage (default: ``get_encoder(kb=kb)``,
            loaded only when a mention first needs it).
        terms: The entities to link to (default: :func:`entity_terms`, following the store).
        nil_threshold: Lowest cosine an embedding candidate needs; below it a mention is NIL.
    """

    def __init__(self, kb: KBView, *, encoder: TextEncoder | None = None,
                 terms: Sequence[URIRef] | None = None, nil_threshold: float = 0.5) -> None:
        if not 0.0 <= nil_threshold <= 1.0:
            raise TextError(f"nil_threshold must be in [0, 1], got {nil_threshold!r}")
        self.kb = kb
        self.nil_threshold = nil_threshold
        self._encoder = encoder
        self._fixed = list(dict.fromkeys(terms)) if terms is not None else None
        self._seen: tuple[Any, ...] | None = None  # the table columns the index was built from
        self._reset()

    # -- the index ----------------------------------------------------------------------
    def _reset(self) -> None:
        self.terms: list[URIRef] = []
        self._pos: dict[URIRef, int] = {}
        self._labels: list[list[tuple[int, bool, str]]] = []  # (preference, non-English, label)
        self._keys: dict[str, dict[int, tuple[str, str]]] = {}      # normal form -> {term: (method, label)}
        self._vectors: torch.Tensor | None = None                   # (len(encoded), dim)
        self._encoded: list[str] = []                                # the text each vector row encodes
        self._vectors_of: tuple[Any, ...] | None = None              # the store state they are of
        if self._fixed is not None:
            for term in self._fixed:
                self._add_term(term)

    def _add_term(self, term: URIRef) -> int:
        i = self._pos.get(term)
        if i is None:
            i = self._pos[term] = len(self.terms)
            self.terms.append(term)
            self._labels.append([])
            self._key(words(local_name(term)), i, "alias")
        return i

    def _key(self, label: str, i: int, method: str) -> None:
        key = normalise(label)
        if key:
            slot = self._keys.setdefault(key, {})
            if i not in slot or _RANK[method] > _RANK[slot[i][0]]:
                slot[i] = (method, label)

    def _sync(self) -> None:
        """Bring the index up to date with the store (incrementally when rows were only appended)."""
        t = self.kb.store.table
        cols = (t.g, t.s, t.p, t.o)
        if self._seen is not None and all(a is b for a, b in zip(cols, self._seen)):
            return
        start = len(self._seen[1]) if self._seen is not None else 0
        if self._seen is None or start > len(t) or any(
                not np.array_equal(a[:start], b) for a, b in zip(cols, self._seen)):
            self._reset()
            start = 0
        self._ingest(start)
        self._seen = cols

    def _ingest(self, start: int) -> None:
        from nesy.store.store import GRAPH_CODE

        t, vocab = self.kb.store.table, self.kb.vocab
        g, s, p, o = t.g[start:], t.s[start:], t.p[start:], t.o[start:]
        if self._fixed is None:
            ent = np.isin(g, [GRAPH_CODE[x] for x in TRAIN_GRAPHS]) & ~vocab.is_literal(o)
            for term in vocab.terms(unique(np.concatenate([s[ent], o[ent]]))):
                if _entity(term):
                    self._add_term(term)
        for rank, pred in enumerate(_EXACT + _ALIAS):
            method = "exact" if pred in _EXACT else "alias"
            pid = vocab.get(pred)
            rows = np.nonzero(p == pid)[0] if pid is not None else np.empty(0, np.int64)
            for sid, oid in zip(s[rows].tolist(), o[rows].tolist()):
                term, lit = vocab.term(sid), vocab.term(oid)
                if not isinstance(lit, Literal) or not _entity(term):
                    continue
                if self._fixed is not None and term not in self._pos:
                    continue
                i = self._add_term(term)
                self._labels[i].append((rank, lit.language not in (None, "en"), str(lit)))
                self._key(str(lit), i, method)

    def text(self, i: int) -> str:
        """The text entity ``i`` is encoded from: its best label, else its local name in words
        (the rule of :func:`nesy.text.encoder.term_texts`)."""
        best = min(self._labels[i], default=None)
        return best[2] if best is not None else words(local_name(self.terms[i]))

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            from nesy.text.encoder import get_encoder

            self._encoder = get_encoder(kb=self.kb)
        return self._encoder

    def vectors(self) -> torch.Tensor:
        """float32 ``(len(terms), dim)``: every entity's L2-normalised text vector."""
        import torch

        self._sync()
        if self._vectors is not None and self._vectors_of is self._seen:
            return self._vectors
        texts = [self.text(i) for i in range(len(self.terms))]
        stale = [i for i, text in enumerate(texts) if i >= len(self._encoded) or self._encoded[i] != text]
        if stale:
            store = VectorStore.for_kb(self.kb, self.encoder)
            new = store.encode([texts[i] for i in stale])
            old = self._vectors if self._vectors is not None else torch.empty(0, new.shape[1])
            grown = torch.cat([old, old.new_zeros(len(texts) - len(old), new.shape[1])])
            grown[torch.as_tensor(stale)] = new
            self._vectors, self._encoded = grown, texts
        self._vectors_of = self._seen
        return self._vectors if self._vectors is not None else torch.empty(0, self.encoder.dim)

    # -- linking ------------------------------------------------------------------------
    def link(self, mention: str, k: int = 5) -> list[Candidate]:
        """The ``k`` best entities ``mention`` may mean, best first; ``[]`` means NIL.

        Entities whose label or alias matches come alone when there are any; otherwise the
        ``k`` most similar entity texts at or above ``nil_threshold``."""
        return self.link_many([mention], k)[0]

    def link_many(self, mentions: Sequence[str], k: int = 1) -> list[list[Candidate]]:
        """:meth:`link` for many mentions, with the same candidates and scores to the bit:
        mentions are encoded as one batch (the encoder keeps one vector per text), but each
        mention's similarities are computed on their own, since a float32 matrix product
        rounds differently with the number of rows."""
        if k < 1:
            raise TextError(f"k must be at least 1, got {k!r}")
        self._sync()
        out = [self._hits(normalise(m)) for m in mentions]
        todo = [j for j, hits in enumerate(out) if not hits and normalise(mentions[j])]
        if todo and self.terms:
            import torch

            matrix = self.vectors()
            queries = self.encoder.encode([mentions[j] for j in todo])
            for row, j in enumerate(todo):
                sims = matrix @ queries[row].clone()  # (len(terms),); a fresh copy: the same memory layout in link
                top = torch.topk(sims, min(len(self.terms), k))
                for score, i in zip(top.values.tolist(), top.indices.tolist(), strict=True):
                    if score >= self.nil_threshold:
                        out[j].append(Candidate(self.terms[i], self.text(i), min(1.0, score), "embedding"))
        return [sorted(hits, key=lambda c: (-c.score, -_RANK[c.method], str(c.term)))[:k] for hits in out]

    def _hits(self, key: str) -> list[Candidate]:
        """The label and alias matches of a normalised mention."""
        slot = self._keys.get(key, {})
        return [Candidate(self.terms[i], label, 1.0 if method == "exact" else 0.95, method)
                for i, (method, label) in slot.items()]

    def find_mentions(self, text: str) -> list[tuple[int, int, Candidate]]:
        """Spans of ``text`` whose words are an entity's label, alias or local name, longest
        first and without overlaps (:func:`nesy.text.mentions.find_spans`): ``(start, end,
        best candidate)`` in text order. A single stop word ("us", "it") counts only when it
        is not written in lower case."""
        self._sync()

        def lookup(words: tuple[str, ...]) -> str | None:
            key = " ".join(words)
            return key if key in self._keys else None

        def accept(span: Span[str]) -> bool:
            return not (span.stop - span.first == 1 and span.value in _STOP and text[span.start:span.end].islower())

        out = []
        for span in find_spans(tokens(text, drop=_DROP), lookup, max_words=_MAX_WORDS, accept=accept):
            best = min(self._hits(span.value), key=lambda c: (-c.score, str(c.term)))
            out.append((span.start, span.end, best))
        return out

    def mint(self, mention: str) -> URIRef:
        """A new IRI in the KB's default namespace named after ``mention`` (``Aarhus
        Airport`` → ``…#Aarhus_Airport``); the same mention always gives the same IRI.

        Raises:
            TextError: The mention has no letters or digits.
        """
        name = "_".join(WORD.findall(mention))
        if not name:
            raise TextError(f"cannot name an entity after {mention!r}: it has no letters or digits")
        return URIRef(self.kb.default_namespace + name)


__all__ = ["Candidate", "EntityLinker", "entity_terms", "normalise"]
