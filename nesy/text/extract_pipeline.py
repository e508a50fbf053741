"""The two built-in extractors (trained head, zero-shot labels) over one mention pipeline."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rdflib import URIRef
from rdflib.util import from_n3

from nesy.text.encoder import get_encoder, term_texts
from nesy.text.extract_model import (
    StorePrior,
    TextFeatures,
    decode_logits,
    featurize,
    kb_gazetteer,
    kb_properties,
    one_direction,
    one_per_pair,
    pair_inputs,
)
from nesy.text.extract_train import ExtractorModel, load_model
from nesy.text.extract_types import Extraction, Mention, Sentence
from nesy.text.mentions import Found, Gazetteer

if TYPE_CHECKING:
    import torch

    from nesy.kbview import KBView

CHUNK_CHARS = 400


def _chunks(sentences: Sequence[Sentence]) -> list[tuple[str, list[tuple[Sentence, int]]]]:
    """Consecutive sentences of one document joined (spaces keep document offsets) into
    texts of at most ~CHUNK_CHARS; each member with its offset in the chunk text."""
    out: list[tuple[str, list[tuple[Sentence, int]]]] = []
    for sent in sentences:
        if out:
            text, members = out[-1]
            last = members[-1][0]
            gap = sent.start - (last.start + len(last.text))
            if (last.doc == sent.doc and sent.index == last.index + 1 and gap >= 0
                    and len(text) + gap + len(sent.text) <= CHUNK_CHARS):
                pad = " " * max(gap, 1)
                members.append((sent, len(text) + len(pad)))
                out[-1] = (text + pad + sent.text, members)
                continue
        out.append((sent.text, [(sent, 0)]))
    return out


class _Pipeline:
    """Chunks → mentions → per-chunk pair scores → :class:`Extraction` records."""

    name = "pipeline"
    floor = 0.05  # extractions below this confidence are not returned at all
    pairs_nil = True  # score pairs of two new entities

    def __init__(self, kb: KBView, gazetteer: Gazetteer, encoder: Any) -> None:
        self.kb, self.gaz, self.encoder = kb, gazetteer, encoder
        self.prior = StorePrior(kb)

    def score_many(self, texts: list[str], found: list[list[Found]],
                   feats: list[TextFeatures]) -> list[list[tuple[int, int, URIRef, float]]]:
        """Per chunk: (subject node, object node, predicate, confidence) of its candidate pairs."""
        raise NotImplementedError

    def analyse(self, texts: list[str]) -> tuple[list[list[Found]], list[TextFeatures]]:
        """Every chunk's mentions and features (one encoder pass per chunk)."""
        found = [self.gaz.find(text) for text in texts]
        return found, featurize(self.encoder, texts, found, pairs_nil=self.pairs_nil)

    def extract(self, sentences: Sequence[Sentence], kb: KBView | None = None) -> list[Extraction]:
        chunks = _chunks(sentences)
        texts = [text for text, _ in chunks]
        found, feats = self.analyse(texts)
        out: list[Extraction] = []
        scored = self.score_many(texts, found, feats)
        for (text, members), ments, ft, hits in zip(chunks, found, feats, scored, strict=True):
            best: dict[tuple[str, URIRef, str], Extraction] = {}
            for a, b, pred, conf in hits:
                fa, fb = ments[ft.mention[a]], ments[ft.mention[b]]
                ext = self._record(text, members, fa, ft.terms[a], fb, ft.terms[b], pred, conf)
                key = (ft.terms[a], pred, ft.terms[b])
                if key not in best or best[key].confidence < conf:
                    best[key] = ext
            out.extend(best.values())
        return out

    def _record(self, text: str, members: list[tuple[Sentence, int]], fa: Found, ta: str, fb: Found, tb: str,
                pred: URIRef, conf: float) -> Extraction:
        lo, hi = min(fa.start, fb.start), max(fa.end, fb.end)
        inside = [(s, off) for s, off in members if off < hi and lo < off + len(s.text)]
        first, off = inside[0]
        last, last_off = inside[-1]
        sent = first if len(inside) == 1 else Sentence(first.doc, first.index, text[off:last_off + len(last.text)],
                                                       first.start)

        def mention(f: Found, term: str, score: float) -> Mention:
            if term.startswith("?"):  # a new entity, named by its first mention (a pronoun's referent)
                return Mention(f.text, f.start - off, f.end - off, None, score, term[1:])
            return Mention(f.text, f.start - off, f.end - off, from_n3(term), score)

        pa = next((p for t, p in fa.candidates if t == ta), 1.0)
        pb = next((p for t, p in fb.candidates if t == tb), 1.0)
        return Extraction(sent, mention(fa, ta, pa), pred, mention(fb, tb, pb), min(1.0, max(conf, 1e-6)), self.name)


