"""``/api/*``: rule queries, explain, why-not, the constraint check and questions, as the CLI's JSON.

Each route answers with the JSON the matching command prints (``nesy query --format json
--explain``, ``nesy explain --format json``, ``nesy check --format json``, ``nesy ask
--format json``), wrapped in an object that adds what a page needs (the variables, the
form, how many answers carry proofs). Proofs are bounded (see :mod:`nesy.serve.proofview`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nesy import output
from nesy.namespaces import DEFAULT_PREFIXES, QA_NS
from nesy.serve.host import KBHost
from nesy.serve.problems import RequestError
from nesy.serve.proofview import matched_leaves, proof_dict, serializer
from nesy.serve.protocol import FORM, SparqlRequest, decode, form_fields, media_type, read_body
from nesy.serve.respond import guarded, json_response
from nesy.store.sparql_text import is_sparql


async def api_params(request: Request, limit: int) -> SparqlRequest:
    """The parameters of an API call (the URL's, plus a JSON object or a form as the POST
    body), in a :class:`SparqlRequest`'s ``params`` (the last value of a name wins)."""
    fields = list(request.query_params.multi_items())
    if request.method == "POST":
        kind = media_type(request)
        text = decode(await read_body(request, limit), "request body")
        if kind == "application/json":
            try:
                doc = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError as exc:
                raise RequestError(400, f"the JSON body cannot be read: {exc.msg} at line {exc.lineno}, "
                                        f"column {exc.colno}") from None
            if not isinstance(doc, dict):
                raise RequestError(400, "the JSON body must be an object of parameters")
            fields += [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in doc.items()]
        elif kind == FORM:
            fields += form_fields(text)
        else:
            raise RequestError(415, f"a POST to {request.url.path} has the Content-Type application/json or {FORM}")
    return SparqlRequest(params=dict(fields))


def need(params: Any, name: str) -> str:
    """A required text parameter (400 when missing or empty)."""
    value = params.params.get(name)
    if not value or not value.strip():
        raise RequestError(400, f"parameter {name}= is missing")
    return str(value)


def whole(params: Any, name: str, default: int | None) -> int | None:
    """A non-negative integer parameter."""
    value = params.params.get(name)
    if value is None or value == "":
        return default
    if not value.strip().isdigit():
        raise RequestError(400, f"parameter {name}={value[:20]!r} is not a whole number")
    return int(value)


def host_of(request: Request) -> KBHost:
    return request.app.state.host  # type: ignore[no-any-return]


@guarded
async def query(request: Request) -> Response:
    """``/api/query``: a rule query (``?- ...``) or SPARQL, with answers, scores and proofs.

    Parameters: ``query``; ``limit`` (rule queries: the best N answers; SPARQL has LIMIT);
    ``proofs`` (how many answers carry their proof); ``predicted``; ``timeout``."""
    host = host_of(request)
    params = await api_params(request, host.settings.max_body)
    text = need(params, "query")
    limit = whole(params, "limit", None)
    with_proofs = whole(params, "proofs", host.settings.proof_answers) or 0
    predicted = params.flag("predicted", False)
    deadline = host.deadline(params.number("timeout"))
    started = time.monotonic()
    sparql = is_sparql(text)
    work = _sparql_work if sparql else _rule_work
    doc = await host.read(work, host, text, limit, with_proofs, predicted, deadline, deadline=deadline)
    doc["ms"] = round(1000 * (time.monotonic() - started), 1)
    return json_response(doc)


def _rule_work(host: KBHost, text: str, limit: int | None, with_proofs: int, _predicted: bool,
               deadline: float | None) -> dict[str, Any]:
    kb, nodes = host.kb, host.settings.max_proof_nodes
    with host.reasoning(deadline):
        most = limit or host.settings.max_rows
        answers = kb.ask(text, limit=most + 1, timeout=host.left(deadline))
        truncated = len(answers) > most
        answers = answers[:most]
        items = output.to_json(kb, answers, False)
        ser = serializer(kb)
        for item, answer in zip(items[:with_proofs], answers):
            item["proof"] = proof_dict(kb, answer.proof, nodes, ser)
    variables = list(answers[0].bindings) if answers else []
    return {"kind": "rule", "form": "SELECT", "variables": variables, "answers": items, "count": len(items),
            "proofs_for": min(with_proofs, len(items)), "truncated": truncated}


