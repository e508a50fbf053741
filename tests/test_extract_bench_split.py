"""benchmarks/extract.py's leave-categories-out data: the held-out categories are never trained
or validated on, and development scores one half of the validation entries while the other
half validates."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import extract as bench  # noqa: E402

HELD_OUT = {"CelestialBody", "City", "Monument", "University"}
VALID = {"Building", "MeanOfTransportation"}


def _cats(examples: list) -> set[str]:
    return {bench.category(e.source) for e in examples}


def test_lco_scores_only_the_held_out_categories(shared_data: Path) -> None:
    root = bench.webnlg_dir(shared_data)
    spec = {"score_on": "test", "validate_on": "categories", "max_valid_texts": 1000, "max_test_texts": None}
    train, valid, test = bench.load_data("lco", root, spec)
    assert valid is not None and len(valid) == 1000
    assert _cats(test) == HELD_OUT
    assert _cats(valid) == VALID
    assert len(_cats(train)) == 10 and not _cats(train) & (HELD_OUT | VALID)


def test_lco_development_halves_the_validation_entries(shared_data: Path) -> None:
    root = bench.webnlg_dir(shared_data)
    spec = {"score_on": "valid", "validate_on": "categories", "max_valid_texts": 100_000, "max_test_texts": None}
    train, valid, scored = bench.load_data("lco", root, spec)
    assert valid is not None
    assert _cats(valid) == _cats(scored) == VALID
    assert not {e.source for e in valid} & {e.source for e in scored}
    assert not _cats(train) & (HELD_OUT | VALID)
    assert abs(len({e.source for e in valid}) - len({e.source for e in scored})) <= 1


def test_lco_validated_as_extract_train_does_without_valid(shared_data: Path) -> None:
    root = bench.webnlg_dir(shared_data)
    spec = {"score_on": "test", "max_valid_texts": 1000, "max_test_texts": None}  # the default: holdout
    train, valid, test = bench.load_data("lco", root, spec)
    assert valid is None  # train_extractor holds out texts of the training categories itself
    assert _cats(test) == HELD_OUT and not _cats(train) & (HELD_OUT | VALID)


def test_each_scored_text_goes_to_the_extractor_as_its_sentences() -> None:
    from nesy.text.webnlg import Example

    texts = ["Alan B. Miller Hall is in Virginia. It was built in 2009.", "One sentence only"]
    docs = bench.sentence_docs([Example(t, ()) for t in texts])
    assert [[s.doc for s in d] for d in docs] == [["t0", "t0"], ["t1"]]
    assert [[s.text for s in d] for d in docs][0] == ["Alan B. Miller Hall is in Virginia.", "It was built in 2009."]
    assert all(texts[i][s.start:s.start + len(s.text)] == s.text for i, d in enumerate(docs) for s in d)