class ZeroShotExtractor(_Pipeline):
    """No training: the words between two mentions are compared with each property's label
    (encoder cosine), and a triple already in the store is believed more."""

    name = "zero-shot"

    def __init__(self, kb: KBView, encoder: Any = None, *, use_prior: bool = True) -> None:
        super().__init__(kb, kb_gazetteer(kb), encoder or get_encoder())
        if not use_prior:  # the text alone: no triple is believed more for being stored
            self.prior = StorePrior(None)
        self.preds = kb_properties(kb)
        self.labels = self.encoder.encode(term_texts(kb, self.preds)) if self.preds else None
        self.pred_ids = [kb.vocab.get(p) for p in self.preds]

    def score_many(self, texts: list[str], found: list[list[Found]],
                   feats: list[TextFeatures]) -> list[list[tuple[int, int, URIRef, float]]]:
        """Every chunk's candidate pairs, their contexts encoded in one batch."""
        out: list[list[tuple[int, int, URIRef, float]]] = [[] for _ in feats]
        if self.labels is None:
            return out
        todo = []
        for i, (text, ments, ft) in enumerate(zip(texts, found, feats, strict=True)):
            ids = [self.prior.id(t) if not t.startswith("?") else None for t in ft.terms]
            for a, b in ft.pairs.tolist():
                fa, fb = ments[ft.mention[a]], ments[ft.mention[b]]
                s, o = ids[a], ids[b]
                stored = self.prior.spo.get((s, o), set()) if s is not None and o is not None else set()
                if fa.start > fb.start and not stored:
                    continue  # no evidence for the reverse reading: subject first
                between = text[min(fa.end, fb.end):max(fa.start, fb.start)].strip(" ,.;")
                if re.search(r"[.!?]\s", between) and not stored:
                    continue  # across a sentence end, the words between do not say the relation
                todo.append((i, a, b, s, stored, between if between.split() else text))
        if not todo:
            return out
        sims = (self.encoder.encode([t[-1] for t in todo]) @ self.labels.T).tolist()
        for (i, a, b, s, stored, _), row in zip(todo, sims, strict=True):
            has = self.prior.s_has.get(s, ()) if s is not None else ()
            logits = [10 * (sim - 0.45) + (4.0 if pid in stored else 0.0) + (1.0 if pid in has else 0.0)
                      for pid, sim in zip(self.pred_ids, row, strict=True)]
            top = max(logits)
            for pred, pid, logit in zip(self.preds, self.pred_ids, logits, strict=True):
                # One relation per pair unless the store says more: the best label, or a stored triple.
                conf = 1 / (1 + math.exp(-logit))
                if conf >= self.floor and (logit == top or pid in stored):
                    out[i].append((a, b, pred, conf))
        return out


class TrainedExtractor(_Pipeline):
    """The relation head trained by :func:`~nesy.text.extract.train_extractor`."""

    name = "trained"
    pairs_nil = False

    def __init__(self, kb: KBView, model: ExtractorModel) -> None:
        encoder = get_encoder(model.encoder)
        super().__init__(kb, model.gazetteer.merge(kb_gazetteer(kb)), encoder)
        self.model = model
        # Models before the option never related two new entities.
        self.pairs_nil = bool(model.config.get("pairs_nil", False))
        known = [URIRef(p) for p in model.predicates]
        extra = [p for p in kb_properties(kb) if p not in set(known)]
        self.preds = known + extra
        import torch

        labels = model.labels
        if extra:
            labels = torch.cat([labels, encoder.encode(term_texts(kb, extra))])
        self.labels = labels
        self.columns = {kb.vocab.get(p): c for c, p in enumerate(self.preds) if kb.vocab.get(p) is not None}

    @classmethod
    def load(cls, kb: KBView, path: str | Path) -> TrainedExtractor:
        return cls(kb, load_model(path))

    def score_many(self, texts: list[str], found: list[list[Found]],
                   feats: list[TextFeatures]) -> list[list[tuple[int, int, URIRef, float]]]:
        """All chunks' pairs through the head at once (one matrix product, not one per chunk)."""
        return score_pairs(feats, self.preds, self.floor, lambda todo: self._confidences(feats, todo))

    def _confidences(self, feats: list[TextFeatures], todo: list[int]) -> Any:
        import torch

        x = torch.cat([pair_inputs(feats[i]) for i in todo])
        prior = torch.cat([self.prior.features(feats[i], self.columns, len(self.preds)) for i in todo])
        logits = self.model.head(x, self.labels, prior)
        if self.model.config.get("one_per_pair", False):
            logits = one_per_pair(logits)
        return torch.sigmoid(logits - self.model.threshold)


def score_pairs(feats: list[TextFeatures], preds: list[URIRef], floor: float,
                confidences: Callable[[list[int]], Any]) -> list[list[tuple[int, int, URIRef, float]]]:
    """:func:`hits` of ``confidences(todo)`` (float ``(M, P)``, the stacked pairs of the chunks
    ``todo`` that have any), computed without gradients; empty lists when no chunk has a pair."""
    import torch

    todo = [i for i, ft in enumerate(feats) if len(ft.pairs)]
    if not todo:
        return [[] for _ in feats]
    with torch.inference_mode():
        conf = confidences(todo)
    return hits(conf, feats, todo, preds, floor)


