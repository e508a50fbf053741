"""Bad requests get their status and a message with the position, change nothing, and never stop the server."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
#: 103 triples to the third power: over a million rows, past any result bound.
CROSS3 = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def sparql_get(server: Any, http: Any, query: str, accept: str = "application/sparql-results+json",
               **params: str) -> tuple[int, dict[str, str], bytes]:
    qs = urllib.parse.urlencode({"query": query, **params})
    return http("GET", f"{server.url}sparql?{qs}", headers={"Accept": accept})


def count(server: Any, http: Any) -> int:
    status, _, body = sparql_get(server, http, COUNT)
    assert status == 200, body
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


@pytest.fixture(scope="module")
def read_only(start_server: Callable[..., Any]) -> Any:
    """A read-only server with a small body limit, a one-second timeout, a large row bound and CORS
    for one origin."""
    return start_server("--read-only", "--max-body", "4KB", "--query-timeout", "1", "--max-rows", "50000000",
                        "--cors", "http://app.example", token=False)


def test_a_malformed_query_is_400_with_its_line_and_column(server: Any, http: Any) -> None:
    status, headers, body = sparql_get(server, http, "SELECT ?x\nWHERE { ?x fam:parent }", accept="text/csv")
    assert status == 400 and headers["content-type"].startswith("text/plain")
    assert body.decode().startswith("error: 2:")  # line 2
    status, headers, body = http("POST", server.url + "api/query", json.dumps({"query": "?- fam:parent(X,"}),
                                 {"Content-Type": "application/json"})
    error = json.loads(body)["error"]
    assert status == 400 and error["type"] == "ParseError"
    assert (error["line"], error["column"]) == (1, 17) and error["excerpt"] == "?- fam:parent(X,"


def test_a_malformed_update_is_400_and_changes_nothing(server: Any, http: Any, token: str) -> None:
    before = count(server, http)
    update = "INSERT DATA { fam:x fam:parent fam:y } ;\nDELETE WHERE { ?s ?p }"
    status, _, body = http("POST", server.url + "sparql", update,
                           {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {token}",
                            "Accept": "application/json"})
    error = json.loads(body)["error"]
    assert status == 400 and error["line"] == 2, body
    assert count(server, http) == before


def test_writes_without_the_right_token_are_401(server: Any, http: Any) -> None:
    before = count(server, http)
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": "Basic eDp5"}):
        status, got, _ = http("POST", server.url + "sparql", "INSERT DATA { fam:x fam:parent fam:y }",
                              {"Content-Type": "application/sparql-update", **headers})
        assert status == 401 and got["www-authenticate"].startswith("Bearer")
    assert count(server, http) == before


def test_a_write_from_another_sites_page_is_403(server: Any, http: Any, token: str) -> None:
    status, _, body = http("POST", server.url + "sparql", "update=" + urllib.parse.quote("INSERT DATA { fam:x fam:p fam:y }"),
                           {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example",
                            "Authorization": f"Bearer {token}"})
    assert status == 403 and b"another origin" in body


def test_a_request_for_another_host_name_is_400(server: Any) -> None:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /api/info HTTP/1.1\r\nHost: rebound.example:80\r\nConnection: close\r\n\r\n")
        head = sock.recv(200)
    assert head.startswith(b"HTTP/1.1 400")


def test_routes_methods_and_media_types(server: Any, http: Any, token: str) -> None:
    assert http("GET", server.url + "nothing-here")[0] == 404
    status, headers, _ = http("DELETE", server.url + "sparql")
    assert status == 405 and set(headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert http("POST", server.url + "api/check", "")[0] == 405
    assert sparql_get(server, http, "SELECT * WHERE { ?s ?p ?o } LIMIT 1", accept="image/png")[0] == 406
    assert sparql_get(server, http, "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", accept="text/csv")[0] == 406
    assert http("POST", server.url + "sparql", b"%PDF", {"Content-Type": "application/pdf"})[0] == 415
    graph = server.url + "rdf-graphs?graph=" + urllib.parse.quote("http://example.org/g", safe="")
    assert http("PUT", graph, b"\x89PNG", {"Content-Type": "image/png", "Authorization": f"Bearer {token}"})[0] == 415
    assert http("GET", server.url + "sparql?" + urllib.parse.urlencode({"update": "CLEAR ALL"}))[0] == 400
    status, _, body = http("GET", server.url + "rdf-graphs?graph=" + urllib.parse.quote("urn:nesy:graph:inferred"),
                           headers={"Accept": "application/n-triples"})
    assert status == 200 and b"grandparent" in body  # nesy's own graphs can be read...
    status, _, _ = http("DELETE", server.url + "rdf-graphs?graph=" + urllib.parse.quote("urn:nesy:graph:inferred"),
                        headers={"Authorization": f"Bearer {token}"})
    assert status == 403  # ...never written


def test_bad_rdf_in_a_graph_store_put_is_400_with_its_line(server: Any, http: Any, token: str) -> None:
    graph = server.url + "rdf-graphs?graph=" + urllib.parse.quote("http://example.org/broken", safe="")
    status, _, body = http("PUT", graph, "<http://a> <http://b> <http://c> .\n<http://a> <http://b> \"open .\n",
                           {"Content-Type": "application/n-triples", "Authorization": f"Bearer {token}",
                            "Accept": "application/json"})
    assert status == 400 and json.loads(body)["error"]["line"] == 2
    assert http("GET", graph)[0] == 404  # nothing was created


def test_too_many_rows_is_422_and_the_server_goes_on(server: Any, http: Any) -> None:
    status, _, body = sparql_get(server, http, CROSS3)
    assert status == 422 and b"max_rows" in body
    assert count(server, http) > 0


def test_a_read_only_server_refuses_every_write_with_403(read_only: Any, http: Any) -> None:
    status, _, body = http("POST", read_only.url + "sparql", "INSERT DATA { fam:x fam:parent fam:y }",
                           {"Content-Type": "application/sparql-update"})
    assert status == 403 and b"read-only" in body
    graph = read_only.url + "rdf-graphs?graph=" + urllib.parse.quote("http://example.org/g", safe="")
    assert http("PUT", graph, "<http://a> <http://b> <http://c> .\n", {"Content-Type": "application/n-triples"})[0] == 403
    assert http("DELETE", read_only.url + "rdf-graphs?default")[0] == 403
    assert count(read_only, http) > 0


def test_a_body_over_the_limit_is_413(read_only: Any, http: Any) -> None:
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 5000
    status, _, body = http("POST", read_only.url + "sparql", big, {"Content-Type": "application/sparql-query"})
    assert status == 413 and b"limit" in body


def test_a_query_past_the_timeout_is_503_within_twice_the_timeout(read_only: Any, http: Any) -> None:
    query = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    started = time.monotonic()
    status, headers, body = sparql_get(read_only, http, query)
    assert status == 503 and b"time" in body and headers["retry-after"] == "1"
    assert time.monotonic() - started < 2.0 + 1.0
    assert count(read_only, http) > 0


def test_clients_that_leave_mid_result_do_not_break_the_server(server: Any, http: Any) -> None:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    path = "/sparql?" + urllib.parse.urlencode({"query": CROSS3 + " LIMIT 20000"})
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/csv\r\n\r\n".encode())
            assert sock.recv(64).startswith(b"HTTP/1.1 200")
        # closed after a few bytes of a multi-megabyte answer (streamed in chunks)
    for _ in range(2):  # and some that leave before any answer
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert server.alive()
    status, _, body = sparql_get(server, http, CROSS3 + " LIMIT 20000", accept="text/csv")
    assert status == 200 and body.count(b"\r\n") == 20001 and len(body) > 2 * 2**20
    assert count(server, http) > 0


def test_cors_is_off_unless_asked_and_then_for_one_origin(server: Any, read_only: Any, http: Any) -> None:
    origin = {"Origin": "http://app.example"}
    _, headers, _ = sparql_get(server, http, "ASK {}")
    assert "access-control-allow-origin" not in headers
    status, headers, _ = http("GET", server.url + "api/info", headers=origin)
    assert status == 200 and "access-control-allow-origin" not in headers
    status, headers, _ = http("GET", read_only.url + "api/info", headers=origin)
    assert status == 200 and headers["access-control-allow-origin"] == "http://app.example"
    status, headers, _ = http("OPTIONS", read_only.url + "sparql", headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert status == 200 and "POST" in headers["access-control-allow-methods"]
    status, headers, _ = http("GET", read_only.url + "api/info", headers={"Origin": "http://other.example"})
    assert "access-control-allow-origin" not in headers
