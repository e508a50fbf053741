"""Train and evaluate the QA model on question files, and export frequent question patterns as rules.

A question file is UTF-8 text, one question a line: ``question<TAB>answer1|answer2|...``
and optionally ``<TAB>topic entity``. Names (answers, topic) are written as in the KB: an
IRI local name (``united_kingdom``), a label, a prefixed name or ``<IRI>``. Empty lines and
lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nesy.errors import NesyError
from nesy.kbview import LEARNED_HEADER
from nesy.namespaces import QA_NS

if TYPE_CHECKING:
    from nesy.kbview import KBView


@dataclass(frozen=True)
class QAItem:
    """One line of a question file."""

    question: str
    answers: tuple[str, ...]
    topic: str | None
    line: int


def read_questions(path: str | os.PathLike[str]) -> list[QAItem]:
    """Parse a question file (see the module docstring); errors name the file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise NesyError(f"cannot read the question file: {exc.strerror or exc}", file=str(p)) from None
    except UnicodeDecodeError:
        raise NesyError("the question file is not UTF-8 text", file=str(p)) from None
    items = []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cols = raw.split("\t")
        if len(cols) < 2 or len(cols) > 3:
            raise NesyError(f"expected question<TAB>answer1|answer2|...[<TAB>topic entity], found "
                            f"{len(cols)} column(s)", file=str(p), line=n, excerpt=raw)
        answers = tuple(a.strip() for a in cols[1].split("|") if a.strip())
        if not cols[0].strip():
            raise NesyError("the question is empty", file=str(p), line=n, excerpt=raw)
        if not answers:
            raise NesyError("no answer given (the second column is empty)", file=str(p), line=n, excerpt=raw)
        topic = cols[2].strip() if len(cols) == 3 and cols[2].strip() else None
        items.append(QAItem(cols[0].strip(), answers, topic, n))
    if not items:
        raise NesyError("the question file has no questions", file=str(p))
    return items


def _items(questions: Any) -> tuple[list[QAItem], str]:
    if isinstance(questions, (str, os.PathLike)):
        return read_questions(questions), str(questions)
    return list(questions), "<questions>"


