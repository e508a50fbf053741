"""Training the extractor (the fine-tuned reader or the relation head), and its files (safetensors + JSON)."""

from __future__ import annotations

import datetime as _dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import URIRef

from nesy.errors import TextError
from nesy.ml.checkpoint import read_pair, write_pair
from nesy.text.encoder import get_encoder, term_texts
from nesy.text.extract_model import (
    TextFeatures,
    featurize,
    kb_gazetteer,
    kb_properties,
    make_head,
    repeats_objects,
)
from nesy.text.mentions import Gazetteer, align, name_variants, tokens
from nesy.text.webnlg import Example, name_to_term

if TYPE_CHECKING:

    from nesy.kbview import KBView

FORMAT, VERSION = "nesy-extractor", 1
DEFAULTS: dict[str, Any] = {
    "epochs": 6, "lr": 2e-3, "batch": 32, "hidden": 256, "out": 128, "dropout": 0.1, "use_prior": False,
    "holdout": 0.05, "seed": 0, "encoder": None, "max_examples": None, "patience": 3, "pairs_nil": True,
    "residual": False, "label_match": True, "one_per_pair": True,
    # The model: "reader" (the encoder fine-tuned as mention tagger and relation scorer,
    # nesy.text.reader_model; the default) or "head" (a head on the frozen encoder's features;
    # the default with use_prior, which only the head has); the options below are the reader's.
    # All six of MiniLM's layers are tuned (validation half, 2026-12-05, two seeds: 3 layers
    # 0.283/0.299, 6 layers 0.311/0.303, for about twice the training time).
    "model": "reader", "encoder_lr": 1e-4, "tune_layers": 6, "label_negatives": 64, "tag_weight": 1.0,
    "max_tokens": 96,
    # The reader in training: at most this many spans per text that the tagger marks beside
    # the gold mentions join them, so that the pairs of wrongly tagged spans are negatives
    # (validation half, 2026-12-05, two seeds: 0 → 0.246/0.248, 4 → 0.278/0.282 with
    # label_overlap, 8 → 0.282/0.298).
    "tagged_negatives": 8,
    # The reader: a learned multiple of the share of a predicate's label words in the text,
    # starting at this value (0: none). Validation half, 2026-12-05: 2.0 gave F1 0.278 and
    # 0.282 over two seeds, 4.0 gave 0.269 and 0.267.
    "label_overlap": 2.0,
    # The reader at validation and extraction: this many logits times the share of a
    # predicate's label words among the 4 words before the object (nesy.text.label_words;
    # 0: none). Validation half, 2026-12-07, seed 0's model decoded again: 0.326 -> 0.340.
    "object_overlap": 2.0,
    # One subject per object mention at extraction (nesy.text.extract_model.one_per_object):
    # "auto" turns it on when at most 2% of the training texts state two triples with one object.
    "one_per_object": "auto",
    # The reader at extraction: a logit off a subject's second object of one predicate
    # (nesy.text.extract_model.one_object_per_predicate; 0: none). Validation half, 2026-12-06,
    # two seeds' models, threshold and bonus chosen on the other half: 0.326/0.303 -> 0.330/0.323.
    "repeat_penalty": 1.0,
    # The reader: a logistic re-scorer of the decoded candidates (nesy.text.rescore) fitted on
    # the validation texts with the threshold. Validation half, 2026-12-06: see docs/text.md.
    "rescore": True,
    # The reader at extraction: int8 dynamic quantisation of the encoder's Linear layers
    # (~3x faster on one CPU thread, but F1 0.142 -> 0.126 on the validation half, 2026-12-05).
    "quantize": False,
    # The reader, validated on held-out training texts (no validation texts given): once the
    # threshold, the unseen bonus and the re-scorer are chosen, train again on all the texts,
    # the held-out ones included, for the epochs kept, and keep those choices. See docs/text.md.
    "refit": True,
}
MODELS = ("head", "reader")
#: The reader's values of the options it shares with the head (which keeps :data:`DEFAULTS`):
#: chosen on the validation half of WebNLG's validation categories (2026-12-05; docs/text.md),
#: where 4,000 texts × 2 epochs train in 6 minutes on one CPU thread.
READER_DEFAULTS: dict[str, Any] = {"epochs": 2, "batch": 16, "lr": 1e-3, "max_examples": 4000, "tag_weight": 3.0}


