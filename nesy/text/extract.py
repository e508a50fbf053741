"""Knowledge extraction from text: sentences → mentions → (subject, predicate, object) triples.

Two built-in extractors share one pipeline: sentences of a document are grouped into
chunks (the encoder sees up to ~400 characters at once, so a pronoun in the second
sentence can stand for the first sentence's subject); a :class:`~nesy.text.mentions.Gazetteer`
finds entity mentions (KB labels and local names, plus the surface forms a trained model
learned), dates, numbers and capitalised names (new entities). Then every ordered pair of
mentions is scored against the KB's properties:

* ``trained`` (when ``train_extractor`` saved a model): the relation head of
  :mod:`nesy.text.extract_model` with the store prior;
* ``zero-shot`` (no model): encoder similarity between the words between the two mentions
  and each property's label, raised when the store already holds the triple.

Every :class:`Extraction` carries its sentence, both mention spans and a confidence in (0, 1].
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rdflib import Literal, URIRef
from rdflib.term import Identifier

from nesy.text.webnlg import Example, read_examples

if TYPE_CHECKING:
    from nesy.kb import KnowledgeBase

__all__ = ["Example", "Extraction", "Extractor", "Mention", "Sentence", "distant_examples", "extractor_names",
           "get_extractor", "read_examples", "register_extractor", "split_sentences", "train_extractor"]


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document: its id, 0-based number, text and char offset in the document."""

    doc: str
    index: int
    text: str
    start: int


@dataclass(frozen=True)
class Mention:
    """A span of :attr:`Sentence.text` (char offsets) and the term it names: an entity IRI,
    a Literal, or None for a new entity (NIL) that the caller mints."""

    text: str
    start: int
    end: int
    term: Identifier | None
    score: float


@dataclass(frozen=True)
class Extraction:
    """One extracted triple with where it was read. ``confidence`` is in (0, 1]."""

    sentence: Sentence
    subject: Mention
    predicate: URIRef
    object: Mention
    confidence: float
    extractor: str


class Extractor(Protocol):
    """What ``kb.extract`` runs: named, and mapping sentences to extractions."""

    name: str

    def extract(self, sentences: Sequence[Sentence], kb: KnowledgeBase) -> list[Extraction]: ...


# -- sentence splitting ---------------------------------------------------------------
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft no nos vs etc e.g i.e cf al inc ltd co corp dept est fig approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec gen col lt sgt capt rev hon gov pres sen rep u.s u.k "
    "a.m p.m ph.d b.a m.a b.sc op vol pp ed eds".split())
