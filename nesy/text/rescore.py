"""The reader's re-scorer: a logistic regression over what is known of each decoded candidate triple.

The relation scorer sees a pair's token states and a label; it does not see how its
candidate came out of decoding (by how much it beat the pair's other predicates and the
object's other subjects, whether it is a subject's second object of one predicate). Training fits this re-scorer on the validation texts, after the encoder,
where the threshold and the unseen predicates' bonus are chosen: those texts' categories are
not trained on, so it learns how far to trust each kind of candidate on new categories.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np

from nesy.text.extract_model import TextFeatures, add_unseen, one_per_pair

if TYPE_CHECKING:
    import torch

#: The features of a candidate, in column order: its decoded logit; its lead over the pair's
#: next predicate and over the object's next subject (capped at :data:`CAP`); whether its
#: predicate was trained on; a number or a date object; a subject's second object of the
#: predicate; the text's commonest subject; the log of the text's candidates; the share of the
#: label's words in the text; the log of the text's length; a subject, an object linked to a
#: known entity; a subject, an object of more than four words; the logit if the predicate
#: was trained on; the log of the token distance; the subject before the object; the log of
#: the subject's candidates.
FEATURES = ("logit", "pair_margin", "object_margin", "seen", "number", "date", "repeat", "main_subject",
            "log_candidates", "label_words", "log_chars", "subject_known", "object_known", "subject_long",
            "object_long", "seen_logit", "log_distance", "subject_first", "subject_objects")
#: Margins are capped: past a few logits a lead says nothing more.
CAP = 5.0
_DATE = "XMLSchema#date>"


def term_words(term: str) -> str:
    """A candidate term (n3 text) as words: a new entity's name, an IRI's local name with
    ``_`` as spaces, a literal's lexical form; lower case."""
    if term.startswith("?"):
        name = term[1:]
    elif term.startswith("<"):
        local = term[1:-1]
        name = unquote(local[max(local.rfind("/"), local.rfind("#")) + 1:]).replace("_", " ")
    else:
        name = term[1:term.find('"', 1)] if term.startswith('"') else term
    return " ".join(name.lower().split())


