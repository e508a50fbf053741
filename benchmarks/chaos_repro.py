"""Reproductions of the hostile campaign's failures: one per distinct failure (the smallest
input that shows it), saved as files and a command line to run by hand."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos_inputs import Case


def signature(r: dict[str, Any]) -> tuple[str, str, str]:
    """What makes two failures the same bug: kind, outcome, and the message without numbers and paths."""
    msg = re.sub(r"(/[^\s:'\"]+)+", "PATH", r["message"])
    return r["kind"], r["outcome"], re.sub(r"\d+", "N", msg)[:120]


def write_repros(failures: list[dict[str, Any]], workdir: Path, rebuild: Callable[[int], Case]) -> list[dict[str, Any]]:
    """For each distinct failure, the smallest input that shows it, saved to run by hand."""
    best: dict[tuple[str, str, str], tuple[int, Case, dict[str, Any]]] = {}
    for r in failures:
        case = rebuild(r["i"])
        key = signature(r)
        if key not in best or case.size() < best[key][0]:
            best[key] = (case.size(), case, r)
    repros = []
    for (_kind, outcome, _msg), (size, case, r) in sorted(best.items()):
        folder = workdir / "repro" / str(case.index)
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "in").mkdir(parents=True)
        for name, body in case.files.items():
            (folder / "in" / name).write_bytes(body)
        for name, body in case.edits.items():
            (folder / "kb-edits" / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / "kb-edits" / name).write_bytes(b"<deleted>" if body is None else body)
        if case.stdin is not None:
            (folder / "stdin").write_bytes(case.stdin)
        shown = [a if len(a) < 200 else a[:80] + f"...({len(a)} chars)" for a in case.args]
        command = "nesy " + " ".join(shown)
        (folder / "command.txt").write_text(" ".join(case.args) + "\n")
        repros.append({"i": case.index, "kind": case.kind, "variant": case.variant, "outcome": outcome,
                       "bytes": size, "message": r["message"], "command": command, "folder": str(folder),
                       "preview": preview(case)})
    return repros


def preview(case: Case) -> str:
    """The first bytes of the case's main input, for the report."""
    body = next(iter(case.files.values()), None) if case.files else None
    if case.edits:
        body = next(iter(case.edits.values())) or b"<file deleted>"
    if case.stdin is not None:
        body = case.stdin
    return repr(body[:100]) if body is not None else ""
