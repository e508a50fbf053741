"""Tab completion: command names, file paths for ``:load``/``:save``/``:extract``, prefixes and KB names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from nesy.repl.commands import ANSWER_FORMATS, COMMANDS, PROOF_FORMATS

#: Most KB names the completer keeps (the word list is built lazily, on the first Tab).
MAX_WORDS = 5000
#: Most completions offered at once.
MAX_SHOWN = 200

_WORD = re.compile(r"[\w:.\-]*$")
_FILE_COMMANDS = {"load", "save", "extract"}


class NesyCompleter(Completer):
    """Completes what the shell reads.

    - ``:`` + letters: command names; after ``:load``/``:save``/``:extract``: file paths; after
      ``:format``: the formats; after ``:help``: command names.
    - elsewhere: prefixes (``fam:``), then predicates (of the rules, of the stored
      triples and of the facts typed in the session), then the other names in the
      knowledge base's vocabulary, shortened with its prefixes: at most
      :data:`MAX_WORDS`, built on the first Tab and rebuilt when the vocabulary, the
      rules, the prefixes or the typed statements change.

    Args:
        kb: The knowledge base whose names to offer.
        session: The shell session, whose typed facts' predicates are offered too.
    """

    def __init__(self, kb: Any, session: Any = None) -> None:
        self.kb = kb
        self.session = session
        self._words: list[str] = []
        self._key: tuple[int, ...] | None = None
        self._paths = PathCompleter(expanduser=True)

    def words(self) -> list[str]:
        """The sorted names to offer (cached until the knowledge base changes)."""
        kb = self.kb
        typed = len(self.session.typed) if self.session is not None else 0
        key = (len(kb.vocab), len(kb.rules), len(kb.prefixes), len(kb), typed)
        if key != self._key:
            words: dict[str, None] = {}  # ordered: the first MAX_WORDS names win
            for w in self._collect():
                words.setdefault(w)
                if len(words) >= MAX_WORDS:
                    break
            self._words = sorted(words)
            self._key = key
        return self._words

    def _predicates(self) -> Iterator[Any]:
        kb = self.kb
        for rule in kb.rules:
            for atom in ([rule.head] if rule.head is not None else []) + list(rule.body):
                yield getattr(atom, "predicate", None)
        yield from kb.stats()["predicates"]
        for program in getattr(self.session, "typed", []):
            for fact in program.facts:
                yield fact.atom.predicate

    def _collect(self) -> Iterator[str]:
        from rdflib import RDF, URIRef

        kb = self.kb
        yield from (f"{p}:" for p in kb.prefixes if p)
        for pred in self._predicates():
            if isinstance(pred, str) and pred != str(RDF.type):
                yield kb.shorten(URIRef(pred))
        vocab = kb.vocab
        for i in range(min(len(vocab), 2 * MAX_WORDS)):
            term = vocab.term(i)
            if isinstance(term, URIRef):
                yield kb.shorten(term)

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        """The completions for the text before the cursor."""
        text = document.text_before_cursor
        m = re.match(r"\s*:([A-Za-z]*)(\s+)?(.*)$", text, re.S)
        if m and "(" not in text:
            name, space, rest = m.group(1), m.group(2), m.group(3)
            if not space:
                yield from _matching(name, list(COMMANDS), start=-len(name))
                return
            if name in _FILE_COMMANDS:
                word = rest.split()[-1] if rest and not rest.endswith(" ") else ""
                yield from self._paths.get_completions(Document(word, len(word)), complete_event)
                return
            if name == "format":
                yield from _matching(rest, ANSWER_FORMATS + PROOF_FORMATS, start=-len(rest))
                return
            if name == "help":
                yield from _matching(rest.lstrip(":"), list(COMMANDS), start=-len(rest.lstrip(":")))
                return
        word = _WORD.search(text)
        prefix = word.group() if word else ""
        if not prefix or prefix[0].isupper() or prefix[0] in "?_":
            return  # variables are the user's own
        yield from _matching(prefix, self.words(), start=-len(prefix))


def _matching(prefix: str, words: Iterable[str], *, start: int) -> Iterator[Completion]:
    low = prefix.lower()
    shown = 0
    for w in words:
        if w.lower().startswith(low) and w != prefix:
            yield Completion(w, start_position=start)
            shown += 1
            if shown >= MAX_SHOWN:
                return
