"""Hostile edits of a KB's own files (kb.json, vocabulary, id table, sources, saved rules,
the store) and of a trained checkpoint, and :func:`make_case`, which draws any kind of input.

The edits are made to a copy of the pristine KB before the command runs; the command must
then fail with a message (or recover), never with a traceback.
"""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

from chaos_inputs import (
    KIND_WEIGHTS,
    MODEL,
    OUTSIDE_PATHS,
    Case,
    bad_text,
    bit_flips,
    data_case,
    query_case,
    repl_case,
    rules_case,
    truncate,
)

#: Values a hostile edit puts in a JSON field.
HOSTILE_VALUES: list[Any] = [4e8, -1, 0, 1e308, -1e308, math.nan, math.inf, "x", "", None, [], {}, True,
                             2**70, "9" * 5000, [[[[[]]]]], {"a": -1e308, "b": 0.0}, "../../../etc/passwd"]

#: Commands run on an edited KB: read-only ones and the ones that rewrite derived data.
KB_COMMANDS = [
    ["stats", "{KB}"], ["stats", "{KB}", "--format", "json"], ["query", "{KB}", "?- fam:grandparent(X, Y)."],
    ["query", "{KB}", "SELECT * WHERE { ?s ?p ?o } LIMIT 5"], ["export", "{KB}", "{IN}/out.nt"],
    ["materialize", "{KB}"], ["explain", "{KB}", "fam:grandparent(fam:ann, fam:cid)"],
    ["check", "{KB}"], ["load", "{KB}", "{IN}/more.ttl"],
]

MODEL_COMMANDS = [
    ["query", "{KB}", "?- ~fam:parent(fam:ann, Y)."], ["predict", "{KB}", "--k", "3"],
    ["query", "{KB}", "?- ~fam:spouse(X, fam:bob)."],
]

MORE_TTL = b"<http://example.org/family#zed> <http://example.org/family#parent> <http://example.org/family#ann> .\n"


def edit_json(rng: random.Random, data: Any) -> Any:
    """``data`` with one field (at any depth) replaced, deleted or given a new hostile sibling."""
    if not isinstance(data, (dict, list)) or not data:
        return rng.choice(HOSTILE_VALUES)
    keys = list(data) if isinstance(data, dict) else list(range(len(data)))
    key = rng.choice(keys)
    op = rng.random()
    if op < 0.5 and isinstance(data[key], (dict, list)) and data[key]:
        data[key] = edit_json(rng, data[key])
    elif op < 0.85:
        data[key] = rng.choice(HOSTILE_VALUES)
    elif isinstance(data, dict):
        del data[key]
    else:
        data.append(rng.choice(HOSTILE_VALUES))
    return data


def json_variant(rng: random.Random, raw: bytes, special: list[tuple[list[str], Any]]) -> tuple[str, bytes]:
    """An edit of a JSON file: a known attack (``special``: key path and value), a random field
    edit, or a byte-level attack."""
    pick = rng.random()
    if pick < 0.3 and special:
        path, value = rng.choice(special)
        data = json.loads(raw)
        node = data
        for key in path[:-1]:
            node = node.setdefault(key, {}) if isinstance(node, dict) else node
        if isinstance(node, dict):
            node[path[-1]] = value
        return "json/" + ".".join(path), json.dumps(data).encode()
    if pick < 0.75:
        return "json/field", json.dumps(edit_json(rng, json.loads(raw))).encode()
    return bad_text(rng, raw)


def nan_weights(raw: bytes) -> bytes:
    """A safetensors file with every float32 of its tensors set to NaN (the header kept)."""
    (size,) = struct.unpack("<Q", raw[:8])
    start = 8 + size
    data = bytearray(raw)
    nan = struct.pack("<f", math.nan)
    for i in range(start, len(data) - 3, 4):
        data[i:i + 4] = nan
    return bytes(data)


