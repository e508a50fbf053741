"""Shared helpers for the benchmark scripts: timing, child-process peak memory, tables, machine.

Each benchmark runs every measured system in a fresh child process (:func:`run_child`) so
that peak memory is per system, times only the region it cares about (:class:`Timer`), and
prints one markdown table (:func:`markdown_table`) under a line saying where it ran
(:func:`machine_line`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

#: Root of the repository; the default data directory is ``../shared/data`` next to it.
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("NESY_DATA", REPO.parent / "shared" / "data"))


class Timer:
    """Wall-clock timer: ``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.seconds = 0.0
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


class ChildError(RuntimeError):
    """A benchmark child process failed; the message carries the end of its stderr."""


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB, counted from its own ``exec``.

    Reads ``VmHWM`` from ``/proc/self/status``: unlike ``ru_maxrss``, which Linux carries
    over from the parent across ``fork``/``exec`` (so a child never reports less than its
    parent's peak), it covers this program's own memory only.
    """
    try:
        for text in Path("/proc/self/status").read_text().splitlines():
            if text.startswith("VmHWM:"):
                return int(text.split()[1]) / 1024
    except OSError:
        pass
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def emit_result(result: dict[str, Any]) -> None:
    """Child side of :func:`run_child`: print ``result`` plus ``peak_rss_mib`` as JSON."""
    print(json.dumps({**result, "peak_rss_mib": peak_rss_mib()}), flush=True)


def run_child(argv: Sequence[str], *, timeout: float | None = None) -> dict[str, Any]:
    """Run ``python argv...`` in a fresh process and return the JSON object it printed last.

    The child ends with :func:`emit_result`, so the object carries its own peak RSS
    (``peak_rss_mib``, interpreter and imports included).
    """
    try:
        proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ChildError(f"{' '.join(argv)} ran past {timeout} s") from exc
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise ChildError(f"{' '.join(argv)} exited with {proc.returncode}:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def prepared(datasets: Sequence[str], prepare: Callable[[str, Path, Path], Path | str], data: Path,
             tmp: Path) -> Iterator[tuple[str, Path]]:
    """``(name, folder)`` of each dataset ``prepare`` made ready in ``tmp``; one whose data is
    absent (``prepare`` returns the reason as a string) is skipped with a line on stderr."""
    for ds in datasets:
        folder = prepare(ds, data, tmp)
        if isinstance(folder, str):
            print(f"skipping {folder}", file=sys.stderr)
            continue
        yield ds, folder


def dir_size_mib(path: str | os.PathLike[str]) -> float:
    """Total size of the files under ``path`` in MiB."""
    total = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    return total / (1024 * 1024)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub markdown table; ``align`` has one ``l``/``r`` per column (default: all left)."""
    align = align or "l" * len(headers)
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(row, widths, align)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2)) for w, a in zip(widths, align)) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cpu_model() -> str:
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                return text.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for text in Path("/proc/meminfo").read_text().splitlines():
            if text.startswith("MemTotal:"):
                return int(text.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return None


def machine_line(packages: Sequence[str] = ()) -> str:
    """One line: date, CPU model, cores, RAM, Python and the versions of ``packages``."""
    ram = _ram_gib()
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    parts = [
        date.today().isoformat(),
        f"{_cpu_model()}, {os.cpu_count()} cores" + (f", {ram:.0f} GiB RAM" if ram else ""),
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}",
        *versions,
    ]
    return "; ".join(parts)


def fmt_num(x: float | None, digits: int = 2) -> str:
    """A number for a table cell: thousands separators for big ones, ``—`` for missing."""
    if x is None:
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every benchmark shares: ``--data`` and the hidden ``--worker SYSTEM SPEC``
    that runs one measurement in a child process."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data directory (default: %(default)s)")
    parser.add_argument("--worker", nargs=2, metavar=("SYSTEM", "SPEC"), help=argparse.SUPPRESS)
    return parser
