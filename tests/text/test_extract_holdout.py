"""Without validation examples, training validates on the examples of predicates drawn at
random (``predicate_holdout``): training never sees those predicates, as it will not see
those of text about new kinds of things, and the surface forms training and validation use
are learned without the held-out examples. Once validation has chosen, the reader is
trained again on every example (``refit``)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import URIRef
from rdflib.namespace import RDF

from nesy import KnowledgeBase
from nesy.text.extract import Example
from nesy.text.extract_train import (
    DEFAULTS,
    _held_out,
    gold_triples,
    learn_surface_forms,
    predicate_holdout,
    refit_epochs,
    train_model,
)

NS = "http://example.org/h/"


def test_the_second_training_takes_the_last_epoch_within_the_noise_of_the_best() -> None:
    def history(*f1s: float) -> list[dict]:
        return [{"epoch": 0}] + [{"epoch": k, "valid_f1": f} for k, f in enumerate(f1s, 1)]

    assert refit_epochs(history(0.2384, 0.2380)) == 2  # a near tie: the epochs asked for
    assert refit_epochs(history(0.246, 0.239)) == 1  # the first clearly better
    assert refit_epochs(history(0.20, 0.25, 0.248)) == 3
    assert refit_epochs(history(0.20, 0.25, 0.24)) == 2
    assert refit_epochs([{"epoch": 1, "loss": 0.3}]) == 1  # nothing validated


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(0, 20), min_size=1, max_size=4), min_size=1, max_size=300),
       st.integers(0, 60), st.integers(0, 9))
def test_a_held_out_predicate_is_in_no_training_example(preds: list[list[int]], n_hold: int, seed: int) -> None:
    gold = [[(f"s{i}", f"p{k}", f"o{j}") for j, k in enumerate(ks)] for i, ks in enumerate(preds)]
    rest, hold = predicate_holdout(gold, n_hold, random.Random(seed))
    assert sorted(rest + hold) == list(range(len(gold)))
    trained = {p for i in rest for _, p, _ in gold[i]}
    unseen = {p for i in hold for _, p, _ in gold[i]} - trained
    assert all({p for _, p, _ in gold[i]} & unseen for i in hold)  # each states a predicate training lacks
    assert len(hold) <= max(n_hold * 1.25, n_hold + 1)
    if n_hold == 0:
        assert hold == []
    assert predicate_holdout(gold, n_hold, random.Random(seed)) == (rest, hold)


def _examples() -> list[Example]:
    """Sixty people, each in a text of where they live and one of where they work."""
    towns = [f"Town{j}" for j in range(8)]
    return [Example(f"Person{i} Smith {verb} {towns[(i + k) % 8]}.", ((f"Person{i}_Smith", pred, towns[(i + k) % 8]),))
            for i in range(60) for k, (pred, verb) in enumerate((("livesIn", "lives in"), ("worksIn", "works in")))]


def _more() -> list[Example]:
    """Texts of a third and a fourth predicate about forty other people."""
    return [Example(f"Other{i} Jones {verb} Club{i % 3}.", ((f"Other{i}_Jones", pred, f"Club{i % 3}"),))
            for i in range(40) for pred, verb in (("memberOf", "is a member of"), ("owns", "owns"))]


def test_the_held_out_part_is_a_predicates_and_training_never_reads_of_its_entities() -> None:
    examples = [*_examples(), *_more()]
    gold = gold_triples(examples, NS)
    saved, valid, rest, rest_gold, _ = _held_out(examples, gold, {**DEFAULTS, "holdout": 0.2}, random.Random(0))
    assert valid and saved is not None
    held_preds = {e.triples[0][1] for e in valid}
    assert len(held_preds) == 1 and not held_preds & {e.triples[0][1] for e in rest}
    about = {e.triples[0][0] for e in valid}
    assert not about & {name for e in rest for s, _, o in e.triples for name in (s, o)}
    assert len(rest) >= (len(examples) - len(valid)) / 2
    spoken = {" ".join(k) for k in learn_surface_forms(rest, rest_gold)[0].table}
    about_words = {a.replace("_", " ").lower() for a in about}
    assert not about_words & spoken  # training and validation do not know them
    assert about_words <= {" ".join(k) for k in saved.table}  # the saved model does


def test_the_entities_stay_readable_where_dropping_them_would_cost_half_the_data() -> None:
    examples = _examples()
    gold = gold_triples(examples, NS)
    _, valid, rest, _, about = _held_out(examples, gold, {**DEFAULTS, "holdout": 0.5}, random.Random(0))
    assert valid and len(valid) + len(rest) == len(examples)  # every person is in both predicates


def test_too_few_examples_hold_none_out() -> None:
    examples = _examples()[:30]
    gold = gold_triples(examples, NS)
    saved, valid, rest, _, _ = _held_out(examples, gold, dict(DEFAULTS), random.Random(0))
    assert saved is None and valid is None and rest == examples


FAST = {"model": "reader", "epochs": 2, "lr": 3e-3, "encoder_lr": 2e-4, "batch": 8, "tune_layers": 1,
        "max_tokens": 24, "holdout": 0.2, "seed": 0}


@pytest.mark.parametrize("refit", [True, False])
def test_the_reader_is_trained_again_on_every_example_once_validation_has_chosen(refit: bool) -> None:
    kb = KnowledgeBase(default_namespace=NS)
    for pred in ("livesIn", "worksIn", "memberOf", "owns"):
        kb.add(URIRef(NS + pred), RDF.type, RDF.Property)
    epochs: list[dict] = []
    model, metrics = train_model(kb, [*_examples(), *_more()], {**FAST, "refit": refit}, on_epoch=epochs.append)
    first = [e for e in epochs if "refit" not in e]
    again = [e for e in epochs if "refit" in e]
    assert first and all("valid_f1" in e for e in first)
    trained = {p.rsplit("/", 1)[-1] for p in model.predicates}
    if refit:  # every predicate trained, the held-out one too, for the epochs validation kept
        assert trained == {"livesIn", "worksIn", "memberOf", "owns"}
        assert [e["epoch"] for e in again] == list(range(1, refit_epochs(first) + 1))
        assert {e["refit"] for e in again} == {len(_examples()) + len(_more())} == {metrics["refit_examples"]}
        assert all("valid_f1" not in e for e in again) and metrics["history"][-len(again):] == again
        assert first[-1]["eta_seconds"] > 0  # the second training is still to come
    else:
        assert len(trained) < 4 and not again and "refit_examples" not in metrics
        assert first[-1]["eta_seconds"] == 0
    assert metrics["predicates"] == len(model.predicates) and "valid_f1" in metrics
