"""The examples in docs/ run: ```python blocks execute, ```console sessions behave as shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(\w[\w-]*)\n(.*?)^```", re.S | re.M)


def blocks(kind: str) -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for i, m in enumerate(FENCE.finditer(doc.read_text(encoding="utf-8"))):
            if m.group(1) == kind:
                out.append((f"{doc.name}#{i}", m.group(2)))
    return out


@pytest.mark.parametrize(("where", "code"), blocks("python"), ids=lambda v: v if "#" in str(v) else "")
def test_python_examples_run(where: str, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})  # noqa: S102 - our own docs


@pytest.mark.parametrize(("where", "session"), blocks("console"), ids=lambda v: v if "#" in str(v) else "")
def test_console_examples_run(where: str, session: str, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    last: subprocess.CompletedProcess[str] | None = None
    for line in session.splitlines():
        if line.startswith("$ "):
            if last is not None:
                assert last.returncode == 0, f"{where}: `{last.args}` failed: {last.stderr}"
            last = subprocess.run(line[2:], shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        elif line.startswith("! "):
            assert last is not None and last.returncode != 0, f"{where}: expected `{last and last.args}` to fail"
            pattern = ".*".join(re.escape(part) for part in line[2:].split("..."))
            assert re.search(pattern, last.stderr, re.S), f"{where}: stderr {last.stderr!r} does not match {line[2:]!r}"
            last = None
    if last is not None:
        assert last.returncode == 0, f"{where}: `{last.args}` failed: {last.stderr}"
