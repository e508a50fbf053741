"""Who may do what: the bearer token and read-only switch for writes, origin and Host checks, the access log."""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nesy.serve.problems import RequestError
from nesy.serve.settings import ServeSettings

log = logging.getLogger("nesy.serve")

#: Host names a server bound to a loopback address answers to (DNS rebinding guard).
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address) is a loopback address."""
    return host in LOOPBACK_NAMES or host.startswith("127.")


def check_write(request: Request, settings: ServeSettings) -> None:
    """Refuse a write: 403 on a read-only server or from a foreign web page, 401 without the token.

    A browser sends ``Origin`` with every cross-site POST; a write from an origin that is
    neither this server's nor the ``--cors`` one is refused, so a web page the user visits
    cannot post an update to a server on their machine.
    """
    if settings.read_only:
        raise RequestError(403, "this server is read-only (--read-only): updates and Graph Store writes "
                                "are refused")
    origin = request.headers.get("origin")
    if origin is not None and origin != own_origin(request) and origin != settings.cors:
        raise RequestError(403, f"a write from the web page of another origin ({origin[:80]}) is refused; "
                                "start the server with --cors ORIGIN to allow that origin")
    if settings.token is None:
        return
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), settings.token.encode()):
        raise RequestError(401, "this server needs its bearer token for writes: send the header "
                                "'Authorization: Bearer <token>' (the token is in the server's --token-file)",
                           headers={"WWW-Authenticate": 'Bearer realm="nesy"'})


def own_origin(request: Request) -> str:
    """This server's origin as the client addressed it (``http://host:port``)."""
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def read_token(path: str) -> str:
    """The token in ``path`` (its first line, stripped); refused when empty or too short."""
    from nesy.errors import NesyError

    try:
        with open(path, encoding="utf-8") as fh:
            token = fh.readline(4096).strip()
    except OSError as exc:
        raise NesyError(f"cannot read the token file: {exc.strerror}", file=path) from None
    except UnicodeDecodeError:
        raise NesyError("the token file is not UTF-8 text", file=path) from None
    if len(token) < 16:
        raise NesyError("the token file's first line must hold a token of at least 16 characters "
                        "(for example from `python -c 'import secrets; print(secrets.token_urlsafe())'`)",
                        file=path)
    return token


class HostCheck:
    """On a loopback-bound server, answer only requests addressed to a loopback name (400 otherwise),
    so a site whose DNS name turns into 127.0.0.1 cannot read the KB from a browser."""

    def __init__(self, app: ASGIApp, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and scope["type"] == "http":
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in LOOPBACK_NAMES:
                body = b"error: this server answers requests to localhost only (it is bound to a loopback address)\n"
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class AccessLog:
    """Log every request once it is answered: method, path, status, milliseconds (logger ``nesy.serve``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[Any] = [None]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            ms = 1000 * (time.perf_counter() - started)
            log.info("%s %s %s %.1f ms", scope.get("method"), scope.get("path"),
                     status[0] if status[0] is not None else "-", ms)


__all__ = ["AccessLog", "HostCheck", "LOOPBACK_NAMES", "check_write", "is_loopback", "own_origin", "read_token"]
