"""The KB's rule programs: parsing, the learned/derived kind, and their copies under DIR/rules."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nesy.kbview import LEARNED_HEADER

if TYPE_CHECKING:
    from nesy.rules.ast import Program


def parse_rules(source: str | os.PathLike[str], *, trust: bool, prefixes: dict[str, str],
                default_ns: str) -> Program:
    """A rule file (a path, or a one-line string ending in ``.rules``) or rule text, parsed."""
    from nesy.rules.parser import parse_file, parse_program

    kwargs = {"prefixes": prefixes, "default_ns": default_ns, "trust_plugins": trust}
    text = str(source)
    if isinstance(source, os.PathLike) or (("\n" not in text) and text.rstrip().endswith(".rules")):
        return parse_file(source, **kwargs)
    return parse_program(text, **kwargs)


def restore_rules(config: dict[str, Any], path: Path | None, prefixes: dict[str, str],
                  default_ns: str) -> list[tuple[Program, str]]:
    """The programs ``kb.json`` lists, with their kinds: from the original file while it
    exists, else from the KB's own copy."""
    from nesy.rules.parser import parse_file, parse_program

    out = []
    for entry in config.get("rules", []):
        kwargs = {"prefixes": prefixes, "default_ns": default_ns, "trust_plugins": entry.get("trust", False)}
        if entry.get("file") and Path(entry["file"]).exists():
            program = parse_file(entry["file"], **kwargs)
        else:
            assert path is not None
            text = (path / entry["copy"]).read_text(encoding="utf-8")
            program = parse_program(text, file=entry.get("file") or entry["copy"], **kwargs)
        out.append((program, entry.get("kind", "derived")))
    return out


def rule_kind(program: Program, source: str | os.PathLike[str], learned: bool | None) -> str:
    """``learned`` when asked, or by default when the text starts with :data:`LEARNED_HEADER`."""
    if learned is None:
        text = str(source)
        if program.files and Path(program.files[0]).exists():
            with open(program.files[0], encoding="utf-8") as fh:
                text = fh.readline()
        learned = text.lstrip().startswith(LEARNED_HEADER)
    return "learned" if learned else "derived"


def save_rules(path: Path, config: dict[str, Any], program: Program, source: str | os.PathLike[str], *,
               trust: bool, kind: str) -> None:
    """Keep a copy of the program's text in ``DIR/rules`` and list it in ``config["rules"]``,
    so a later process sees the rules even when the original file is gone."""
    rules_dir = path / "rules"
    rules_dir.mkdir(exist_ok=True)
    n = len(config["rules"])
    is_file = bool(program.files) and Path(program.files[0]).exists()
    copy = rules_dir / f"{n:03d}-{Path(program.files[0]).name if is_file else 'session.rules'}"
    text = Path(program.files[0]).read_text(encoding="utf-8") if is_file else str(source)
    copy.write_text(text, encoding="utf-8")
    config["rules"].append({
        "file": str(Path(program.files[0]).resolve()) if is_file else None,
        "copy": str(copy.relative_to(path)),
        "trust": trust,
        "kind": kind,
    })


def runnable(program: Program) -> Program:
    """``program`` without ontology-pack template rules (``tpl:P(X, Y)``): they only say
    which copies to make (see :mod:`nesy.ontologies.packs`). Unexpanded, they would still
    count in stratification and make every property depend on every other, rejecting a
    user's negation over classes that the copies themselves allow."""
    from nesy.ontologies.packs import is_template

    if not any(is_template(r) for r in program.rules):
        return program
    return replace(program, rules=tuple(r for r in program.rules if not is_template(r)))


__all__ = ["parse_rules", "restore_rules", "rule_kind", "runnable", "save_rules"]