@dataclass
class ExtractorModel:
    """A trained extractor: head, predicates (IRIs, column order), their label vectors ``(P, d)``,
    the learned surface forms, the logit threshold (confidence 0.5), the training config and
    (the reader's) ``unseen_bonus``, a logit added to the predicates it was not trained on."""

    head: Any
    predicates: list[str]
    labels: Any
    gazetteer: Gazetteer
    threshold: float
    config: dict[str, Any]
    encoder: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    unseen_bonus: float = 0.0
    #: The reader's re-scorer (:mod:`nesy.text.rescore`), or None.
    rescorer: dict[str, Any] | None = None


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """:data:`DEFAULTS` (and, for the reader, :data:`READER_DEFAULTS`) overridden by
    ``config``. Without a ``model``, ``use_prior`` chooses the head, else the reader.

    Raises:
        TextError: an option :data:`DEFAULTS` does not have.
    """
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise TextError(f"unknown extractor training option(s) {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(sorted(DEFAULTS))}")
    model = config.get("model") or ("head" if config.get("use_prior") else DEFAULTS["model"])
    cfg = {**DEFAULTS, **(READER_DEFAULTS if model == "reader" else {}), **config, "model": model}
    if cfg["model"] not in MODELS:
        raise TextError(f"unknown extractor model {cfg['model']!r}; known: {', '.join(MODELS)}")
    if cfg["one_per_object"] not in (True, False, "auto"):
        raise TextError(f"one_per_object must be true, false or \"auto\", got {cfg['one_per_object']!r}")
    for key, kinds in (("label_overlap", int | float), ("object_overlap", int | float), ("repeat_penalty", int | float),
                       ("tagged_negatives", int)):
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, kinds) or not value >= 0 or value == float("inf"):
            raise TextError(f"{key} must be a number of at least 0{', whole' if key == 'tagged_negatives' else ''}, "
                            f"got {value!r}")
    for key in ("use_prior", "pairs_nil", "residual", "label_match", "one_per_pair", "rescore", "quantize", "refit"):
        if not isinstance(cfg[key], bool):
            raise TextError(f"{key} must be true or false, got {cfg[key]!r}")
    if cfg["model"] == "reader" and cfg["use_prior"]:
        raise TextError("the reader model reads the text alone: use_prior needs model = \"head\"")
    return cfg


def gold_triples(examples: list[Example], namespace: str) -> list[list[tuple[str, str, str]]]:
    """Each example's triples as ``(subject n3, predicate IRI, object n3)``."""
    return [[(name_to_term(s, namespace).n3(), str(name_to_term(p, namespace, predicate=True)),
              name_to_term(o, namespace).n3()) for s, p, o in e.triples] for e in examples]


def learn_surface_forms(examples: list[Example], gold: list[list[tuple[str, str, str]]]) -> tuple[Gazetteer, int, int]:
    """Surface forms of the examples' names (where a name aligns with its text, and the
    name's own variants); also how many names aligned, of how many."""
    gaz, aligned, names = Gazetteer(), 0, 0
    for e, triples in zip(examples, gold, strict=True):
        toks = tokens(e.text)
        for (sn, _, on), (s, _, o) in zip(triples, e.triples, strict=True):
            for name, term in ((s, sn), (o, on)):
                names += 1
                span = align(e.text, name, toks)
                if span:
                    aligned += 1
                    gaz.add(e.text[span[0]:span[1]], term)
                for v in name_variants(name):
                    gaz.add(v, term)
    return gaz, aligned, names


def predicate_holdout(gold: list[list[tuple[str, str, str]]], n_hold: int,
                      rng: random.Random) -> tuple[list[int], list[int]]:
    """The indices of the examples to train on and of about ``n_hold`` to validate on: every
    example that states a triple of a predicate drawn at random goes to validation, until
    about ``n_hold`` do, so that validation meets predicates training never saw, known by
    their labels alone, as text about new kinds of things will (a random part would hold
    only trained predicates, and the threshold and re-scorer chosen there would reject the
    others)."""
    by_pred: dict[str, set[int]] = {}
    for i, triples in enumerate(gold):
        for _, p, _ in triples:
            by_pred.setdefault(p, set()).add(i)
    preds = sorted(by_pred)
    rng.shuffle(preds)
    hold: set[int] = set()
    for p in preds:
        if len(hold) >= n_hold:
            break
        if len(hold | by_pred[p]) <= max(n_hold * 1.25, n_hold + 1):  # no predicate that swamps the part
            hold |= by_pred[p]
    return [i for i in range(len(gold)) if i not in hold], sorted(hold)


