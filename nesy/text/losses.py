"""Where the reader loses reference triples (a name not found, another predicate first, decoding, the threshold) and what its false triples are.

A development aid for held-out texts (``benchmarks/extract_losses.py`` prints it): every
reference triple of a scored text is counted at the first stage it is lost at, on the
reader's own nodes (every mention's candidate terms) and with its saved decoding (unseen
bonus, one predicate per pair, re-scorer, threshold). Names and triples are compared in the
WebNLG 2020 normalisation (:func:`~nesy.text.webnlg.normalise_triple`), as the benchmark
scores them. The false triples an extraction gives are sorted the same way
(:func:`false_kind`): another predicate, a reversed pair, a name cut or grown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nesy.text.extract_model import TextFeatures, add_unseen
from nesy.text.webnlg import n3_name, normalise_name, normalise_triple

if TYPE_CHECKING:
    import torch

Key = tuple[str, str, str]
#: The stages, in the order a reference triple passes them.
STAGES = ("neither name found", "subject not found", "object not found", "both names found, never paired",
          "predicate unknown to the store",
          "another predicate first (2nd)", "another predicate first (3rd to 5th)",
          "another predicate first (6th or lower)", "first, lost in decoding", "first, under the threshold",
          "extracted")

#: Why an extracted triple is not a reference triple of its text, in the order tried.
FALSE_KINDS = ("another predicate", "subject and object reversed", "two reference names, unrelated",
               "one name cut or grown", "one name not in the reference", "both names wrong, one cut or grown",
               "neither name in the reference")


@dataclass
class Losses:
    """Counts over the reference triples of the texts seen: ``stages`` (:data:`STAGES`),
    ``names`` (why a reference name is not among the nodes: :func:`name_reason`), ``first``
    ((trained predicate, came first) of the pairs found) and ``confusions`` ((reference
    predicate, the predicate first) where another came first)."""

    texts: int = 0
    stages: Counter[str] = field(default_factory=Counter)
    names: Counter[str] = field(default_factory=Counter)
    first: Counter[tuple[bool, bool]] = field(default_factory=Counter)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)


def name_reason(name: str, found: set[str], text: str) -> str:
    """Why the normalised reference ``name`` is not among the ``found`` node names of ``text``:
    ``not in the text`` (not written as the reference names it: ``antares (rocket)``), ``found
    longer`` (a node name contains it: ``chicago, illinois`` for ``chicago``), ``found shorter``
    (it contains a node name: ``v12`` for ``v12 engine``), else ``in the text, not found``."""
    if name not in " ".join(text.lower().split()):
        return "not in the text"
    if any(name in f for f in found):
        return "found longer"
    if any(len(f) > 2 and f in name for f in found):
        return "found shorter"
    return "in the text, not found"


def reader_losses(extractor: Any, texts: list[str], keys: list[set[Key]], namespace: str,
                  batch: int = 256) -> Losses:
    """:class:`Losses` of the reader ``extractor`` (a loaded ``ReaderExtractor``) on
    ``texts``, whose normalised reference triples are ``keys``."""
    import torch

    model = extractor.model
    preds = [normalise_triple(("s", n3_name(str(p), namespace), "o"))[1] for p in extractor.preds]
    columns: dict[str, list[int]] = {}
    for c, p in enumerate(preds):
        columns.setdefault(p, []).append(c)
    out = Losses()
    n_known, bonus = len(model.predicates), float(model.unseen_bonus)
    with torch.inference_mode():
        for lo in range(0, len(texts), batch):
            part = texts[lo:lo + batch]
            _, feats = extractor.analyse(part)
            todo = [i for i, f in enumerate(feats) if len(f.pairs)]
            logits = decoded = torch.zeros(0, len(preds))
            if todo:
                logits, decoded = extractor.decode([part[i] for i in todo], [feats[i] for i in todo])
            z, row = add_unseen(logits, n_known, bonus), 0
            for i, f in enumerate(feats):
                m = len(f.pairs) if i in todo else 0
                tally(out, f, part[i], keys[lo + i], z[row:row + m], decoded[row:row + m] - model.threshold,
                      columns, preds, n_known, namespace)
                row += m
    return out


def tally(out: Losses, f: TextFeatures, text: str, keys: set[Key], z: torch.Tensor, kept: torch.Tensor,
          columns: dict[str, list[int]], preds: list[str], n_known: int, namespace: str) -> None:
    """Count one text's reference triples ``keys`` into ``out``: ``z`` ``(m, P)`` its pairs'
    logits with the unseen bonus, ``kept`` ``(m, P)`` their decoded logits less the threshold
    (-inf: decoded away), ``columns`` every normalised predicate name's columns in ``preds``."""
    out.texts += 1
    names = [n3_name(t, namespace) for t in f.terms]
    subjects = {normalise_name(n) for n in names}
    objects = {normalise_name(n, object_=True) for n in names}
    rows: dict[tuple[str, str], list[int]] = {}
    for k, (a, b) in enumerate(f.pairs.tolist()[:len(z)]):
        rows.setdefault((normalise_name(names[a]), normalise_name(names[b], object_=True)), []).append(k)
    for s, p, o in sorted(keys):
        lost = [role for role, name, found in (("subject", s, subjects), ("object", o, objects)) if name not in found]
        for role, name, found in (("subject", s, subjects), ("object", o, objects)):
            if role in lost:
                out.names[name_reason(name, found, text)] += 1
        pairs = rows.get((s, o), [])
        if lost:
            out.stages["neither name found" if len(lost) == 2 else f"{lost[0]} not found"] += 1
        elif not pairs:
            out.stages["both names found, never paired"] += 1
        elif p not in columns:
            out.stages["predicate unknown to the store"] += 1
        else:
            out.stages[_pair_stage(out, pairs, columns[p], z, kept, preds, n_known)] += 1


