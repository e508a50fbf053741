"""The hostile-input campaign: thousands of generated bad inputs through the ``nesy`` CLI,
counting per kind what was accepted, rejected with a message, or failed (traceback, internal
error, out of memory, hang, network contact, KB changed by a rejected or read-only command).

Volume runs in-process (click's ``CliRunner`` on ``nesy.cli.main.cli``) inside worker
processes that a watchdog restarts when an input hangs or eats memory; a random sample also
runs as real ``python -m nesy`` subprocesses. Inputs come from ``chaos_inputs`` and
``chaos_kbfiles``, reproducible from (seed, index)::

    .venv/bin/python benchmarks/chaos_hostile.py --n 10000 --seed 0
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chaos_inputs import Case, set_scale  # noqa: E402
from chaos_kbfiles import make_case  # noqa: E402
from chaos_kbstate import BUDGETS, Fingerprint, build_pristine, nesy_cmd, snapshot  # noqa: E402
from chaos_repro import write_repros  # noqa: E402

#: Outcomes that are failures of nesy, as opposed to ``accepted`` and ``rejected``.
FAILURES = ("traceback", "internal", "oom", "crash", "unclear", "changed", "network", "hang", "memory")
MARK = "@@chaos "


# -- one input --------------------------------------------------------------------------------

class Listener:
    """A loopback TCP port that counts connections and closes them (SERVICE must not call it)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        self.dead = dead.getsockname()[1]
        dead.close()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            self.count += 1
            conn.close()


def prepare(case: Case, kb: Path, indir: Path, listener: Listener) -> list[str]:
    """Write the case's files, apply its edits to ``kb``, and return its command line."""
    shutil.rmtree(indir, ignore_errors=True)
    indir.mkdir(parents=True)
    for name, body in case.files.items():
        (indir / name).write_bytes(body)
    for name, body in case.edits.items():
        target = kb / name
        if body is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
    subs = {"{KB}": str(kb), "{IN}": str(indir), "{PORT}": str(listener.port), "{DEAD}": str(listener.dead)}
    return [re.sub("|".join(re.escape(k) for k in subs), lambda m: subs[m.group(0)], a) for a in case.args]


def classify(case: Case, code: int, output: str, escaped: BaseException | None) -> str:
    """accepted, rejected, or the failure the output shows."""
    if escaped is not None or "Traceback (most recent call last)" in output:
        return "traceback"
    if "internal error" in output:
        return "internal"
    if "out of memory" in output or "MemoryError" in output:
        return "oom"
    if code < 0:
        return "crash"  # killed by a signal (a stack overflow in native code, say)
    if code == 0 or (case.args[0] == "check" and code == 1 and "violation" in output) or \
            (case.args[0] == "explain" and code == 2):
        return "accepted"
    said = any(line.startswith(("error:", "Error:", "Usage:")) for line in output.splitlines())
    return "rejected" if said else "unclear"


def first_error(output: str) -> str:
    lines = [x for x in output.splitlines() if x.strip()]
    picked = next((x for x in lines if x.startswith(("error", "Error"))), lines[-1] if lines else "")
    return picked[:300]


def judge(case: Case, outcome: str, before: Fingerprint | None, kb: Path, net: int) -> str:
    """Turn a clean outcome into ``changed`` or ``network`` when the KB or the listener says so."""
    if net and not case.network:
        return "network"
    watch = before is not None and (outcome == "rejected" or (case.read_only and outcome == "accepted"))
    if watch and not before.same_as(kb):
        return "changed"
    return outcome


# -- the in-process worker --------------------------------------------------------------------

def worker(config: dict[str, Any]) -> None:
    """Run the configured inputs in this process and print one ``@@chaos`` JSON line per input
    (and a ``restart`` line when the process must not be reused, see :func:`run_one`)."""
    from click.testing import CliRunner

    from nesy.cli.main import cli

    os.environ.pop("NESY_DEBUG", None)
    die_with_parent()
    set_scale(config["scale"])
    out = os.fdopen(os.dup(1), "w", buffering=1)
    pristine_dir, root = Path(config["pristine"]), Path(config["root"])
    pristine = snapshot(pristine_dir)
    state = {"listener": Listener(), "runner": CliRunner(), "cli": cli, "clean": Fingerprint(pristine_dir),
             "pristine_dir": pristine_dir, "kb": None, "in": root / "in", "threads": threading.active_count()}
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    os.chdir(root)
    # What a model command imports on first use (torch: seconds on a busy machine) is imported
    # before the first input, as a real ``nesy`` process does it before the watchdog would see it.
    import nesy.linkpred.checkpoint  # noqa: F401
    gc.collect()
    gc.freeze()
    state["threads"] = threading.active_count()
    for index in config["indices"]:
        case = make_case(config["seed"], index, pristine)
        print(MARK + json.dumps({"start": index}), file=out)
        msg = run_one(case, state, root)
        print(MARK + json.dumps(msg), file=out)
        if threading.active_count() > state["threads"]:
            # A command that timed out may leave Oxigraph's evaluation running in a daemon
            # thread (it cannot be interrupted); that thread must not slow or touch the next input.
            print(MARK + json.dumps({"restart": index}), file=out)
            return


