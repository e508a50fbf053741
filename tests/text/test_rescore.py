"""The re-scorer: its logistic fit recovers a known relation, and the features of a hand-made
text's decoded candidates are what decoding and the store say of them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nesy.text.extract_model import TextFeatures, decode_logits
from nesy.text.rescore import (
    CAP,
    FEATURES,
    LEFT_OUT,
    apply,
    candidate_features,
    fit,
    rescored,
    term_words,
)

DATE = '"2009-03-22"^^<http://www.w3.org/2001/XMLSchema#date>'
NUM = '"28.0"^^<http://www.w3.org/2001/XMLSchema#decimal>'


def test_fit_recovers_the_weights_of_a_logistic_relation() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6000, len(FEATURES), generator=g)
    w = torch.randn(len(FEATURES), generator=g)
    y = (torch.rand(6000, generator=g) < torch.sigmoid(x @ w - 1.0)).float()
    w[[FEATURES.index(f) for f in LEFT_OUT]] = 0.0
    got = fit(x, y)
    assert got["features"] == list(FEATURES)
    assert float((torch.tensor(got["weights"]) - w).abs().max()) < 0.25 and abs(got["bias"] + 1.0) < 0.15
    assert torch.allclose(apply(got, x), x @ torch.tensor(got["weights"]) + got["bias"])
    # Known entities say more where training knew the names than on new text: left out, even
    # where they would decide.
    y = (x[:, FEATURES.index("subject_known")] > 0).float()
    assert [got_w for f, got_w in zip(FEATURES, fit(x, y)["weights"], strict=True) if f in LEFT_OUT] == [0.0, 0.0]
    # One class only: finite weights, the bias on that side.
    assert fit(x[:50], torch.ones(50))["bias"] > 3 and fit(x[:50], torch.zeros(50))["bias"] < -3


def _near(values: list[float]) -> object:
    return pytest.approx(values, abs=1e-6)  # float32 features


def _text() -> tuple[TextFeatures, str]:
    """ "Acme Hall, in Paris, opened on 22 March 2009 and is 28 metres tall; Bob Ray owns it."
    Nodes: 0 Acme Hall (new), 1 Paris (known), 2 the date, 3 the height, 4 Bob Ray (known)."""
    terms = ["?Acme Hall", "<http://x/Paris>", DATE, NUM, "<http://x/Bob_Ray_Jr_The_Third_Of_Kent>"]
    nodes = np.array([[1, 3], [4, 5], [8, 11], [14, 16], [18, 20]])
    pairs = np.array([[0, 1], [0, 2], [0, 3], [4, 0], [1, 2]])
    return TextFeatures(torch.zeros(21, 4), nodes, terms, [0, 1, 2, 3, 4], pairs), "x" * 99


def test_the_features_of_decoded_candidates() -> None:
    f, text = _text()
    # Predicates: 0 location, 1 opening date, 2 height (trained), 3 owner (not trained: n_known = 3).
    z = torch.tensor([[2.0, -3.0, -4.0, -1.0],   # Acme Hall -> Paris: location, 3 ahead of owner
                      [-5.0, 1.0, -5.0, -5.0],   # Acme Hall -> date: opening date
                      [-6.0, -6.0, 0.5, 0.0],    # Acme Hall -> height, 0.5 ahead of owner
                      [-2.0, -3.0, -3.0, 1.5],   # Bob Ray -> Acme Hall: owner (untrained)
                      [-4.0, -0.5, -4.0, -4.0]])  # Paris -> date: loses the date to Acme Hall
    config = {"one_per_object": True, "repeat_penalty": 1.0}
    decoded = decode_logits(z, [f], 3, 0.0, config)
    idx, x = candidate_features(z, decoded, [f], [text], 3, None)
    assert idx.tolist() == [[0, 0], [1, 1], [2, 2], [3, 3]]  # Paris's claim on the date is gone
    row = {FEATURES[j]: x[:, j].tolist() for j in range(len(FEATURES))}
    assert row["logit"] == [2.0, 1.0, 0.5, 1.5]
    assert row["pair_margin"] == [3.0, CAP, 0.5, 3.5]
    assert row["object_margin"] == [CAP, 1.5, CAP, CAP]  # the date: 1.0 against Paris's -0.5
    assert row["seen"] == [1, 1, 1, 0] and row["seen_logit"] == [2.0, 1.0, 0.5, 0.0]
    assert row["number"] == [0, 0, 1, 0] and row["date"] == [0, 1, 0, 0]
    assert row["repeat"] == [0, 0, 0, 0]
    assert row["main_subject"] == [1, 1, 1, 0] and row["subject_objects"] == _near([math.log(3)] * 3 + [0.0])
    assert row["subject_known"] == [0, 0, 0, 1] and row["object_known"] == [1, 0, 0, 0]
    assert row["subject_long"] == [0, 0, 0, 1] and row["object_long"] == [0, 0, 0, 0]
    assert row["log_candidates"] == _near([math.log(4)] * 4) and row["log_chars"] == _near([math.log(99)] * 4)
    assert row["subject_first"] == [1, 1, 1, 0]
    assert row["log_distance"] == _near([math.log1p(3), math.log1p(7), math.log1p(13), math.log1p(17)])
    # Without a re-scorer decoding is as it was; with one its logits replace the candidates'.
    assert rescored(None, z, [f], [text], 3, 0.0, decoded, None) is decoded
    flat = {"features": list(FEATURES), "weights": [0.0] * len(FEATURES), "bias": 7.0}
    out = rescored(flat, z, [f], [text], 3, 0.0, decoded, None)
    assert out[idx[:, 0], idx[:, 1]].tolist() == [7.0] * 4 and torch.isinf(out[4]).all()


def test_a_subject_s_second_object_of_a_predicate_is_marked() -> None:
    f, text = _text()
    z = torch.full((5, 4), -6.0)
    z[0, 0], z[3, 0] = 2.0, 1.0  # location of Acme Hall (Paris) and of Bob Ray (Acme Hall)
    z[1, 0] = 0.5                 # and of Acme Hall again (the date): its second location
    decoded = decode_logits(z, [f], 3, 0.0, {"one_per_object": True, "repeat_penalty": 1.0})
    idx, x = candidate_features(z, decoded, [f], [text], 3, None)
    repeat = dict(zip(map(tuple, idx.tolist()), x[:, FEATURES.index("repeat")].tolist(), strict=True))
    assert repeat[(1, 0)] == 1.0 and repeat[(0, 0)] == 0.0


def test_term_words() -> None:
    assert term_words("<http://dbpedia.org/resource/Abarth_1000_GT_Coup%C3%A9>") == "abarth 1000 gt coupé"
    assert term_words("?Alan B. Miller  Hall") == "alan b. miller hall"
    assert term_words(NUM) == "28.0" and term_words("<http://x/y#Some_Thing>") == "some thing"
