"""``/sparql``: the SPARQL 1.1 Protocol endpoint (queries, updates, the service description)."""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nesy.serve.dataset import with_dataset
from nesy.serve.description import SD, description
from nesy.serve.host import KBHost
from nesy.serve.negotiate import GRAPH_TYPES, MEDIA_OF, RESULT_TYPES, choose
from nesy.serve.problems import RequestError
from nesy.serve.protocol import SparqlRequest, read_sparql
from nesy.serve.respond import guarded, json_response, text_response
from nesy.serve.security import check_write
from nesy.serve.serialize import result_text, triples_text
from nesy.store.sparql_text import UPDATE_WORDS, form_of


def host_of(request: Request) -> KBHost:
    """The :class:`KBHost` the application serves."""
    return request.app.state.host  # type: ignore[no-any-return]


@guarded
async def sparql(request: Request) -> Response:
    """GET or POST ``/sparql``: a query, an update, or (GET without either) the service description."""
    host = host_of(request)
    req = await read_sparql(request, host.settings.max_body)
    if req.operation is None:
        return await service_description(request, host)
    if req.operation == "update":
        return await run_update(request, host, req)
    return await run_query(request, host, req)


async def run_query(request: Request, host: KBHost, req: SparqlRequest) -> Response:
    """Answer a query in the negotiated format (406 before any work when none fits)."""
    query = with_dataset(req.text, req.default_graphs, req.named_graphs)
    form = form_of(query)
    if form in UPDATE_WORDS:
        raise RequestError(400, f"this is a SPARQL update ({form}), not a query: send it by POST as the form "
                                "field update= or with Content-Type application/sparql-update")
    graph = form in ("CONSTRUCT", "DESCRIBE")
    fmt = choose(request.headers.get("accept"), GRAPH_TYPES if graph else RESULT_TYPES, req.params.get("format"))
    scores = req.flag("scores", True)
    proofs = req.flag("proofs", scores)
    csv_scores = req.flag("scores", False)
    predicted = req.flag("predicted", False)
    deadline = host.deadline(req.number("timeout"))
    kb, max_rows = host.kb, host.settings.max_rows

    def work() -> Any:
        return kb.sparql(query, predicted=predicted, timeout=host.left(deadline), max_rows=max_rows)

    def write(result: Any) -> str:
        return result_text(kb, result, fmt, scores=scores, proofs=proofs, csv_scores=csv_scores)

    result = await host.read(work, deadline=deadline)
    # Written outside the lock: the result is the query's own (an update may go in meanwhile).
    text = await host.outside(write, result)
    return text_response(text, MEDIA_OF[fmt])


async def run_update(request: Request, host: KBHost, req: SparqlRequest) -> Response:
    """Run an update through ``kb.update`` as the only writer: all of it or nothing."""
    check_write(request, host.settings)
    if req.using_graphs or req.using_named:
        raise RequestError(400, "using-graph-uri and using-named-graph-uri are not supported: write USING "
                                "<g> (or WITH <g>) in the update itself")
    deadline = host.deadline(req.number("timeout"))
    kb, allow_load = host.kb, host.settings.allow_load

    def work() -> Any:
        return kb.update(req.text, allow_load=allow_load, timeout=host.left(deadline))

    report = await host.write(work, deadline=deadline)
    if "json" in request.headers.get("accept", ""):
        return json_response(dataclasses.asdict(report))
    return text_response(f"{report}\n", "text/plain")


async def service_description(request: Request, host: KBHost) -> Response:
    """The service description, as Turtle unless the client asks for another RDF format."""
    fmt = choose(request.headers.get("accept"), GRAPH_TYPES, request.query_params.get("format"))
    endpoint = str(request.url.replace(query=""))
    names = await host.read(host.kb.named_graphs, deadline=host.deadline())
    triples = description(endpoint, update=not host.settings.read_only, named_graphs=names)
    return text_response(triples_text(triples, fmt, {"sd": SD}), MEDIA_OF[fmt])


__all__ = ["run_query", "run_update", "service_description", "sparql"]