def train_qa(kb: KBView, questions: Any, *, valid: Any = None, rules_out: str | os.PathLike[str] | None = None,
             progress: Any = None, **options: Any) -> dict[str, Any]:
    """Train the QA path model on questions with answers; save it in ``DIR/models/qa``.

    Args:
        kb: The knowledge base the questions are about.
        questions: A question file, or :class:`QAItem` list.
        valid: Held-out questions (file or list) for early stopping; default: 10% of the
            training questions when there are at least 50 (seeded).
        rules_out: Also write the frequent question patterns as a ``# nesy:learned`` rule file.
        progress: Called with each epoch's dict (epoch, loss, valid_hits@1, seconds).
        options: :class:`nesy.qa.model.QAConfig` fields (hops, hidden, epochs, lr...).

    Returns:
        questions, used, skipped (line -> reason), valid, epochs, seconds, valid_hits@1,
        relations, model (the directory, or ``memory``), rules (count written).
    """
    import torch

    from nesy.qa.answerer import QA_SLOT, QuestionAnswerer
    from nesy.qa.model import QAConfig, config_dict, save_model, train_model

    config = QAConfig(**options)
    items, source = _items(questions)
    qa = QuestionAnswerer(kb, model=(None, None))
    rows, skipped = _resolve(qa, items)
    if not rows:
        raise NesyError("no training question could be used: " + "; ".join(list(skipped.values())[:3]))
    if valid is not None:
        vrows, _ = _resolve(qa, _items(valid)[0])
    elif len(rows) >= 50:
        perm = np.random.default_rng(config.seed).permutation(len(rows))
        cut = max(1, len(rows) // 10)
        vrows, rows = [rows[i] for i in perm[:cut]], [rows[i] for i in perm[cut:]]
    else:
        vrows = []
    enc = qa.encoder

    def tensors(rs: list[Any]) -> tuple[Any, Any, Any]:
        q = enc.encode([r[1] for r in rs]) if rs else torch.empty(0, enc.dim)
        return q, np.array([r[2] for r in rs], dtype=np.int64), [np.array(r[3]) for r in rs]

    op_text = enc.encode(qa.operator_texts)
    model, info = train_model(qa.graph, op_text, *tensors(rows), config, valid=tensors(vrows) if vrows else None,
                              progress=progress)
    g = qa.graph
    meta = {"relations": [str(g.relation_term(r)) for r in range(g.num_relations)], "q_dim": int(enc.dim),
            "encoder": enc.name, "config": config_dict(config), "questions": len(rows), "valid": len(vrows),
            "history": info["history"], "trained": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    where = kb.models.dir(QA_SLOT)
    where = str(save_model(where, model, meta)) if where is not None and not kb.store.read_only else "memory"
    kb.models.keep(QA_SLOT, (model, meta))  # also marks the cached answerer stale
    best = [h["valid_hits@1"] for h in info["history"] if "valid_hits@1" in h]
    report = {"questions": len(items), "used": len(rows), "valid": len(vrows), "skipped": skipped,
              "epochs": info["epochs"], "seconds": info["seconds"], "valid_hits@1": max(best) if best else None,
              "relations": g.num_relations, "model": where, "rules": None}
    if rules_out is not None:
        report["rules"] = export_rules(kb, items, rules_out, source=source)
    return report


def _resolve(qa: Any, items: list[QAItem]) -> tuple[list[tuple[int, str, int, list[int]]], dict[int, str]]:
    """Usable rows ``(line, masked question, topic node, answer nodes)`` and why others are not."""
    rows, skipped = [], {}
    for it in items:
        nodes, _, masked, reason = qa.topic_of(it.question, it.topic)
        gold = sorted({n for a in it.answers for n in qa.graph.resolve_name(a)})
        if not nodes:
            skipped[it.line] = reason or "no topic entity"
        elif not gold:
            skipped[it.line] = f"no answer is an entity of the knowledge base ({', '.join(it.answers)})"
        else:
            rows.append((it.line, masked, nodes[0], gold))
    return rows, skipped


def evaluate_qa(kb: KBView, questions: Any, *, check: bool = True, use_topics: bool = True,
                batch: int = 256) -> dict[str, Any]:
    """Hits@1 of the answers to a question file, with speed and proof checks.

    Args:
        questions: A question file or :class:`QAItem` list.
        check: Re-check the proof of every top answer (:meth:`QAAnswer.check`).
        use_topics: Use the file's topic column when present (else find the topic by name).

    Returns:
        ``hits@1`` (unanswered questions count as misses), questions, answered, no_answer,
        mode, seconds, answers_per_second, proofs_checked (top answers whose proof checks).
    """
    from nesy.qa.answerer import question_answerer

    items, _ = _items(questions)
    qa = question_answerer(kb)
    start = time.perf_counter()
    results = []
    for lo in range(0, len(items), batch):
        chunk = items[lo:lo + batch]
        results += qa.answer_many([i.question for i in chunk], 1,
                                  [i.topic if use_topics else None for i in chunk])
    seconds = time.perf_counter() - start
    hits, checked = 0, 0
    for it, res in zip(items, results, strict=True):
        if not res:
            continue
        gold = {n for a in it.answers for n in qa.graph.resolve_name(a)}
        top = qa.graph.node_of(res[0].term)
        hits += top in gold
        if check:
            checked += bool(res[0].check(kb))
    answered = sum(1 for r in results if r)
    return {"hits@1": hits / len(items), "questions": len(items), "answered": answered,
            "no_answer": len(items) - answered, "mode": qa.mode, "seconds": seconds,
            "answers_per_second": len(items) / seconds if seconds else None,
            "proofs_checked": checked if check else None}


def export_rules(kb: KBView, questions: Any, out: str | os.PathLike[str], *, min_count: int = 2,
                 source: str | None = None) -> int:
    """Write the relation paths that answer at least ``min_count`` of ``questions`` as chain
    rules ``qa:<path>(X, Y) :- ...`` in a ``# nesy:learned`` file; weight = the share of those
    questions whose top answer is right. Returns the number of rules written."""
    from nesy.qa.answerer import question_answerer, relation_name
    from nesy.rules.printer import format_term

    items, name = _items(questions)
    name = source or name
    qa = question_answerer(kb)
    seen: dict[str, list[Any]] = collections.defaultdict(list)
    for it, res in zip(items, qa.answer_many([i.question for i in items], 1, [i.topic for i in items],
                                             proofs=False), strict=True):
        if res:
            gold = {n for a in it.answers for n in qa.graph.resolve_name(a)}
            a = res[0]
            seen[a.rule.split(":-", 1)[1]].append((qa.graph.node_of(a.term) in gold, it.question, a))
    prefixes = {"": kb.default_namespace, **kb.prefixes, "qa": QA_NS}
    lines = [f"{LEARNED_HEADER} — written by `nesy qa-train`: question patterns (the relation path of each "
             f"question's top answer), from {name}",
             f"# date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}; weight = share of the "
             "pattern's questions answered right",
             *(f"@prefix {p}: <{ns}> ." for p, ns in sorted(prefixes.items()))]
    count = 0
    for _body, hits in sorted(seen.items(), key=lambda kv: -len(kv[1])):
        if len(hits) < min_count:
            continue
        a = hits[0][2]
        right = sum(h for h, _, _ in hits)
        if not right:
            continue
        head = "qa:" + "_".join(relation_name(p) + ("" if fwd else "_inv") for p, fwd in a.path)
        atoms = []
        names = ["X", *(f"Z{i}" for i in range(1, len(a.path))), "Y"]
        for i, (p, fwd) in enumerate(a.path):
            x, y = (names[i], names[i + 1]) if fwd else (names[i + 1], names[i])
            atoms.append(f"{format_term(p, prefixes, None)}({x}, {y})")
        example = hits[0][1].replace("\n", " ")
        lines.append(f"{right / len(hits):.4g} :: {head}(X, Y) :- {', '.join(atoms)}.  "
                     f"# {len(hits)} questions, {a.functional}, e.g. {example!r}")
        count += 1
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count
