"""The WebNLG 2020 leave-categories-out split: whole categories held out, kept as entry ids.

The WebNLG 2020 *test* set scores systems on categories (and entities) that training never
showed; its dev set does not (99% of dev triples occur in train). To measure the same on
the data we have, this split pools WebNLG 2020 *train* and *dev* entries and holds out
whole categories, chosen at random with a fixed seed:

- ``test``: 4 categories, never used for any choice (the figure to report);
- ``valid``: 2 other categories, on which settings and the threshold are chosen;
- ``train``: the entries of the remaining 10 categories.

Usage (from the repository root; rewrites ``benchmarks/splits/webnlg_lco.json``)::

    .venv/bin/python benchmarks/webnlg_split.py --data ../shared/data/text/webnlg

An entry's id is ``<part>/<N>triples/<file>#<eid>`` (``train/2triples/Airport.xml#Id7``);
:func:`load_split` reads the ids back into :class:`~nesy.text.webnlg.Example` lists (one
example per English text of an entry).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
SPLIT_FILE = ROOT / "splits" / "webnlg_lco.json"
SEED, N_TEST, N_VALID = 21, 4, 2


def entry_categories(root: Path) -> dict[str, str]:
    """Every entry id of ``root/train`` and ``root/dev`` with its category."""
    out: dict[str, str] = {}
    for part in ("train", "dev"):
        for path in sorted((root / part).rglob("*.xml")):
            rel = path.relative_to(root).as_posix()
            for entry in ET.parse(path).getroot().iter("entry"):
                out[f"{rel}#{entry.get('eid')}"] = entry.get("category", "?")
    return out


def make_split(root: Path, seed: int = SEED, n_test: int = N_TEST, n_valid: int = N_VALID) -> dict[str, Any]:
    """Hold out ``n_test`` + ``n_valid`` whole categories, drawn with ``seed``."""
    cats = entry_categories(root)
    names = sorted(set(cats.values()))
    drawn = random.Random(seed).sample(names, n_test + n_valid)
    test, valid = sorted(drawn[:n_test]), sorted(drawn[n_test:])
    part = {c: "test" if c in test else "valid" if c in valid else "train" for c in names}
    ids: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for eid, cat in sorted(cats.items()):
        ids[part[cat]].append(eid)
    return {"about": "WebNLG 2020 train+dev, whole categories held out (benchmarks/webnlg_split.py)",
            "seed": seed, "test_categories": test, "valid_categories": valid,
            "train_categories": sorted(c for c in names if part[c] == "train"),
            "counts": {k: len(v) for k, v in ids.items()}, **ids}


def load_split(root: Path, split_file: Path = SPLIT_FILE) -> dict[str, list[Any]]:
    """``{"train": [...], "valid": [...], "test": [...]}`` examples of the split's entries,
    each with the category in front of its source (``Airport:train/...#Id1/Id1``)."""
    from nesy.text.webnlg import Example, read_webnlg

    split = json.loads(Path(split_file).read_text(encoding="utf-8"))
    where = {eid: name for name in ("train", "valid", "test") for eid in split[name]}
    cats = entry_categories(root)
    out: dict[str, list[Any]] = {"train": [], "valid": [], "test": []}
    for part in ("train", "dev"):
        for path in sorted((root / part).rglob("*.xml")):
            rel = path.relative_to(root).as_posix()
            for e in read_webnlg(path):
                eid = f"{rel}#{e.source.rsplit('#', 1)[1].split('/')[0]}"
                if eid in where:
                    out[where[eid]].append(Example(e.text, e.triples, f"{cats[eid]}:{eid}"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the WebNLG 2020 folder (train/ and dev/)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=SPLIT_FILE)
    args = parser.parse_args(argv)
    split = make_split(args.data, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(split, indent=0) + "\n", encoding="utf-8")
    print(f"{args.out}: test {split['test_categories']}, valid {split['valid_categories']}, "
          f"entries {split['counts']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
