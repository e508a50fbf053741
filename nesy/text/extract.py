"""Extraction from text, the entry points: extractors by name, training one, distant supervision.

Extraction turns sentences into mentions and mentions into (subject, predicate, object)
triples. Extractors are registry components (kind ``extractor``, a factory
``f(kb) -> Extractor``), so plugins add theirs. Two built-in extractors share one pipeline: sentences of a document are grouped into
chunks (the encoder sees up to ~400 characters at once, so a pronoun in the second
sentence can stand for the first sentence's subject); a :class:`~nesy.text.mentions.Gazetteer`
finds entity mentions (KB labels and local names, plus the surface forms a trained model
learned), dates, numbers and capitalised names (new entities). Then every ordered pair of
mentions is scored against the KB's properties:

* ``trained`` (when ``train_extractor`` saved a model): the relation head of
  :mod:`nesy.text.extract_model` (the store prior optional);
* ``zero-shot`` (no model): encoder similarity between the words between the two mentions
  and each property's label, raised when the store already holds the triple.

Every :class:`Extraction` carries its sentence, both mention spans and a confidence in (0, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import Literal
from rdflib.term import Identifier

from nesy.errors import TextError
from nesy.plugins.registry import Registry, normalize_name, shared_registry
from nesy.text.extract_types import (
    ABBREVIATIONS,
    Extraction,
    Extractor,
    Mention,
    Sentence,
    split_sentences,
)
from nesy.text.webnlg import Example, read_examples

if TYPE_CHECKING:
    from nesy.kbview import KBView

__all__ = ["ABBREVIATIONS", "Example", "Extraction", "Extractor", "Mention", "Sentence", "distant_examples",
           "extractor_names", "get_extractor", "read_examples", "register_extractor", "split_sentences",
           "train_extractor", "trained_extractor", "zero_shot_extractor"]

#: The registry kind of extractors: a factory ``f(kb) -> Extractor``.
KIND = "extractor"
#: The model slot (``DIR/models/extractor``) of the trained extractor.
SLOT = "extractor"

def register_extractor(name: str, factory: Callable[[KBView], Extractor]) -> None:
    """Make ``factory(kb) -> Extractor`` selectable as ``name`` in every knowledge base of this
    process (a plugin calls ``registry.add("extractor", name, factory)`` instead)."""
    shared_registry().add(KIND, name, factory)


def extractor_names(kb: KBView | None = None) -> list[str]:
    """Every registered extractor name: built-ins, installed plugins and, with ``kb``, its
    trusted plugins."""
    registry: Registry = kb.registry if kb is not None else shared_registry()
    return registry.names(KIND)


def _has_trained_model(kb: KBView, model_dir: str | Path | None) -> bool:
    slots = kb.models
    if model_dir is not None or slots.get(SLOT) is not None:
        return True
    path = slots.dir(SLOT)
    return path is not None and (path / "model.json").is_file()


def get_extractor(kb: KBView, name: str | None = None, *, model_dir: str | Path | None = None) -> Extractor:
    """The extractor called ``name`` (looked up in ``kb.registry``); by default the trained
    one when a model exists (``model_dir``, else the KB's ``extractor`` model slot on disk or
    in memory), otherwise the untrained zero-shot one.

    Raises:
        PluginError: Unknown name (the message lists the known ones and the closest).
        TextError: A model directory that is missing or unreadable.
    """
    if name is None:
        name = "trained" if _has_trained_model(kb, model_dir) else "zero-shot"
    if normalize_name(KIND, name) == "trained":
        return trained_extractor(kb, model_dir=model_dir)
    return kb.registry.resolve(KIND, name)(kb)


def zero_shot_extractor(kb: KBView) -> Extractor:
    """The ``zero-shot`` extractor: property labels compared with the words between mentions."""
    from nesy.text.extract_pipeline import ZeroShotExtractor

    return ZeroShotExtractor(kb)


def trained_extractor(kb: KBView, model_dir: str | Path | None = None) -> Extractor:
    """The ``trained`` extractor: the model in ``model_dir``, else the KB's ``extractor`` slot.

    Raises:
        TextError: no trained model there.
    """
    from nesy.text.extract_pipeline import make_extractor
    from nesy.text.extract_train import load_model

    slots = kb.models
    if model_dir is None and slots.get(SLOT) is not None:
        return make_extractor(kb, slots.get(SLOT))
    path = Path(model_dir) if model_dir is not None else slots.dir(SLOT)
    if path is None or not (path / "model.json").is_file():
        raise TextError("no trained extractor here: run `nesy extract-train` first",
                        file=str(path) if path else None)
    return make_extractor(kb, load_model(path))


def train_extractor(kb: KBView, examples: Sequence[Example], *, config: dict[str, Any] | None = None,
                    progress: bool | None = None, out: str | Path | None = None,
                    valid: Sequence[Example] | None = None,
                    on_epoch: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train the extractor on labelled examples — by default the fine-tuned reader
    (``model = "reader"``; ``use_prior`` or ``model = "head"``: the head on frozen features) —
    and save it (safetensors + JSON) in ``out``, else the KB's ``extractor`` model slot (DIR/models/extractor; an in-memory KB
    keeps it in memory).

    Args:
        kb: Its store gives the prior features and the names' namespace (``default_namespace``).
        examples: Texts with their triples (see :func:`read_examples`, :func:`distant_examples`).
        config: Overrides of :data:`nesy.text.extract_train.DEFAULTS` and, for the reader,
            ``READER_DEFAULTS`` (model, epochs, lr, use_prior...).
        progress: Show progress bars.
        out: Where to save the model.
        valid: Validation examples: the F1 after each epoch, the epoch kept and the threshold
            are chosen on them (default: a ``holdout`` share of ``examples``, those of
            predicates drawn at random: ``nesy.text.extract_train.predicate_holdout``).
        on_epoch: Called after each epoch with its loss, validation P/R/F1 and ``eta_seconds``.

    Returns:
        Metrics: examples, mention coverage, validation precision/recall/F1 (``valid_f1``),
        for the reader the ``unseen_bonus`` chosen and the validation F1 of each bonus tried
        (``valid_f1_by_bonus``), the per-epoch ``history``, threshold, seconds.
    """
    from nesy.text.extract_train import save_model, train_model

    model, metrics = train_model(kb, list(examples), config or {}, progress=progress,
                                 valid=list(valid) if valid else None, on_epoch=on_epoch)
    slots = kb.models
    path = Path(out) if out is not None else slots.dir(SLOT)
    if path is None:
        slots.keep(SLOT, model)
    else:
        from nesy.ml.tomlconfig import CONFIG_FILE, write_config

        save_model(model, path)
        # The resolved options beside the model: `nesy extract-train --config` of it repeats the run.
        write_config(path / CONFIG_FILE, model.config, header="nesy extract-train options (--config FILE)")
        if out is None:
            slots.touch(SLOT)
        metrics["saved"] = str(path)
    return metrics


def distant_examples(kb: KBView, sentences: Sequence[Sentence | str]) -> list[Example]:
    """Distant supervision: every sentence that mentions two entities the store relates
    becomes an example stating those store triples (names are full IRIs / literal n3)."""
    from rdflib.util import from_n3

    from nesy.text.extract_model import StorePrior, kb_gazetteer

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
