"""Errors as HTTP responses: every NesyError gets its status here, in one place, with its message and position."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nesy.errors import (
    LimitExceeded,
    MissingExtraError,
    NesyError,
    NoLinkPredictorError,
    QueryTimeout,
    StoreError,
)

log = logging.getLogger("nesy.serve")

#: Longest message a response carries (a huge literal must not come back whole).
MAX_MESSAGE = 2000


class RequestError(NesyError):
    """A request the server refuses before any work (unknown route, method or media type,
    a body too large, no token, a read-only server), with its HTTP status.

    Args:
        status: The HTTP status (400, 401, 403, 404, 405, 406, 413, 415).
        message: What is wrong and what would be accepted.
        headers: Extra response headers (``WWW-Authenticate``, ``Allow``...).
    """

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.headers = dict(headers or {})
        super().__init__(message)


def status_of(exc: BaseException) -> int:
    """The HTTP status of an exception raised while answering a request.

    ``RequestError``: its own; a timeout (``QueryTimeout``, also a lock held too long): 503;
    another spent limit (rows, facts, memory): 422; a missing optional package: 501; no
    trained model: 409; a store that cannot do what was asked: 409; any other
    ``NesyError`` (syntax, unknown prefix, bad rule, bad data): 400; ``MemoryError``:
    503; anything else is a bug: 500.
    """
    if isinstance(exc, RequestError):
        return exc.status
    if isinstance(exc, QueryTimeout):
        return 503
    if isinstance(exc, LimitExceeded):
        return 422
    if isinstance(exc, MissingExtraError):
        return 501
    if isinstance(exc, (NoLinkPredictorError, StoreError)):
        return 409
    if isinstance(exc, NesyError):
        return 400
    if isinstance(exc, MemoryError):
        return 503
    return 500


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "\u2026"


def error_body(exc: BaseException, status: int) -> dict[str, Any]:
    """The JSON body of an error: ``{"error": {"status", "type", "message", "line", "column", ...}}``."""
    if isinstance(exc, NesyError):
        info: dict[str, Any] = {"status": status, "type": type(exc).__name__, "message": _clip(exc.message)}
        for key in ("file", "line", "column"):
            if getattr(exc, key) is not None:
                info[key] = getattr(exc, key)
        if exc.excerpt is not None and exc.line is not None:
            info["excerpt"] = _clip(exc.excerpt.rstrip("\n"))
        return {"error": info}
    if status == 503:
        return {"error": {"status": status, "type": "MemoryError", "message": "out of memory; try a smaller query"}}
    return {"error": {"status": status, "type": "InternalError",
                      "message": f"internal error: {type(exc).__name__} (this is a bug; the server log has the "
                                 "traceback)"}}


def error_text(exc: BaseException, status: int) -> str:
    """The plain-text body of an error: ``error: <line>:<column>: message`` and, when known,
    the offending line with a caret under the column."""
    body = error_body(exc, status)["error"]
    where = ":".join(str(body[k]) for k in ("line", "column") if k in body)
    text = f"error: {where + ': ' if where else ''}{body['message']}\n"
    if "excerpt" in body:
        text += f"    {body['excerpt']}\n    {' ' * max(int(body.get('column', 1)) - 1, 0)}^\n"
    return text


def wants_json(request: Request) -> bool:
    """Whether an error should come back as JSON: the reasoning API, or a client that asks for JSON."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or ("json" in accept and "text/plain" not in accept)


def error_response(request: Request, exc: BaseException) -> Response:
    """The response for ``exc``: its status, its message and position (JSON or text)."""
    status = status_of(exc)
    if status == 500:
        log.error("internal error answering %s %s", request.method, request.url.path, exc_info=exc)
    headers = dict(exc.headers) if isinstance(exc, RequestError) else {}
    if status == 503 and isinstance(exc, QueryTimeout):
        headers.setdefault("Retry-After", "1")
    if wants_json(request):
        return Response(json.dumps(error_body(exc, status), ensure_ascii=False), status, headers,
                        media_type="application/json")
    return Response(error_text(exc, status), status, headers, media_type="text/plain; charset=utf-8")


__all__ = ["RequestError", "error_body", "error_response", "error_text", "status_of", "wants_json"]