def _held_out(examples: list[Example], gold: list[list], cfg: dict[str, Any], rng: random.Random
              ) -> tuple[Gazetteer | None, list[Example] | None, list[Example], list[list], set[str]]:
    """:func:`predicate_holdout` of ``examples``, less the training examples that name the
    entity a held-out example is about: the surface forms of them all (None where none is
    held out), the held-out examples (or None), the rest with their gold triples, and the
    entities they are about (n3 texts; none where leaving them out would cost half the data)."""
    n = len(examples)
    rest, hold = predicate_holdout(gold, int(n * cfg["holdout"]) if n >= 40 else 0, rng)
    if not hold:
        return None, None, examples, gold, set()
    # New text is about entities training never read of: no training example names a
    # held-out example's first subject (the entity it is about; its other names stay known).
    about = {gold[i][0][0] for i in hold}
    unread = [i for i in rest if not any(s in about or o in about for s, _, o in gold[i])]
    if 2 * len(unread) < len(rest):  # not at the cost of half the data
        unread, about = rest, set()
    rest = unread
    return (learn_surface_forms(examples, gold)[0], [examples[i] for i in hold],
            [examples[i] for i in rest], [gold[i] for i in rest], about)


def _sample(kb: KBView, examples: list[Example], gold: list[list], cfg: dict[str, Any], rng: random.Random
            ) -> tuple[list[Example], list[list], list[str], int]:
    """At most ``max_examples`` of the examples, drawn at random, with their gold triples;
    the predicates to score (those the sample states, sorted, then the store's others) and
    how many the sample states."""
    if cfg["max_examples"] and len(examples) > cfg["max_examples"]:
        keep = sorted(rng.sample(range(len(examples)), cfg["max_examples"]))
        examples, gold = [examples[i] for i in keep], [gold[i] for i in keep]
    known = sorted({p for triples in gold for _, p, _ in triples})
    return examples, gold, known + [str(p) for p in kb_properties(kb) if str(p) not in set(known)], len(known)


def _examples_and_gold(examples: list[Example], namespace: str, what: str) -> tuple[list[Example], list[list]]:
    examples = [e for e in examples if e.triples and e.text.strip()]
    if not examples:
        raise TextError(f"no {what} examples (each needs a text and at least one triple)")
    return examples, gold_triples(examples, namespace)


def _encode(encoder: Any, gaz: Gazetteer, texts: list[str], pairs_nil: bool, show: bool,
            what: str) -> list[TextFeatures]:
    """Mentions and one encoder pass per text, 256 texts at a time, with a progress bar."""
    from tqdm.auto import tqdm

    feats: list[TextFeatures] = []
    for lo in tqdm(range(0, len(texts), 256), desc=f"encoding {what} texts", disable=not show, leave=False):
        chunk = texts[lo:lo + 256]
        feats += featurize(encoder, chunk, [gaz.find(t) for t in chunk], pairs_nil=pairs_nil)
    return feats


