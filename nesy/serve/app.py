"""The Starlette application and the uvicorn server of ``nesy serve``: routes, middleware, listening."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from nesy.serve import page, reasoning
from nesy.serve.graphstore import graph_store
from nesy.serve.host import KBHost
from nesy.serve.problems import RequestError, error_response
from nesy.serve.security import AccessLog, HostCheck, is_loopback
from nesy.serve.settings import ServeSettings
from nesy.serve.sparql_endpoint import sparql

#: Longest request line plus headers uvicorn reads (a GET query lives in the URL).
MAX_HEAD = 1 * 2**20
_READ = ["GET", "POST"]


def routes() -> list[Any]:
    """Every route of the server (``docs/serve.md`` lists them)."""
    return [
        Route("/", page.index, methods=["GET"]),
        Mount("/static", app=page.assets(), name="static"),
        Route("/sparql", sparql, methods=_READ),
        Route("/rdf-graphs", graph_store, methods=["GET", "PUT", "POST", "DELETE"]),
        Route("/api/query", reasoning.query, methods=_READ),
        Route("/api/explain", reasoning.explain, methods=_READ),
        Route("/api/why-not", reasoning.why_not, methods=_READ),
        Route("/api/check", reasoning.check, methods=["GET"]),
        Route("/api/ask", reasoning.ask, methods=_READ),
        Route("/api/info", reasoning.info, methods=["GET"]),
    ]


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405 (no such route, method not allowed) in the server's error shape."""
    assert isinstance(exc, HTTPException)
    text = {404: f"no such resource: {request.url.path[:200]}; the routes are /, /sparql, /rdf-graphs and /api/...",
            405: f"{request.method} is not allowed on {request.url.path[:200]}"}.get(exc.status_code, exc.detail)
    return error_response(request, RequestError(exc.status_code, text, headers=dict(exc.headers or {})))


def create_app(kb: Any, settings: ServeSettings) -> Starlette:
    """The application serving ``kb`` (an open :class:`~nesy.kb.KnowledgeBase`) under ``settings``."""
    middleware = [Middleware(AccessLog), Middleware(HostCheck, enabled=is_loopback(settings.host))]
    if settings.cors:
        middleware.append(Middleware(CORSMiddleware, allow_origins=[settings.cors],
                                     allow_methods=["GET", "POST", "PUT", "DELETE"],
                                     allow_headers=["Authorization", "Content-Type", "Accept"]))
    app = Starlette(routes=routes(), middleware=middleware, exception_handlers={HTTPException: http_error})
    app.state.host = KBHost(kb, settings)
    return app


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP; without
    # it every keep-alive response waits 40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The base URL a listening socket answers at."""
    addr, port = sock.getsockname()[:2]
    return f"http://{f'[{addr}]' if ':' in addr else addr}:{port}/"


class GracefulServer(uvicorn.Server):
    """uvicorn's server that, once SIGINT or SIGTERM has shut it down, returns instead of
    raising the signal again: the caller then closes the knowledge base and exits 0."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def run_server(kb: Any, settings: ServeSettings, sock: socket.socket) -> None:
    """Serve ``kb`` on ``sock`` until SIGINT or SIGTERM (the requests in flight are finished)."""
    config = uvicorn.Config(create_app(kb, settings), log_config=None, access_log=False, lifespan="off",
                            timeout_keep_alive=5, h11_max_incomplete_event_size=MAX_HEAD,
                            timeout_graceful_shutdown=max(int(settings.query_timeout or 30), 1) + 5)
    GracefulServer(config).run(sockets=[sock])


__all__ = ["GracefulServer", "create_app", "listen", "routes", "run_server", "url_of"]
