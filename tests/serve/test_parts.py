"""The server's parts on their own: negotiation, the protocol dataset, the lock, errors, proofs, the CLI wiring."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nesy.errors import (
    LimitExceeded,
    MissingExtraError,
    ParseError,
    QueryError,
    QueryTimeout,
    StoreError,
)
from nesy.serve.dataset import with_dataset
from nesy.serve.negotiate import GRAPH_TYPES, RESULT_TYPES, choose
from nesy.serve.problems import RequestError, error_text, status_of
from nesy.serve.proofview import trimmed
from nesy.serve.rwlock import RWLock
from nesy.serve.security import read_token
from nesy.store.dataset import dataset_clauses

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("accept", "offered", "expected"), [
    ("application/sparql-results+json,application/json,text/javascript,application/javascript", RESULT_TYPES,
     "sparql-json"),  # what SPARQLWrapper sends for JSON
    ("application/sparql-results+xml", RESULT_TYPES, "sparql-xml"),
    ("text/csv", RESULT_TYPES, "csv"),
    ("text/tab-separated-values", RESULT_TYPES, "tsv"),
    ("application/turtle,text/turtle", GRAPH_TYPES, "turtle"),
    ("application/rdf+xml", GRAPH_TYPES, "rdfxml"),
    ("application/ld+json", GRAPH_TYPES, "jsonld"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", RESULT_TYPES, "sparql-xml"),
    ("text/csv;q=0.5, application/sparql-results+json;q=0.4", RESULT_TYPES, "csv"),
    ("*/*", GRAPH_TYPES, "turtle"),
    ("", RESULT_TYPES, "sparql-json"),
    ("text/*", RESULT_TYPES, "csv"),
])
def test_the_accept_header_picks_the_format(accept: str, offered: dict[str, str], expected: str) -> None:
    assert choose(accept, offered) == expected


def test_format_parameter_wins_and_nothing_acceptable_is_406() -> None:
    assert choose("text/csv", RESULT_TYPES, "json") == "sparql-json"
    assert choose(None, GRAPH_TYPES, "json") == "jsonld"  # SPARQLWrapper's format=json for CONSTRUCT
    assert choose(None, GRAPH_TYPES, "text/turtle") == "turtle"
    with pytest.raises(RequestError) as no:
        choose("image/png, text/html;q=0.9", RESULT_TYPES)
    assert no.value.status == 406
    with pytest.raises(RequestError) as bad:
        choose(None, RESULT_TYPES, "parquet")
    assert bad.value.status == 400
    with pytest.raises(RequestError):
        choose("text/csv;q=0", RESULT_TYPES)


@pytest.mark.parametrize("query", [
    "SELECT ?s WHERE { ?s ?p ?o }",
    "PREFIX ex: <http://ex/>\nSELECT ?s FROM <http://old/> FROM NAMED <http://old2/> { ?s ?p ?o }",
    "SELECT (EXISTS { ?s ?p ?o } AS ?e) WHERE { ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "CONSTRUCT WHERE { ?s ?p ?o }",
    "ASK { ?s ?p ?o }",
    "DESCRIBE <http://ex/a> ex:b",
    "DESCRIBE ?s WHERE { ?s ?p ?o } LIMIT 1",
])
def test_the_protocol_dataset_replaces_the_querys_own(query: str) -> None:
    rewritten = with_dataset(query, ["http://ex/d1", "http://ex/d2"], ["http://ex/n"])
    prefixes = {"ex": "http://ex/"}
    assert dataset_clauses(rewritten, prefixes) == (["http://ex/d1", "http://ex/d2"], ["http://ex/n"])
    assert "http://old" not in rewritten
    assert with_dataset(query, [], []) == query
    with pytest.raises(RequestError):
        with_dataset(query, ["not an iri"], [])


def test_the_lock_lets_readers_share_and_a_writer_wait_for_them() -> None:
    lock = RWLock()
    inside: list[str] = []
    with lock.reading(1), lock.reading(1):
        assert lock.readers == 2
        with pytest.raises(QueryTimeout):
            with lock.writing(0.05):
                pass
    gate = threading.Event()

    def writer() -> None:
        with lock.writing(5):
            inside.append("writer")
            gate.wait(5)

    t = threading.Thread(target=writer)
    t.start()
    while not inside:
        time.sleep(0.001)
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="busy with an update"):
        with lock.reading(0.1):
            pass
    assert time.monotonic() - started < 1
    gate.set()
    t.join()
    with lock.reading(0.1):
        assert lock.readers == 1


def test_each_error_has_one_status() -> None:
    assert status_of(ParseError("x", line=1, column=2)) == 400
    assert status_of(QueryError("x")) == 400
    assert status_of(QueryTimeout("x")) == 503
    assert status_of(LimitExceeded("x")) == 422
    assert status_of(MissingExtraError("x")) == 501
    assert status_of(StoreError("x")) == 409
    assert status_of(RequestError(415, "x")) == 415
    assert status_of(MemoryError()) == 503
    assert status_of(KeyError("x")) == 500
    text = error_text(QueryError("bad", line=2, column=5, excerpt="ab cd ef"), 400)
    assert text == "error: 2:5: bad\n    ab cd ef\n        ^\n"


def test_a_proof_too_large_is_trimmed_with_a_note() -> None:
    from rdflib import URIRef

    from nesy.engine.proofs import GroundAtom, Proof

    p = URIRef("http://ex/p")
    leaf = Proof(GroundAtom(p, (URIRef("http://ex/a"),)), "asserted", 1.0)
    node = leaf
    for _ in range(12):  # shared sub-proofs: 2^12 leaves once written out in full
        node = Proof(GroundAtom(p, (URIRef("http://ex/b"),)), "derived", 1.0, premises=[node, node])
    shown, cut = trimmed(node, 100)
    assert cut
    assert sum(1 for _ in _tree(shown)) <= 100 + 13  # the budget, plus one cut node per level at most
    assert any("not shown" in (n.note or "") for n in _tree(shown))
    whole, cut = trimmed(node, 100_000)
    assert not cut and sum(1 for _ in _tree(whole)) == 2 ** 13 - 1


def _tree(node: object) -> list[object]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.premises)  # type: ignore[attr-defined]
    return out


def test_a_short_or_missing_token_is_refused(tmp_path: Path) -> None:
    (tmp_path / "short").write_text("abc\n")
    (tmp_path / "good").write_text("  0123456789abcdef-long-enough \nsecond line\n")
    from nesy.errors import NesyError

    with pytest.raises(NesyError, match="at least 16"):
        read_token(str(tmp_path / "short"))
    with pytest.raises(NesyError, match="cannot read"):
        read_token(str(tmp_path / "missing"))
    assert read_token(str(tmp_path / "good")) == "0123456789abcdef-long-enough"


def test_nesy_help_imports_no_server_and_the_server_no_torch() -> None:
    code = ("import sys\nfrom nesy.cli.main import cli\n"
            "try:\n    cli(['--help'], prog_name='nesy')\nexcept SystemExit:\n    pass\n"
            "print('LOADED', sorted(m for m in ('nesy.serve', 'starlette', 'uvicorn') if m in sys.modules))\n"
            "import nesy.serve.app, nesy.cli.serve\n"
            "print('TORCH', 'torch' in sys.modules, 'transformers' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout
    assert "TORCH False False" in out.stdout


def test_nesy_serve_is_a_nesy_command() -> None:
    out = subprocess.run([sys.executable, "-m", "nesy", "serve", "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--read-only" in out.stdout and "--token-file" in out.stdout
