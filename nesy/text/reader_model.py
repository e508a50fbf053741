"""The reader: MiniLM fine-tuned end to end as a mention tagger and a label-matching relation scorer.

One encoder pass per text gives token states ``H`` ``(L, d)``, and the encoder is trained,
not frozen (its lowest layers may stay fixed, ``tune_layers``):

* a BIO tagger on ``H`` marks the subject and object mentions, entities and literals alike.
  A tagged span is linked through the gazetteer when its words are a known surface form,
  read as a literal when it is a date or a number (with its unit, ``28 metres`` →
  ``"28.0"^^xsd:decimal``), and is otherwise a new entity named by its text. The rule
  mentions (:meth:`~nesy.text.mentions.Gazetteer.find`) that no tagged span overlaps stay,
  and a pronoun stands for the first entity before it;
* every ordered pair of mentions gets the pair vector of
  :func:`~nesy.text.extract_model.pair_inputs`, which an MLP maps to ``k`` dims; a
  predicate's vector is the *same* encoder's mean-pooled state of its label (and
  description) text, projected to ``k`` dims. The score is their scaled dot product, a
  bias, and a learned multiple of the cosine of the words between the mentions with the
  label. No predicate has a parameter of its own, so one never seen in training is scored
  by its label like any other (as GLiREL does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nesy.errors import TextError
from nesy.text.extract_model import TextFeatures, pair_inputs, text_features
from nesy.text.extract_types import split_sentences
from nesy.text.label_words import LabelWords, object_overlap, pair_overlap
from nesy.text.mentions import (
    ABBREVIATIONS,
    NAME_LEAD,
    PRONOUNS,
    STOP,
    Found,
    Gazetteer,
    capitalised_names,
    key_of,
    leading_literal,
    literal_mentions,
)

if TYPE_CHECKING:
    import torch

#: Tag ids: outside, first token of a mention, inside a mention.
O_TAG, B_TAG, I_TAG = 0, 1, 2
IGNORE = -100


@dataclass
class Encoded:
    """A tokenised batch: ``ids`` and ``mask`` ``(n, L)``; ``offsets`` ``(n, L, 2)`` char spans
    (``(0, 0)`` for special and padding tokens)."""

    ids: torch.Tensor
    mask: torch.Tensor
    offsets: np.ndarray

    def length(self, i: int) -> int:
        """Real tokens of text ``i`` (special tokens included)."""
        return int(self.mask[i].sum())


def tokenize(tokenizer: Any, texts: list[str], max_tokens: int) -> Encoded:
    """``texts`` as one padded batch of at most ``max_tokens`` tokens each."""
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt",
                    return_offsets_mapping=True)
    return Encoded(enc["input_ids"], enc["attention_mask"], enc["offset_mapping"].numpy())


def length_batches(tokenizer: Any, texts: list[str], max_tokens: int, budget: int = 512,
                   most: int = 64) -> list[list[int]]:
    """The indices of ``texts`` in batches of similar token length, shortest first: a batch
    grows while its padded size (texts × longest) stays within ``budget`` tokens (one text
    at least, ``most`` at most). On one CPU thread small, evenly padded batches are the
    fastest (2026-12-05: 106 texts/s at 8 texts a batch against 73 at 64)."""
    lengths = [min(max_tokens, len(ids)) for ids in tokenizer(texts, truncation=True, max_length=max_tokens)["input_ids"]]
    out: list[list[int]] = []
    for i in sorted(range(len(texts)), key=lambda i: (lengths[i], i)):
        if out and len(out[-1]) < most and (len(out[-1]) + 1) * lengths[i] <= budget:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def make_reader(encoder: Any, config: dict[str, Any]) -> torch.nn.Module:
    """The reader network around ``encoder`` (a transformers model with ``embeddings`` and a
    stack ``encoder.layer``: BERT, MiniLM, RoBERTa, MPNet...; trained in place) for ``config``
    (``hidden``, ``out``, ``dropout``, ``tune_layers``).

    Raises:
        TextError: ``encoder`` is not built that way (DistilBERT, ALBERT, T5...).
    """
    import torch
    from torch import nn

    if not hasattr(encoder, "embeddings") or not hasattr(getattr(encoder, "encoder", None), "layer"):
        kind = getattr(getattr(encoder, "config", None), "model_type", type(encoder).__name__)
        raise TextError(f"the reader cannot tune a {kind!r} text model: it needs an encoder with "
                        "embeddings and a stack of layers (BERT, MiniLM, RoBERTa, MPNet); use one, or "
                        "model = \"head\" with this one")

    class Reader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            d, k = int(encoder.config.hidden_size), int(config["out"])
            self.tagger = nn.Linear(d, 3)
            self.pair = nn.Sequential(nn.Linear(5 * d, config["hidden"]), nn.GELU(), nn.Dropout(config["dropout"]),
                                      nn.Linear(config["hidden"], k))
            self.label = nn.Linear(d, k)
            # About one (pair, predicate) in a few hundred is a fact: start near that rate.
            self.bias = nn.Parameter(torch.tensor(-5.0))
            self.match = nn.Parameter(torch.tensor(8.0))
            if config.get("label_overlap", False):
                # Its starting value counts: in two epochs Adam moves it by hundredths.
                self.overlap = nn.Parameter(torch.tensor(float(config["label_overlap"])))
            layers = list(encoder.encoder.layer)
            self.n_fixed = max(0, len(layers) - int(config["tune_layers"]))
            for module in [encoder.embeddings, *layers[:self.n_fixed]]:
                # The lowest layers stay as pretrained: their output can be computed once per
                # text (lower), so a training step runs only the tuned layers (upper).
                for p in module.parameters():
                    p.requires_grad_(False)

        def states(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """Token states ``(n, L, d)``."""
            return self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state

        def lower(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """The states after the embeddings and the fixed layers (no gradients)."""
            with torch.no_grad():
                h = self.encoder.embeddings(input_ids=ids)
                return run_layers(self.encoder.encoder, slice(0, self.n_fixed), h, mask)

        def upper(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """The tuned layers over the output of :meth:`lower`: :meth:`states`."""
            return run_layers(self.encoder.encoder, slice(self.n_fixed, None), h, mask)

        def label_vectors(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """Mean-pooled states ``(P, d)`` of the predicates' label texts."""
            h = self.states(ids, mask)
            m = mask.unsqueeze(-1).to(h.dtype)
            return (h * m).sum(1) / m.sum(1).clamp(min=1.0)

        def forward(self, x: torch.Tensor, labels: torch.Tensor, overlap: torch.Tensor | None = None) -> torch.Tensor:
            """Logits ``(m, P)`` of pair inputs ``x`` ``(m, 5d)`` against label vectors ``(P, d)``;
            ``overlap`` ``(m, P)`` the share of each label's words in the pair's text
            (:func:`pair_overlap`), used with ``label_overlap``."""
            pred = self.label(labels)
            dot = self.pair(x) @ pred.T / pred.shape[1] ** 0.5 + self.bias
            d = labels.shape[1]
            between = nn.functional.normalize(x[:, 2 * d:3 * d], dim=1)
            dot = dot + self.match * (between @ nn.functional.normalize(labels, dim=1).T)
            if overlap is not None and hasattr(self, "overlap"):
                dot = dot + self.overlap * overlap
            return dot

    return Reader()


