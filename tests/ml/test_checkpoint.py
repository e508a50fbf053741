"""Checkpoints: a round trip scores identically; bad input is a NesyError and destroys nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

import nesy.ml.checkpoint as checkpoint
from nesy.errors import LoadError, NesyError
from nesy.linkpred.checkpoint import load_checkpoint, save_checkpoint
from nesy.linkpred.kge import get_model_class, model_names

torch.set_num_threads(1)

E, R2 = 12, 4
EDGES = torch.tensor([[0, 0, 1], [1, 1, 2], [2, 0, 3], [5, 1, 7]])


def build(name: str = "complex", seed: int = 0, dim: int = 8) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = get_model_class(name)(num_entities=E, num_relations=R2, dim=dim)
    model.set_graph(EDGES)
    return model.eval()


def all_scores(model: torch.nn.Module) -> torch.Tensor:
    h = torch.arange(E).repeat_interleave(R2)
    r = torch.arange(R2).repeat(E)
    with torch.no_grad():
        return model.score_t(h, r)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    save_checkpoint(tmp_path / "ckpt", build(), {"best_valid_mrr": 0.5})
    return tmp_path / "ckpt"


@pytest.mark.parametrize("name", model_names())
def test_round_trip_scores_identically(tmp_path: Path, name: str) -> None:
    model = build(name)
    meta = {"history": [{"epoch": 5, "loss": 1.5, "valid_mrr": 0.25}], "calibrator": None}
    assert save_checkpoint(tmp_path / "c", model, meta) == tmp_path / "c"
    loaded, meta_back = load_checkpoint(tmp_path / "c")
    assert type(loaded) is type(model) and not loaded.training
    assert loaded.config() == model.config()
    assert torch.equal(all_scores(loaded), all_scores(model))
    assert meta_back["history"] == meta["history"] and "created" in meta_back
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["model.json",
                                                                  "model.safetensors"]


def test_grown_model_round_trips(tmp_path: Path) -> None:
    model = build()
    model.add_entities([[0, 1], []])
    save_checkpoint(tmp_path, model, {})
    loaded, _ = load_checkpoint(tmp_path)
    assert loaded.num_entities == E + 2
    assert torch.equal(loaded.score_t(torch.tensor([E + 1]), torch.tensor([0])),
                       model.score_t(torch.tensor([E + 1]), torch.tensor([0])))


def test_save_replaces_an_older_checkpoint(saved: Path) -> None:
    save_checkpoint(saved, build(seed=1), {"best_valid_mrr": 0.75})
    loaded, meta = load_checkpoint(saved)
    assert meta["best_valid_mrr"] == 0.75
    assert torch.equal(all_scores(loaded), all_scores(build(seed=1)))


def test_failed_weights_write_changes_nothing(saved: Path, monkeypatch) -> None:
    before = snapshot(saved)

    def broken(state: dict, path: str) -> None:
        Path(path).write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("safetensors.torch.save_file", broken)
    with pytest.raises(NesyError, match="No space left") as err:
        save_checkpoint(saved, build(seed=1), {"best_valid_mrr": 0.75})
    assert err.value.file == str(saved)
    assert snapshot(saved) == before  # no temporaries left behind either


def test_unserialisable_meta_changes_nothing(saved: Path) -> None:
    before = snapshot(saved)
    with pytest.raises(NesyError, match="JSON-serialisable"):
        save_checkpoint(saved, build(seed=1), {"when": object()})
    with pytest.raises(NesyError, match="JSON-serialisable"):
        save_checkpoint(saved, build(seed=1), {"mrr": float("nan")})
    assert snapshot(saved) == before


def test_a_torn_save_is_detected(saved: Path, monkeypatch) -> None:
    real = os.replace

    def fail_on_json(src: str, dst: object) -> None:
        if str(dst).endswith("model.json"):
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", fail_on_json)
    with pytest.raises(NesyError):
        save_checkpoint(saved, build(seed=1), {})
    monkeypatch.undo()
    with pytest.raises(LoadError, match="do not match model.json") as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.safetensors")


def test_directory_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(NesyError) as err:
        save_checkpoint(tmp_path / "f", build(), {})
    assert err.value.file == str(tmp_path / "f")
    with pytest.raises(LoadError, match="not a directory"):
        load_checkpoint(tmp_path / "f")


@pytest.mark.parametrize("missing", ["model.json", "model.safetensors"])
def test_missing_file(saved: Path, missing: str) -> None:
    (saved / missing).unlink()
    with pytest.raises(LoadError, match=f"{missing} is missing") as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / missing)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as err:
        load_checkpoint(tmp_path / "nowhere")
    assert err.value.file == str(tmp_path / "nowhere")


def rewrite_json(directory: Path, change) -> None:
    """Edit model.json and re-sign it, as someone who can edit the files can: what is
    behind the checksum must still be validated."""
    doc = json.loads((directory / "model.json").read_text())
    change(doc)
    doc[checkpoint.DOC_SHA] = checkpoint.description_digest(doc)
    (directory / "model.json").write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["config"].update(model="nope"), "unknown (link-prediction|kge) model 'nope'"),
        (lambda d: d["config"].update(bogus=1), "bogus"),
        (lambda d: d.update(format="something-else"), "not a nesy checkpoint description"),
        (lambda d: d.update(version=99), "version 99"),
        (lambda d: d.pop("config"), "config/meta"),
    ],
)
def test_bad_description(saved: Path, change, message: str) -> None:
    rewrite_json(saved, change)
    with pytest.raises(LoadError, match=message) as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.json")


def test_corrupt_json(saved: Path) -> None:
    (saved / "model.json").write_text('{"format": "nesy-kge-checkpoint", ')
    with pytest.raises(LoadError, match="corrupt checkpoint description") as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.json")


def test_corrupt_weights(saved: Path) -> None:
    (saved / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(LoadError, match="do not match") as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.safetensors")
    # Even when the recorded checksum agrees, bad bytes are a LoadError, not a crash.
    digest = checkpoint.sha256_file(saved / "model.safetensors")
    rewrite_json(saved, lambda d: d.update(weights_sha256=digest))
    with pytest.raises(LoadError, match="corrupt weights") as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.safetensors")


def test_shape_mismatch(saved: Path) -> None:
    rewrite_json(saved, lambda d: d["config"].update(dim=16))
    with pytest.raises(LoadError, match="size mismatch") as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.safetensors")


def test_weights_of_another_model(saved: Path) -> None:
    rewrite_json(saved, lambda d: d["config"].update(model="distmult"))
    with pytest.raises(LoadError, match="'distmult'") as err:
        load_checkpoint(saved)
    assert err.value.file == str(saved / "model.safetensors")


def test_never_unpickles() -> None:
    import nesy.linkpred.checkpoint as kge_checkpoint

    for module in (checkpoint, kge_checkpoint):
        source = Path(module.__file__).read_text()
        assert "torch.load" not in source and "pickle" not in source
