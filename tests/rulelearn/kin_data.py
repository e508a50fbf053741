"""Test data for rule learning: small families generated from two known rules."""

from __future__ import annotations

import random
from pathlib import Path


def families(seed: int = 0, count: int = 14) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Base facts (parent, brother) and derived ones from two known rules:
    grandparent(X, Z) :- parent(X, Y), parent(Y, Z).   uncle(X, Z) :- brother(X, Y), parent(Y, Z)."""
    rng = random.Random(seed)
    base, derived = [], []
    n = 0
    for _ in range(count):
        g = [f"p{n}", f"p{n + 1}"]
        n += 2
        kids = [f"p{n + i}" for i in range(rng.randint(2, 4))]
        n += len(kids)
        male = {k: rng.random() < 0.5 for k in kids}
        children = {}
        for k in kids:
            base += [(x, "parent", k) for x in g]
            base += [(k, "brother", o) for o in kids if o != k and male[k]]
            children[k] = [f"p{n + i}" for i in range(rng.randint(0, 2))]
            n += len(children[k])
            base += [(k, "parent", c) for c in children[k]]
            derived += [(x, "grandparent", c) for x in g for c in children[k]]
        derived += [(k, "uncle", c) for k in kids if male[k] for o in kids if o != k for c in children[o]]
    return base, derived


def tsv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path
