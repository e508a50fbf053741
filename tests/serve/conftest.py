"""Fixtures of the server tests: the family example KB built with the CLI, and `nesy serve` as a subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAMILY = ROOT / "examples" / "family"
#: The bearer token of the servers that take writes (at least 16 characters).
TOKEN = "test-token-0123456789abcdef"
STARTUP_SECONDS = 60


def nesy(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``nesy ARGS`` (this interpreter's) and fail the test with its stderr when it fails."""
    proc = subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert proc.returncode == 0, f"nesy {' '.join(args)} failed: {proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def family_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The family example as a KB: `nesy init`, `nesy load` of the data, `nesy rules` of the rules."""
    kb = tmp_path_factory.mktemp("serve") / "family"
    nesy("init", str(kb))
    nesy("load", str(kb), str(FAMILY / "family.ttl"))
    nesy("rules", str(kb), str(FAMILY / "family.rules"))
    return kb


class Server:
    """One ``nesy serve`` subprocess on a free loopback port.

    Attributes:
        url: Its base URL (``http://127.0.0.1:PORT/``).
        directory: The KB it serves.
    """

    def __init__(self, directory: Path, args: list[str], log: Path) -> None:
        self.directory = directory
        self.log = log
        cmd = [sys.executable, "-m", "nesy.cli.serve", str(directory), "--port", "0", *args]
        self._err = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err, text=True, cwd=ROOT,
                                     env={**os.environ, "NESY_DEBUG": ""})
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        for word in line.split():
            if word.startswith("http://"):
                url = word
                break
        else:
            self.stop()
            raise AssertionError(f"nesy serve did not start: {line!r}\n{self.log.read_text()}")
        while time.monotonic() < deadline:  # the socket listens already; wait for the app to answer
            try:
                with urllib.request.urlopen(url + "api/info", timeout=5):
                    return url
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"nesy serve did not answer at {url}\n{self.log.read_text()}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        """Stop it as Ctrl-C would; its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._err.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def start_server(family_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """A factory: ``start_server("--read-only", ..., prepare=fn)`` serves a fresh copy of the
    family KB (``prepare(directory)`` may change it first)."""
    started: list[Server] = []

    def start(*args: str, token: bool = True, prepare: Callable[[Path], None] | None = None) -> Server:
        where = tmp_path_factory.mktemp("served")
        kb = where / "family"
        shutil.copytree(family_template, kb)
        if prepare is not None:
            prepare(kb)
        extra = list(args)
        if token:
            (where / "token").write_text(TOKEN + "\n")
            extra += ["--token-file", str(where / "token")]
        server = Server(kb, extra, where / "server.log")
        started.append(server)
        return server

    yield start
    for server in started:
        code = server.stop()
        assert code == 0, f"nesy serve exited with {code}:\n{server.log.read_text()[-3000:]}"


@pytest.fixture(scope="module")
def server(start_server: Callable[..., Server]) -> Server:
    """A read-write server on the family KB whose writes need :data:`TOKEN`."""
    return start_server()


def http_call(method: str, url: str, body: bytes | str | None = None, headers: dict[str, str] | None = None,
         timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request: ``(status, headers, body)``, error statuses included."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


@pytest.fixture(name="http")
def http_fixture() -> Callable[..., tuple[int, dict[str, str], bytes]]:
    """:func:`http_call` as a fixture: ``http(method, url, body=None, headers=None)``."""
    return http_call


@pytest.fixture
def token() -> str:
    """The bearer token of the servers that take writes."""
    return TOKEN
