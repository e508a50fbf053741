"""Reading a SPARQL 1.1 Protocol request: GET, POST form, POST sparql-query or sparql-update, bounded bodies."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from starlette.requests import Request

from nesy.serve.problems import RequestError

#: Content types of a SPARQL POST body.
FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
#: Most parameters one request may carry.
MAX_FIELDS = 1000


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 once it passes ``limit`` bytes (before reading it
    all when ``Content-Length`` says so)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise RequestError(400, f"Content-Length {declared[:20]!r} is not a number") from None
        if size > limit:
            raise _too_large(limit)
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> RequestError:
    return RequestError(413, f"the request body is larger than the server's limit of {limit:,} bytes "
                             "(--max-body); split it")


def media_type(request: Request) -> str:
    """The request's Content-Type without parameters, lower case ('' when none)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def decode(body: bytes, what: str) -> str:
    """``body`` as UTF-8 text (400 when it is not)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(400, f"the {what} is not UTF-8 text (byte {exc.start})") from None


def form_fields(text: str) -> list[tuple[str, str]]:
    """The fields of an ``application/x-www-form-urlencoded`` text."""
    try:
        return urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS,
                                      errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"the form cannot be read: {exc}") from None


@dataclass
class SparqlRequest:
    """One SPARQL Protocol request, read.

    Attributes:
        operation: ``query``, ``update``, or ``None`` (a GET without either: the service description).
        text: The query or update.
        default_graphs, named_graphs: ``default-graph-uri`` / ``named-graph-uri`` (queries).
        using_graphs, using_named: ``using-graph-uri`` / ``using-named-graph-uri`` (updates).
        params: Every other parameter, by name (the last value wins).
    """

    operation: str | None = None
    text: str = ""
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    using_graphs: list[str] = field(default_factory=list)
    using_named: list[str] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)

    def flag(self, name: str, default: bool) -> bool:
        """A true/false parameter (``true``, ``1``, ``yes``, ``on``; ``false``, ``0``, ``no``, ``off``)."""
        value = self.params.get(name)
        if value is None or value == "":
            return default
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise RequestError(400, f"parameter {name}={value[:20]!r} is not true or false")

    def number(self, name: str) -> float | None:
        """A positive number parameter (``None`` when absent)."""
        value = self.params.get(name)
        if value is None or value == "":
            return None
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not number > 0 or number == float("inf"):
            raise RequestError(400, f"parameter {name}={value[:20]!r} is not a positive number")
        return number


def gather(fields: list[tuple[str, str]], body: tuple[str, str] | None = None) -> SparqlRequest:
    """A :class:`SparqlRequest` from the request's parameters and, for a direct POST, its body
    (``("query" | "update", text)``)."""
    req = SparqlRequest()
    lists = {"default-graph-uri": req.default_graphs, "named-graph-uri": req.named_graphs,
             "using-graph-uri": req.using_graphs, "using-named-graph-uri": req.using_named}
    found: dict[str, list[str]] = {"query": [], "update": []}
    for name, value in fields:
        if name in lists:
            lists[name].append(value)
        elif name in found:
            found[name].append(value)
        else:
            req.params[name] = value
    if body is not None:
        found[body[0]].append(body[1])
    given = [(k, v) for k, vs in found.items() for v in vs]
    if len(given) > 1:
        raise RequestError(400, "a request carries one query or one update; this one has "
                                + " and ".join(k for k, _ in given))
    if given:
        req.operation, req.text = given[0]
    return req


async def read_sparql(request: Request, limit: int) -> SparqlRequest:
    """Read a request to ``/sparql`` (see the SPARQL 1.1 Protocol, sections 2.1 and 2.2).

    Raises:
        RequestError: 400 (an update by GET, two operations, bad parameters), 413 (body too
            large), 415 (a POST body of another media type).
    """
    fields = list(request.query_params.multi_items())
    if request.method in ("GET", "HEAD"):
        req = gather(fields)
        if req.operation == "update":
            raise RequestError(400, "a SPARQL update is sent by POST (form field update= or an "
                                    "application/sparql-update body), never by GET")
        return req
    kind = media_type(request)
    if kind not in (FORM, QUERY_TYPE, UPDATE_TYPE):
        raise RequestError(415, f"a POST to /sparql has the Content-Type {FORM}, {QUERY_TYPE} or "
                                f"{UPDATE_TYPE}, not {kind or 'none'!r}")
    text = decode(await read_body(request, limit), "request body")
    if kind == FORM:
        req = gather(fields + form_fields(text))
    else:
        req = gather(fields, ("query" if kind == QUERY_TYPE else "update", text))
    if req.operation is None:
        raise RequestError(400, "the POST carries neither a query nor an update (form fields query= "
                                "or update=)")
    return req


__all__ = ["FORM", "QUERY_TYPE", "UPDATE_TYPE", "SparqlRequest", "decode", "form_fields", "gather", "media_type",
           "read_body", "read_sparql"]
