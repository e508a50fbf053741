"""A user's extractor plugin, as the tests use it: a regular expression instead of a model.

It reads ``NAME works for NAME.`` and ``NAME is based in NAME.`` (the property whose
``rdfs:label`` is the verb phrase), links a name to the entity with that exact label, and
leaves other names unlinked (the knowledge base mints them). Two test hooks: a sentence
containing ``EXPLODE`` makes the extractor raise, one containing ``OVERCONFIDENT`` gives a
confidence above 1. Registered as kind ``extractor`` under the name ``regex``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rdflib import URIRef

from nesy.text.encoder import label_index
from nesy.text.extract_types import Extraction, Mention, Sentence

NAME = r"[A-Z][\w-]*(?: [A-Z][\w-]*)*"


class RegexExtractor:
    """``SUBJECT <property label> OBJECT`` for every property label in the knowledge base."""

    name = "regex"

    def __init__(self, kb: Any, confidence: float = 0.9) -> None:
        self.confidence = confidence

    def extract(self, sentences: Sequence[Sentence], kb: Any) -> list[Extraction]:
        labels = label_index(kb)
        by_label = {label.casefold(): term for term, names in labels.items() for label in names}
        verbs = sorted((lab for lab, t in by_label.items() if isinstance(t, URIRef) and " " in lab), key=len, reverse=True)
        if not verbs:
            return []
        pattern = re.compile(rf"(?P<s>{NAME}) (?P<p>{'|'.join(map(re.escape, verbs))}) (?P<o>{NAME})")
        out = []
        for sent in sentences:
            if "EXPLODE" in sent.text:
                raise RuntimeError("the model ran out of memory")
            conf = 1.5 if "OVERCONFIDENT" in sent.text else self.confidence
            for m in pattern.finditer(sent.text):
                subj, obj = (Mention(m.group(g), m.start(g), m.end(g), by_label.get(m.group(g).casefold()), 1.0)
                             for g in ("s", "o"))
                out.append(Extraction(sent, subj, by_label[m.group("p").casefold()], obj, conf, self.name))
        return out


def register(registry: Any) -> None:
    """The plugin hook: ``regex`` becomes an extractor name."""
    registry.add("extractor", "regex", RegexExtractor)
