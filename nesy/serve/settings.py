"""ServeSettings: what one ``nesy serve`` process allows, bounds and listens on."""

from __future__ import annotations

from dataclasses import dataclass

#: Longest request body accepted (a query, an update, an RDF document), in bytes.
DEFAULT_MAX_BODY = 16 * 2**20
#: Most result rows (or triples) one query returns.
DEFAULT_MAX_ROWS = 100_000
#: Seconds a query or update may take unless ``--query-timeout`` says otherwise.
DEFAULT_TIMEOUT = 30.0
#: Answers of ``/api/query`` that carry their proof tree (the rest carry none).
DEFAULT_PROOF_ANSWERS = 200
#: Most nodes one proof tree may have once shared sub-proofs are written out in full.
DEFAULT_MAX_PROOF_NODES = 20_000
#: Worker threads that run queries and updates. Turning a result into rows and scores is Python
#: work under the GIL: more threads than this add contention, not throughput (benchmarks/serve.py).
DEFAULT_THREADS = 8


@dataclass
class ServeSettings:
    """The server's switches and bounds (the ``nesy serve`` options).

    Attributes:
        host: Address to bind (loopback by default: nothing outside the machine reaches it).
        port: TCP port (0: any free one; the server prints the one it got).
        read_only: Refuse every write (updates, Graph Store PUT/POST/DELETE) with 403.
        token: The bearer token writes need (``None``: writes need none).
        query_timeout: Seconds a query or update may take; also the longest wait for the KB lock.
        cors: The one origin allowed to call from a browser (``None``: CORS off).
        allow_load: Let updates ``LOAD <file:...>`` local files.
        max_body: Longest request body in bytes (413 beyond).
        max_rows: Most rows or triples of one result (an error beyond, never a cut result).
        proof_answers: How many answers of ``/api/query`` carry their proof.
        max_proof_nodes: Most nodes of one proof tree written out.
        threads: Worker threads for queries and updates.
    """

    host: str = "127.0.0.1"
    port: int = 7878
    read_only: bool = False
    token: str | None = None
    query_timeout: float = DEFAULT_TIMEOUT
    cors: str | None = None
    allow_load: bool = False
    max_body: int = DEFAULT_MAX_BODY
    max_rows: int = DEFAULT_MAX_ROWS
    proof_answers: int = DEFAULT_PROOF_ANSWERS
    max_proof_nodes: int = DEFAULT_MAX_PROOF_NODES
    threads: int = DEFAULT_THREADS


__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_PROOF_NODES", "DEFAULT_MAX_ROWS", "DEFAULT_PROOF_ANSWERS",
           "DEFAULT_THREADS", "DEFAULT_TIMEOUT", "ServeSettings"]