def run_one(case: Case, state: dict[str, Any], root: Path) -> dict[str, Any]:
    """Run one input in-process on a clean KB and judge it."""
    kb = state["kb"]
    if kb is None or case.edits:
        # A fresh folder per copy: a store that a failed command left open (and that closes
        # later, when collected) writes into its own, deleted folder, never into the next KB.
        if kb is not None:
            shutil.rmtree(kb, ignore_errors=True)
        kb = root / f"kb{case.index}"
        shutil.copytree(state["pristine_dir"], kb)
    args = prepare(case, kb, state["in"], state["listener"])
    before = None if case.kind in ("kbfile", "repl") else (Fingerprint(kb) if case.edits else state["clean"])
    net, t0 = state["listener"].count, time.perf_counter()
    result = state["runner"].invoke(state["cli"], args, input=case.stdin, catch_exceptions=True)
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    output = result.output + (f"\n{type(escaped).__name__}: {escaped}" if escaped else "")
    code = result.exit_code
    outcome = judge(case, classify(case, code, output, escaped), before, kb, state["listener"].count - net)
    # Probed after judging (opening the store for writing rewrites its manifest), and only on
    # the edited KBs, which are thrown away after the input.
    leaked = code != 0 and bool(case.edits) and store_locked(kb)
    del result
    gc.collect()  # only what this input made: everything older was frozen below
    gc.freeze()
    kept = outcome == "rejected" or (case.read_only and outcome == "accepted")
    state["kb"] = None if (case.edits or case.kind == "repl" or not kept) else kb
    if state["kb"] is None:
        shutil.rmtree(kb, ignore_errors=True)
    msg = {"i": case.index, "kind": case.kind, "variant": case.variant, "outcome": outcome, "leaked": leaked,
           "seconds": round(time.perf_counter() - t0, 3), "message": first_error(output)}
    if outcome in FAILURES:
        msg["output"] = output[-3000:]  # the whole story (a traceback's frames), for results.json
    return msg


def store_locked(kb: Path) -> bool:
    """Whether this process still holds the KB's store open after the command returned (an
    error path that did not close it): RocksDB then refuses a second open in this process."""
    import pyoxigraph as ox

    store_dir = kb / "oxigraph"
    if not (store_dir / "CURRENT").is_file():
        return False
    try:
        probe = ox.Store(str(store_dir))
    except Exception as exc:  # noqa: BLE001 - a damaged store raises too: only the lock counts
        return "lock hold by current process" in str(exc)
    del probe
    return False