_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|\n\s*\n")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Char spans ``(start, end)`` of the sentences of ``text``, whitespace trimmed.

    A sentence ends at ``.``, ``!`` or ``?`` (with any closing quotes or brackets) followed
    by white space and an upper-case letter, digit, quote or bracket, and always at a blank
    line. A full stop after a known abbreviation (``Dr.``, ``e.g.``, ``U.S.``), an initial
    (``J. R. R. Tolkien``) or inside a number (``3.5``) does not end one.
    """
    cuts = [0]
    for m in _END.finditer(text):
        end = m.end()
        if m.group().strip():
            nxt = text[end:].lstrip()
            if not nxt or not (nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in "\"'“‘(["):
                continue
            if m.group().rstrip("\"'”’)]") == ".":
                word = re.search(r"(\S*)$", text[:m.start()]).group(1).lstrip("\"'“‘([").lower()
                if word in ABBREVIATIONS or re.fullmatch(r"[a-z]|([a-z]\.)+[a-z]", word):
                    continue
        cuts.append(end)
    cuts.append(len(text))
    spans = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        s, e = a + lead, a + len(seg.rstrip())
        if e > s:
            spans.append((s, e))
    return spans


# -- registry -------------------------------------------------------------------------
_EXTRACTORS: dict[str, Callable[[KnowledgeBase], Extractor]] = {}
_MEMORY: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()  # in-memory KB → model
MODEL_DIR = Path("models") / "extractor"


def register_extractor(name: str, factory: Callable[[KnowledgeBase], Extractor]) -> None:
    """Make ``factory(kb) -> Extractor`` selectable as ``name``."""
    _EXTRACTORS[name] = factory


def extractor_names(kb: KnowledgeBase | None = None) -> list[str]:
    """Built-in names plus those registered as plugins (kind ``extractor``) in ``kb``."""
    names = set(_EXTRACTORS)
    if kb is not None:
        names |= set(kb.registry.names("extractor"))
    return sorted(names)


def _model_dir(kb: KnowledgeBase) -> Path | None:
    return kb.path / MODEL_DIR if kb.path is not None else None


def get_extractor(kb: KnowledgeBase, name: str | None = None, *, model_dir: str | Path | None = None) -> Extractor:
    """The extractor called ``name``; by default the trained one when a model exists
    (``model_dir``, else DIR/models/extractor, else one trained in this process for an
    in-memory KB), otherwise the untrained zero-shot one.

    Raises:
        PluginError: Unknown name (the message lists the known ones).
        TextError: A model directory that is missing or unreadable.
    """
    from nesy.errors import PluginError

    if name is None:
        path = Path(model_dir) if model_dir is not None else _model_dir(kb)
        if model_dir is not None or kb in _MEMORY or (path is not None and (path / "model.json").is_file()):
            name = "trained"
        else:
            name = "zero-shot"
    if name == "trained":
        from nesy.text.extract_pipeline import TrainedExtractor

        path = Path(model_dir) if model_dir is not None else _model_dir(kb)
        if model_dir is None and kb in _MEMORY:
            return TrainedExtractor(kb, _MEMORY[kb])
        if path is None or not (path / "model.json").is_file():
            from nesy.errors import TextError

            raise TextError("no trained extractor here: run `nesy extract-train` first",
                            file=str(path) if path else None)
        return TrainedExtractor.load(kb, path)
    if name in _EXTRACTORS:
        return _EXTRACTORS[name](kb)
    if name in kb.registry.names("extractor"):
        return kb.registry.get("extractor", name)(kb)
    raise PluginError(f"unknown extractor {name!r}; known: {', '.join(['trained', *extractor_names(kb)])}")


def _zero_shot(kb: KnowledgeBase) -> Extractor:
    from nesy.text.extract_pipeline import ZeroShotExtractor

    return ZeroShotExtractor(kb)


register_extractor("zero-shot", _zero_shot)


def train_extractor(kb: KnowledgeBase, examples: Sequence[Example], *, config: dict[str, Any] | None = None,
                    progress: bool | None = None, out: str | Path | None = None) -> dict[str, Any]:
    """Train the relation head on labelled examples and save it (safetensors + JSON) in
    ``out``, else DIR/models/extractor; an in-memory KB keeps it in memory.

    Args:
        kb: Its store gives the prior features and the names' namespace (``default_namespace``).
        examples: Texts with their triples (see :func:`read_examples`, :func:`distant_examples`).
        config: Overrides of :data:`nesy.text.extract_train.DEFAULTS` (epochs, lr, use_prior...).
        progress: Show progress bars.
        out: Where to save the model.

    Returns:
        Metrics: examples, mention coverage, held-out precision/recall/F1, threshold, seconds.
    """
    from nesy.text.extract_train import save_model, train_model

    model, metrics = train_model(kb, list(examples), config or {}, progress=progress)
    path = Path(out) if out is not None else _model_dir(kb)
    if path is None:
        _MEMORY[kb] = model
    else:
        save_model(model, path)
        metrics["saved"] = str(path)
    return metrics


def distant_examples(kb: KnowledgeBase, sentences: Sequence[Sentence | str]) -> list[Example]:
    """Distant supervision: every sentence that mentions two entities the store relates
    becomes an example stating those store triples (names are full IRIs / literal n3)."""
    from rdflib.util import from_n3

    from nesy.text.extract_model import StorePrior
    from nesy.text.extract_pipeline import kb_gazetteer

    gaz, prior, out = kb_gazetteer(kb), StorePrior(kb), []
    for sent in sentences:
        text = sent.text if isinstance(sent, Sentence) else str(sent)
        terms = list(dict.fromkeys(t for f in gaz.find(text, k=1) if f.kind != "pronoun" for t, _ in f.candidates))
        ids = {t: prior.id(t) for t in terms}
        triples = []
        for s in terms:
            for o in terms:
                if s != o and ids[s] is not None and ids[o] is not None:
                    for p in sorted(prior.spo.get((ids[s], ids[o]), ())):
                        triples.append((_name(from_n3(s)), str(kb.vocab.term(p)), _name(from_n3(o))))
        if triples:
            where = f"{sent.doc}#{sent.index}" if isinstance(sent, Sentence) else "distant"
            out.append(Example(text, tuple(dict.fromkeys(triples)), where))
    return out


def _name(term: Identifier) -> str:
    """A term as an example name that :func:`~nesy.text.webnlg.name_to_term` reads back."""
    if isinstance(term, Literal):
        from nesy.text.webnlg import term_to_name

        return term_to_name(term)
    return str(term)
