"""What a question gets back: its answers (entity, score, relation path, proof) and how they were found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rdflib import URIRef
from rdflib.term import Identifier

from nesy.engine.proofs import Proof

if TYPE_CHECKING:
    from nesy.kbview import KBView


@dataclass
class QAAnswer:
    """One answer: the entity, its score, the relation path and the proof.

    Attributes:
        term: The answer entity.  score: path score × the facts' scores.  topic: The topic.
        path: ``[(predicate IRI, forward), ...]`` from the topic to the answer.
        rule: The chain rule the path instantiates (text, with its weight).
        functional: The path as nested functions, ``nationality(spouse(X))``.
        proof: ``learned`` node over the proofs of the facts on the path.
    """

    term: Identifier
    score: float
    topic: Identifier
    path: list[tuple[URIRef, bool]]
    rule: str
    functional: str
    proof: Proof
    check_text: str = field(repr=False, default="")

    def check(self, kb: KBView) -> Any:
        """Re-validate the proof against the stored facts and its own chain rule."""
        from nesy.rules.parser import parse_program

        rule = parse_program(self.check_text, prefixes=kb.prefixes, default_ns=kb.default_namespace).rules
        return kb.check_proof(self.proof, extra_rules=rule)


@dataclass
class QAAnswers:
    """The answers to one question, best first, and how they were found.

    Attributes:
        question: The question.  answers: :class:`QAAnswer` list (empty: no answer).
        mode: ``trained`` (the QA model) or ``zero-shot`` (encoder similarity of paths).
        topic: The topic entity (None when none was found).  mention: Its text in the question.
        reason: Why there is no answer (None when there are answers).
    """

    question: str
    answers: list[QAAnswer]
    mode: str
    topic: Identifier | None = None
    mention: str | None = None
    reason: str | None = None

    def __iter__(self) -> Any:
        return iter(self.answers)

    def __len__(self) -> int:
        return len(self.answers)

    def __getitem__(self, i: int) -> QAAnswer:
        return self.answers[i]

    def __bool__(self) -> bool:
        return bool(self.answers)

    def to_dict(self, shorten: Any = str, prefixes: dict[str, str] | None = None,
                default_ns: str | None = None) -> dict[str, Any]:
        """JSON-ready: question, mode, topic, mention, reason, answers (with proofs)."""
        return {"question": self.question, "mode": self.mode, "mention": self.mention,
                "topic": None if self.topic is None else shorten(self.topic), "reason": self.reason,
                "answers": [{"answer": shorten(a.term), "score": a.score, "rule": a.rule,
                             "path": a.functional, "proof": a.proof.to_dict(prefixes, default_ns=default_ns)} for a in self.answers]}