def _sparql_work(host: KBHost, text: str, _limit: int | None, with_proofs: int, predicted: bool,
                 deadline: float | None) -> dict[str, Any]:
    kb, nodes = host.kb, host.settings.max_proof_nodes
    result = kb.sparql(text, predicted=predicted, timeout=host.left(deadline),
                       max_rows=host.settings.max_rows)
    items = output.to_json(kb, result, False)
    doc = {"kind": "sparql", "form": result.form, "variables": list(result.variables), "answers": items,
           "count": len(items), "proofs_for": 0, "truncated": False}
    if result.form == "SELECT" and with_proofs:
        with host.reasoning(deadline):
            ser = serializer(kb)
            for item, row in zip(items[:with_proofs], result.rows):
                item["proofs"] = [proof_dict(kb, p, nodes, ser) for p in row.proofs]
                item["matched"] = matched_leaves(kb, row)
        doc["proofs_for"] = min(with_proofs, len(items))
    return doc


async def _atom_request(request: Request) -> tuple[KBHost, str, float | None]:
    """The host, the ``atom`` parameter and the deadline (``timeout`` parameter) of an
    ``/api/explain`` or ``/api/why-not`` request."""
    host = host_of(request)
    params = await api_params(request, host.settings.max_body)
    return host, need(params, "atom"), host.deadline(params.number("timeout"))


@guarded
async def explain(request: Request) -> Response:
    """``/api/explain?atom=``: the proof of a ground atom that holds, else why it does not."""
    host, atom, deadline = await _atom_request(request)

    def work() -> dict[str, Any]:
        kb = host.kb
        with host.reasoning(deadline):
            report = kb.why_not(atom, timeout=host.left(deadline))
            if not report.holds:
                return {"atom": report.atom, "holds": False, "why_not": dataclasses.asdict(report)}
            proof = kb.why(atom, timeout=host.left(deadline))
            return {"atom": report.atom, "holds": True, "score": proof.score,
                    "proof": proof_dict(kb, proof, host.settings.max_proof_nodes)}

    return json_response(await host.read(work, deadline=deadline))


@guarded
async def why_not(request: Request) -> Response:
    """``/api/why-not?atom=``: per rule that could derive the atom, the first body literal with no match."""
    host, atom, deadline = await _atom_request(request)

    def work() -> dict[str, Any]:
        with host.reasoning(deadline):
            return dataclasses.asdict(host.kb.why_not(atom, timeout=host.left(deadline)))

    return json_response(await host.read(work, deadline=deadline))


@guarded
async def check(request: Request) -> Response:
    """``/api/check``: the violated constraints, each with its proof (``nesy check --format json``)."""
    host = host_of(request)
    deadline = host.deadline()

    def work() -> dict[str, Any]:
        kb = host.kb
        with host.reasoning(deadline):
            found = kb.violations()
            items = [{"rule": v.rule.label, "score": v.score,
                      "bindings": {k: str(t) for k, t in v.bindings.items()},
                      "proof": proof_dict(kb, v.proof, host.settings.max_proof_nodes)} for v in found]
        return {"consistent": not items, "violations": items}

    return json_response(await host.read(work, deadline=deadline))


@guarded
async def ask(request: Request) -> Response:
    """``/api/ask?question=&k=&topic=``: a question in English (``nesy ask --format json``)."""
    host = host_of(request)
    params = await api_params(request, host.settings.max_body)
    question = need(params, "question")
    k = whole(params, "k", 5) or 5
    topic = params.params.get("topic") or None
    deadline = host.deadline()

    def work() -> dict[str, Any]:
        kb = host.kb
        with host.reasoning(deadline):
            res = kb.ask_text(question, k, topic=topic)
            prefixes = {"": kb.default_namespace, "qa": QA_NS, **kb.prefixes}
            return res.to_dict(kb.shorten, prefixes, kb.default_namespace)  # type: ignore[no-any-return]

    return json_response(await host.read(work, deadline=deadline))


@guarded
async def info(request: Request) -> Response:
    """``/api/info``: what the page needs to know (prefixes, namespaces, graphs, switches)."""
    host = host_of(request)
    kb = host.kb

    def work() -> dict[str, Any]:
        return {"prefixes": {**DEFAULT_PREFIXES, **kb.prefixes}, "default_namespace": kb.default_namespace,
                "named_graphs": kb.named_graphs(), "triples": len(kb), "read_only": host.settings.read_only,
                "token_required": host.settings.token is not None,
                "query_timeout": host.settings.query_timeout, "max_rows": host.settings.max_rows}

    return json_response(await host.read(work, deadline=host.deadline()))


__all__ = ["api_params", "ask", "check", "explain", "info", "query", "why_not"]
