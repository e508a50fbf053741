"""Write the link-prediction example: family trees as TSV train/valid/test splits.

Twelve families of three generations. Every relation has a pattern a model can learn
from the others: ``child_of`` is the inverse of ``parent_of``, ``spouse_of`` and
``sibling_of`` are symmetric, ``grandparent_of`` composes ``parent_of``. One in ten of the
non-``parent_of`` triples is held out (half validation, half test). Run from this
directory: ``python generate.py`` (deterministic: seed 7).
"""

from __future__ import annotations

import random
from pathlib import Path


def families(rng: random.Random, count: int = 12) -> list[tuple[str, str, str]]:
    triples: list[tuple[str, str, str]] = []
    n = 0

    def person() -> str:
        nonlocal n
        n += 1
        return f"p{n}"

    def couple_with_children(a: str, b: str, k: int) -> list[str]:
        triples.extend([(a, "spouse_of", b), (b, "spouse_of", a)])
        kids = [person() for _ in range(k)]
        for kid in kids:
            for parent in (a, b):
                triples.extend([(parent, "parent_of", kid), (kid, "child_of", parent)])
        for x in kids:
            triples.extend((x, "sibling_of", y) for y in kids if y != x)
        return kids

    for _ in range(count):
        g1a, g1b = person(), person()
        for kid in couple_with_children(g1a, g1b, rng.randint(2, 3)):
            grandkids = couple_with_children(kid, person(), rng.randint(1, 3))
            for g in grandkids:
                triples.extend([(g1a, "grandparent_of", g), (g1b, "grandparent_of", g)])
    return triples


def main() -> None:
    rng = random.Random(7)
    triples = families(rng)
    held = [t for t in triples if t[1] != "parent_of"]
    rng.shuffle(held)
    k = len(held) // 20
    valid, test = set(held[:k]), set(held[k:2 * k])
    here = Path(__file__).parent
    for name, rows in (("train", [t for t in triples if t not in valid and t not in test]),
                       ("valid", sorted(valid)), ("test", sorted(test))):
        (here / f"{name}.tsv").write_text("".join("\t".join(t) + "\n" for t in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
