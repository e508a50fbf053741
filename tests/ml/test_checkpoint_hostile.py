"""Hostile checkpoints: an edited description, NaN weights, absurd sizes or calibrators are
refused with a LoadError naming the file, before anything of that size is allocated."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import nesy.ml.checkpoint as checkpoint
from nesy.errors import LoadError, NesyError
from nesy.linkpred.calibrate import MAX_PARAMETER, Calibrator
from nesy.linkpred.checkpoint import load_checkpoint, save_checkpoint
from nesy.linkpred.kge import get_model_class

torch.set_num_threads(1)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = get_model_class("distmult")(num_entities=10, num_relations=4, dim=8)
    save_checkpoint(tmp_path / "ckpt", model, {"calibrator": {"a": 2.0, "b": -1.0}})
    return tmp_path / "ckpt"


def edit(directory: Path, change, *, resign: bool) -> None:
    doc = json.loads((directory / "model.json").read_text())
    change(doc)
    if resign:
        doc[checkpoint.DOC_SHA] = checkpoint.description_digest(doc)
    (directory / "model.json").write_text(json.dumps(doc))


def test_the_description_is_covered_by_the_checksum(saved: Path) -> None:
    doc = json.loads((saved / "model.json").read_text())
    assert doc[checkpoint.DOC_SHA] == checkpoint.description_digest(doc)
    edit(saved, lambda d: d["meta"]["calibrator"].update(a=-1e308), resign=False)
    with pytest.raises(LoadError, match="edited or damaged") as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.json")


@pytest.mark.parametrize(("calibrator", "match"), [
    ({"a": -1e308, "b": 0.0}, "out of range"),
    ({"a": 1.0, "b": 2 * MAX_PARAMETER}, "out of range"),
    ({"a": "1", "b": 0.0}, "numeric"),
    ({"a": True, "b": 0.0}, "numeric"),
    ({"b": 0.0}, "numeric"),
])
def test_a_resigned_calibrator_out_of_range_is_refused(saved: Path, calibrator: dict, match: str) -> None:
    edit(saved, lambda d: d["meta"].update(calibrator=calibrator), resign=True)
    with pytest.raises(LoadError, match=match) as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.json")


def test_nan_or_infinity_in_the_json_is_refused(saved: Path) -> None:
    text = (saved / "model.json").read_text().replace('"a": 2.0', '"a": NaN')
    assert "NaN" in text
    (saved / "model.json").write_text(text)
    with pytest.raises(LoadError, match="corrupt checkpoint description.*NaN"):
        load_checkpoint(saved)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused_even_with_matching_checksums(saved: Path, bad: float) -> None:
    state = load_file(str(saved / "model.safetensors"))
    name = sorted(state)[0]
    state[name][0, 0] = bad
    save_file(state, str(saved / "model.safetensors"))
    digest = checkpoint.sha256_file(saved / "model.safetensors")
    edit(saved, lambda d: d.update(weights_sha256=digest), resign=True)
    with pytest.raises(LoadError, match="NaN or infinite") as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.safetensors") and name in str(err.value)


@pytest.mark.parametrize(("value", "match"), [
    (4e8, "not a whole number"), ("10", "not a whole number"), (True, "not a whole number"),
    (0, "not a whole number"), (-5, "not a whole number"), (2**40, "not a whole number"),
    (400_000_000, "do not belong together"),
])
def test_absurd_sizes_are_refused_before_allocating(saved: Path, value: object, match: str) -> None:
    edit(saved, lambda d: d["config"].update(num_entities=value), resign=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(LoadError, match=match) as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.json")
    assert time.perf_counter() - start < 2.0
    # 4e8 entities x 8 dims of float32 would be 12.8 GB; the refusal allocates nothing like it.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200_000  # KiB


def test_an_old_checkpoint_without_the_description_checksum_loads_only_when_valid(saved: Path) -> None:
    edit(saved, lambda d: d.pop(checkpoint.DOC_SHA), resign=False)
    model, meta = load_checkpoint(saved)
    assert model.num_entities == 10 and meta["calibrator"] == {"a": 2.0, "b": -1.0}
    edit(saved, lambda d: d["meta"]["calibrator"].update(a=-1e308), resign=False)
    with pytest.raises(LoadError, match="out of range"):
        load_checkpoint(saved)


def test_calibrator_ranges() -> None:
    assert Calibrator.from_dict({"a": 3, "b": -2.5}) == Calibrator(3.0, -2.5)
    for bad in ({"a": float("nan"), "b": 0}, {"a": 1, "b": float("inf")}, {"a": -1e13, "b": 0}):
        with pytest.raises(NesyError, match="out of range"):
            Calibrator.from_dict(bad)
