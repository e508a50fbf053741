"""Learn weighted rules from a knowledge base and rank with them (what `nesy learn` and
`nesy eval --rules` run).

The graph the rules walk over is the KB's entity triples (``asserted`` and ``extracted``,
see :class:`~nesy.linkpred.predictor.KGData`); the user's chain rules for the learned relations
enter the model as fixed paths with learnable weights; the link predictor, when trained,
gives its relation embeddings to the controller (and, on request, its top links as soft
operators). The result is a rule file the reasoner loads like any other: its header marks
the rules ``learned`` in proofs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nesy.engine.kernels import unique
from nesy.errors import NesyError
from nesy.kbview import LEARNED_HEADER
from nesy.linkpred.predictor import IdIndex, KGData
from nesy.rulelearn.kbeval import chain_of

if TYPE_CHECKING:
    from nesy.kbview import KBView

#: A user rule's learned weight below this counts as dropped, above KEPT as kept.
DROPPED, KEPT = 0.1, 0.5


def _relation_ids(kb: KBView, data: KGData, names: list[str] | None) -> list[int]:
    if not names:
        return []
    index = IdIndex(data.relation_ids)
    out = []
    for name in names:
        vid = kb.vocab.get(kb.resolve_term(name))
        j = -1 if vid is None else int(index(np.array([vid]))[0])
        if j < 0:
            raise NesyError(f"unknown relation {name}: the knowledge base has no entity triples of it")
        out.append(j)
    return out


def _kge_features(kb: KBView, data: KGData) -> np.ndarray | None:
    """The link predictor's relation vectors in this data's order: float (2R, d), or None."""
    lp = kb.link_predictor
    if lp is None:
        return None
    model = lp.model
    R_model = len(lp.data.relation_ids)
    tables = [p.detach().cpu().numpy() for name, p in model.named_parameters()
              if "rel" in name and p.dim() == 2 and p.shape[0] == 2 * R_model]
    if not tables:
        return None
    vectors = np.concatenate(tables, axis=1)
    where = IdIndex(lp.data.relation_ids)(data.relation_ids)
    R = len(data.relation_ids)
    out = np.zeros((2 * R, vectors.shape[1]), dtype=np.float32)
    ok = where >= 0
    out[:R][ok] = vectors[where[ok]]
    out[R:][ok] = vectors[where[ok] + R_model]
    return out


def _text_features(kb: KBView, data: KGData) -> np.ndarray:
    """The text vectors of the relations' names (labels, else local names in words), float
    (2R, d); a relation and its inverse share one (the controller's own embedding tells
    them apart)."""
    from nesy.text.encoder import get_encoder, term_texts
    from nesy.text.vectors import VectorStore

    names = term_texts(kb, kb.vocab.terms(data.relation_ids))
    vectors = VectorStore.for_kb(kb, get_encoder(kb=kb)).encode(names).numpy()
    return np.concatenate([vectors, vectors]).astype(np.float32)


def _user_paths(kb: KBView, data: KGData, relations: list[int],
                max_len: int) -> tuple[dict[int, list[list[int]]], list[Any], list[tuple[str, str]]]:
    """The user's chain rules for ``relations`` as operator paths; the rules that are not
    chain rules (or are too long) with the reason."""
    from nesy.rules.printer import format_rule

    index = IdIndex(data.relation_ids)
    wanted = set(relations)
    paths: dict[int, list[list[int]]] = {}
    used, skipped = [], []
    for rule, kind in ((r, k) for p, k in kb.rule_programs() for r in p.rules):
        head, path, why = chain_of(kb, rule, index, len(data.relation_ids))
        if kind != "derived" or head not in wanted:
            continue
        text = format_rule(rule, kb.prefixes, kb.default_namespace)
        if path is None:
            skipped.append((text, why))
        elif len(path) > max_len:
            skipped.append((text, f"the chain has {len(path)} steps, more than max length {max_len}"))
        else:
            paths.setdefault(head, []).append(path)
            used.append((head, len(paths[head]) - 1, text))
    return paths, used, skipped


def learn_kb(kb: KBView, *, out: str | Path | None = None, relations: list[str] | None = None,
             train: str | Path | None = None, valid: str | Path | None = None, top: int | None = None,
             min_confidence: float = 0.0, soft_links: bool = False, progress: bool | None = None,
             learner: str = "paths",
             tune: int | None = None, timeout: float | None = None,
             on_epoch: Callable[[dict[str, Any]], None] | None = None, **options: Any) -> dict[str, Any]:
    """Learn weighted chain rules and write them as a rule file.

    The default learner (``paths``, :mod:`nesy.rulelearn.pathlearn`) mines the bodies that
    connect training pairs and learns their weights for noisy-or over rules (the file asks
    for the ``noisyor-rules`` semiring); ``neural-lp`` trains the differentiable operator
    attention of :mod:`nesy.rulelearn.neural_lp` and weighs the decoded rules by their
    confidence (``maxprod``).

    Args:
        kb: The knowledge base; its entity triples are the graph the rules walk over.
        out: The rule file to write (nothing is written when None).
        relations: Head relations to learn rules for (default: every relation).
        train: Training triples (TSV/RDF); default: every graph triple, its own edge hidden
            while it is scored.
        valid: Validation triples for early stopping.
        top: Rules kept per relation (default 200 for ``paths``, 20 for ``neural-lp``).
        min_confidence: Rules below this confidence on the graph (``paths``: learned
            probability, at least 0.001) are left out.
        learner: ``paths`` (default) or ``neural-lp``.
        soft_links: Give the link predictor's top links as soft operators.
        progress: Progress bar (default: on a terminal).
        tune: Search hyper-parameters with this many Optuna trials on ``valid`` and keep the
            best (:mod:`nesy.rulelearn.tune`); the study goes to ``OUT.tune.json``.
        timeout: With ``tune``: start no new trial after this many seconds.
        on_epoch: Called with every evaluation's record (epoch, loss, valid_mrr, seconds).
        options: :class:`~nesy.rulelearn.neural_lp.LearnConfig` fields (max_len, rank, epochs...);
            ``use_text=True`` given explicitly adds the relations' names, encoded by the KB's
            text encoder, to the query representation.

    Returns:
        ``rules`` (the text), ``count``, ``relations``, ``best_valid_mrr``, ``seconds``,
        ``user_rules`` (text, learned weight, verdict), ``not_chain`` (text, reason),
        ``features`` (which parts the query representation fused), ``out``, ``config``
        (the resolved run: LearnConfig fields and these options, also written to
        ``OUT.config.toml`` so that ``nesy learn --config`` of it repeats the run) and
        ``tune`` (the study, or None).
    """
    import sys

    from nesy.rulelearn.neural_lp import LearnConfig

    if learner not in LEARNERS:
        raise NesyError(f"unknown rule learner {learner!r}: choose {' or '.join(LEARNERS)}")
    top = top if top is not None else (200 if learner == "paths" else 20)
    config = LearnConfig.from_dict(options)
    _check_run_options(relations, top, min_confidence, soft_links, tune, timeout)
    data, rels, train_set, valid_set = _learning_data(kb, relations, train, valid)
    if learner == "paths":
        return _learn_paths(kb, data, rels, train, train_set if train is not None else None, valid_set,
                            config, top, min_confidence, out, on_epoch,
                            {"relations": relations, "valid": valid, "soft_links": soft_links, "tune": tune,
                             "text": options.get("use_text") is True})
    features = _features(kb, data, config, text=options.get("use_text") is True)
    soft = _soft_edges(kb, data, rels) if soft_links else None
    show = sys.stderr.isatty() if progress is None else progress
    fit = _Fit(kb, data, rels, train_set, valid_set, features or None, soft, show, on_epoch)
    study = None
    if tune is not None:
        from nesy.rulelearn.tune import tune_learning

        (result, (paths, used, skipped)), config, study = tune_learning(
            fit, config, tune, timeout=timeout, has_valid=valid_set is not None)
    else:
        result, (paths, used, skipped) = fit(config, None)
    run = {"relations": relations, "train": train, "valid": valid, "top": top, "min_confidence": min_confidence,
           "soft_links": soft_links, "learner": learner}
    return _write_neural(kb, data, rels, result, (paths, used, skipped), config, features, study, run, out)


def _write_neural(kb: KBView, data: KGData, rels: list[int], result: Any, user_paths: tuple[Any, Any, Any],
                  config: Any, features: dict[str, Any], study: Any, run: dict[str, Any],
                  out: str | Path | None) -> dict[str, Any]:
    """``learn_kb``'s Neural LP ending: decode the rules, write the file and the run."""
    from nesy.rulelearn.decode import decode, format_rules
    from nesy.rules.printer import format_term

    paths, used, skipped = user_paths
    relations, train, valid, top = run["relations"], run["train"], run["valid"], run["top"]
    min_confidence, soft_links, learner = run["min_confidence"], run["soft_links"], run["learner"]
    rules = decode(result.model, rels, top=top, min_confidence=min_confidence)

    def name_of(r: int) -> str:
        # Prefixed names only (no bare default-namespace names): the file must mean the same
        # in a knowledge base with another default namespace.
        return format_term(kb.vocab.term(int(data.relation_ids[r])), kb.prefixes, None)

    text = format_rules(rules, name_of, num_relations=len(data.relation_ids))
    user = _verdicts(used, result.model.user_rule_weights() if paths else {})
    header = _header(kb, config, len(data.triples), train, len(rules), user, skipped)
    # use_text is on in LearnConfig but adds the text only when asked for: record what ran.
    resolved = {**config.to_dict(), "use_text": "text" in features, "relations": relations,
                "train": _absolute(train), "valid": _absolute(valid), "top": top,
                "min_confidence": min_confidence, "soft_links": soft_links, "learner": learner}
    if out is not None:
        Path(out).write_text(header + text, encoding="utf-8")
        _write_run(Path(out), resolved, study)
    return {"config": resolved, "tune": study, "rules": header + text, "count": len(rules),
            "relations": [name_of(r) for r in rels],
            "best_valid_mrr": result.best_valid_mrr, "seconds": result.seconds, "user_rules": user,
            "not_chain": skipped, "features": ["relation vector", *(["link predictor"] if "kge" in features else []),
                                               *(["relation text"] if "text" in features else [])],
            "out": str(out) if out is not None else None}


