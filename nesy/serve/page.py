"""The web page at ``/``: one HTML file and its script and style, served from the package (no CDN)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

#: The page's files, shipped as package data.
STATIC = Path(__file__).resolve().parent / "static"
#: The page loads nothing from elsewhere and runs no inline script.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


async def index(_request: Request) -> Response:
    """The page."""
    return Response((STATIC / "index.html").read_bytes(), headers=HEADERS, media_type="text/html; charset=utf-8")


def assets() -> StaticFiles:
    """The page's script, style and icons under ``/static``."""
    return StaticFiles(directory=STATIC)


__all__ = ["HEADERS", "STATIC", "assets", "index"]
