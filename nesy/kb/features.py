"""FeatureMethods: the KnowledgeBase's entry points to ontologies, text, link prediction, rule learning and QA.

Each method imports its feature package on first use and hands it the knowledge base (as a
:class:`nesy.kbview.KBView`), so opening a KB imports none of them (nor torch).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from rdflib.term import Identifier

from nesy.errors import NesyError

if TYPE_CHECKING:
    from nesy.kbview import KBView
    from nesy.text.ingest import ExtractReport

    _Base = KBView
else:
    _Base = object

PathLike = str | os.PathLike[str]
#: The model slot that keeps the KB's entity linker (and its entity vectors) in memory.
ENTITY_LINKER = "entity-linker"


class FeatureMethods(_Base):
    """Feature entry points of :class:`nesy.kb.KnowledgeBase` (a mixin: the facade supplies the state)."""

    def load_ontology(self, path: PathLike, *, profile: str | None = None, format: str | None = None,  # noqa: A002
                      graph: str = "asserted") -> dict[str, Any]:
        """Load an ontology (or data under one), enable a reasoning profile (``"rl"``: OWL 2
        RL, or ``"rdfs"``) and materialise; see :func:`nesy.ontologies.packs.load_ontology`."""
        from nesy.ontologies.packs import load_ontology

        return load_ontology(self, path, profile=profile, format=format, graph=graph)

    def classify(self, reasoner: str = "hermit", *, property_values: bool = True,
                 allow_imports: bool = False) -> dict[str, Any]:
        """Classify with an OWL 2 DL reasoner (``hermit`` or ``pellet``, through owlready2) and
        store its new entailments in the ``dl-reasoner`` graph; returns ``reasoner``,
        ``consistent``, ``added``, ``unsatisfiable``, ``seconds`` (see
        :func:`nesy.ontologies.dl.classify_into`). ``owl:imports`` are followed (fetched)
        only with ``allow_imports=True``."""
        from nesy.ontologies.dl import classify_into

        return classify_into(self, reasoner, property_values=property_values, allow_imports=allow_imports)

    def extract(self, paths: PathLike | list[PathLike], *, extractor: Any = None, min_confidence: float = 0.5,
                lines: bool = False, progress: bool | None = None) -> ExtractReport:
        """Extract triples from text documents (``.txt``/``.md`` files or directories) into the
        ``extracted`` graph, each with its document, sentence, span, extractor and confidence;
        see :func:`nesy.text.ingest.extract_into` for the arguments."""
        from nesy.ontologies.packs import apply_ontology
        from nesy.text.ingest import extract_into

        report = extract_into(self, paths, extractor=extractor, min_confidence=min_confidence, lines=lines,
                              progress=progress)
        if (report.triples or report.entities) and self.config.get("ontology_profile"):
            apply_ontology(self)  # as load() does: OWL/RDFS reasoning covers extracted facts too
        return report

    def train_extractor(self, examples: Any = (), *, texts: Any = (), config: dict[str, Any] | None = None,
                        progress: bool | None = None, valid: Any = (), on_epoch: Any = None) -> dict[str, Any]:
        """Train the extractor's relation model on labelled examples and on ``texts`` labelled
        with the stored facts, validated on ``valid``; see :func:`nesy.text.ingest.train_from`."""
        from nesy.text.ingest import train_from

        return train_from(self, examples, texts=texts, config=config, progress=progress, valid=valid,
                          on_epoch=on_epoch)

    def link(self, mention: str, k: int = 5) -> list[Any]:
        """The ``k`` KB entities ``mention`` most likely names, best first (``Candidate``:
        ``term``, ``label``, ``score``, ``method``); empty when none passes the NIL threshold."""
        from nesy.text.linking import EntityLinker

        # One linker per KB: it follows the store by itself, and keeps its entity vectors.
        linker = self.models.get(ENTITY_LINKER)
        if linker is None:
            linker = EntityLinker(self)
            self.models.keep(ENTITY_LINKER, linker)
        return linker.link(mention, k)

    def train(self, *, valid: PathLike | None = None, resume: bool = False, nproc: int = 1, name: str | None = None,
              progress: bool | None = None, **options: Any) -> dict[str, Any]:
        """Train the link predictor on the KB's entity triples; options are
        :class:`nesy.linkpred.train.TrainConfig` fields (see :func:`nesy.linkpred.kbtrain.train_kb`)."""
        from nesy.linkpred.kbtrain import train_kb

        return train_kb(self, name=name, valid=valid, resume=resume, nproc=nproc, progress=progress, **options)

    def evaluate(self, test: PathLike, *, rules: PathLike | None = None, hybrid: bool = False,
                 hybrid_weight: float = 0.5, negatives: int | None = None, seed: int = 0,
                 text: bool = False) -> dict[str, Any]:
        """Filtered MRR, MR and Hits@1/3/10 on a file of test triples: of the link predictor,
        or of what the reasoner derives with the rule file ``rules`` (plus ``hybrid_weight``
        times the link predictor's probability when ``hybrid``; plus the rule file's
        entity-text typing model, written by ``learn(use_text=True)``, when ``text``).
        ``negatives``: each answer ranked against that many random non-answers (GraIL's
        protocol, seeded by ``seed``)."""
        if text and rules is None:
            raise NesyError("text ranking adds the rule file's text model: give the rule file too")
        if negatives is not None and (isinstance(negatives, bool) or not isinstance(negatives, int) or negatives < 1):
            raise NesyError(f"negatives must be a positive number of sampled entities, got {negatives!r}")
        if rules is not None:
            from nesy.rulelearn.kbeval import evaluate_rules

            return evaluate_rules(self, rules, test, hybrid=hybrid, weight=hybrid_weight, negatives=negatives,
                                  seed=seed, text=text)
        from nesy.linkpred.kbtrain import evaluate_kb

        return evaluate_kb(self, test, negatives=negatives, seed=seed)

    def learn(self, *, out: PathLike | None = None, relations: list[str] | None = None, train: PathLike | None = None,
              valid: PathLike | None = None, top: int | None = None, min_confidence: float = 0.0, soft_links: bool = False,
              progress: bool | None = None, **options: Any) -> dict[str, Any]:
        """Learn weighted chain rules (mined paths weighted for noisy-or by default; ``learner=
        "neural-lp"``) and write them to ``out`` as a ``# nesy:learned`` rule file; see
        :func:`nesy.rulelearn.kblearn.learn_kb`."""
        from nesy.rulelearn.kblearn import learn_kb

        return learn_kb(self, out=out, relations=relations, train=train, valid=valid, top=top,
                        min_confidence=min_confidence, soft_links=soft_links, progress=progress, **options)

    def predict(self, head: Identifier | str, relation: Identifier | str, k: int = 10, *,
                tails: bool = True) -> list[tuple[Identifier, float]]:
        """The ``k`` most probable tails of ``(head, relation, ?)`` (heads of
        ``(?, relation, head)`` with ``tails=False``), with calibrated probabilities."""
        from nesy.linkpred.kbtrain import predict

        return predict(self, head, relation, k, tails=tails)

    def predict_links(self, *, relation: Identifier | str | None = None, threshold: float = 0.5,
                      k: int = 10) -> dict[str, Any]:
        """Store the model's new links in the ``predicted`` graph (replacing its earlier
        predictions for those relations); returns ``added``, ``relations``, ``threshold``."""
        from nesy.linkpred.kbtrain import store_predicted_links

        return store_predicted_links(self, relation=relation, threshold=threshold, k=k)

    def ask_text(self, question: str, k: int = 5, *, topic: str | None = None) -> Any:
        """Answer a question in English from the graph: ranked answers with scores and proofs
        (:class:`nesy.qa.answers.QAAnswers`, empty with a ``reason`` when there is none)."""
        return self.question_answerer().answer(question, k, topic)

    def question_answerer(self) -> Any:
        """The :class:`nesy.qa.answerer.QuestionAnswerer` over the current data (rebuilt when
        the store or the QA model changed)."""
        from nesy.qa.answerer import question_answerer

        return question_answerer(self)

    def train_qa(self, questions: Any, **options: Any) -> dict[str, Any]:
        """Train the QA model on question-answer pairs and save it in ``DIR/models/qa``;
        see :func:`nesy.qa.train.train_qa`."""
        from nesy.qa.train import train_qa

        return train_qa(self, questions, **options)

    def evaluate_qa(self, questions: Any, **options: Any) -> dict[str, Any]:
        """Hits@1 (key ``hits@1``) of :meth:`ask_text` on a question file; see
        :func:`nesy.qa.train.evaluate_qa`."""
        from nesy.qa.train import evaluate_qa

        return evaluate_qa(self, questions, **options)


__all__ = ["ENTITY_LINKER", "FeatureMethods"]