class _Fit:
    """One learning run over fixed data: ``fit(config, report)`` -> (result, user paths).

    The user's chain rules are re-read per run because a tuning trial may change max_len.
    """

    def __init__(self, kb: KBView, data: KGData, rels: list[int], train_set: np.ndarray,
                 valid_set: np.ndarray | None, features: Any, soft: Any, show: bool,
                 on_epoch: Callable[[dict[str, Any]], None] | None) -> None:
        self.kb, self.data, self.rels = kb, data, rels
        self.train_set, self.valid_set = train_set, valid_set
        self.features, self.soft, self.show, self.on_epoch = features, soft, show, on_epoch
        self.known = np.concatenate([data.triples, train_set] + ([valid_set] if valid_set is not None else []))

    def __call__(self, config: Any, report: Callable[[dict[str, Any]], None] | None) -> tuple[Any, Any]:
        from nesy.rulelearn.neural_lp import learn

        def both(entry: dict[str, Any]) -> None:
            for hook in (report, self.on_epoch):
                if hook is not None:
                    hook(entry)

        data = self.data
        user = _user_paths(self.kb, data, self.rels, config.max_len)
        result = learn(data.triples, self.train_set, len(data.entity_ids), len(data.relation_ids), config,
                       valid=self.valid_set, known=self.known, relations=self.rels,
                       relation_features=self.features, user_paths=user[0] or None,
                       soft_edges=self.soft, progress=self.show, on_epoch=both)
        return result, user