def checkpoint_case(rng: random.Random, index: int, pristine: dict[str, bytes]) -> Case:
    base = f"models/{MODEL}/"
    meta, weights = pristine[base + "model.json"], pristine[base + "model.safetensors"]
    target = rng.choice(["json", "json", "weights"])
    if target == "json":
        special = [(["config", "num_entities"], 4e8), (["config", "num_entities"], -3), (["config", "dim"], 10**9),
                   (["meta", "calibrator"], {"a": -1e308, "b": 0.0}), (["meta", "calibrator"], {"a": math.nan}),
                   (["config", "model"], "os"), (["meta", "entity_ids"], list(range(10**5))),
                   (["format"], "pickle"), (["meta", "entity_fingerprint"], "0" * 64)]
        variant, body = json_variant(rng, meta, special)
        edits: dict[str, bytes | None] = {base + "model.json": body}
    else:
        pick = rng.choice(["nan", "bitflip", "truncate", "delete", "header"])
        if pick == "nan":
            body2: bytes | None = nan_weights(weights)
        elif pick == "bitflip":
            body2 = bit_flips(rng, weights)
        elif pick == "truncate":
            body2 = truncate(rng, weights)
        elif pick == "delete":
            body2 = None
        else:
            body2 = struct.pack("<Q", rng.choice([2**63, 10**9, 0, 3])) + weights[8:]
        variant, edits = f"weights/{pick}", {base + "model.safetensors": body2}
    args = rng.choice(MODEL_COMMANDS)
    return Case(index, "checkpoint", variant, list(args), edits=edits, read_only=args[0] == "query")


def kbfile_case(rng: random.Random, index: int, pristine: dict[str, bytes]) -> Case:
    """An edit of one of the KB's files (chosen among those the pristine KB has)."""
    names = sorted(n for n in pristine if not n.startswith("models/") and not n.endswith(("LOCK", "LOG"))
                   and "/LOG.old" not in n)
    name = rng.choice(names) if rng.random() < 0.4 else rng.choice(
        [n for n in names if n in ("kb.json", "vocab.nt", "sources.jsonl", "triples.npz") or n.startswith("rules/")]
        or names)
    raw = pristine[name]
    if name.endswith(".json"):
        special = [(["trusted_plugins"], ["os"]), (["trusted_plugins"], ["tests.extract_plugin"]),
                   (["semiring"], "nosuch"), (["version"], 999), (["prefixes"], {"x": 5}),
                   (["default_namespace"], "not an iri"), (["max_facts"], -1), (["timeout"], "soon")]
        special += [(["rules"], [{"file": p, "copy": p, "kind": "derived", "trust": True}]) for p in OUTSIDE_PATHS[:4]]
        variant, body = json_variant(rng, raw, special)
    elif rng.random() < 0.15:
        variant, body = "delete", None
    elif name.endswith((".nt", ".jsonl", ".rules")) and rng.random() < 0.4:
        variant, body = torn_lines(rng, raw)
    else:
        variant, body = bad_text(rng, raw)
    return Case(index, "kbfile", f"{name.split('/')[0] if '/' in name else name}/{variant}",
                list(rng.choice(KB_COMMANDS)), files={"more.ttl": MORE_TTL}, edits={name: body})


def torn_lines(rng: random.Random, raw: bytes) -> tuple[str, bytes]:
    """A line-based file with a torn last line, a line dropped, a line repeated or two swapped."""
    lines = raw.splitlines(keepends=True) or [b"\n"]
    what = rng.choice(["torn", "drop", "repeat", "swap"])
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    if what == "torn":
        lines[-1] = lines[-1][: max(len(lines[-1]) // 2, 1)].rstrip(b"\n")
    elif what == "drop":
        del lines[i]
    elif what == "repeat":
        lines.insert(i, lines[i])
    else:
        lines[i], lines[j] = lines[j], lines[i]
    return f"lines/{what}", b"".join(lines)


def make_case(seed: int, index: int, pristine: dict[str, bytes]) -> Case:
    """Input number ``index`` of campaign ``seed`` (``pristine``: the pristine KB's files by
    relative path, for the kinds that edit them)."""
    rng = random.Random(f"{seed}:{index}")
    kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
    if kind == "checkpoint":
        return checkpoint_case(rng, index, pristine)
    if kind == "kbfile":
        return kbfile_case(rng, index, pristine)
    return {"data": data_case, "rules": rules_case, "query": query_case, "repl": repl_case}[kind](rng, index)
