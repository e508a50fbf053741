"""Sending answers: bodies in chunks (a client that leaves mid-result only ends its own response),
JSON documents, and the one error boundary every route goes through."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from nesy.serve.problems import error_response

#: Bodies up to this size go out in one piece; larger ones stream in chunks of it.
CHUNK = 256 * 1024

Endpoint = Callable[[Request], Awaitable[Response]]


def text_response(text: str, media: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``text`` as UTF-8 of ``media``, streamed in chunks when it is large."""
    data = text.encode("utf-8")
    kind = media if "charset" in media or not (media.startswith("text/") or "json" in media or "xml" in media) \
        else f"{media}; charset=utf-8"
    if len(data) <= CHUNK:
        return Response(data, status, headers, media_type=kind)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), CHUNK):
            yield data[start:start + CHUNK]

    return StreamingResponse(chunks(), status, headers, media_type=kind)


def json_response(doc: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``doc`` as ``application/json``."""
    return text_response(json.dumps(doc, ensure_ascii=False), "application/json", status=status, headers=headers)


def guarded(endpoint: Endpoint) -> Endpoint:
    """Every exception of ``endpoint`` becomes its error response (status from
    :func:`nesy.serve.problems.status_of`); a cancelled request (client gone) is let go."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:  # noqa: BLE001 - the server's error boundary: one response per error
            return error_response(request, exc)

    return wrapper


__all__ = ["CHUNK", "guarded", "json_response", "text_response"]
