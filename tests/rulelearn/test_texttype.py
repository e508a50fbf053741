"""The rules + entity text hybrid: relation domains and ranges learned from labels on one graph
order, on a graph of new entities, the answers no rule reaches (``nesy learn --text``,
``nesy eval --rules --text``); the model file is safetensors and a bad one is refused."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from nesy.errors import NesyError  # noqa: E402
from nesy.rulelearn.texttype import TextTyping, fit_typing, typing_labels  # noqa: E402

NS = "http://town.org/"
FIRST = ["Alice", "Bruno", "Chen", "Dana", "Emeka", "Fatima", "Goran", "Hana", "Ivan", "Juno", "Kofi", "Lena"]
CITIES = ["Leeds", "Porto", "Osaka", "Lagos", "Quito", "Turku", "Perth", "Cusco", "Dakar", "Hanoi", "Split"]
FIRMS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Wonka", "Stark", "Tyrell"]


def test_typing_learns_which_entities_fit_a_relation() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(60, 8)).astype(np.float32)
    kind = vectors[:, 0] > 0  # the "text" says which entities are places
    people, places = np.flatnonzero(~kind), np.flatnonzero(kind)
    triples = np.array([[p, 0, places[i % len(places)]] for i, p in enumerate(people)]
                       + [[people[i % len(people)], 0, q] for i, q in enumerate(places)], dtype=np.int64)
    weight, bias = fit_typing(vectors, typing_labels(triples, 60, 1), steps=200)
    logits = vectors @ weight + bias
    assert (logits[places, 0] > 0).mean() > 0.9 and (logits[people, 0] < 0).mean() > 0.9  # ranges
    assert (logits[people, 1] > 0).mean() > 0.9 and (logits[places, 1] < 0).mean() > 0.9  # domains


def test_model_files_round_trip_and_bad_ones_are_refused(tmp_path: Path) -> None:
    model = TextTyping(["http://x/r"], np.ones((4, 2), np.float32), np.zeros(2, np.float32), mix=0.03)
    model.save(tmp_path / "m.text.safetensors")
    back = TextTyping.load(tmp_path / "m.text.safetensors")
    assert back.relations == ["http://x/r"] and back.mix == 0.03 and np.array_equal(back.weight, model.weight)
    (tmp_path / "junk").write_bytes(b"\x00" * 64)
    with pytest.raises(NesyError, match="not a text model"):
        TextTyping.load(tmp_path / "junk")
    TextTyping(["a", "b"], np.ones((4, 2), np.float32), np.zeros(2, np.float32)).save(tmp_path / "bad")
    with pytest.raises(NesyError, match="do not fit"):
        TextTyping.load(tmp_path / "bad")


def _town(prefix: str, seed: int) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]],
                                           dict[str, str]]:
    """People work for firms located in cities; half live where their firm is, half in a city
    no path leads to. Labels say what each entity is; entity names start with ``prefix``."""
    rng = random.Random(seed)
    labels, facts, lives = {}, [], []
    cities = [f"{prefix}c{i}" for i in range(len(CITIES))]
    firms = [f"{prefix}f{i}" for i in range(len(FIRMS))]
    for i, c in enumerate(cities):
        labels[c] = f"the city of {CITIES[(i + seed) % len(CITIES)]}"
    for i, f in enumerate(firms):
        labels[f] = f"{FIRMS[(i + seed) % len(FIRMS)]} Corporation, a company"
        facts.append((f, "locatedIn", rng.choice(cities)))
    where = dict((f, c) for f, _, c in facts)
    for i in range(70):
        p = f"{prefix}p{i}"
        labels[p] = f"{FIRST[i % len(FIRST)]}, a person"
        firm = rng.choice(firms)
        facts.append((p, "worksFor", firm))
        lives.append((p, "livesIn", where[firm] if rng.random() < 0.5 else rng.choice(cities)))
    return facts, lives, labels


def _kb(d: Path, name: str, rows: list[tuple[str, str, str]], labels: dict[str, str]) -> Path:
    (d / f"{name}.tsv").write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    (d / f"{name}.nt").write_text("".join(f'<{NS}{e}> <http://www.w3.org/2000/01/rdf-schema#label> '
                                          f'{json.dumps(t)} .\n' for e, t in labels.items()), encoding="utf-8")
    for args in (("init", str(d / name), "--namespace", NS), ("load", str(d / name), str(d / f"{name}.tsv")),
                 ("load", str(d / name), str(d / f"{name}.nt"))):
        assert _nesy(*args).returncode == 0
    return d / name


def _nesy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_text_orders_what_the_rules_leave_tied_on_new_entities(tmp_path: Path) -> None:
    facts_a, lives_a, labels_a = _town("a", 1)
    facts_b, lives_b, labels_b = _town("b", 2)
    a = _kb(tmp_path, "A", facts_a + lives_a[:55], labels_a)
    (tmp_path / "valid.tsv").write_text("".join("\t".join(r) + "\n" for r in lives_a[55:]), encoding="utf-8")
    b = _kb(tmp_path, "B", facts_b + lives_b[:40], labels_b)
    (tmp_path / "test.tsv").write_text("".join("\t".join(r) + "\n" for r in lives_b[40:]), encoding="utf-8")
    out = tmp_path / "r.rules"
    r = _nesy("learn", str(a), "--out", str(out), "--valid", str(tmp_path / "valid.tsv"), "--text")
    assert r.returncode == 0, r.stderr
    assert "entity text" in r.stdout and (tmp_path / "r.rules.text.safetensors").is_file()
    got = {}
    for extra in ((), ("--text",)):
        r = _nesy("eval", str(b), "--test", str(tmp_path / "test.tsv"), "--rules", str(out), "--negatives", "50",
                  "--format", "json", *extra)
        assert r.returncode == 0, r.stderr
        got[extra] = json.loads(r.stdout)
    assert got[("--text",)]["model"] == "rules + entity text"
    # Half the test people live where no rule leads: ranked among 50 random entities they tie
    # with people and firms unless the text says which entities are cities.
    assert got[("--text",)]["hits@10"] >= got[()]["hits@10"] + 0.1, got  # measured: 0.60 -> 0.78
    bare = tmp_path / "bare.rules"  # the same rules without their text model
    bare.write_text(out.read_text(encoding="utf-8"), encoding="utf-8")
    r = _nesy("eval", str(b), "--test", str(tmp_path / "test.tsv"), "--rules", str(bare), "--text")
    assert r.returncode != 0 and "nesy learn --text" in r.stderr and "Traceback" not in r.stderr
    # Loading the learned file says which semiring its weights are for.
    r = _nesy("rules", str(b), str(out))
    assert r.returncode == 0 and "weighted for the noisyor-rules semiring" in r.stdout, r.stdout + r.stderr