def pair_logits(net: Any, texts: list[str], feats: list[TextFeatures], labels: torch.Tensor,
                words: LabelWords | None, config: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The logits ``(M, P)`` of the stacked pairs of ``feats`` (each with pairs; ``texts``
    theirs) against the label vectors ``labels`` ``(P, d)`` as validation and extraction
    decode them, and the label-word shares ``(M, P)`` the scorer took (None without
    ``label_overlap``): the network's scores plus ``object_overlap`` times the share of each
    label's words just before the object (:func:`~nesy.text.label_words.object_overlap`; a
    model saved without the option has none)."""
    import torch

    overlap = pair_overlap(texts, feats, words) if words is not None and config.get("label_overlap") else None
    logits = net(torch.cat([pair_inputs(f) for f in feats]), labels, overlap)
    weight = float(config.get("object_overlap", 0.0))
    if words is not None and weight:
        logits = logits + weight * object_overlap(texts, feats, words)
    return logits, overlap


def quantize_encoder(net: torch.nn.Module) -> torch.nn.Module:
    """``net`` (in place) with its encoder's Linear layers int8 dynamically quantised, for
    extraction on CPU only (the quantised encoder cannot be trained). ``torch.ao.quantization``
    is deprecated upstream (torch 2.13 still has it); its warnings are silenced here."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantiz.*deprecated")
        from torch.ao.quantization import quantize_dynamic

        net.encoder = quantize_dynamic(net.encoder, {torch.nn.Linear}, dtype=torch.qint8)
    return net


