"""Rank test triples with a rule file's chain rules (what `nesy eval --rules` runs).

The rules are applied once to the knowledge base's entity triples and the rules that reach
a candidate combine in the semiring the file asks for (``# nesy:semiring NAME``; the KB's
own otherwise): for a file whose rules do not read their own heads, that is the score
``kb.ask`` gives once the file is loaded in that semiring. ``--hybrid`` adds the link
predictor's probability.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nesy.errors import NesyError
from nesy.linkpred.predictor import IdIndex, KGData

if TYPE_CHECKING:
    from nesy.kbview import KBView

def chain_of(kb: KBView, rule: Any, index: IdIndex, R: int) -> tuple[int, list[int] | None, str]:
    """A rule as (head relation, operator path, ""), or (head, None, why it is not a chain
    rule over the graph's relations); head -1 when the head is not such a relation."""
    from nesy.rulelearn.decode import chain_path
    from nesy.rules.ast import Atom, Var

    def term(atom: Any) -> tuple[int, str, str] | None:
        if not isinstance(atom, Atom) or atom.negated or atom.neural or atom.arity != 2:
            return None
        vid = kb.vocab.get(atom.predicate)
        j = -1 if vid is None else int(index(np.array([vid]))[0])
        if j < 0 or not all(isinstance(a, Var) for a in atom.args):
            return None
        return j, atom.args[0].name, atom.args[1].name

    head = term(rule.head) if rule.head is not None else None
    if head is None:
        return -1, None, "the head is not a relation of the graph between two variables"
    body = [term(lit) for lit in rule.body]
    if any(b is None for b in body):
        return head[0], None, "every body literal must be a positive binary atom of the graph between variables"
    path, why = chain_path(head, body, R)  # type: ignore[arg-type]
    return head[0], path, why


def file_semiring(path: str | Path) -> str | None:
    """The semiring a rule file asks for in its header comments (``# nesy:semiring NAME``)."""
    from nesy.rules.ast import read_pragmas

    with open(path, encoding="utf-8", errors="replace") as fh:
        value = dict(reversed(read_pragmas(fh))).get("semiring")
    return value or None


class RuleScorer:
    """Chain rules (and optionally the link predictor) as a model
    :func:`nesy.linkpred.evaluate.evaluate` can rank with. ``score_t(h, r)`` applies the rules
    (:class:`~nesy.rulelearn.decode.LearnedRule`) once to the graph and combines the rules
    that reach a candidate as ``aggregate`` says: ``maxprod`` (the best rule's weight) or
    ``noisyor-rules`` (``1 - Π(1 - weight)`` over them); plus ``weight`` times the link
    predictor's probability in hybrid mode."""

    def __init__(self, rules: list[Any], data: KGData, predictor: Any = None, weight: float = 0.5,
                 *, aggregate: str = "maxprod") -> None:
        import torch

        self.rules, self.data, self.predictor, self.weight = rules, data, predictor, weight
        self.aggregate = aggregate
        self.num_relations = 2 * len(data.relation_ids)
        self.training = False
        self._param = torch.nn.Parameter(torch.zeros(0))
        self._index = IdIndex(data.entity_ids)
        self._walk: Any = None

    def parameters(self) -> Any:
        return iter([self._param])

    def eval(self) -> RuleScorer:
        return self

    def train(self, mode: bool = True) -> RuleScorer:
        return self

    def _rule_scores(self, h: Any, r: Any) -> Any:
        """float (b, E): the rules' combined scores of every candidate."""
        from nesy.rulelearn.decode import Walker, rule_scores
        from nesy.rulelearn.weights import scores

        E, R = len(self.data.entity_ids), len(self.data.relation_ids)
        if self.aggregate != "noisyor-rules":
            return rule_scores(self.rules, self.data.triples, E, R, h, r)
        if self._walk is None:
            self._walk = Walker(self.data.triples, E, R)
        return scores(self._walk, self.rules, h, r, R)

    def score_t(self, h: Any, r: Any) -> Any:
        """float (b, E): scores of every entity for queries ``(h, r, ?)``; h, r int64 (b,)."""
        import torch

        R = len(self.data.relation_ids)
        if self.rules:
            scores = self._rule_scores(h, r)
        else:
            scores = torch.zeros(len(h), len(self.data.entity_ids))
        if self.predictor is None:
            return scores
        extra = torch.zeros_like(scores)
        for rel in torch.unique(r).tolist():
            rows = (r == rel).nonzero().flatten()
            pid = int(self.data.relation_ids[rel % R])
            anchors = self.data.entity_ids[h[rows].numpy()]
            try:
                known, probs = self.predictor.probabilities(anchors, pid, tails=rel < R)
            except NesyError:
                continue
            cols = self._index(self.predictor.data.entity_ids)
            ok = cols >= 0
            block = torch.zeros(int(known.sum()), scores.shape[1], dtype=scores.dtype)
            block[:, torch.from_numpy(cols[ok])] = torch.from_numpy(probs[:, ok]).to(scores.dtype)
            extra[rows[torch.from_numpy(known)]] = block
        return scores + self.weight * extra


def rules_from_file(kb: KBView, path: str | Path, data: KGData) -> list[Any]:
    """The weighted chain rules of a rule file as :class:`LearnedRule` (others are skipped)."""
    from nesy.rulelearn.decode import LearnedRule

    program = kb.parse_rules(Path(path), trust=False)
    index = IdIndex(data.relation_ids)
    R = len(data.relation_ids)
    out = []
    for rule in program.rules:
        head, path_ops, _ = chain_of(kb, rule, index, R)
        if path_ops is not None:
            w = 1.0 if rule.weight is None else float(rule.weight)
            out.append(LearnedRule(head, tuple(path_ops), weight=w, confidence=w, num_relations=R))
    return out


def evaluate_rules(kb: KBView, rules_path: str | Path, test: str | Path, *, hybrid: bool = False,
                   weight: float = 0.5, negatives: int | None = None, seed: int = 0,
                   text: bool = False) -> dict[str, Any]:
    """Ranking metrics of a rule file's chain rules on test triples (plus the link predictor
    when ``hybrid``, or the file's entity-text typing model, ``RULES.text.safetensors``, at
    the weight chosen when it was learned, when ``text``): the rules applied once to the KB's
    entity triples, combined as the semiring the file asks for (``# nesy:semiring
    noisyor-rules``: noisy-or over rules; otherwise the best rule, as ``maxprod``); same
    metrics, filter and tie rule as :func:`~nesy.linkpred.kbtrain.evaluate_kb`, or GraIL's
    sampled protocol with ``negatives``."""
    from nesy.linkpred.evaluate import evaluate
    from nesy.linkpred.kbtrain import read_triples, valid_named_by

    raw, total = read_triples(kb, test, add=True)
    data = KGData.from_kb(kb, extra=raw)
    # The validation triples `nesy learn` used (named in OUT.config.toml) are true triples
    # the KB does not hold: the standard protocol filters them too.
    valid = valid_named_by(kb, data, Path(str(rules_path) + ".config.toml"))
    rules = rules_from_file(kb, rules_path, data)
    if not rules and not hybrid:
        raise NesyError("the rule file has no weighted chain rules over the graph's relations", file=str(rules_path))
    asked = file_semiring(rules_path) or kb.semiring
    aggregate = "noisyor-rules" if asked.split(":")[0] == "noisyor-rules" else "maxprod"
    if hybrid and text:
        raise NesyError("choose one of --hybrid (the link predictor) and --text (the rule file's text model)")
    predictor = kb.link_predictor_or_fail() if hybrid else None
    if text:
        from nesy.rulelearn.texttype import SUFFIX, TextTyping

        model = Path(str(rules_path) + SUFFIX)
        if not model.is_file():
            raise NesyError(f"no text model next to the rule file ({model.name}): learn with `nesy learn --text`",
                            file=str(rules_path))
        predictor = TextTyping.load(model).bind(kb, data)
        weight = predictor.mix
    tests = data.compact(raw)
    if not len(tests):
        raise NesyError("no test triple uses entities and relations of the graph", file=str(test))
    known = np.concatenate([data.triples, tests, valid])
    import torch

    scorer = RuleScorer(rules, data, predictor, weight, aggregate=aggregate)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small sparse products: a second thread on a busy machine makes them 10x slower
    try:
        metrics = evaluate(scorer, tests, known, len(data.relation_ids), negatives=negatives, seed=seed)
    finally:
        torch.set_num_threads(threads)
    return {**metrics, "triples": int(len(tests)), "skipped": int(total - len(tests)), "rules": len(rules),
            "semiring": aggregate,
            "model": "rules + link predictor" if hybrid else "rules + entity text" if text else "rules"}


def choose_mix(typing: Any, rules: list[Any], data: Any, valid: np.ndarray | None,
               known: np.ndarray) -> float:
    """The text weight (of :data:`~nesy.rulelearn.texttype.WEIGHTS`) with the best filtered MRR of rules (noisy-or)
    + weight x typing on ``valid`` (compact (k, 3)); 0.1 without validation triples."""
    if valid is None or not len(valid):
        return 0.1
    from nesy.linkpred.evaluate import evaluate
    from nesy.rulelearn.pathlearn import SEMIRING
    from nesy.rulelearn.texttype import WEIGHTS

    R = len(data.relation_ids)
    everything = np.concatenate([known, valid])
    mrr = {w: evaluate(RuleScorer(rules, data, typing, w, aggregate=SEMIRING), valid, everything, R)["mrr"]
           for w in WEIGHTS}
    return max(WEIGHTS, key=lambda w: (mrr[w], -w))


__all__ = ["RuleScorer", "chain_of", "choose_mix", "evaluate_rules", "file_semiring", "rules_from_file"]
