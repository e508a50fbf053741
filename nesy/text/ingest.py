"""Extraction into the store: run an extractor over documents and keep each triple's provenance.

:func:`extract_into` is what :meth:`nesy.kb.KnowledgeBase.extract` runs. Per document it
reads and splits the text (:mod:`nesy.text.documents`), asks the extractor for triples,
mints an entity (with ``rdfs:label``) for every mention the extractor could not link, and
adds the triples to the ``extracted`` graph, each with a source record: document id,
sentence text, character span, extractor name, confidence (the triple's score), and the
subject's and object's spans. A document either adds all its triples or none: its error
is listed in the report and the other documents' triples are kept.

Also here: :class:`ExtractReport` and :class:`ExtractedTriple` (what ``kb.extract`` returns;
``nesy.kb`` re-exports them), :func:`train_from` (labelled files and distant supervision into
``train_extractor``) and :func:`extracted_lines` (what ``nesy extract --print`` writes).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import numpy as np
import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.namespace import RDFS
from rdflib.term import Identifier

from nesy.errors import NesyError, TextError
from nesy.store.graphs import GRAPH_CODE
from nesy.store.terms import to_ox
from nesy.text.documents import TEXT_SUFFIXES, Document, read_documents, sentences, text_files

if TYPE_CHECKING:
    from nesy.kbview import KBView

D = TypeVar("D")

#: Sentences (whole documents) that go to the extractor in one call; a failing call is retried
#: per document. The reader sorts a call's texts by length into its encoder batches, so a larger
#: call pads less: with 256 sentences rather than 64 it extracts 72.3 rather than 67.6 texts/s
#: from the validation half of WebNLG (two threads, 2026-12-06; docs/text.md).
BATCH_SENTENCES = 256
#: Documents whose triples are written to the store together.
_FLUSH_DOCUMENTS = 256


class ExtractedTriple(NamedTuple):
    """One triple an extractor found (at or above the confidence threshold)."""

    document: str
    subject: Identifier
    predicate: Identifier
    object: Identifier
    confidence: float


@dataclass
class ExtractReport:
    """What one :meth:`nesy.kb.KnowledgeBase.extract` call did.

    Attributes:
        extractor: The extractor's name.
        documents: Documents extracted from, and files that could not be read (empty files
            are not counted).
        sentences: Their sentences.
        triples: Triples new to the ``extracted`` graph (minted entities' labels not counted).
        entities: New entities minted for unlinked mentions (each with an ``rdfs:label``).
        errors: ``(document or file, message)`` of each document that failed; its triples
            were not added, the other documents' were.
        skipped: Empty files.
        seconds: Wall time.
        extracted: Every triple found at or above the threshold, in document order.
    """

    extractor: str = ""
    documents: int = 0
    sentences: int = 0
    triples: int = 0
    entities: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    extracted: list[ExtractedTriple] = field(default_factory=list)

    def __str__(self) -> str:
        def n(k: int, word: str) -> str:
            return f"{k} {word}{'' if k == 1 else 's'}"

        text = (f"{n(self.documents, 'document')}, {n(self.sentences, 'sentence')}: "
                f"{n(self.triples, 'triple')} added to extracted, {n(self.entities, 'new entity')} "
                f"({self.extractor}, {self.seconds:.2f} s)").replace("new entitys", "new entities")
        if self.skipped:
            text += f"; {n(len(self.skipped), 'empty file')} skipped"
        if self.errors:
            text += f"; {n(len(self.errors), 'document')} failed"
        return text


@dataclass
class _Prepared:
    """One document's triples, ready to store: ``rows`` of (s, p, o, score, source fields)."""

    doc: Document
    sentences: int
    rows: list[tuple[Identifier, Identifier, Identifier, float, dict[str, Any]]] = field(default_factory=list)
    labels: list[tuple[Identifier, Identifier, Identifier, float, dict[str, Any]]] = field(default_factory=list)
    minted: dict[str, URIRef] = field(default_factory=dict)


def resolve_extractor(kb: KBView, extractor: Any = None) -> Any:
    """An extractor object: ``extractor`` itself when it has ``extract``, else by name (a
    plugin registered as kind ``extractor`` first, then :func:`nesy.text.extract.get_extractor`)."""
    if extractor is not None and not isinstance(extractor, str):
        if not callable(getattr(extractor, "extract", None)):
            raise TextError(f"{extractor!r} is not an extractor: it has no extract(sentences, kb) method")
        return extractor
    if isinstance(extractor, str) and extractor in kb.registry.names("extractor"):
        return kb.registry.get("extractor", extractor)(kb)
    from nesy.text.extract import get_extractor

    return get_extractor(kb, extractor)


def extract_into(kb: KBView, paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
                 extractor: Any = None, min_confidence: float = 0.5, lines: bool = False,
                 progress: bool | None = None) -> ExtractReport:
    """Extract triples from text files into ``kb``'s ``extracted`` graph (see the module doc).

    Args:
        kb: The knowledge base.
        paths: Files (``.txt``, ``.md``) or directories of them.
        extractor: An extractor object, a name, or None for the default.
        min_confidence: Triples below this confidence are left out.
        lines: Each non-blank line of a file is its own document (``path:LINE``).
        progress: Show a progress bar over sentences (default: on a terminal, from 200 sentences).
    """
    start = time.perf_counter()
    if not 0.0 <= min_confidence <= 1.0:
        raise TextError(f"min_confidence must be in [0, 1], got {min_confidence}")
    ext = resolve_extractor(kb, extractor)
    name = str(getattr(ext, "name", type(ext).__name__))
    report = ExtractReport(extractor=name)
    docs: list[Document] = []
    for f in text_files([paths] if isinstance(paths, str | os.PathLike) else paths):
        try:
            found = read_documents(f, lines=lines)
        except NesyError as exc:
            report.documents += 1
            report.errors.append((str(f), str(exc)))
            continue
        if not found:
            report.skipped.append(str(f))
        docs.extend(found)
    minted: dict[str, URIRef] = {}
    pending: list[_Prepared] = []
    split = [(doc, sentences(doc)) for doc in docs]  # linear in the text, and sizes the progress bar
    bar = _bar(progress, sum(len(sents) for _, sents in split))
    try:
        for batch in document_batches(split):
            for prepared in _run(kb, ext, name, batch, min_confidence, minted, report):
                pending.append(prepared)
                minted.update(prepared.minted)
            if bar is not None:
                bar.update(sum(len(sents) for _, sents in batch))
            if len(pending) >= _FLUSH_DOCUMENTS:
                _store(kb, pending, report)
                pending = []
        _store(kb, pending, report)
    finally:
        if bar is not None:
            bar.close()
    report.seconds = time.perf_counter() - start
    return report


def _bar(progress: bool | None, total: int) -> Any:
    """A tqdm bar over ``total`` sentences: by default on a terminal, for 200 sentences or more."""
    if progress is None:
        progress = total >= 200 and sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sentence", desc="extract", leave=False)


def document_batches(split: Sequence[tuple[D, list[Any]]], size: int = BATCH_SENTENCES) -> Iterable[list[tuple[D, list[Any]]]]:
    """Documents with their sentences, in order, grouped so a batch has about ``size`` sentences
    (whole documents: a batch ends at the first document that takes it to ``size``)."""
    batch: list[tuple[D, list[Any]]] = []
    total = 0
    for doc, sents in split:
        batch.append((doc, sents))
        total += len(sents)
        if total >= size:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def _run(kb: KBView, ext: Any, name: str, batch: list[tuple[Document, list[Any]]], min_confidence: float,
         minted: dict[str, URIRef], report: ExtractReport) -> list[_Prepared]:
    """Extract from a batch in one call; when that fails, document by document, so one bad
    document costs only its own triples. Returns the documents that succeeded."""
    by_doc: dict[str, list[Any]] = {doc.id: [] for doc, _ in batch}
    try:
        found = ext.extract([s for _, sents in batch for s in sents], kb) if len(batch) > 1 else None
    except Exception:  # noqa: BLE001 - a plugin's own error; retried per document below
        found = None
    if found is not None:
        for x in found:
            by_doc.setdefault(x.sentence.doc, []).append(x)
    out = []
    for doc, sents in batch:
        report.documents += 1
        report.sentences += len(sents)
        try:
            xs = by_doc[doc.id] if found is not None else list(ext.extract(sents, kb)) if sents else []
            out.append(_prepare(kb, doc, len(sents), xs, name, min_confidence, minted))
        except Exception as exc:  # noqa: BLE001 - any failure of one document is reported, not raised
            report.errors.append((doc.id, _message(doc.id, exc, name)))
    return out


def _message(doc: str, exc: Exception, name: str) -> str:
    """An error message that starts with the document id."""
    if isinstance(exc, NesyError):
        text = str(exc)
        return text if text.startswith(doc) else f"{doc}: {text}"
    return f"{doc}: extractor {name} failed: {type(exc).__name__}: {exc}"


def _prepare(kb: KBView, doc: Document, n_sentences: int, extractions: Sequence[Any], name: str,
             min_confidence: float, minted: dict[str, URIRef]) -> _Prepared:
    """Check a document's extractions and turn them into rows (nothing is stored yet)."""
    out = _Prepared(doc, n_sentences)
    for x in extractions:
        conf = float(x.confidence)
        if not (0.0 < conf <= 1.0) or math.isnan(conf):
            raise TextError(f"extractor {name} gave confidence {x.confidence!r}; it must be in (0, 1]", file=doc.id)
        if conf < min_confidence:
            continue
        if not isinstance(x.predicate, URIRef):
            raise TextError(f"extractor {name} gave predicate {x.predicate!r}; a predicate must be an IRI", file=doc.id)
        sent = x.sentence
        for m in (x.subject, x.object):
            if not 0 <= m.start <= m.end <= len(sent.text):
                raise TextError(f"extractor {name} gave mention {m.text!r} at chars {m.start}-{m.end}, outside "
                                f"its sentence of {len(sent.text)} characters", file=doc.id)
        base = sent.start
        subj_span = (base + x.subject.start, base + x.subject.end)
        obj_span = (base + x.object.start, base + x.object.end)
        fields = {
            "file": str(doc.path.resolve()), "document": doc.id, "sentence": sent.text,
            "span": (min(subj_span[0], obj_span[0]), max(subj_span[1], obj_span[1])),
            "extractor": x.extractor or name,
            "extra": {"sentence_index": sent.index, "subject": x.subject.text, "object": x.object.text,
                      "subject_span": list(subj_span), "object_span": list(obj_span)},
        }
        s = _term(kb, x.subject, minted, out, conf, fields, subject=True)
        o = _term(kb, x.object, minted, out, conf, fields, subject=False)
        out.rows.append((s, x.predicate, o, conf, fields))
    return out


def _term(kb: KBView, mention: Any, minted: dict[str, URIRef], out: _Prepared, conf: float,
          fields: dict[str, Any], *, subject: bool) -> Identifier:
    """The mention's linked term, or a new entity minted for it (once per name and run)."""
    term = mention.term
    if term is not None:
        if subject and not isinstance(term, URIRef):
            raise TextError(f"subject {mention.text!r} is linked to {term!r}; a subject must be an IRI",
                            file=out.doc.id)
        return term
    name = mention.new_name
    key = " ".join(name.casefold().split())
    iri = minted.get(key) or out.minted.get(key)
    if iri is None:
        iri = out.minted[key] = _mint(kb, name)
        out.labels.append((iri, RDFS.label, Literal(" ".join(name.split())), conf, fields))
    return iri


def _mint(kb: KBView, text: str) -> URIRef:
    """The entity linker's new IRI for ``text`` (the same text always gives the same IRI)."""
    from nesy.text.linking import EntityLinker

    return EntityLinker(kb).mint(text)


def _store(kb: KBView, prepared: list[_Prepared], report: ExtractReport) -> None:
    """Add the prepared documents' triples, one source record per triple; all or nothing."""
    rows = [(r, p.doc.id) for p in prepared for r in p.rows]
    labels = [r for p in prepared for r in p.labels]
    if not rows and not labels:
        return
    group = [r for r, _ in rows] + labels
    store = kb.store
    # Minting is deterministic (same name, same IRI): an entity an earlier run made is not new.
    fresh = {iri for p in prepared for iri in p.minted.values() if store.vocab.get(iri) is None}
    savepoint = store.savepoint()
    with kb.changing():
        try:
            src = np.array([store.new_source("extracted", "extracted", **f).id for *_, f in group], dtype=np.int64)
            quads = [ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.DefaultGraph()) for s, p, o, _, _ in group]
            scores = np.array([score for _, _, _, score, _ in group], dtype=np.float64)
            s, p, o = store.encode_quads(quads)
            n = len(rows)
            there = store.table.contains(np.full(n, GRAPH_CODE["extracted"]), s[:n], p[:n], o[:n])
            new_facts = len({k for k, old in zip(zip(s[:n].tolist(), p[:n].tolist(), o[:n].tolist()), there)
                             if not old})
            store.add_encoded("extracted", s, p, o, scores, src, quads=quads)
        except BaseException:
            store.rollback(savepoint)
            raise
    report.triples += new_facts
    report.entities += len(fresh)
    report.extracted.extend(ExtractedTriple(doc, s, p, o, score) for (s, p, o, score, _), doc in rows)


