"""The rule learner as a user runs it (kb.learn / kb.evaluate, the CLI's defaults), for rules.py.

Two measurements, each in a child process of ``rules.py`` (``--worker kb-rules SPEC`` and
``--worker inductive SPEC``):

* **Neural-LP splits, CLI defaults**: a knowledge base holding facts + train,
  ``kb.learn(train=train.txt, valid=valid.txt)`` (``nesy learn``'s defaults: the path learner,
  noisy-or over rules), then ``kb.evaluate(test.txt, rules=...)`` (``nesy eval --rules``).
* **GraIL's inductive splits**: rules learned on ``X/train.txt`` (no training file: a fifth of
  the graph held out as queries, as ``nesy learn`` does by default), then a second knowledge
  base holding only ``X_ind/train.txt`` (entities all new) ranks ``X_ind/test.txt``: Hits@10 and
  MRR against 50 sampled negatives (GraIL's protocol, ``nesy eval --negatives 50``) and full
  filtered ranking.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

NS = "http://bench.org/"
INDUCTIVE = ("fb237_v1", "fb237_v2", "fb237_v3", "WN18RR_v1", "WN18RR_v2", "WN18RR_v3")
#: Published Hits@10 with 50 negatives, v1..v3 (GraIL: Teru et al. 2020; NBFNet: Zhu et al.
#: 2021; Neural LP and RuleN as GraIL reports them), as the issue cites them; None: not cited.
PUBLISHED_H10: dict[str, dict[str, tuple[float, float, float] | None]] = {
    "GraIL": {"fb237": (64.2, 81.8, 82.8), "WN18RR": (82.5, 78.7, 58.4)},
    "Neural LP": {"fb237": (52.9, 58.9, 52.9), "WN18RR": None},
    "RuleN": {"fb237": (49.8, 77.8, 87.7), "WN18RR": None},
    "NBFNet": {"fb237": (83.4, 94.9, 95.1), "WN18RR": (94.8, 90.5, 89.3)},
}
NEGATIVES = 50


def _tsv(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def _kb(graph: Path) -> Any:
    import nesy

    kb = nesy.KnowledgeBase(default_namespace=NS)
    kb.load(graph)
    return kb


def _metrics(m: dict[str, Any]) -> dict[str, Any]:
    return {"mrr": m["mrr"], "hits1": m["hits@1"], "hits10": m["hits@10"], "opt_mrr": m["optimistic_mrr"],
            "n": m["n"]}


def worker_kb_rules(spec: dict[str, Any]) -> dict[str, Any]:
    """Neural-LP split through the knowledge base with the CLI's defaults."""
    from _common import Timer

    src = Path(spec["split"])
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        graph = tmp / "graph.tsv"
        graph.write_text((src / "facts.txt").read_text(encoding="utf-8") + (src / "train.txt").read_text(encoding="utf-8"),
                         encoding="utf-8")
        kb = _kb(graph)
        train, valid, test = (_tsv(src / f"{n}.txt", tmp / f"{n}.tsv") for n in ("train", "valid", "test"))
        out = tmp / "learned.rules"
        with Timer() as t:
            report = kb.learn(out=out, train=train, valid=valid, progress=False)
        with Timer() as ev:
            m = kb.evaluate(test, rules=out)
    return {**_metrics(m), "train_s": t.seconds, "eval_s": ev.seconds, "rules": report["count"],
            "best_valid_mrr": report["best_valid_mrr"],
            "setup": f"`nesy learn` defaults: {report['count']} rules, {m['semiring']}"}


def worker_inductive(spec: dict[str, Any]) -> dict[str, Any]:
    """One inductive split: learn on X, rank X_ind's test triples in X_ind's graph."""
    from _common import Timer

    root = Path(spec["root"])
    name = spec["name"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        kb = _kb(_tsv(root / name / "train.txt", tmp / "a.tsv"))
        out = tmp / "learned.rules"
        with Timer() as t:
            report = kb.learn(out=out, progress=False)
        ind = _kb(_tsv(root / f"{name}_ind" / "train.txt", tmp / "b.tsv"))
        test = _tsv(root / f"{name}_ind" / "test.txt", tmp / "test.tsv")
        with Timer() as ev:
            sampled = ind.evaluate(test, rules=out, negatives=NEGATIVES, seed=0)
            full = ind.evaluate(test, rules=out)
    return {"hits10_sampled": sampled["hits@10"], "mrr_sampled": sampled["mrr"], "mrr": full["mrr"],
            "hits10": full["hits@10"], "opt_mrr": full["optimistic_mrr"], "n": full["n"],
            "skipped": full["skipped"], "triples": full["triples"], "rules": report["count"],
            "train_s": t.seconds, "eval_s": ev.seconds}


def inductive_table(results: dict[str, dict[str, Any] | str]) -> str:
    """The inductive table: nesy rows per split, published Hits@10 beside them."""
    from _common import fmt_num, markdown_table

    rows = []
    for name, res in results.items():
        family, v = name.rsplit("_v", 1)
        published = "; ".join(f"{m} {figures[int(v) - 1]:.1f}" for m in PUBLISHED_H10
                              if (figures := PUBLISHED_H10[m][family]) is not None)
        if not isinstance(res, dict):
            rows.append([name, f"failed: {res}", "—", "—", "—", "—", "—", "—", published])
            continue
        rows.append([name, f"{res['rules']} rules; {res['triples']} test triples ({res['skipped']} with an "
                     "entity or relation absent from the test graph)",
                     f"{100 * res['hits10_sampled']:.1f}", f"{res['mrr_sampled']:.3f}", f"{res['mrr']:.3f}",
                     f"{100 * res['hits10']:.1f}", fmt_num(res["train_s"], 1), fmt_num(res.get("peak_rss_mib"), 0),
                     published])
    return markdown_table(["Split", "nesy rules only (defaults)", f"Hits@10 ({NEGATIVES} neg.)",
                           f"MRR ({NEGATIVES} neg.)", "MRR (full)", "Hits@10 (full)", "Learn s", "Peak RSS MiB",
                           f"Published Hits@10 ({NEGATIVES} neg.)"], rows, align="llrrrrrrl")


def inductive_goal(results: dict[str, dict[str, Any] | str]) -> str:
    """Goal: rules only above GraIL's Hits@10 on every split."""
    parts, ok = [], True
    for name, res in results.items():
        family, v = name.rsplit("_v", 1)
        grail = PUBLISHED_H10["GraIL"][family][int(v) - 1]  # type: ignore[index]
        if not isinstance(res, dict):
            ok = False
            parts.append(f"{name}: not measured")
            continue
        got = 100 * res["hits10_sampled"]
        ok &= got > grail
        parts.append(f"{name}: {got:.1f} vs {grail:.1f}")
    return (f"Goal: inductive rules only above GraIL's Hits@10 ({NEGATIVES} negatives) on every split — "
            f"{'met' if ok else 'not met'} ({'; '.join(parts)})")


__all__ = ["INDUCTIVE", "inductive_goal", "inductive_table", "worker_inductive", "worker_kb_rules"]