def candidate_features(z: torch.Tensor, decoded: torch.Tensor, feats: list[TextFeatures], texts: list[str],
                       n_known: int, overlap: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The candidates of the stacked pairs of ``feats`` (one text each, ``texts``): the
    finite entries of ``decoded`` ``(M, P)``, the reader's decoded logits, as ``(n, 2)``
    (pair row, predicate column), and their features ``(n, F)`` (:data:`FEATURES`); ``z``
    ``(M, P)`` the logits with the unseen bonus before decoding, ``overlap`` ``(M, P)`` the
    label word shares or None."""
    import torch

    idx = torch.nonzero(torch.isfinite(decoded))
    top2 = torch.cat([z.topk(min(2, z.shape[1]), dim=1).values, torch.full((len(z), 1), -math.inf)], 1)
    kept = one_per_pair(z)  # before the repeat penalty
    rows: list[list[float]] = []
    start, base = [], 0
    for f in feats:
        start.append(base)
        base += len(f.pairs)
    owner = np.repeat(np.arange(len(feats)), [len(f.pairs) for f in feats])
    for t in sorted(set(owner[idx[:, 0].numpy()].tolist())):
        mine = idx[torch.from_numpy(owner[idx[:, 0].numpy()] == t)]
        rows += _text_rows(mine.tolist(), start[t], feats[t], texts[t], z, top2, decoded, kept, n_known, overlap)
    if not rows:
        return torch.zeros(0, 2, dtype=torch.long), torch.zeros(0, len(FEATURES))
    return idx, torch.tensor(rows, dtype=torch.float32)  # idx is by row, so by text: the rows' order


def _text_rows(cands: list[list[int]], start: int, f: TextFeatures, text: str, z: torch.Tensor, top2: torch.Tensor,
               decoded: torch.Tensor, kept: torch.Tensor, n_known: int, overlap: torch.Tensor | None
               ) -> list[list[float]]:
    """:data:`FEATURES` of the candidates ``cands`` ((pair row, column)) of one text, whose
    pairs start at row ``start``."""
    best = top2[start:start + len(f.pairs), 0].tolist()
    by_object: dict[int, dict[int, float]] = {}  # object mention -> subject mention -> best logit
    for r, (a, b) in enumerate(f.pairs.tolist()):
        subjects = by_object.setdefault(f.mention[b], {})
        subjects[f.mention[a]] = max(subjects.get(f.mention[a], -math.inf), best[r])
    pairs = [f.pairs[k - start].tolist() for k, _ in cands]
    subject_terms = [f.terms[a] for a, _ in pairs]
    main = max(set(subject_terms), key=subject_terms.count)
    rows = []
    for (k, c), (a, b), subject in zip(cands, pairs, subject_terms, strict=True):
        obj, logit = f.terms[b], float(decoded[k, c])
        rivals = sorted(by_object[f.mention[b]].values(), reverse=True)
        seen = float(c < n_known)
        rows.append([
            logit, min(CAP, float(z[k, c] - top2[k, 1])),
            min(CAP, best[k - start] - (rivals[1] if len(rivals) > 1 else -math.inf)),
            seen, float(obj.startswith('"') and not obj.endswith(_DATE)), float(obj.endswith(_DATE)),
            float(logit < float(kept[k, c]) - 1e-6), float(subject == main), math.log(len(cands)),
            float(overlap[k, c]) if overlap is not None else 0.0, math.log(max(1, len(text))),
            float(subject.startswith("<")), float(obj.startswith("<")),
            float(len(term_words(subject).split()) > 4), float(len(term_words(obj).split()) > 4), logit * seen,
            math.log1p(abs(int(f.nodes[b, 0]) - int(f.nodes[a, 0]))), float(f.nodes[a, 0] < f.nodes[b, 0]),
            math.log(subject_terms.count(subject))])
    return rows


#: Features a new fit leaves out (weight 0; the columns stay, for the models saved before):
#: whether a name links to a known entity says more on validation texts drawn from the
#: training data, whose names training mostly knows, than on new text, so its weight does not
#: carry over (validation half, 2026-12-06, seed 0: 0.275 → 0.297 validated on held-out
#: training predicates, 0.334 → 0.332 validated on the validation categories).
LEFT_OUT = ("subject_known", "object_known")


def fit(x: torch.Tensor, y: torch.Tensor, l2: float = 1.0, steps: int = 30) -> dict[str, Any]:
    """A logistic regression of ``y`` ``(n,)`` (0/1) on ``x`` ``(n, F)`` by Newton's method,
    with an L2 penalty ``l2`` on the weights (not the bias), :data:`LEFT_OUT` at weight 0:
    ``{"features", "weights", "bias"}``."""
    import torch

    x = x.clone()
    x[:, [FEATURES.index(f) for f in LEFT_OUT]] = 0.0  # the ridge keeps their weights at 0
    xs = torch.cat([x.double(), torch.ones(len(x), 1, dtype=torch.float64)], 1)
    yd = y.double()
    w = torch.zeros(xs.shape[1], dtype=torch.float64)
    ridge = torch.full((xs.shape[1],), float(l2), dtype=torch.float64)
    ridge[-1] = 1e-3  # the bias nearly free, but finite when every candidate is right (or wrong)
    for _ in range(steps):
        p = torch.sigmoid(xs @ w)
        grad = xs.T @ (p - yd) + ridge * w
        hess = (xs * (p * (1 - p)).unsqueeze(1)).T @ xs + torch.diag(ridge)
        step = torch.linalg.solve(hess, grad)
        w = w - step
        if float(step.abs().max()) < 1e-8:
            break
    return {"features": list(FEATURES), "weights": [round(float(v), 6) for v in w[:-1]], "bias": round(float(w[-1]), 6)}


def apply(rescorer: dict[str, Any], x: torch.Tensor) -> torch.Tensor:
    """The re-scored logits ``(n,)`` of candidates ``x`` ``(n, F)``."""
    import torch

    w = torch.tensor(rescorer["weights"], dtype=torch.float32)
    return x @ w + float(rescorer["bias"])


def rescored(rescorer: dict[str, Any] | None, logits: torch.Tensor, feats: list[TextFeatures], texts: list[str],
             n_known: int, bonus: float, decoded: torch.Tensor, overlap: torch.Tensor | None) -> torch.Tensor:
    """``decoded`` ``(M, P)`` with its candidates' logits replaced by the re-scorer's (as it is
    when ``rescorer`` is None); ``logits`` the reader's, before the bonus and decoding."""
    if rescorer is None or not decoded.numel():
        return decoded
    idx, x = candidate_features(add_unseen(logits, n_known, bonus), decoded, feats, texts, n_known, overlap)
    out = decoded.clone()
    if len(idx):
        out[idx[:, 0], idx[:, 1]] = apply(rescorer, x)
    return out