def die_with_parent() -> None:
    """Ask Linux to kill this worker when the campaign that started it ends (even by a kill)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its children (``nesy train`` may fork)."""
    total = rss_mib(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(rss_mib(int(c)) for c in children)


def kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, 9)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def run_workers(seed: int, indices: list[int], workdir: Path, pristine: Path, timeout: float,
                memory_mib: float, progress: Any = None, *, scale: str = "full", slot: int = 0) -> list[dict[str, Any]]:
    """Run ``indices`` in worker processes; an input that hangs or blows the memory budget is
    recorded as such, its worker killed and a new one started on the next input."""
    results: list[dict[str, Any]] = []
    todo = list(indices)
    while todo:
        config = {"seed": seed, "indices": todo, "pristine": str(pristine), "root": str(workdir / f"w{slot}"),
                  "scale": scale}
        with open(workdir / f"worker{slot}.log", "ab") as log:
            proc = subprocess.Popen([sys.executable, __file__, "--worker", json.dumps(config)], stdout=subprocess.PIPE,
                                    stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        current, deadline, buffer = None, time.monotonic() + 120, b""
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        failed: str | None = None
        restart = False
        while True:
            ready = sel.select(timeout=0.2)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    failed = "crash" if todo else None
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if not line.startswith(MARK.encode()):
                        continue
                    msg = json.loads(line[len(MARK):])
                    if "restart" in msg:
                        restart = True
                    elif "start" in msg:
                        current, deadline = msg["start"], time.monotonic() + timeout
                    else:
                        results.append(msg)
                        todo.remove(msg["i"])
                        # The next input's setup (copying the KB) is watched too.
                        current, deadline = None, time.monotonic() + timeout
                        if progress:
                            progress(msg)
                if restart:
                    break
            if time.monotonic() > deadline:
                failed = "hang"
                break
            if tree_rss_mib(proc.pid) > memory_mib:
                failed = "memory"
                break
        kill(proc)
        sel.close()
        if failed and todo:
            index = current if current is not None else todo[0]
            case = rebuild(seed, index, pristine)
            results.append({"i": index, "kind": case.kind, "variant": case.variant,
                            "outcome": failed,
                            "seconds": timeout if failed == "hang" else None,
                            "message": f"worker {failed} (in-process)"})
            todo.remove(index)
    return results


_PRISTINE_CACHE: dict[str, dict[str, bytes]] = {}


def rebuild(seed: int, index: int, pristine: Path) -> Case:
    key = str(pristine)
    if key not in _PRISTINE_CACHE:
        _PRISTINE_CACHE[key] = snapshot(pristine)
    return make_case(seed, index, _PRISTINE_CACHE[key])


# -- real subprocesses ------------------------------------------------------------------------

def fits_exec(case: Case) -> bool:
    """Whether ``case``'s command line can be passed to exec: each argument under Linux's
    128 KiB ``MAX_ARG_STRLEN``, all of them well under ``ARG_MAX``."""
    lengths = [len(a.encode("utf-8", "surrogatepass")) + 200 for a in case.args]
    return max(lengths, default=0) < 131_072 and sum(lengths) < 1_000_000


def run_subprocess(case: Case, workdir: Path, pristine: Path, listener: Listener, timeout: float,
                   memory_mib: float) -> dict[str, Any]:
    """Run one input as ``python -m nesy ...`` on a fresh copy of the pristine KB."""
    root = workdir / "s"
    kb, indir = root / "kb", root / "in"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(pristine, kb)
    args = prepare(case, kb, indir, listener)
    before = None if case.kind in ("kbfile", "repl") else Fingerprint(kb)
    env = {k: v for k, v in os.environ.items() if k != "NESY_DEBUG"}
    net, t0 = listener.count, time.perf_counter()
    proc = subprocess.Popen(nesy_cmd(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=root, env=env, start_new_session=True)
    reader = threading.Thread(target=lambda: setattr(proc, "captured", proc.communicate(case.stdin or b"")[0]))
    reader.start()
    failed = None
    while reader.is_alive():
        reader.join(0.2)
        if time.perf_counter() - t0 > timeout:
            failed = "hang"
        elif tree_rss_mib(proc.pid) > memory_mib:
            failed = "memory"
        if failed:
            kill(proc)
            reader.join()
            break
    output = (getattr(proc, "captured", b"") or b"").decode("utf-8", "replace")
    outcome = failed or judge(case, classify(case, proc.returncode, output, None), before, kb, listener.count - net)
    return {"i": case.index, "kind": case.kind, "variant": case.variant, "outcome": outcome, "subprocess": True,
            "seconds": round(time.perf_counter() - t0, 3), "message": first_error(output)}


# -- the campaign -----------------------------------------------------------------------------

def run_hostile(n: int, seed: int, workdir: Path, *, subprocess_share: float = 0.02, min_subprocesses: int = 0,
                timeout: float = 30.0, memory_mib: float = 2500.0, progress: Any = None, scale: str = "full",
                workers: int = 1, budgets: dict[str, Any] | None = None,
                startup_s: float = 15.0) -> dict[str, Any]:
    """Generate ``n`` hostile inputs from ``seed`` and run them through the CLI.

    ``workers`` in-process workers share the inputs; ``scale`` ``light`` caps the sizes of
    huge and deep inputs (the CI form); ``timeout`` seconds (the hang watchdog, to be set well
    above the KB's own ``budgets["timeout"]``) and ``memory_mib`` per input. A subprocess gets
    ``startup_s`` more seconds to start Python and import nesy (torch, for a model command).

    Returns ``{"n", "seed", "inputs", "subprocesses", "seconds", "kinds": {kind: Counter of
    outcomes}, "totals": Counter, "failures": [{...per failing input...}], "repros": [...]}``;
    a failure's reproduction (files, KB edits, command) is written under ``workdir/repro``.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    set_scale(scale)
    pristine = build_pristine(workdir, budgets)
    phases = {"pristine": time.perf_counter() - t0}
    shares: list[list[dict[str, Any]]] = [[] for _ in range(workers)]
    threads = [threading.Thread(target=lambda k=k: shares[k].extend(run_workers(
        seed, list(range(k, n, workers)), workdir, pristine, timeout, memory_mib, progress, scale=scale, slot=k)))
        for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phases["in-process"] = time.perf_counter() - t0 - phases["pristine"]
    results = sorted((r for share in shares for r in share), key=lambda r: r["i"])
    (workdir / "results.json").write_text(json.dumps(results))  # kept should the subprocess phase fail
    picked = sorted(random.Random(seed).sample(range(n), min(n, max(min_subprocesses, round(n * subprocess_share)))))
    listener, taken = Listener(), set(picked)
    for k, index in enumerate(picked):
        case = rebuild(seed, index, pristine)
        while not fits_exec(case) and len(taken) < n:
            # Linux refuses a command line this long (E2BIG): no user can run it as a process,
            # so the next input that fits stands in for it.
            index = next(i % n for i in range(index + 1, index + n + 1) if i % n not in taken)
            taken.add(index)
            case = rebuild(seed, index, pristine)
        picked[k] = index
        results.append(run_subprocess(case, workdir, pristine, listener, timeout + startup_s, memory_mib))
    phases["subprocesses"] = time.perf_counter() - t0 - phases["pristine"] - phases["in-process"]
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        kinds[r["kind"]][r["outcome"]] += 1
        kinds[r["kind"]]["leaked"] += bool(r.get("leaked"))
    totals: Counter[str] = sum(kinds.values(), Counter())
    failures = [r for r in results if r["outcome"] in FAILURES]
    (workdir / "results.json").write_text(json.dumps(results))
    budgets = (workdir / "budgets.txt").read_text().strip()
    return {"n": n, "seed": seed, "inputs": len(results) - len(picked), "subprocesses": len(picked), "budgets": budgets,
            "seconds": time.perf_counter() - t0, "kinds": {k: dict(v) for k, v in sorted(kinds.items())},
            "totals": dict(totals), "failures": failures, "phases": phases,
            "repros": write_repros(failures, workdir, lambda i: rebuild(seed, i, pristine))}


def report(result: dict[str, Any]) -> str:
    """The per-kind table and the reproductions, as markdown."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import markdown_table

    cols = ["accepted", "rejected", "traceback", "internal", "crash", "changed", "hang", "memory", "oom", "network",
            "unclear", "leaked"]

    def count(c: dict[str, int]) -> int:
        return sum(v for k, v in c.items() if k != "leaked")  # a note on an input, not an outcome

    rows = [[kind, count(c), *(c.get(k, 0) for k in cols)] for kind, c in result["kinds"].items()]
    rows.append(["**all**", count(result["totals"]), *(result["totals"].get(k, 0) for k in cols)])
    lines = [markdown_table(["kind", "inputs", *cols], rows, "l" + "r" * (len(cols) + 1)), ""]
    lines.append(f"{result['inputs']} inputs in-process and {result['subprocesses']} as subprocesses, "
                 f"seed {result['seed']}, {result['seconds']:.0f} s ("
                 + ", ".join(f"{k} {v:.0f} s" for k, v in result.get("phases", {}).items())
                 + f"); KB budgets {result['budgets']}; "
                 "leaked: a rejected command that left the KB's store open in the process (in-process only)")
    for r in result["repros"]:
        lines.append(f"- [{r['outcome']}] {r['kind']}/{r['variant']} #{r['i']} ({r['bytes']} bytes): "
                     f"`{r['command']}` -> {r['message']!r}; input {r['preview']}; files in {r['folder']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a new temporary directory")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per input before it counts as a hang")
    parser.add_argument("--subprocess-share", type=float, default=0.02)
    parser.add_argument("--workers", type=int, default=2, help="in-process worker processes")
    parser.add_argument("--scale", choices=["full", "light"], default="full")
    parser.add_argument("--budgets", type=json.loads, default=None,
                        help=f"the KB's limits as JSON (default {json.dumps(BUDGETS)})")
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    import tempfile

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="nesy-chaos-"))
    result = run_hostile(args.n, args.seed, workdir, subprocess_share=args.subprocess_share, timeout=args.timeout,
                         workers=args.workers, scale=args.scale, budgets=args.budgets)
    print(report(result))


if __name__ == "__main__":
    main()