def train_model(kb: KBView, examples: list[Example], config: dict[str, Any], *, progress: bool | None = None,
                valid: list[Example] | None = None,
                on_epoch: Callable[[dict[str, Any]], None] | None = None) -> tuple[ExtractorModel, dict[str, Any]]:
    """Align mentions, encode the texts once, train the head with the validation F1 after
    every epoch (on ``valid``, else on a ``holdout`` share of the ``examples``, those of
    predicates drawn at random, :func:`predicate_holdout`, with surface forms learned from the
    rest), keep the best
    epoch and the threshold that gives the best validation F1.

    ``on_epoch(entry)`` is called after each epoch with its loss, validation P/R/F1,
    seconds so far and the estimated seconds left (``eta_seconds``).
    """
    import torch

    from nesy.ml.metrics import show_progress
    from nesy.text.extract_fit import fit, training_set, validate

    cfg = check_config(config)
    show = show_progress(bool(progress))
    rng = random.Random(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    ns = kb.default_namespace
    examples, gold = _examples_and_gold(examples, ns, "training")
    t0, encoder = time.time(), get_encoder(cfg["encoder"])
    saved, about = None, set()
    everything = (examples, gold) if not valid and cfg["refit"] else None  # validated on some of them
    if not valid:  # validation texts with predicates training never saw, as new text will have
        saved, valid, examples, gold, about = _held_out(examples, gold, cfg, rng)
    gaz, aligned, names = learn_surface_forms(examples, gold)
    examples, gold, preds, n_known = _sample(kb, examples, gold, cfg, rng)
    full = gaz.merge(kb_gazetteer(kb)).without(about)  # nor does the store know them, here
    gaz = saved if saved is not None else gaz  # the model keeps the held-out texts' surface forms too
    if cfg["model"] == "reader":
        return _train_reader(kb, examples, gold, valid, preds, n_known, gaz, full, cfg, show, on_epoch,
                             {"t0": t0, "aligned": aligned, "names": names, "rng": rng, "refit": everything})
    known = preds[:n_known]
    labels = encoder.encode(term_texts(kb, [URIRef(p) for p in preds]))
    feats = _encode(encoder, full, [e.text for e in examples], bool(cfg["pairs_nil"]), show, "training")
    order = list(range(len(feats)))
    if valid:
        valid, vgold = _examples_and_gold(valid, ns, "validation")
        feats += _encode(encoder, full, [e.text for e in valid], bool(cfg["pairs_nil"]), show, "validation")
        gold += vgold
        train, hold = order, list(range(len(order), len(feats)))
    else:
        n_hold = int(len(feats) * cfg["holdout"]) if len(feats) >= 40 else 0
        rng.shuffle(order)
        hold, train = order[:n_hold], order[n_hold:]
    data = training_set(kb, feats, gold, preds, labels, len(known), cfg["use_prior"])
    head = make_head({"dim": encoder.dim, "hidden": cfg["hidden"], "out": cfg["out"], "dropout": cfg["dropout"],
                      "n_known": len(known), "use_prior": cfg["use_prior"], "residual": cfg["residual"],
                      "label_match": cfg["label_match"]})
    losses, history = fit(head, data, train, hold, cfg, ns, show=show, on_epoch=on_epoch)
    threshold, held = validate(head, data, hold, ns, cfg["one_per_pair"]) if hold else (0.0, {})
    metrics = {"examples": len(examples), "train": len(train), "held_out": len(hold), "predicates": len(known),
               "surface_forms": len(gaz.table), "names_aligned": round(aligned / max(1, names), 4),
               "triples_reachable": round(data.covered / max(1, data.total), 4), "loss": losses, "history": history,
               "threshold": round(threshold, 3), **held, "seconds": round(time.time() - t0, 1)}
    if held:  # the names earlier versions gave the validation figures
        metrics.update(held_precision=held["valid_precision"], held_recall=held["valid_recall"],
                       held_f1=held["valid_f1"])
    model = ExtractorModel(head, known, labels[:len(known)], gaz, threshold, cfg, cfg["encoder"], metrics)
    return model, metrics


def _train_reader(kb: KBView, examples: list[Example], gold: list[list], valid: list[Example] | None,
                  preds: list[str], n_known: int, gaz: Gazetteer, full: Gazetteer, cfg: dict[str, Any], show: bool,
                  on_epoch: Callable[[dict[str, Any]], None] | None,
                  state: dict[str, Any]) -> tuple[ExtractorModel, dict[str, Any]]:
    """:func:`train_model` for ``model = "reader"``: fine-tune the encoder (reader_fit)."""
    from nesy.text.label_words import LabelWords
    from nesy.text.reader_fit import all_labels, evaluate, fit_reader, new_reader, reader_data

    ns, encoder = kb.default_namespace, get_encoder(cfg["encoder"])
    if cfg["one_per_object"] == "auto":
        cfg["one_per_object"] = not repeats_objects(gold)
    net = new_reader(encoder, cfg)
    label_enc = _label_tokens(kb, encoder, preds)
    train = list(range(len(examples)))
    if valid:
        valid, vgold = _examples_and_gold(valid, ns, "validation")
        examples, gold = examples + valid, gold + vgold
        hold = list(range(len(train), len(examples)))
    else:
        n_hold = int(len(train) * cfg["holdout"]) if len(train) >= 40 else 0
        state["rng"].shuffle(train)
        hold, train = train[:n_hold], train[n_hold:]
    words = LabelWords.of(term_texts(kb, [URIRef(p) for p in preds])) if cfg["label_overlap"] or cfg["object_overlap"] else None
    data = reader_data(examples, gold, preds, full, label_enc, n_known, ns, words)
    report = on_epoch
    if on_epoch is not None and state["refit"] is not None and hold:  # the ETA counts the second training too
        def report(entry: dict[str, Any]) -> None:
            on_epoch({**entry, "eta_seconds": round(entry["eta_seconds"] + entry["seconds"] / entry["epoch"]
                                                    * cfg["epochs"], 1)})
    losses, history = fit_reader(net, encoder.tokenizer, data, train, hold, full, preds, cfg, ns, show=show,
                                 on_epoch=report)
    threshold, held, rescorer = evaluate(net, encoder.tokenizer, data, hold, full, preds, cfg, ns) if hold \
        else (0.0, {}, None)
    if state["refit"] is not None and hold:
        net, preds, n_known, label_enc, refit = _refit(kb, state["refit"], gaz, cfg, history, show, on_epoch,
                                                       state["rng"])
        history = history + refit
        state["refit_examples"] = refit[0]["refit"] if refit else 0
    metrics = {"examples": len(train) + len(hold), "train": len(train), "held_out": len(hold),
               "predicates": n_known, "surface_forms": len(gaz.table),
               "names_aligned": round(state["aligned"] / max(1, state["names"]), 4), "loss": losses,
               "history": history, "threshold": round(threshold, 3), **held,
               "seconds": round(time.time() - state["t0"], 1)}
    if "refit_examples" in state:
        metrics["refit_examples"] = state["refit_examples"]
    model = ExtractorModel(net, preds[:n_known], all_labels(net, label_enc)[:n_known], gaz, threshold, cfg,
                           cfg["encoder"], metrics, held.get("unseen_bonus", 0.0), rescorer)
    return model, metrics


def _label_tokens(kb: KBView, encoder: Any, preds: list[str]) -> Any:
    """The reader's tokenised predicate labels (with their comments), in ``preds``' order."""
    from nesy.text.reader_model import tokenize

    return tokenize(encoder.tokenizer, term_texts(kb, [URIRef(p) for p in preds], comments=True), 64)


#: How much better an earlier epoch's validation F1 must be for the second training to stop
#: there: less is within the noise of the few hundred held-out texts (2026-12-07: [0.2384,
#: 0.2380] chose one epoch, and the validation half fell from 0.356 to 0.340; docs/text.md).
REFIT_TOLERANCE = 0.005


def refit_epochs(history: list[dict]) -> int:
    """The epochs the second training takes: the last validated epoch whose F1 is within
    :data:`REFIT_TOLERANCE` of the best (1 when none was validated)."""
    scored = [e for e in history if "valid_f1" in e]
    if not scored:
        return 1
    best = max(e["valid_f1"] for e in scored)
    return max([1] + [e["epoch"] for e in scored if e["valid_f1"] >= best - REFIT_TOLERANCE])


def _refit(kb: KBView, everything: tuple[list[Example], list[list]], gaz: Gazetteer, cfg: dict[str, Any],
           history: list[dict], show: bool, on_epoch: Callable[[dict[str, Any]], None] | None,
           rng: random.Random) -> tuple[Any, list[str], int, Any, list[dict]]:
    """A new reader trained on a sample of all the examples (the held-out ones and those about
    their entities included), with every surface form, for :func:`refit_epochs` epochs:
    the predicates and entities held out to validate like new text are trained on too. Returns
    the reader, its predicates, how many it trained on, their tokenised labels and its epochs'
    history entries (``"refit"``: how many examples it trained on)."""
    from nesy.text.label_words import LabelWords
    from nesy.text.reader_fit import fit_reader, new_reader, reader_data

    ns, encoder = kb.default_namespace, get_encoder(cfg["encoder"])
    examples, gold, preds, n_known = _sample(kb, *everything, cfg, rng)
    epochs = refit_epochs(history)
    full = gaz.merge(kb_gazetteer(kb))
    net, label_enc = new_reader(encoder, cfg), _label_tokens(kb, encoder, preds)
    words = LabelWords.of(term_texts(kb, [URIRef(p) for p in preds])) if cfg["label_overlap"] or cfg["object_overlap"] else None
    data = reader_data(examples, gold, preds, full, label_enc, n_known, ns, words)
    n = len(examples)
    report = None if on_epoch is None else (lambda entry: on_epoch({**entry, "refit": n}))
    _, refit = fit_reader(net, encoder.tokenizer, data, list(range(len(examples))), [], full, preds,
                          {**cfg, "epochs": epochs}, ns, show=show, on_epoch=report)
    return net, preds, n_known, label_enc, [{**e, "refit": n} for e in refit]


def save_model(model: ExtractorModel, directory: str | Path) -> Path:
    """Write ``model.safetensors`` (head + label vectors) and ``model.json`` (the rest)
    atomically (:func:`~nesy.ml.checkpoint.write_pair`)."""
    reader = model.config.get("model") == "reader"
    state = {f"{'reader' if reader else 'head'}.{k}": v for k, v in model.head.state_dict().items()}
    state["labels"] = model.labels
    doc = {"format": FORMAT, "version": VERSION, "predicates": model.predicates, "threshold": model.threshold,
           "unseen_bonus": model.unseen_bonus, "rescorer": model.rescorer,
           "config": model.config, "encoder": model.encoder, "metrics": model.metrics,
           "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
           "head": {"dim": int(model.labels.shape[1]), "hidden": model.config["hidden"], "out": model.config["out"],
                    "dropout": model.config["dropout"], "n_known": len(model.predicates),
                    "use_prior": model.config["use_prior"], "residual": model.config.get("residual", True),
                    "label_match": model.config.get("label_match", False)},
           "gazetteer": model.gazetteer.to_json()}
    if reader:
        doc["model"] = "reader"
        doc["reader"] = {k: model.config[k] for k in ("hidden", "out", "dropout", "tune_layers")}
        doc["reader"]["label_overlap"] = float(model.config.get("label_overlap", 0.0))
    return write_pair(directory, state, doc, what="extractor model", error=TextError)


def check_rescorer(doc: Any, directory: Path) -> dict[str, Any] | None:
    """The re-scorer of a model description, checked: None, or one finite weight per feature
    of :data:`~nesy.text.rescore.FEATURES` and a finite bias."""
    import math

    from nesy.text.rescore import FEATURES

    if doc is None:
        return None
    values = [*doc.get("weights", []), doc.get("bias")] if isinstance(doc, dict) and isinstance(doc.get("weights"), list) \
        else []
    ok = isinstance(doc, dict) and doc.get("features") == list(FEATURES) and len(values) == len(FEATURES) + 1 \
        and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    if not ok:
        raise TextError(f"the re-scorer is not {len(FEATURES)} finite weights over {', '.join(FEATURES)} and a bias",
                        file=str(directory / "model.json"))
    return {"features": list(FEATURES), "weights": [float(v) for v in doc["weights"]], "bias": float(doc["bias"])}


def load_model(directory: str | Path) -> ExtractorModel:
    """Read a model written by :func:`save_model` (never unpickles).

    Raises:
        TextError: Missing files, a foreign or corrupt description, weights that do not fit.
    """
    directory = Path(directory)
    weights = directory / "model.safetensors"
    state, doc = read_pair(directory, FORMAT, what="extractor model", error=TextError)
    if doc.get("version") != VERSION:
        raise TextError(f"extractor model version {doc.get('version')!r} is not supported (this nesy reads "
                        f"version {VERSION})", file=str(directory / "model.json"))
    if doc.get("model") == "reader":
        import copy

        from nesy.text.reader_model import make_reader

        head, prefix = make_reader(copy.deepcopy(get_encoder(doc.get("encoder")).model), doc["reader"]), "reader."
    else:
        head, prefix = make_head(doc["head"]), "head."
    try:
        head.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}, strict=True)
    except RuntimeError as exc:
        raise TextError(f"weights do not fit the model description: {exc}", file=str(weights)) from None
    return ExtractorModel(head.eval(), doc["predicates"], state["labels"], Gazetteer.from_json(doc["gazetteer"]),
                          float(doc["threshold"]), doc["config"], doc.get("encoder"), doc.get("metrics", {}),
                          float(doc.get("unseen_bonus", 0.0)), check_rescorer(doc.get("rescorer"), directory))
