"""The scale-out path: a KB on a remote SPARQL 1.1 endpoint (``oxigraph serve`` on loopback)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import URIRef

from nesy.kb import KnowledgeBase

FAM = "http://example.org/family#"


def _oxigraph_binary() -> str:
    exe = Path(sys.executable).parent / "oxigraph"
    found = str(exe) if exe.exists() else shutil.which("oxigraph")
    if found is None:
        pytest.fail("the `oxigraph` server (PyPI package oxigraph) is not installed; `make venv` installs it")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [_oxigraph_binary(), "serve", "--location", str(tmp_path / "db"), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/query?query=ASK%7B%7D", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"oxigraph serve did not start: {proc.stderr.read() if proc.stderr else ''}") from None
                time.sleep(0.1)
        yield url + "/query"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_connect_loads_and_reads_back(endpoint: str, family_ttl: Path) -> None:
    kb = KnowledgeBase.connect(endpoint)
    report = kb.load(family_ttl)
    assert report.added == 41 and len(kb) == 41
    # Read back with a plain SPARQL protocol request to the endpoint itself.
    q = f"SELECT ?g ?c WHERE {{ GRAPH ?g {{ <{FAM}ann> <{FAM}parent> ?c }} }}"
    req = urllib.request.Request(
        endpoint + "?" + urllib.parse.urlencode({"query": q}), headers={"Accept": "application/sparql-results+json"}
    )
    bindings = json.loads(urllib.request.urlopen(req, timeout=10).read())["results"]["bindings"]
    assert {b["c"]["value"] for b in bindings} == {FAM + "bob", FAM + "beth"}
    assert {b["g"]["value"] for b in bindings} == {"urn:nesy:graph:asserted"}
    # A second client sees the same data, mirrored into its own ids.
    other = KnowledgeBase.connect(endpoint)
    assert len(other) == 41
    assert other.stats()["graphs"]["asserted"] == 41
    rows2, _ = other.encoded(URIRef(FAM + "parent"))
    assert len(rows2) == 10


def test_mirror_reads_the_endpoint_in_pages(endpoint: str, family_ttl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client reads a remote graph page by page (here 7 triples a page): every triple once."""
    from nesy.store import store as store_module

    KnowledgeBase.connect(endpoint).load(family_ttl)
    sent: list[str] = []
    original = store_module.RemoteBackend.construct
    monkeypatch.setattr(store_module, "REMOTE_PAGE", 7)
    monkeypatch.setattr(store_module.RemoteBackend, "construct",
                        lambda self, q: sent.append(q) or original(self, q))
    other = KnowledgeBase.connect(endpoint)
    assert len(other) == 41 and other.stats()["graphs"]["asserted"] == 41
    assert sum("OFFSET" in q for q in sent) >= 41 // 7 + 1
    rows, _ = other.encoded(URIRef(FAM + "parent"))
    assert len(rows) == 10