def _pair_stage(out: Losses, pairs: list[int], cols: list[int], z: torch.Tensor, kept: torch.Tensor,
                preds: list[str], n_known: int) -> str:
    """The stage of a reference triple whose pair is found (rows ``pairs``) and whose predicate
    has the columns ``cols``: its best rank over the rows, then decoding and the threshold."""
    rank, best = min((int((z[k] > z[k, c]).sum()), k) for k in pairs for c in cols)
    out.first[min(cols) < n_known, rank == 0] += 1
    if rank:
        out.confusions[preds[cols[0]], preds[int(z[best].argmax())]] += 1
        return ("another predicate first (2nd)" if rank == 1 else
                "another predicate first (3rd to 5th)" if rank < 5 else "another predicate first (6th or lower)")
    scores = [float(kept[k, c]) for k in pairs for c in cols]
    if max(scores) == float("-inf"):
        return "first, lost in decoding"
    return "extracted" if max(scores) >= 0 else "first, under the threshold"


def table(losses: Losses, confusions: int = 10) -> str:
    """Markdown: the stages and the name reasons with counts and shares, the trained and
    untrained predicates' rate of coming first, the commonest confusions."""
    total = sum(losses.stages.values())
    lines = [f"{losses.texts} texts, {total} reference triples", "", "| where a reference triple is lost | triples | share |",
             "|---|---:|---:|"]
    lines += [f"| {s} | {losses.stages[s]} | {losses.stages[s] / max(1, total):.1%} |" for s in STAGES]
    names = sum(losses.names.values())
    lines += ["", "| why a reference name is not among the nodes | names | share |", "|---|---:|---:|"]
    lines += [f"| {r} | {n} | {n / max(1, names):.1%} |" for r, n in losses.names.most_common()]
    lines += ["", "| predicate of a found pair | pairs | comes first |", "|---|---:|---:|"]
    for seen, what in ((True, "trained on"), (False, "known by its label only")):
        n = losses.first[seen, True] + losses.first[seen, False]
        lines.append(f"| {what} | {n} | {losses.first[seen, True] / max(1, n):.1%} |")
    lines += ["", "| reference predicate | first instead | pairs |", "|---|---|---:|"]
    lines += [f"| {p} | {q} | {n} |" for (p, q), n in losses.confusions.most_common(confusions)]
    return "\n".join(lines)


def false_kind(triple: Key, want: set[Key]) -> str:
    """Which of :data:`FALSE_KINDS` the extracted ``triple`` (not in ``want``, its text's
    reference triples; both normalised) is: its pair is a reference pair with another
    predicate or reversed, both names are reference names that no reference triple relates,
    or a name is not a reference name, cut or grown from one (``thames`` for ``thames, new
    zealand``) or not."""
    s, _, o = triple
    if any((s, o) == (a, b) for a, _, b in want):
        return FALSE_KINDS[0]
    if any((o, s) == (a, b) for a, _, b in want):
        return FALSE_KINDS[1]
    names = {x for a, _, b in want for x in (a, b)}
    wrong = [x for x in (s, o) if x not in names]
    if not wrong:
        return FALSE_KINDS[2]
    near = [any(x in n or n in x for n in names) for x in wrong]
    if len(wrong) == 1:
        return FALSE_KINDS[3] if near[0] else FALSE_KINDS[4]
    return FALSE_KINDS[5] if any(near) else FALSE_KINDS[6]


def false_table(got: list[set[Key]], keys: list[set[Key]]) -> str:
    """Markdown: the false triples of the extractions ``got`` (each text's, normalised)
    against the reference triples ``keys``, by :func:`false_kind`, with counts and shares."""
    kinds = Counter(false_kind(t, want) for triples, want in zip(got, keys, strict=True) for t in triples - want)
    total = sum(kinds.values())
    lines = [f"{sum(map(len, got))} triples extracted, {total} not in the reference", "",
             "| what a false triple is | triples | share |", "|---|---:|---:|"]
    return "\n".join(lines + [f"| {k} | {kinds[k]} | {kinds[k] / max(1, total):.1%} |" for k in FALSE_KINDS])
