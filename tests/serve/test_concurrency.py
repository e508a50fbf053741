"""Many readers, one writer: 16 client threads query while 50 updates go in; every read sees a whole state."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

#: The k-th update moves the slot to k and adds three triples, in one request: a reader that saw
#: one operation without the other would see ``3 * slot != count``.
UPDATE = ("DELETE {{ fam:slot fam:value ?v }} INSERT {{ fam:slot fam:value {k} }} "
          "WHERE {{ OPTIONAL {{ fam:slot fam:value ?v }} }} ;\n"
          "INSERT DATA {{ fam:t{k} fam:testp fam:a , fam:b , fam:c }}")
STATE = ("SELECT ?n ?k WHERE { { SELECT (COUNT(*) AS ?n) WHERE { ?s fam:testp ?o } } "
         "OPTIONAL { fam:slot fam:value ?k } }")
UPDATES = 50
READERS = 16


def read_state(server: Any, http: Any) -> tuple[int, int]:
    qs = urllib.parse.urlencode({"query": STATE})
    status, _, body = http("GET", f"{server.url}sparql?{qs}", headers={"Accept": "application/sparql-results+json"})
    assert status == 200, body
    rows = json.loads(body)["results"]["bindings"]
    assert len(rows) == 1, rows  # never two slot values: the move is one step
    n = int(rows[0]["n"]["value"])
    k = int(rows[0]["k"]["value"]) if "k" in rows[0] else 0
    return n, k


def rule_answers(server: Any, http: Any) -> int:
    status, _, body = http("POST", server.url + "api/query", json.dumps({"query": "?- fam:grandparent(X, Y).",
                                                                           "proofs": 1}),
                           {"Content-Type": "application/json"})
    assert status == 200, body
    doc = json.loads(body)
    assert doc["answers"][0]["proof"]["rule"]["name"] == "gp"
    return int(doc["count"])


def test_readers_see_before_or_after_every_update_and_nothing_is_lost(
        start_server: Callable[..., Any], http: Any, token: str) -> None:
    server = start_server()
    done = threading.Event()
    seen: list[list[tuple[int, int]]] = [[] for _ in range(READERS)]
    failures: list[str] = []

    def reader(i: int) -> None:
        try:
            while not done.is_set():
                if i % 4 == 3:  # a quarter ask the reasoner (rule queries take turns on it)
                    assert rule_answers(server, http) == 8
                    continue
                n, k = read_state(server, http)
                assert n == 3 * k, f"a half-applied update: {n} triples for slot {k}"
                assert not seen[i] or seen[i][-1][1] <= k, f"went back in time: {seen[i][-1]} then {(n, k)}"
                seen[i].append((n, k))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(f"reader {i}: {exc!r}")

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    for t in threads:
        t.start()
    statuses = []
    try:
        for k in range(1, UPDATES + 1):
            status, _, body = http("POST", server.url + "sparql", UPDATE.format(k=k),
                                   {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {token}"})
            statuses.append(status)
            assert status == 200, body
    finally:
        done.set()
        for t in threads:
            t.join(timeout=120)
    assert not failures, failures[:5]
    assert statuses == [200] * UPDATES
    assert read_state(server, http) == (3 * UPDATES, UPDATES)  # nothing lost
    reads = [len(s) for i, s in enumerate(seen) if i % 4 != 3]
    assert sum(reads) > UPDATES and min(reads) > 0
    middle = {k for s in seen for _, k in s if 0 < k < UPDATES}
    assert middle, "the readers never ran while the updates went in"
    assert server.alive()
    assert rule_answers(server, http) == 8
