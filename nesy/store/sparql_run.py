"""Running one SPARQL evaluation under a time limit and a row bound, with every failure a QueryError.

What is bounded, exactly:

- **Rows** (``max_rows``): results are pulled from Oxigraph's lazy iterator one at a time
  and converted; the ``max_rows + 1``-th stops the query with :class:`LimitExceeded`, so a
  cross product without ``LIMIT`` never holds more than ``max_rows`` rows in Python.
- **Time** (``timeout``): the evaluation runs in a worker thread (Oxigraph releases the
  GIL while it evaluates) and the caller waits at most ``timeout`` seconds, then raises
  :class:`QueryTimeout`. The worker checks a cancel flag between rows, so a streaming
  query (joins, filters, unions) stops within one row of the deadline.
- **Not bounded**: a single step inside Oxigraph that must see every solution before it
  yields one (``ORDER BY``, ``GROUP BY``/aggregates, ``DISTINCT`` over a huge input) cannot
  be interrupted from Python: the caller still gets its QueryTimeout at the deadline, but
  the worker thread (and the memory Oxigraph uses for that step) lives on until Oxigraph
  returns, then drops its result. A CLI process simply exits; a long-lived process keeps
  the KB's store referenced until then. Oxigraph offers no cancellation API in 0.5.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from nesy.errors import LimitExceeded, NesyError, QueryError, QueryTimeout
from nesy.store.sparql_text import function_token, relative_iri

#: Result rows (or CONSTRUCT triples) kept by default. Measured: a cross product of nine
#: variables stopped at 1,000,000 rows peaked at 1.25 GB, so this default keeps one
#: query near 300 MB; pass ``max_rows`` (None: no bound) for more.
DEFAULT_MAX_ROWS = 250_000

_POSITION = re.compile(r"^error at (\d+):(\d+): (.*)$", re.S)
_CUSTOM = re.compile(r"^The custom function <([^>]*)> is not supported$")


@dataclass(frozen=True)
class QueryText:
    """What an error message may point into: the query, its base IRI and the prefixes it
    was parsed with (all optional: an error without them just has no position)."""

    query: str | None = None
    base: str | None = None
    prefixes: dict[str, str] = field(default_factory=dict)


def query_error(exc: BaseException, where: QueryText | None = None) -> NesyError:
    """The NesyError for anything Oxigraph (or the endpoint) raised while parsing or
    evaluating: a syntax error with Oxigraph's line and column, a relative IRI without a
    base, an unknown function where the query calls it, a network or storage failure."""
    if isinstance(exc, NesyError):
        return exc
    where = where or QueryText()
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, SyntaxError):
        relative = relative_iri(where.query) if where.query is not None and where.base is None else None
        if relative is not None:
            return QueryError(f"SPARQL syntax error: the relative IRI {relative.text[:80]} needs a base IRI and "
                              "the query has none; pass one (kb.sparql(..., base=IRI), `nesy query --base IRI`) "
                              "or begin the query with BASE <IRI>", line=relative.line, column=relative.column)
        m = _POSITION.match(text)
        if m:
            return QueryError(f"SPARQL syntax error: {m.group(3)}", line=int(m.group(1)), column=int(m.group(2)))
        return QueryError(f"SPARQL syntax error: {text}", line=exc.lineno, column=exc.offset)
    custom = _CUSTOM.match(text)
    if custom:
        tok = function_token(where.query, custom.group(1), where.prefixes) if where.query is not None else None
        return QueryError(f"unknown function <{custom.group(1)}>: nesy evaluates the SPARQL 1.1 built-in "
                          "functions and XSD casts; custom (extension) functions are not supported",
                          line=tok.line if tok else None, column=tok.column if tok else None)
    if isinstance(exc, OSError):
        return QueryError(f"SPARQL query failed (network or storage): {text}")
    if isinstance(exc, ValueError):
        return QueryError(f"SPARQL query refused: {text}")
    return QueryError(f"SPARQL query failed while evaluating: {text}")


def _collect(start: Callable[[], Any], max_rows: int | None, cancel: threading.Event) -> Any:
    """Start the evaluation and pull its results; ``None`` when cancelled. The query form
    is the one Oxigraph's parser found (the kind of result it returns)."""
    raw = start()
    if isinstance(raw, (bool, ox.QueryBoolean)):
        return "ASK", bool(raw)
    select = isinstance(raw, ox.QuerySolutions)
    variables = [v.value for v in raw.variables] if select else []
    out: list[Any] = []
    for item in raw:
        if cancel.is_set():
            return None
        if max_rows is not None and len(out) >= max_rows:
            raise LimitExceeded(f"SPARQL query stopped at max_rows={max_rows} result "
                                f"{'rows' if select else 'triples'}; add LIMIT to the query or raise max_rows")
        if select:
            out.append(tuple(item[v] for v in variables))
        else:
            out.append((item.subject, item.predicate, item.object))
    return ("SELECT", (variables, out)) if select else ("GRAPH", out)


def evaluate(start: Callable[[], Any], *, timeout: float | None, max_rows: int | None,
             where: QueryText | None = None) -> tuple[str, Any]:
    """Run ``start()`` (which returns Oxigraph's results) and collect them.

    Returns:
        ``(kind, payload)`` by the form Oxigraph parsed: ``("ASK", bool)``; ``("SELECT",
        (variables, rows))`` with rows as tuples of Oxigraph terms (``None`` for unbound);
        ``("GRAPH", [(s, p, o), ...])`` of Oxigraph terms for CONSTRUCT and DESCRIBE.

    Raises:
        QueryError: any error from Oxigraph or the endpoint (syntax with line and column).
        QueryTimeout: ``timeout`` seconds passed first.
        LimitExceeded: more than ``max_rows`` results.
    """
    if timeout is not None and timeout <= 0:
        timeout = None
    cancel = threading.Event()
    if timeout is None:
        try:
            return _collect(start, max_rows, cancel)
        except Exception as exc:  # noqa: BLE001 - Oxigraph raises SyntaxError, OSError, RuntimeError, ValueError
            raise query_error(exc, where) from None
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = _collect(start, max_rows, cancel)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            # The traceback's frames hold Oxigraph iterators, which must die in this thread.
            box["error"] = exc.with_traceback(None)

    # Oxigraph's result iterators belong to the thread that made them: start and
    # consume in the worker, hand back plain tuples.
    worker = threading.Thread(target=work, name="nesy-sparql", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        cancel.set()
        raise QueryTimeout(f"SPARQL query stopped after {timeout:g} s (timeout); add LIMIT or narrower "
                           "patterns, or raise the timeout (--timeout, kb.json \"timeout\")")
    error = box.get("error")
    if error is not None:
        if not isinstance(error, Exception):
            raise error
        raise query_error(error, where) from None
    return box["result"]


__all__ = ["DEFAULT_MAX_ROWS", "QueryText", "evaluate", "query_error"]
