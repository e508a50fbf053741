"""``nesy serve``: the knowledge base as a SPARQL endpoint with scores and proofs, and a web page."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from nesy.cli.common import friendly

#: Logging levels ``--log-level`` takes.
LOG_LEVELS = ["debug", "info", "warning", "error"]


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (the default is reachable from this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=7878, show_default=True,
              help="TCP port (0: a free one; the server prints the URL it listens at).")
@click.option("--read-only", is_flag=True,
              help="Refuse every write (SPARQL Update, Graph Store PUT/POST/DELETE) with 403.")
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False),
              help="File whose first line is the bearer token writes need (401 without it).")
@click.option("--query-timeout", type=click.FloatRange(0), default=30.0, show_default=True,
              help="Seconds a query or update may take (0: no limit); a client may ask for less.")
@click.option("--cors", metavar="ORIGIN", help="Let web pages from ORIGIN call the server (CORS is off by default).")
@click.option("--allow-load", is_flag=True, help="Let updates LOAD <file:...> documents of this machine.")
@click.option("--max-body", default="16MB", show_default=True, help="Largest request body (413 beyond).")
@click.option("--max-rows", type=click.IntRange(1), default=100_000, show_default=True,
              help="Most rows (or triples) of one result; a larger result is an error, never cut.")
@click.option("--threads", type=click.IntRange(1, 1024), default=8, show_default=True,
              help="Worker threads running queries (in parallel) and updates (one at a time).")
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True,
              help="Request log level (each request: method, path, status, milliseconds).")
@friendly
def serve(directory: str, host: str, port: int, read_only: bool, token_file: str | None, query_timeout: float,
          cors: str | None, allow_load: bool, max_body: str, max_rows: int, threads: int, log_level: str) -> None:
    """Serve the knowledge base in DIRECTORY over HTTP until Ctrl-C.

    /sparql is a SPARQL 1.1 Protocol endpoint (queries, updates, service description),
    /rdf-graphs the Graph Store Protocol, /api/... the reasoning API (rule queries, explain,
    why-not, check, ask), and / a page to query and open proofs. See docs/serve.md.
    """
    from nesy.engine.limits import parse_size
    from nesy.errors import NesyError
    from nesy.serve.app import listen, run_server, url_of
    from nesy.serve.security import is_loopback, read_token
    from nesy.serve.settings import ServeSettings

    body = parse_size(max_body, "--max-body")
    settings = ServeSettings(host=host, port=port, read_only=read_only, query_timeout=query_timeout, cors=cors,
                             allow_load=allow_load, max_body=body or 16 * 2**20, max_rows=max_rows, threads=threads,
                             token=read_token(token_file) if token_file else None)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    if not is_loopback(host) and settings.token is None and not read_only:
        click.echo(f"warning: listening on {host} with writes allowed and no --token-file: anyone who reaches "
                   "this port can change the knowledge base", err=True)
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise NesyError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    with _open(directory, read_only) as kb:
        if not read_only and kb.rule_programs() and kb.config.get("inferred_stale", True):
            kb.materialize()
        click.echo(f"nesy serve: {directory} at {url_of(sock)} ({'read-only' if read_only else 'read-write'}); "
                   "Ctrl-C stops", err=False)
        sys.stdout.flush()
        run_server(kb, settings, sock)


def _open(directory: str, read_only: bool) -> Any:
    """The KB, committing every write at once (a server has no end of command to commit at)."""
    from nesy.cli.common import open_kb

    if read_only:
        return open_kb(directory, read_only=True)
    from nesy.errors import NesyError
    from nesy.kb import KnowledgeBase
    from nesy.store.commit import is_kb

    if not is_kb(Path(directory)):
        raise NesyError(f"{directory} is not a knowledge base (create one with `nesy init {directory}`)")
    kb = KnowledgeBase(directory)
    kb.store.for_reading()  # a query that only mentions new terms commits nothing
    return kb


if __name__ == "__main__":  # `python -m nesy.cli.serve DIR`, before the command is registered in nesy.cli.main
    serve(prog_name="nesy serve")