#: The options of `nesy learn` besides the LearnConfig fields (config files may set them).
RUN_OPTIONS = ("relations", "train", "valid", "top", "min_confidence", "soft_links", "learner")
#: The rule learners of `nesy learn --learner`.
LEARNERS = ("paths", "neural-lp")


def _check_run_options(relations: Any, top: Any, min_confidence: Any, soft_links: Any,
                       tune: Any, timeout: Any) -> None:
    """The run options' types and ranges (a config file may hold anything)."""
    def bad(name: str, want: str, value: Any) -> NesyError:
        return NesyError(f"learn option {name} must be {want}, got {value!r}")

    if relations is not None and not (isinstance(relations, list) and all(isinstance(r, str) for r in relations)):
        raise bad("relations", "a list of relation names", relations)
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise bad("top", "a positive integer", top)
    if not isinstance(min_confidence, int | float) or isinstance(min_confidence, bool) \
            or not 0.0 <= min_confidence <= 1.0:
        raise bad("min_confidence", "a number in [0, 1]", min_confidence)
    if not isinstance(soft_links, bool):
        raise bad("soft_links", "true or false", soft_links)
    if tune is not None and (not isinstance(tune, int) or isinstance(tune, bool) or tune < 1):
        raise bad("tune", "a positive number of trials", tune)
    if timeout is not None and (not isinstance(timeout, int | float) or not timeout > 0):
        raise bad("timeout", "a positive number of seconds", timeout)