def extracted_lines(kb: KBView, rows: Sequence[Any], fmt: str = "tsv") -> list[str]:
    """What ``nesy extract --print`` writes: one line per extracted triple, TSV (document,
    subject, predicate, object, confidence) or JSON (those keys plus ``terms``, the N-Triples
    terms). Terms appear as their labels, else their IRI's local name; literals as their value."""
    import json

    from nesy.text.encoder import label_index, local_name

    labels = label_index(kb) if rows else {}

    def name(term: Identifier) -> str:
        if isinstance(term, Literal):
            return str(term)
        found = labels.get(term)
        return found[0] if found else local_name(term)

    out = []
    for row in rows:
        terms = (row.subject, row.predicate, row.object)
        names = [name(t) for t in terms]
        if fmt == "json":
            out.append(json.dumps({"document": row.document, "subject": names[0], "predicate": names[1],
                                   "object": names[2], "confidence": round(float(row.confidence), 4),
                                   "terms": [t.n3() for t in terms]}, ensure_ascii=False))
        else:
            cells = [row.document, *names, f"{row.confidence:.4g}"]
            out.append("\t".join(" ".join(c.split()) for c in cells))
    return out


def train_from(kb: KBView, examples: Any = (), *, texts: Any = (), config: dict[str, Any] | None = None,
               progress: bool | None = None, valid: Any = (), on_epoch: Any = None) -> dict[str, Any]:
    """:func:`nesy.text.extract.train_extractor` on labelled example files (or ``Example``
    objects) plus, from ``texts``, distant-supervision examples labelled with the store's facts;
    ``valid`` (files or ``Example`` objects) are the validation examples."""
    from nesy.text.extract import distant_examples, read_examples, train_extractor
    from nesy.text.webnlg import Example

    examples = [examples] if isinstance(examples, str | os.PathLike) else list(examples)
    texts = [texts] if isinstance(texts, str | os.PathLike) else list(texts)
    given = [e for e in examples if isinstance(e, Example)]
    files = [e for e in examples if not isinstance(e, Example)]
    for f in files:
        if str(f).lower().endswith(TEXT_SUFFIXES):
            raise TextError("a text document is not a labelled examples file (WebNLG .xml, or .jsonl); "
                            "to label text with the store's facts, pass it as a text for distant supervision",
                            file=str(f))
    found = given + (read_examples(files) if files else [])
    n_labelled = len(found)
    if texts:
        sents = [s for f in text_files(texts) for d in read_documents(f) for s in sentences(d)]
        found += distant_examples(kb, sents)
    if not found:
        raise TextError("no training examples: give labelled files, or texts whose sentences mention "
                        "entities the store already relates (distant supervision)")
    valid = [valid] if isinstance(valid, str | os.PathLike) else list(valid)
    held = [e for e in valid if isinstance(e, Example)]
    held += read_examples([e for e in valid if not isinstance(e, Example)]) if len(held) < len(valid) else []
    metrics = train_extractor(kb, found, config=config, progress=progress, valid=held or None, on_epoch=on_epoch)
    metrics["labelled_examples"] = n_labelled
    metrics["distant_examples"] = len(found) - n_labelled
    return metrics
