"""SPARQL safety: SERVICE never reaches the network unless allowed, errors are QueryErrors,
time and rows are bounded, Update is refused as read-only."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef

from nesy.errors import LimitExceeded, QueryError, QueryTimeout
from nesy.kb import KnowledgeBase
from nesy.store.sparql import Sparql, is_sparql
from nesy.store.sparql_text import check_no_service, form_of


class Listener:
    """A TCP server on a loopback port that records every connection it gets."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.hits: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(1)
            try:
                self.hits.append(conn.recv(4096))
            except OSError:
                self.hits.append(b"")
            conn.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sparql"

    def settle(self) -> int:
        time.sleep(0.05)  # a connection in flight lands in hits before we read it
        return len(self.hits)


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    srv = Listener()
    yield srv
    srv.sock.close()


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    kb = KnowledgeBase()
    ex = "http://example.org/"
    for i in range(120):
        kb.add(URIRef(f"{ex}e{i}"), URIRef(f"{ex}p"), Literal(i))
    return kb


def bypasses(url: str) -> list[str]:
    """Spellings that reach SERVICE in Oxigraph's parser (or in the SPARQL specification's)."""
    return [
        f"SELECT * WHERE {{ ?a ?b ?c FILTER(1<2)SERVICE<{url}>{{?s ?p ?o}} }}",
        f"SELECT * WHERE {{ ?a ?b ?c FILTER(1<2)SERVICE#>\n<{url}>{{?s ?p ?o}} }}",
        f"SELECT * WHERE {{ ?a ?b ?c . sErViCe <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c # \" a quote in a comment\n SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c \\U00000053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"PREFIX ep: <{url}#>\nSELECT * WHERE {{ ?a ?b ?c . SERVICE ep:x {{ ?s ?p ?o }} }}",
        f"PREFIX : <{url}#>\nSELECT * WHERE {{ ?a ?b ?c . service:x {{ ?s ?p ?o }} }}",
        f"PREFIX : <{url}#>\nSELECT * WHERE {{ ?a ?b ?c . SERVICE:x {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c OPTIONAL{{SERVICE<{url}>{{?s ?p ?o}}}} }}",
        f"SELECT * WHERE {{ ?a ?b ?c FILTER EXISTS {{SERVICE<{url}>{{?s ?p ?o}}}} }}",
        f"SELECT * WHERE {{ ?a ?b <x#>. FILTER(1<2)SERVICE<{url}>{{?s ?p ?o}} }}",
        f"SELECT * WHERE {{ ?a ?b ?c .\tSERVICE\n#c\n<{url}>\n{{ ?s ?p ?o }} }}",
        f"ASK {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
    ]


def test_every_bypass_spelling_is_refused_and_the_listener_gets_nothing(kb: KnowledgeBase, listener: Listener) -> None:
    before = listener.settle()
    for query in bypasses(listener.url):
        with pytest.raises(QueryError) as err:
            kb.sparql(query)
        assert "SERVICE" in str(err.value) or "syntax error" in str(err.value), query
    assert listener.settle() == before


def test_the_listener_does_receive_an_allowed_service_call(kb: KnowledgeBase, listener: Listener) -> None:
    # Without this, "the listener got nothing" could mean a broken listener.
    before = listener.settle()
    with pytest.raises(QueryError, match="SPARQL query failed"):
        kb.sparql(f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}", allow_service=True)
    assert listener.settle() == before + 1


def _spell(word: str, cases: list[bool], escapes: list[bool]) -> str:
    out = []
    for ch, upper, esc in zip(word, cases, escapes, strict=True):
        ch = ch.upper() if upper else ch.lower()
        out.append(f"\\u{ord(ch):04X}" if esc else ch)
    return "".join(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(st.booleans(), min_size=7, max_size=7), escapes=st.lists(st.booleans(), min_size=7, max_size=7),
       before=st.sampled_from([" ", "", "\n", " # c\n", ".", "\t"]),
       after=st.sampled_from([" ", "", "\n", "#x\n", " SILENT "]),
       target=st.sampled_from(["iri", "pname", "var"]))
def test_generated_case_and_escape_variants_never_connect(kb: KnowledgeBase, listener: Listener, cases: list[bool],
                                                          escapes: list[bool], before: str, after: str,
                                                          target: str) -> None:
    word = _spell("service", cases, escapes)
    goal = {"iri": f"<{listener.url}>", "pname": "ep:x", "var": "?g"}[target]
    query = (f"PREFIX ep: <{listener.url}#>\nSELECT * WHERE {{ ?a ?b ?c FILTER(1<2){before}{word}{after}{goal}"
             "{ ?s ?p ?o } }")
    start = listener.settle()
    with pytest.raises(QueryError):
        kb.sparql(query)
    assert listener.settle() == start


