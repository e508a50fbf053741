"""`nesy serve` speaks the SPARQL 1.1 Protocol and Graph Store Protocol to a standard client (SPARQLWrapper)."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
from typing import Any

import pytest
import rdflib
from SPARQLWrapper import ASK, CSV, JSON, POST, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import Unauthorized

FAM = "http://example.org/family#"
GRANDPARENTS = "SELECT ?x ?y WHERE { ?x fam:grandparent ?y } ORDER BY ?x ?y"
#: The grandparent pairs of the family example (rule gp over fam:parent).
EXPECTED_PAIRS = {("abe", "cid"), ("abe", "cora"), ("abe", "dan"), ("ann", "cid"), ("ann", "cora"),
                  ("ann", "dan"), ("bea", "eve"), ("bob", "eve")}


def client(server: Any, fmt: str = JSON) -> SPARQLWrapper:
    sw = SPARQLWrapper(server.url + "sparql")
    sw.setReturnFormat(fmt)
    return sw


def local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1]


def test_select_json_carries_scores_and_proof_links_that_sparqlwrapper_ignores(server: Any, http: Any) -> None:
    sw = client(server)
    sw.setQuery(GRANDPARENTS)
    doc = sw.queryAndConvert()
    rows = doc["results"]["bindings"]
    assert {(local(r["x"]["value"]), local(r["y"]["value"])) for r in rows} == EXPECTED_PAIRS
    assert doc["head"]["vars"] == ["x", "y"]
    ext = doc["nesy"]
    assert ext["scores"] == [1.0] * len(rows)
    assert all(len(links) == 1 for links in ext["proofs"])  # each row matched one derived triple
    status, _, body = http("GET", server.url + ext["proofs"][0][0].lstrip("/"))
    proof = json.loads(body)
    assert status == 200 and proof["holds"] is True
    assert proof["proof"]["rule"]["name"] == "gp"
    assert [p["kind"] for p in proof["proof"]["premises"]] == ["asserted", "asserted"]


def test_select_xml_has_each_score_as_an_attribute(server: Any) -> None:
    sw = client(server, XML)
    sw.setQuery(GRANDPARENTS)
    dom = sw.queryAndConvert()
    results = dom.getElementsByTagName("result")
    assert len(results) == len(EXPECTED_PAIRS)
    assert {r.getAttribute("nesy:score") for r in results} == {"1.0"}
    names = {b.getAttribute("name") for b in dom.getElementsByTagName("binding")}
    assert names == {"x", "y"}


def test_select_csv_is_plain_unless_scores_are_asked_for(server: Any) -> None:
    sw = client(server, CSV)
    sw.setQuery(GRANDPARENTS)
    table = list(csv.reader(io.StringIO(sw.queryAndConvert().decode("utf-8"))))
    assert table[0] == ["x", "y"]
    assert {(local(x), local(y)) for x, y in table[1:]} == EXPECTED_PAIRS
    sw.addParameter("scores", "true")
    table = list(csv.reader(io.StringIO(sw.queryAndConvert().decode("utf-8"))))
    assert table[0] == ["x", "y", "score"]
    assert {float(row[2]) for row in table[1:]} == {1.0}


def test_ask(server: Any) -> None:
    sw = client(server)
    sw.setQuery("ASK { fam:ann fam:grandparent fam:dan }")
    assert sw.queryType == ASK
    assert sw.queryAndConvert()["boolean"] is True
    sw.setQuery("ASK { fam:dan fam:grandparent fam:ann }")
    assert sw.queryAndConvert()["boolean"] is False


def test_construct_in_turtle(server: Any) -> None:
    sw = client(server, TURTLE)
    sw.setQuery("CONSTRUCT { ?x fam:grandchild ?y } WHERE { ?y fam:grandparent ?x }")
    graph = rdflib.Graph().parse(data=sw.queryAndConvert(), format="turtle")
    pairs = {(local(str(y)), local(str(x))) for x, _, y in graph}
    assert pairs == EXPECTED_PAIRS
    assert {str(p) for p in graph.predicates()} == {FAM + "grandchild"}


def test_an_update_needs_the_token(server: Any) -> None:
    update = "INSERT DATA { fam:fay fam:parent fam:gus . fam:eve fam:parent fam:fay . }"
    sw = SPARQLWrapper(server.url + "sparql")
    sw.setMethod(POST)
    sw.setQuery(update)
    with pytest.raises(Unauthorized):
        sw.query()
    check = client(server)
    check.setQuery("ASK { fam:eve fam:parent fam:fay }")
    assert check.queryAndConvert()["boolean"] is False  # refused: nothing written
    sw.addCustomHttpHeader("Authorization", "Bearer test-token-0123456789abcdef")
    assert sw.query().response.status == 200
    assert check.queryAndConvert()["boolean"] is True
    # The rules see the new facts at once: eve's grandchild gus, derived.
    check.setQuery("SELECT ?g WHERE { fam:eve fam:grandparent ?g }")
    doc = check.queryAndConvert()
    assert [local(r["g"]["value"]) for r in doc["results"]["bindings"]] == ["gus"]
    assert len(doc["nesy"]["proofs"][0]) == 1


def test_graph_store_put_then_get(server: Any, http: Any, token: str) -> None:
    graph = "http://example.org/graphs/pets"
    where = server.url + "rdf-graphs?graph=" + urllib.parse.quote(graph, safe="")
    turtle = "@prefix fam: <http://example.org/family#> .\nfam:ann fam:owns fam:rex , fam:tom .\n"
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "text/turtle"}
    assert http("PUT", where, turtle, {"Content-Type": "text/turtle"})[0] == 401
    assert http("PUT", where, turtle, auth)[0] == 201
    status, headers, body = http("GET", where, headers={"Accept": "text/turtle"})
    assert status == 200 and headers["content-type"].startswith("text/turtle")
    got = rdflib.Graph().parse(data=body.decode("utf-8"), format="turtle")
    assert {local(str(o)) for o in got.objects()} == {"rex", "tom"}
    # PUT replaces the graph; the protocol's default-graph-uri then reads it as the default graph.
    assert http("PUT", where, "<http://example.org/family#ann> <http://example.org/family#owns> "
                             "<http://example.org/family#max> .\n",
                {**auth, "Content-Type": "application/n-triples"})[0] == 204
    sw = client(server)
    sw.addDefaultGraph(graph)
    sw.setQuery("SELECT ?pet WHERE { fam:ann fam:owns ?pet }")
    assert [local(r["pet"]["value"]) for r in sw.queryAndConvert()["results"]["bindings"]] == ["max"]
    plain = client(server)  # without it, the graph is a named graph and not in the default graph
    plain.setQuery("SELECT ?pet WHERE { fam:ann fam:owns ?pet }")
    assert plain.queryAndConvert()["results"]["bindings"] == []
    plain.setQuery(f"SELECT ?pet WHERE {{ GRAPH <{graph}> {{ fam:ann fam:owns ?pet }} }}")
    assert len(plain.queryAndConvert()["results"]["bindings"]) == 1
    assert http("DELETE", where, headers=auth)[0] == 204
    assert http("GET", where)[0] == 404


def test_graph_store_reads_the_default_graph_as_json_ld(server: Any, http: Any) -> None:
    status, headers, body = http("GET", server.url + "rdf-graphs?default", headers={"Accept": "application/ld+json"})
    assert status == 200 and headers["content-type"].startswith("application/ld+json")
    doc = json.loads(body)
    assert any(node.get("@id") == FAM + "ann" for node in doc)


def test_the_service_description(server: Any, http: Any) -> None:
    status, headers, body = http("GET", server.url + "sparql", headers={"Accept": "text/turtle"})
    assert status == 200
    graph = rdflib.Graph().parse(data=body.decode("utf-8"), format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    service = next(graph.subjects(rdflib.RDF.type, sd.Service))
    assert str(graph.value(service, sd.endpoint)) == server.url + "sparql"
    assert set(graph.objects(service, sd.supportedLanguage)) == {sd.SPARQL11Query, sd.SPARQL11Update}


def test_a_query_by_post_body_and_by_form(server: Any, http: Any) -> None:
    accept = {"Accept": "application/sparql-results+json"}
    direct = http("POST", server.url + "sparql", "SELECT ?x WHERE { ?x a fam:Childless } ORDER BY ?x",
                  {**accept, "Content-Type": "application/sparql-query"})
    form = http("POST", server.url + "sparql",
                urllib.parse.urlencode({"query": "SELECT ?x WHERE { ?x a fam:Childless } ORDER BY ?x"}),
                {**accept, "Content-Type": "application/x-www-form-urlencoded"})
    assert direct[0] == form[0] == 200
    assert json.loads(direct[2])["results"] == json.loads(form[2])["results"]
    assert json.loads(direct[2])["results"]["bindings"]


def test_the_reasoning_api_sends_the_proofs_the_cli_prints(server: Any, http: Any) -> None:
    import subprocess
    import sys

    query = "?- fam:grandparent(X, Y)."
    status, _, body = http("POST", server.url + "api/query", json.dumps({"query": query, "proofs": 100}),
                           {"Content-Type": "application/json"})
    assert status == 200, body
    sent = {json.dumps(a["bindings"], sort_keys=True): a["proof"] for a in json.loads(body)["answers"]}
    # The CLI opens the served KB read-only (the server holds its writer lock).
    out = subprocess.run([sys.executable, "-m", "nesy", "query", str(server.directory), query, "--explain",
                          "--format", "json"], capture_output=True, text=True, check=True)
    printed = {json.dumps(a["bindings"], sort_keys=True): a["proof"] for a in json.loads(out.stdout)}
    # Earlier tests of this module may have added facts: at least the example's pairs, and the same.
    assert len(sent) >= len(EXPECTED_PAIRS) and sent == printed