def run_layers(stack: Any, which: slice, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The states ``(n, L, d)`` after ``stack.layer[which]`` over ``h`` ``(n, L, d)``, padding
    masked by ``mask`` ``(n, L)``: BERT-style layers, and MPNet's, which all share one relative
    position bias that its stack computes."""
    add = _additive(mask, h.dtype)
    extra = (stack.compute_position_bias(h),) if hasattr(stack, "compute_position_bias") else ()
    for layer in stack.layer[which]:
        out = layer(h, add, *extra)
        h = out[0] if isinstance(out, tuple) else out
    return h


def _additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The ``(n, 1, 1, L)`` additive attention mask of a ``(n, L)`` 0/1 mask."""
    import torch

    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def tag_targets(enc: Encoded, spans: list[list[tuple[int, int]]]) -> torch.Tensor:
    """BIO targets ``(n, L)`` of the gold char spans of each text (special tokens ignored)."""
    import torch

    off = enc.offsets
    out = np.full(off.shape[:2], IGNORE, dtype=np.int64)
    for i, text_spans in enumerate(spans):
        real = off[i, :, 1] > off[i, :, 0]
        out[i, real] = O_TAG
        for a, b in text_spans:
            sel = np.nonzero(real & (off[i, :, 1] > a) & (off[i, :, 0] < b))[0]
            if len(sel):
                out[i, sel] = I_TAG
                out[i, sel[0]] = B_TAG
    return torch.from_numpy(out)


def decode_tags(text: str, tags: np.ndarray, off: np.ndarray) -> list[tuple[int, int]]:
    """Char spans of one text's predicted tags ``(L,)``: a ``B`` (or an ``I`` after ``O``)
    opens a span, ``I`` continues it; a span always covers whole words."""
    spans: list[list[int]] = []
    prev_end, open_ = -1, False
    for t in range(len(tags)):
        a, b = int(off[t, 0]), int(off[t, 1])
        if b <= a:
            open_, prev_end = False, -1
            continue
        tag = int(tags[t])
        if a == prev_end and text[a].isalnum():  # a piece of the word before: it goes where that word went
            if open_:
                spans[-1][1] = b
        elif tag == B_TAG or (tag == I_TAG and not open_):
            spans.append([a, b])
            open_ = True
        elif tag == I_TAG:
            spans[-1][1] = b
        else:
            open_ = False
        prev_end = b
    return [(a, b) for a, b in spans]


#: Words a tagged span neither starts nor ends with ("on December 2008", "area of").
EDGE_WORDS = STOP | {"which", "that", "who", "whose", "where"}
_WORD = re.compile(r"[\w'’]+")
#: Words joined by hyphens, which a span never cuts ("four-stroke", "mid-size").
_COMPOUND = re.compile(r"\w+(?:-\w+)+")
#: A span that ends with an abbreviation or an initial keeps its full stop ("Caterpillar Inc.").
_ABBREVIATED = re.compile(rf"\b(?:{'|'.join(ABBREVIATIONS)}|[A-Z])\.$")


def trim_span(text: str, a: int, b: int) -> tuple[int, int]:
    """``[a, b)`` without the :data:`EDGE_WORDS` at its ends (a span of edge words only stays)."""
    words = [(m.start() + a, m.end() + a) for m in _WORD.finditer(text[a:b])]
    lo, hi = 0, len(words)
    while lo < hi - 1 and text[words[lo][0]:words[lo][1]].lower() in EDGE_WORDS:
        lo += 1
    while hi - 1 > lo and text[words[hi - 1][0]:words[hi - 1][1]].lower() in EDGE_WORDS:
        hi -= 1
    if not words:
        return a, b
    return (words[lo][0] if lo else a), (words[hi - 1][1] if hi < len(words) else b)


def snap_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Tagged spans made whole: edge words trimmed (:func:`trim_span`), a span that overlaps
    a capitalised name, a date or a hyphenated word grown to cover it, lower-case words before
    a name dropped, a bracket it opens closed, and spans that then overlap merged. A
    token tagger often cuts a long name ("Alan" / "B Miller Hall", "Live Nation" without
    "Entertainment", "4th" / "April 2004"); capitalisation and the date's form say where it ends."""
    dates = [(f.start, f.end) for f in literal_mentions(text) if f.candidates[0][0].endswith("#date>")]
    compounds = [m.span() for m in _COMPOUND.finditer(text)]
    names = capitalised_names(text) + dates + compounds
    out: list[list[int]] = []
    for a, b in sorted(trim_span(text, a, b) for a, b in within_sentences(text, spans)):
        for c, d in names:
            if c < b and a < d:
                a, b = min(a, c), max(b, d)
        a, b = _whole_brackets(text, _name_start(text, a, b), b)
        lead = NAME_LEAD.match(text, a, b)  # "Queen Elizabeth II" as the capitalised name has it
        if lead and text[lead.end():lead.end() + 1].isupper():
            a = lead.end()
        while b > a + 1 and text[b - 1] in "'’ ":  # "Asilomar Conference Grounds' number"
            b -= 1
        if out and a < out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def edge_words_only(text: str, a: int, b: int) -> bool:
    """Whether every word of ``[a, b)`` is one of the :data:`EDGE_WORDS` (``a``, ``of``)."""
    return all(w.group().lower() in EDGE_WORDS for w in _WORD.finditer(text, a, b))


def within_sentences(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` cut where a sentence ends inside one ("Washington DC. 250 Delaware Avenue" is
    two names), the full stop that closes a piece dropped unless an abbreviation keeps it. The
    tagger reads across a full stop where a name ends with capitals and the next sentence
    starts with one; a name never runs on into the next sentence."""
    sentences = split_sentences(text)
    if len(sentences) < 2:
        return spans
    out = []
    for a, b in spans:
        pieces = [(max(a, s), min(b, e)) for s, e in sentences if max(a, s) < min(b, e)]
        if len(pieces) < 2:
            out.append((a, b))
            continue
        for lo, hi in pieces:
            if hi < b:  # cut here: no closing full stop unless an abbreviation's ("Inc.")
                while hi > lo and (text[hi - 1].isspace() or text[hi - 1] in ".!?") \
                        and not _ABBREVIATED.search(text, lo, hi):
                    hi -= 1
            if not edge_words_only(text, lo, hi):  # not "The" alone
                out.append((lo, hi))
    return out


def _name_start(text: str, a: int, b: int) -> int:
    """The start of a span that runs from lower-case words into a capitalised name ("engine
    power AIDAluna", "bed Ampara Hospital" of "476 bed Ampara Hospital"): the name's first
    word. Names start with a capital; the words before it are the tagger's overreach."""
    words = list(_WORD.finditer(text, a, b))
    lead = 0
    while lead < len(words) - 1 and words[lead].group()[0].islower():
        lead += 1
    return words[lead].start() if 0 < lead < len(words) and words[lead].group()[0].isupper() else a


def _whole_brackets(text: str, a: int, b: int) -> tuple[int, int]:
    """``[a, b)`` with the closing bracket it opens and the tagger left out ("ARA Veinticinco
    de Mayo (V-2" + ")")."""
    if text.count("(", a, b) > text.count(")", a, b) and text[b:b + 1] == ")":
        return a, b + 1
    return a, b


def split_lists(text: str, spans: list[tuple[int, int]], gaz: Gazetteer) -> list[tuple[int, int]]:
    """Spans "A, B" cut at their commas when the whole is not a known surface form and its
    last part is ("Perth, Australia", "Cuyahoga County, Ohio"): the tagger learns
    "Williamsburg, Virginia" as one name from the training names and then joins places a
    text lists (validation half, 2026-12-05: F1 0.240 → 0.246; cut whatever the last part: 0.244).
    A span of two parts whose last part ends a known name (:meth:`Gazetteer.suffixes`:
    ``Peoria,_Illinois`` is known, so "Akron, Illinois" is one name) stays whole (validation
    half, 2026-12-05: 0.311/0.303 → 0.316/0.307 with the same models)."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        part = text[a:b]
        pieces = []
        whole = (part.count(", ") == 1 and key_of(part.split(", ")[1]) in gaz.suffixes()
                 and not _known_alone(gaz, part.split(", ")[0]))
        if ", " in part and key_of(part) not in gaz.table and not whole:
            pos = a
            for chunk in part.split(", "):
                pieces.append((pos, pos + len(chunk)))
                pos += len(chunk) + 2
        # Each part starts a name ("Perth", "101 Ukrop Way") and the last is known.
        named = all(text[x:x + 1].isupper() or text[x:x + 1].isdigit() for x, _ in pieces)
        if pieces and named and key_of(text[slice(*pieces[-1])]) in gaz.table:
            out.extend(pieces)
        else:
            out.append((a, b))
    return _join_places(text, out, gaz)


def _known_alone(gaz: Gazetteer, name: str) -> bool:
    """Whether ``name`` is a known surface form of an IRI named just that, without a ", B"
    (``Chicago``: "Chicago, Illinois" is two places, where "Akron, Illinois" is one)."""
    key = key_of(name)
    for term in gaz.table.get(key, ()):
        local = re.split(r"[/#:]", term[1:-1])[-1].replace("_", " ") if term[:1] == "<" else ""
        if local and ", " not in local and key_of(local) == key:
            return True
    return False


def _join_places(text: str, spans: list[tuple[int, int]], gaz: Gazetteer) -> list[tuple[int, int]]:
    """Two tagged spans "A" ", " "B" joined where "A, B" would have stayed whole (B ends a
    known name) and A is an unknown capitalised name: the tagger cut "Groton" from
    "Connecticut" (validation half, same models: 0.316/0.307 → 0.317/0.308)."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out:
            pa, pb = out[-1]
            first = text[pa:pb]
            if (text[pb:a] == ", " and key_of(text[a:b]) in gaz.suffixes() and first[:1].isupper()
                    and ", " not in first and key_of(first) not in gaz.table):
                out[-1] = (pa, b)
                continue
        out.append((a, b))
    return out


def span_mention(text: str, a: int, b: int, gaz: Gazetteer, k: int = 2) -> Found | None:
    """The mention of tagged chars ``[a, b)``: known surface form, literal, or new entity."""
    while a < b and text[b - 1] in " ,;:." and not _ABBREVIATED.search(text[a:b]):
        b -= 1
    surface = text[a:b]
    if surface.lower().startswith("the "):
        a, surface = a + 4, surface[4:]
    key = key_of(surface)
    if not key or (len(key) == 1 and key[0] in PRONOUNS):
        return None
    lit = leading_literal(text, a, b)
    if lit is not None:  # what the text says ("1913"), not a stored literal it was aligned to ("1913-01-01")
        return Found(a, b, surface, [lit], "literal")
    hit = gaz.lookup(surface)
    head = surface.split(", ", 1)[0]
    if not hit and head != surface and gaz.named(head):  # "Chicago, Illinois": the store names it "Chicago"
        return span_mention(text, a, a + len(head), gaz, k)
    if hit:
        total = sum(hit.values())
        return Found(a, b, surface, [(t, c / total) for t, c in hit.most_common(k)])
    return Found(a, b, surface, [("?" + gaz.new_name(surface), 0.5)], "nil")


def merge_mentions(tagged: list[Found], rule: list[Found]) -> list[Found]:
    """The tagged mentions and the rule mentions none of them overlaps, in text order, less a
    rule mention of one lower-case word (the tagger alone reads common nouns); each pronoun
    stands for the first name (a known or new entity not written in lower case) mentioned
    before it, else the first entity."""
    # A lone lower-case word that the tagger left out is a common noun ("country", "capital"),
    # and a surface form that training learned for it ("country" of "Country music") a coincidence.
    rule = [f for f in rule if not (f.kind == "entity" and f.text[:1].islower() and " " not in f.text)]
    keep = list(tagged) + [f for f in rule if not any(f.start < t.end and t.start < f.end for t in tagged)]
    keep.sort(key=lambda f: f.start)
    # A pronoun's referent is a name: a lower-case span before it ("The rocker Antares ...
    # It", "The in service icebreaker ...") stands for it only when nothing else does.
    ents = [f for f in keep if f.kind in ("entity", "nil")]
    names = [f for f in ents if not f.text[:1].islower()]
    out = []
    for f in keep:
        if f.kind == "pronoun":
            first = next((g for g in names if g.start < f.start), None) or \
                next((g for g in ents if g.start < f.start), None)
            if first is None:
                continue
            f = Found(f.start, f.end, f.text, first.candidates, "pronoun")
        out.append(f)
    return out


def read_batch(net: Any, enc: Encoded, texts: list[str], gaz: Gazetteer, rule: list[list[Found]], pairs_nil: bool,
               gold: list[list[Found]] | None = None, h: torch.Tensor | None = None,
               negatives: int = 0) -> tuple[torch.Tensor, list[TextFeatures], list[list[Found]]]:
    """One encoder pass over a batch (or its states ``h`` given): token states ``(n, L, d)``,
    every text's features and its mentions: those the network tags (``gold`` mentions
    instead, in training, with at most ``negatives`` tagged spans that overlap none of them)
    merged with the rule mentions."""
    h = net.states(enc.ids, enc.mask) if h is None else h
    if gold is None or negatives:
        tags = net.tagger(h.detach()).argmax(-1).numpy()
    feats, mentions = [], []
    for i, text in enumerate(texts):
        n = enc.length(i)
        tagged: list[Found] = []
        if gold is None or negatives:
            spans = split_lists(text, snap_spans(text, decode_tags(text, tags[i, :n], enc.offsets[i, :n])), gaz)
            if gold is None:  # an article or a preposition alone ("a 1.2 l engine") names nothing; in
                # training such a span stays a negative, and the reader trains as it was measured
                spans = [(a, b) for a, b in spans if not edge_words_only(text, a, b)]
            tagged = [m for a, b in spans if (m := span_mention(text, a, b, gaz)) is not None]
        if gold is not None:
            # Spans the tagger marks beside the gold ones: the relation scorer learns that
            # the pairs of a wrongly tagged span ("door", "Measuring") are no facts.
            extra = [m for m in tagged if not any(m.start < g.end and g.start < m.end for g in gold[i])]
            tagged = sorted([*gold[i], *extra[:negatives]], key=lambda m: m.start)
        mentions.append(merge_mentions(tagged, rule[i]))
        feats.append(text_features(h[i, :n], enc.offsets[i, :n], mentions[-1], pairs_nil))
    return h, feats, mentions