def _absolute(path: str | Path | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def _write_run(out: Path, resolved: dict[str, Any], study: dict[str, Any] | None) -> None:
    """``OUT.config.toml`` (the resolved run) and, after tuning, ``OUT.tune.json`` (the study)."""
    import json

    from nesy.ml.tomlconfig import write_config

    write_config(out.with_name(out.name + ".config.toml"), resolved,
                 f"nesy learn: the resolved configuration of {out.name}\n"
                 f"repeat the run with: nesy learn DIR --out {out.name} --config {out.name}.config.toml")
    if study is not None:
        target = out.with_name(out.name + ".tune.json")
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(study, indent=2) + "\n", encoding="utf-8")
        tmp.replace(target)


def _learning_data(kb: KBView, relations: list[str] | None, train: str | Path | None,
                   valid: str | Path | None) -> tuple[KGData, list[int], np.ndarray, np.ndarray | None]:
    """The graph, the head relations to learn (data positions), and the training and
    validation queries (compact ids; training defaults to the graph itself)."""
    from nesy.linkpred.kbtrain import read_triples

    train_raw = read_triples(kb, train, add=True)[0] if train is not None else None
    valid_raw = read_triples(kb, valid, add=True)[0] if valid is not None else None
    # Relations that only the query files use (Neural LP's splits: the graph lacks the
    # relations the queries ask about) still need ids.
    queries = [x for x in (train_raw, valid_raw) if x is not None]
    data = KGData.from_kb(kb, extra=np.concatenate(queries) if queries else None)
    train_set = data.compact(train_raw) if train_raw is not None else data.triples
    valid_set = data.compact(valid_raw) if valid_raw is not None else None
    rels = _relation_ids(kb, data, relations) or sorted(set(np.unique(train_set[:, 1]).tolist()))
    return data, rels, train_set, valid_set


def _features(kb: KBView, data: KGData, config: Any, *, text: bool) -> dict[str, np.ndarray]:
    """What the query representation fuses besides its own relation vector: ``kge`` (the
    link predictor's relation vectors) and ``text`` (the relations' names, encoded)."""
    features = {}
    kge = _kge_features(kb, data) if config.use_kge else None
    if kge is not None:
        features["kge"] = kge
    # Relation names through the text encoder only when asked for: it loads the language model.
    if config.use_text and text:
        features["text"] = _text_features(kb, data)
    return features


def _verdicts(used: list[tuple[int, int, str]], weights: dict[int, Any]) -> list[tuple[str, float, str]]:
    """Each user rule with its learned weight and whether it was kept, re-weighted or dropped."""
    user = []
    for head, i, rule_text in used:
        w = float(weights.get(head, [])[i]) if i < len(weights.get(head, [])) else float("nan")
        verdict = "kept" if w >= KEPT else "dropped" if w < DROPPED else "re-weighted"
        user.append((rule_text, w, verdict))
    return user


def _soft_edges(kb: KBView, data: KGData, rels: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]] | None:
    lp = kb.link_predictor
    if lp is None:
        raise NesyError("--soft-links needs a trained link predictor: run `nesy train` first")
    index = IdIndex(data.entity_ids)
    out = {}
    for r in rels:
        pid = int(data.relation_ids[r])
        heads = data.entity_ids[unique(data.triples[data.triples[:, 1] == r][:, 0])]
        try:
            pairs, probs = lp.top(heads, pid)
        except NesyError:
            continue
        rows = np.stack([index(pairs[:, 0]), index(pairs[:, 1])], axis=1)
        ok = (rows >= 0).all(axis=1)
        out[r] = (rows[ok].astype(np.int64), probs[ok])
    return out


def _header(kb: KBView, config: Any, facts: int, train: Any, count: int, user: list[Any],
            skipped: list[tuple[str, str]]) -> str:
    lines = [f"{LEARNED_HEADER} — written by `nesy learn` (Neural LP, max length {config.max_len}, "
             f"rank {config.rank}, {config.epochs} epochs, seed {config.seed})",
             f"# data: {kb.path or 'in-memory knowledge base'}, {facts} entity triples; "
             f"training queries: {train or 'the graph itself (each edge hidden while scored)'}",
             f"# date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}; {count} rules; "
             "the weight of each rule is its confidence on the graph"]
    lines += [f"# user rule {verdict} (learned weight {w:.2f}): {text}" for text, w, verdict in user]
    lines += [f"# user rule left out ({why}): {text}" for text, why in skipped]
    lines += [f"@prefix {p}: <{ns}> ." for p, ns in sorted(kb.prefixes.items()) if p]
    return "\n".join(lines) + "\n\n"


