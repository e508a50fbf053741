"""Where a saved reader loses the reference triples of WebNLG texts: names, predicates, decoding.

Usage (from the repository root)::

    .venv/bin/python benchmarks/extract.py --data ../shared/data/text/webnlg --splits lco --configs text \\
        --score-on valid --keep-model /tmp/readers
    .venv/bin/python benchmarks/extract_losses.py --data ../shared/data/text/webnlg --model /tmp/readers/lco-text

A development aid, not a score: it loads the model (``nesy extract-train`` writes one too)
into a store built as ``benchmarks/extract.py`` builds it (the split's training triples,
every WebNLG property declared), runs the reader over the scored texts of the leave-categories-out
split (``--score-on valid``, the default: the half of the validation categories that
``extract.py --score-on valid`` scores) and counts every reference triple at the first stage
it is lost at (:mod:`nesy.text.losses`), then why reference names are missing, how often a
found pair's reference predicate comes first, and the commonest confusions; last, it extracts
as ``extract.py`` does and sorts the false triples (another predicate, a name cut or grown...).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import bench_parser, machine_line  # noqa: E402
from extract import NS, extract_all, load_data, make_store, sentence_docs, webnlg_dir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--model", type=Path, required=True, help="a saved reader's directory")
    parser.add_argument("--score-on", default="valid", choices=["valid", "test"],
                        help="the validation half (default) or the held-out test categories")
    parser.add_argument("--max-valid-texts", type=int, default=1000, help="as extract.py's (it fixes the sample)")
    parser.add_argument("--max-test-texts", type=int, default=1500, help="scored texts, a random sample")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)
    import torch

    from nesy.text.extract import get_extractor
    from nesy.text.losses import false_table, reader_losses, table
    from nesy.text.webnlg import normalise_triple

    torch.set_num_threads(args.threads)
    root = webnlg_dir(args.data)
    spec = {"score_on": args.score_on, "max_valid_texts": args.max_valid_texts, "max_test_texts": args.max_test_texts}
    train, _, scored = load_data("lco", root, spec)
    with tempfile.TemporaryDirectory() as tmp:
        kb = make_store(train, root, Path(tmp))
        extractor = get_extractor(kb, model_dir=args.model)
        if extractor.name != "reader":
            parser.error(f"{args.model} holds a {extractor.name!r} model; this counts the reader's losses")
        keys = [{normalise_triple(t) for t in e.triples} for e in scored]
        losses = reader_losses(extractor, [e.text for e in scored], keys, NS)
        got, _, _ = extract_all(extractor, kb, sentence_docs(scored), len(scored))
    which = "the validation half" if args.score_on == "valid" else "the held-out test categories"
    print(f"{args.model}, {which}")
    print()
    print(table(losses))
    print()
    print(false_table(got, keys))
    print()
    print(machine_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