def hits(conf: Any, feats: list[TextFeatures], todo: list[int], preds: list[URIRef],
         floor: float) -> list[list[tuple[int, int, URIRef, float]]]:
    """Per chunk, (subject node, object node, predicate, confidence) of every entry of
    ``conf`` ``(M, P)`` (the pairs of the chunks ``todo``, stacked) at or above ``floor``."""
    import torch

    out: list[list[tuple[int, int, URIRef, float]]] = [[] for _ in feats]
    rows, cols = torch.nonzero(conf >= floor, as_tuple=True)
    owner = np.repeat(np.array(todo), [len(feats[i].pairs) for i in todo])
    start = np.cumsum([0] + [len(feats[i].pairs) for i in todo])
    first = dict(zip(todo, start[:-1].tolist(), strict=True))
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        i = int(owner[r])
        a, b = feats[i].pairs[r - first[i]].tolist()
        out[i].append((a, b, preds[c], float(conf[r, c])))
    return out


class ReaderExtractor(_Pipeline):
    """The fine-tuned reader (:mod:`nesy.text.reader_model`): its own encoder pass tags the
    mentions and scores their pairs against every property's label."""

    name = "reader"

    def __init__(self, kb: KBView, model: ExtractorModel) -> None:
        from nesy.text.label_words import LabelWords
        from nesy.text.reader_fit import all_labels
        from nesy.text.reader_model import quantize_encoder, tokenize

        encoder = get_encoder(model.encoder)
        super().__init__(kb, model.gazetteer.merge(kb_gazetteer(kb)), encoder)
        self.model, self.net = model, model.head.eval()
        if model.config.get("quantize", False):
            self.net = quantize_encoder(self.net)
        self.pairs_nil = bool(model.config.get("pairs_nil", True))
        known = [URIRef(p) for p in model.predicates]
        self.preds = known + [p for p in kb_properties(kb) if p not in set(known)]
        # Every label through the reader's own (fine-tuned) encoder, this store's texts.
        self.labels = all_labels(self.net, tokenize(encoder.tokenizer, term_texts(kb, self.preds, comments=True), 64))
        self.words = LabelWords.of(term_texts(kb, self.preds)) if model.config.get("label_overlap") or \
            model.config.get("object_overlap") else None
        self.budget = 512  # padded tokens per encoder batch (reader_model.length_batches)

    @classmethod
    def load(cls, kb: KBView, path: str | Path) -> ReaderExtractor:
        return cls(kb, load_model(path))

    def analyse(self, texts: list[str]) -> tuple[list[list[Found]], list[TextFeatures]]:
        """One pass of the reader per chunk: tagged and rule mentions, token states."""
        import torch

        from nesy.text.reader_model import length_batches, read_batch, tokenize

        found: list[list[Found]] = [[] for _ in texts]
        feats: list[TextFeatures | None] = [None] * len(texts)
        max_tokens = self.model.config["max_tokens"]
        with torch.inference_mode():
            for chunk in length_batches(self.encoder.tokenizer, texts, max_tokens, self.budget):
                part = [texts[i] for i in chunk]
                enc = tokenize(self.encoder.tokenizer, part, max_tokens)
                _, got, ments_of = read_batch(self.net, enc, part, self.gaz, [self.gaz.find(t, names_first=True) for t in part],
                                              self.pairs_nil)
                for i, ments, ft in zip(chunk, ments_of, got, strict=True):
                    found[i], feats[i] = ments, ft
        return found, feats  # type: ignore[return-value]

    def score_many(self, texts: list[str], found: list[list[Found]],
                   feats: list[TextFeatures]) -> list[list[tuple[int, int, URIRef, float]]]:
        import torch

        def confidences(todo: list[int]) -> Any:
            _, decoded = self.decode([texts[i] for i in todo], [feats[i] for i in todo])
            return torch.sigmoid(decoded - self.model.threshold)

        return score_pairs(feats, self.preds, self.floor, confidences)

    def decode(self, texts: list[str], feats: list[TextFeatures]) -> tuple[torch.Tensor, torch.Tensor]:
        """The reader's logits ``(M, P)`` of the stacked pairs of ``feats`` (each with pairs;
        ``texts`` theirs) against every predicate, and the decoded, re-scored logits ``(M, P)``
        the threshold applies to (-inf where decoding dropped a candidate)."""

        from nesy.text.reader_model import pair_logits
        from nesy.text.rescore import rescored

        logits, overlap = pair_logits(self.net, texts, feats, self.labels, self.words, self.model.config)
        n_known, bonus = len(self.model.predicates), self.model.unseen_bonus
        decoded = decode_logits(logits, feats, n_known, bonus, self.model.config)
        return logits, one_direction(rescored(self.model.rescorer, logits, feats, texts, n_known, bonus, decoded, overlap),
                                     feats)


def make_extractor(kb: KBView, model: ExtractorModel) -> _Pipeline:
    """The extractor of a trained model: the reader or the head on frozen features."""
    if model.config.get("model") == "reader":
        return ReaderExtractor(kb, model)
    return TrainedExtractor(kb, model)