def _learn_paths(kb: KBView, data: KGData, rels: list[int], train: Any, train_set: np.ndarray | None,
                 valid_set: np.ndarray | None, config: Any, top: int, min_confidence: float,
                 out: str | Path | None, on_epoch: Any, run: dict[str, Any]) -> dict[str, Any]:
    """``learn_kb`` with the path learner: mine, weigh for noisy-or, write the file."""
    from nesy.rulelearn.decode import format_rules
    from nesy.rulelearn.pathlearn import SEMIRING, SEMIRING_HEADER, learn_paths
    from nesy.rules.printer import format_term

    if run["soft_links"] or run["tune"] is not None:
        raise NesyError("--soft-links and --tune belong to the neural-lp learner: add --learner neural-lp")
    E, R = len(data.entity_ids), len(data.relation_ids)
    result = learn_paths(data.triples, train_set, E, R, rels, valid=valid_set, max_len=config.max_len,
                         top=top, min_weight=max(min_confidence, 0.001), seed=config.seed, on_epoch=on_epoch,
                         require=bool(run["relations"]))

    def name_of(r: int) -> str:
        return format_term(kb.vocab.term(int(data.relation_ids[r])), kb.prefixes, None)

    text = format_rules(result.rules, name_of, num_relations=R)
    lines = [f"{LEARNED_HEADER} — written by `nesy learn` (paths: {result.candidates} mined bodies of at most "
             f"{config.max_len} atoms weighed on {result.queries} training triples, seed {config.seed})",
             f"{SEMIRING_HEADER} {SEMIRING}",
             "# nesy:apply once",
             "# (each rule reads the facts the KB stores, not what rules derive: as it was learned, as eval ranks)",
             f"# data: {kb.path or 'in-memory knowledge base'}, {len(data.triples)} entity triples; "
             f"training queries: {train or 'the graph itself, in five folds (each hidden while it is the queries)'}",
             f"# date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}; {len(result.rules)} rules; the "
             f"weight of each rule is its learned probability: scores combine as noisy-or over rules "
             f"(`nesy materialize DIR --semiring {SEMIRING}` answers with them)"]
    lines += [f"@prefix {p}: <{ns}> ." for p, ns in sorted(kb.prefixes.items()) if p]
    header = "\n".join(lines) + "\n\n"
    resolved = {**config.to_dict(), "use_text": run["text"], "relations": run["relations"], "train": _absolute(train),
                "valid": _absolute(run["valid"]), "top": top, "min_confidence": min_confidence,
                "soft_links": False, "learner": "paths"}
    typing = _typing(kb, data, result.rules, train_set, valid_set) if run["text"] else None
    if out is not None:
        Path(out).write_text(header + text, encoding="utf-8")
        _write_run(Path(out), resolved, None)
        if typing is not None:
            from nesy.rulelearn.texttype import SUFFIX

            typing.save(str(out) + SUFFIX)
    return {"config": resolved, "tune": None, "rules": header + text, "count": len(result.rules),
            "relations": [name_of(r) for r in rels], "best_valid_mrr": result.best_valid_mrr,
            "seconds": result.seconds, "user_rules": [], "not_chain": [],
            "features": ["mined paths", *(["entity text (domains and ranges)"] if typing is not None else [])],
            "semiring": SEMIRING, "out": str(out) if out is not None else None}


def _typing(kb: KBView, data: KGData, rules: list[Any], train_set: np.ndarray | None,
            valid_set: np.ndarray | None) -> Any:
    """The entity-text typing model of ``nesy learn --text``, its hybrid weight chosen on valid."""
    from nesy.rulelearn.kbeval import choose_mix
    from nesy.rulelearn.texttype import learn_typing

    typing = learn_typing(kb, data, encoder=str(kb.config.get("text_encoder") or ""))
    known = data.triples if train_set is None else np.concatenate([data.triples, train_set])
    typing.mix = choose_mix(typing.bind(kb, data), rules, data, valid_set, known)
    return typing


__all__ = ["LEARNERS", "learn_kb"]
