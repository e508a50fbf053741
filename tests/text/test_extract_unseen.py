"""A trained extractor reads a property it never saw in training, known only by its label.

The extractor is trained on generated texts ("<person> <label> <thing>.") stating facts of
ten properties. A declared eleventh property, ``mayorOf`` labelled "is the mayor of", never
occurs in training; the head scores it through its label's vector alone, so "Zed Quinn is
the mayor of Lisbon." must come out as ``mayorOf`` — and, as a control, a known property's
sentence must keep its own.
"""

from __future__ import annotations

import random

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS

from nesy import KnowledgeBase
from nesy.text.extract import Example, Sentence, get_extractor, train_extractor

EX = "http://example.org/unseen/"
TRAINED = {"birthPlace": "was born in", "employer": "works for", "spouse": "is married to",
           "residence": "lives in", "almaMater": "studied at", "team": "plays for",
           "memberOf": "is a member of", "founder": "founded", "owner": "owns", "language": "speaks"}
PEOPLE = ["Alice Martin", "Bob Stone", "Carol White", "Dave Brown", "Erin Black", "Frank Green", "Grace Hall",
          "Henry King", "Ivy Lane", "Jack Moore", "Kate Nash", "Liam Ortiz", "Mia Perez", "Noah Reed"]
THINGS = ["Paris", "Rome", "Acme", "Initech", "Oxford", "Harvard", "Globex", "Vienna", "Berlin", "Hooli",
          "Madrid", "Prague", "Umbrella", "Zurich"]


@pytest.fixture(scope="module")
def trained() -> KnowledgeBase:
    kb = KnowledgeBase(default_namespace=EX)
    for prop, label in [*TRAINED.items(), ("mayorOf", "is the mayor of")]:
        kb.add(URIRef(EX + prop), RDF.type, RDF.Property)
        kb.add(URIRef(EX + prop), RDFS.label, Literal(label))
    rng = random.Random(0)
    examples = []
    for prop, label in TRAINED.items():
        for _ in range(12):
            s, o = rng.choice(PEOPLE), rng.choice(THINGS)
            examples.append(Example(f"{s} {label} {o}.", ((s.replace(" ", "_"), prop, o),)))
    metrics = train_extractor(kb, examples, config={"model": "head", "epochs": 20, "lr": 3e-3, "hidden": 64, "out": 32,
                                                    "use_prior": False, "holdout": 0.0, "seed": 0})
    assert metrics["predicates"] == len(TRAINED)  # mayorOf is not among the trained ones
    return kb


def _best(kb: KnowledgeBase, text: str) -> tuple[str, str, str]:
    found = get_extractor(kb).extract([Sentence("t", 0, text, 0)], kb)
    assert found, f"nothing extracted from {text!r}"
    x = max(found, key=lambda e: e.confidence)
    return x.subject.text, str(x.predicate), x.object.text


def test_a_property_never_seen_in_training_is_extracted_by_its_label(trained: KnowledgeBase) -> None:
    assert _best(trained, "Zed Quinn is the mayor of Lisbon.") == ("Zed Quinn", EX + "mayorOf", "Lisbon")


def test_a_trained_property_keeps_its_own(trained: KnowledgeBase) -> None:
    assert _best(trained, "Zed Quinn was born in Lisbon.") == ("Zed Quinn", EX + "birthPlace", "Lisbon")