@pytest.mark.parametrize("query", [
    "SELECT ?service WHERE { ?service ?p ?o } LIMIT 1",
    "SELECT * WHERE { ?s <http://schema.org/Service> ?o }",
    "SELECT * WHERE { ?s <http://www.w3.org/ns/sparql-service-description#endpoint> ?o }",
    'SELECT * WHERE { ?s ?p ?o FILTER(?o != "SERVICE <http://x/> { }") } LIMIT 1',
    "# SERVICE <http://x/> { } in a comment\nSELECT * WHERE { ?s ?p ?o } LIMIT 1",
    "PREFIX sd: <http://www.w3.org/ns/sparql-service-description#>\nSELECT * WHERE { ?s sd:endpoint ?o }",
])
def test_service_in_names_strings_comments_and_iris_is_not_refused(kb: KnowledgeBase, query: str) -> None:
    check_no_service(query)
    kb.sparql(query)


def test_service_failures_are_query_errors(kb: KnowledgeBase) -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    dead = free.getsockname()[1]
    free.close()  # nothing listens there now
    with pytest.raises(QueryError, match="SPARQL query failed"):
        kb.sparql(f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{dead}/sparql> {{ ?s ?p ?o }} }}", allow_service=True)
    with pytest.raises(QueryError, match="service name is unbound"):
        kb.sparql("SELECT * WHERE { SERVICE ?x { ?s ?p ?o } }", allow_service=True)
    with pytest.raises(QueryError, match="unknown function <http://example.org/f#f>") as err:
        kb.sparql("PREFIX f: <http://example.org/f#>\nSELECT (f:f(?o) AS ?y) WHERE { ?s ?p ?o }")
    assert (err.value.line, err.value.column) == (2, 9)  # where the query calls it
    with pytest.raises(QueryError, match="unknown function") as err:
        kb.sparql("ASK { FILTER(<http://example.org/g>(1)) }")  # ASK evaluates inside the call itself
    assert (err.value.line, err.value.column) == (1, 14)


def test_syntax_errors_carry_line_and_column(kb: KnowledgeBase) -> None:
    with pytest.raises(QueryError, match="syntax error") as err:
        kb.sparql("SELECT * WHERE {\n  ?s ?p }")
    assert err.value.line == 2 and err.value.column is not None  # Oxigraph's position, passed on
    with pytest.raises(QueryError, match="syntax error") as err:
        kb.sparql('SELECT * WHERE { ?s ?p "open }')
    assert err.value.line == 1
    with pytest.raises(QueryError, match="does not close") as err:  # nesy's own reader, before Oxigraph
        kb.sparql('SELECT * WHERE { ?service ?p "open }')
    assert (err.value.line, err.value.column) == (1, 30)


@pytest.mark.parametrize("update", [
    "INSERT DATA { <http://a/> <http://b/> <http://c/> }", "DELETE WHERE { ?s ?p ?o }", "LOAD <http://x/>",
    "CLEAR ALL", "DROP GRAPH <http://g/>", "CREATE GRAPH <http://g/>",
    "WITH <http://g/> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", "# a comment\nPREFIX a: <http://a/> INSERT DATA { a:x a:y a:z }",
    "COPY DEFAULT TO <http://g/>",
])
def test_update_is_refused_as_read_only(kb: KnowledgeBase, update: str) -> None:
    assert is_sparql(update)
    n = len(kb.store)
    with pytest.raises(QueryError, match="read-only"):
        kb.sparql(update)
    assert len(kb.store) == n


def test_query_forms_after_comments_and_one_line_prologues(kb: KnowledgeBase) -> None:
    assert form_of("# first\n# second\nPREFIX ex: <http://example.org/> SELECT * { ?s ?p ?o }") == "SELECT"
    assert is_sparql("# first\nASK { ?s ?p ?o }") and not is_sparql("load(x).") and not is_sparql("?- p(X).")
    rows = kb.sparql("# count\nPREFIX ex: <http://example.org/> SELECT ?s WHERE { ?s ex:p 7 }").rows
    assert [str(r["s"]) for r in rows] == ["http://example.org/e7"]


CROSS = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # 120^3 = 1.7M rows


def test_a_streaming_cross_product_stops_at_the_timeout(kb: KnowledgeBase) -> None:
    sparql = Sparql(kb.store, kb.prefixes)
    start = time.perf_counter()
    with pytest.raises(QueryTimeout, match="timeout"):
        sparql.run(CROSS, timeout=1.0, max_rows=None)
    assert time.perf_counter() - start < 2.0  # within 2x the budget


def test_a_blocking_aggregate_still_returns_at_the_deadline(kb: KnowledgeBase) -> None:
    sparql = Sparql(kb.store, kb.prefixes)
    start = time.perf_counter()
    with pytest.raises(QueryTimeout):
        sparql.run("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }", timeout=1.0)
    assert time.perf_counter() - start < 2.0


def test_rows_are_bounded(kb: KnowledgeBase) -> None:
    sparql = Sparql(kb.store, kb.prefixes)
    with pytest.raises(LimitExceeded, match="max_rows=1000"):
        sparql.run(CROSS, max_rows=1000)
    with pytest.raises(LimitExceeded, match="max_rows=10"):
        sparql.run("CONSTRUCT { ?a ?b ?c } WHERE { ?a ?b ?c }", max_rows=10, timeout=5)
    assert len(sparql.run(CROSS + " LIMIT 1000", max_rows=1000, timeout=5)) == 1000
