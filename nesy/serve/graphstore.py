"""``/rdf-graphs``: the SPARQL 1.1 Graph Store HTTP Protocol (GET, PUT, POST, DELETE of one graph).

``?default`` is the asserted data (the default graph of updates); ``?graph=IRI`` a user's
named graph, or one of nesy's provenance graphs ``urn:nesy:graph:<kind>`` (read only:
they are the engine's). Every write is one SPARQL update through ``kb.update`` (the KB's
write path: all or nothing, a ``sparql-update`` source record on the new triples), so a
PUT is ``DROP`` and ``INSERT DATA`` in one step and readers never see the graph empty.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nesy.namespaces import GRAPH_NS
from nesy.serve.dataset import check_iri
from nesy.serve.host import KBHost
from nesy.serve.negotiate import GRAPH_TYPES, MEDIA_OF, choose
from nesy.serve.problems import RequestError
from nesy.serve.protocol import decode, media_type, read_body
from nesy.serve.respond import guarded, text_response
from nesy.serve.security import check_write
from nesy.serve.serialize import graph_text
from nesy.store.formats import parse_text
from nesy.store.graphs import GRAPHS

#: Content-Type of a PUT or POST body -> nesy's format name.
RDF_INPUT: dict[str, str] = {
    "text/turtle": "turtle", "application/turtle": "turtle", "application/x-turtle": "turtle",
    "application/n-triples": "ntriples", "text/plain": "ntriples", "text/n3": "n3",
    "application/rdf+xml": "xml", "application/ld+json": "jsonld",
}
_ALL = "CONSTRUCT WHERE { ?s ?p ?o }"


def target(request: Request) -> str | None:
    """The graph a request names: ``None`` for ``?default``, else the IRI of ``?graph=``
    (``urn:nesy:graph:asserted`` is the default graph too)."""
    params = request.query_params
    graphs = params.getlist("graph")
    if ("default" in params) == bool(graphs) or len(graphs) > 1:
        raise RequestError(400, "name one graph: /rdf-graphs?default or /rdf-graphs?graph=IRI")
    if not graphs:
        return None
    iri = check_iri(graphs[0], "graph")
    return None if iri == GRAPH_NS + "asserted" else iri


def provenance(iri: str | None) -> str | None:
    """The provenance kind an IRI names (``urn:nesy:graph:inferred`` -> ``inferred``), else None."""
    if iri is not None and iri.startswith(GRAPH_NS) and iri[len(GRAPH_NS):] in GRAPHS:
        return iri[len(GRAPH_NS):]
    return None


@guarded
async def graph_store(request: Request) -> Response:
    """One Graph Store request, by method."""
    host: KBHost = request.app.state.host
    iri = target(request)
    if request.method in ("GET", "HEAD"):
        return await get_graph(request, host, iri)
    check_write(request, host.settings)
    if provenance(iri) is not None:
        raise RequestError(403, f"<{iri}> is one of nesy's own graphs (derived or extracted facts): it is read "
                                "only; write the asserted data (?default) or a named graph of your own")
    if request.method == "DELETE":
        return await delete_graph(host, iri)
    return await put_or_post(request, host, iri)


async def get_graph(request: Request, host: KBHost, iri: str | None) -> Response:
    """The triples of the graph (404 when the named graph does not exist)."""
    fmt = choose(request.headers.get("accept"), GRAPH_TYPES, request.query_params.get("format"))
    kb, deadline = host.kb, host.deadline()
    graph = "asserted" if iri is None else (provenance(iri) or iri)

    def work() -> str:
        if graph == iri and iri not in kb.named_graphs():
            raise RequestError(404, f"there is no graph <{iri}> (the named graphs are listed by GET /sparql)")
        result = kb.sparql(_ALL, graph=graph, timeout=host.left(deadline), max_rows=host.settings.max_rows)
        return graph_text(kb, result, fmt)

    return text_response(await host.read(work, deadline=deadline), MEDIA_OF[fmt])


async def put_or_post(request: Request, host: KBHost, iri: str | None) -> Response:
    """PUT replaces the graph's triples with the body's, POST adds them: 201 when the graph is new, else 204."""
    kind = media_type(request)
    fmt = RDF_INPUT.get(kind)
    if fmt is None:
        raise RequestError(415, f"a graph is sent as {', '.join(RDF_INPUT)}, not {kind or 'no Content-Type'!r}")
    text = decode(await read_body(request, host.settings.max_body), "RDF document")
    parsed = parse_text(text, fmt, base_iri=iri or GRAPH_NS + "asserted")
    data = parsed.ntriples().decode("utf-8")
    replace = request.method == "PUT"
    kb, deadline = host.kb, host.deadline()

    def work() -> bool:
        new = iri is not None and iri not in kb.named_graphs()
        update = write_text(iri, data, replace=replace)
        if update:  # a POST of nothing to the default graph changes nothing
            kb.update(update, timeout=host.left(deadline))
        return new

    created = await host.write(work, deadline=deadline)
    return Response(status_code=201 if created else 204)


def write_text(iri: str | None, data: str, *, replace: bool) -> str:
    """The one update that writes ``data`` (N-Triples) to the graph, replacing it when ``replace``
    ('' when there is nothing to do)."""
    where = "DEFAULT" if iri is None else f"GRAPH <{iri}>"
    ops = [f"DROP SILENT {where}"] if replace else []
    if data.strip():
        body = data if iri is None else f"GRAPH <{iri}> {{\n{data}}}"
        ops.append(f"INSERT DATA {{\n{body}\n}}")
    elif iri is not None:
        ops.append(f"CREATE SILENT GRAPH <{iri}>")
    return " ;\n".join(ops)


async def delete_graph(host: KBHost, iri: str | None) -> Response:
    """Remove the named graph (404 when it does not exist), or empty the asserted data."""
    kb, deadline = host.kb, host.deadline()

    def work() -> Any:
        if iri is not None and iri not in kb.named_graphs():
            raise RequestError(404, f"there is no graph <{iri}>")
        return kb.update("DROP DEFAULT" if iri is None else f"DROP GRAPH <{iri}>", timeout=host.left(deadline))

    await host.write(work, deadline=deadline)
    return Response(status_code=204)


__all__ = ["RDF_INPUT", "graph_store", "provenance", "target", "write_text"]
