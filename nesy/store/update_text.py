"""Reading a SPARQL 1.1 Update before it runs: its operations and the graphs each may write.

pyoxigraph parses and runs an update in one call and says nothing about what it changed,
so nesy reads the text first, with the tokenizer of :mod:`nesy.store.sparql_text`: the
operations (split at ``;`` outside brackets), the prologue in force for each, and the
graphs each may write — from the templates of ``INSERT``/``DELETE`` (``GRAPH <g> {...}``,
triples outside a ``GRAPH`` block go to ``WITH``'s graph or the default graph), and from
the graph references of ``LOAD``, ``CLEAR``, ``DROP``, ``CREATE``, ``ADD``, ``MOVE`` and
``COPY``. A template ``GRAPH ?g`` (or anything this reader does not follow) may write any
graph: the caller then compares every graph. The text is not validated here beyond what
this needs; Oxigraph's parser reports syntax errors.

:func:`rewrite` gives the text Oxigraph runs: a ``LOAD`` of a local document becomes
``INSERT DATA`` of what nesy's own reader read (Oxigraph would fetch it itself), and
``CLEAR``/``DROP`` ``ALL``/``NAMED`` name the users' graphs, never nesy's provenance graphs.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from nesy.errors import NesyError, QueryError
from nesy.store.dataset import expand
from nesy.store.formats import read_file
from nesy.store.sparql_text import Token, nesting, skip_group, tokenize

#: The default graph in :attr:`Operation.writes`.
DEFAULT = ""


@dataclass
class Operation:
    """One operation of an update request.

    Attributes:
        kind: ``INSERT DATA``, ``DELETE DATA``, ``DELETE WHERE``, ``MODIFY`` (``DELETE``/
            ``INSERT`` ... ``WHERE``), ``LOAD``, ``CLEAR``, ``DROP``, ``CREATE``, ``ADD``,
            ``MOVE``, ``COPY``, or ``UNKNOWN``.
        tokens: Its tokens (its prologue not included).
        prefixes, base: The prefixes and base IRI in force for it.
        silent: It says ``SILENT``.
        writes: Graph IRIs it may write (:data:`DEFAULT`: the default graph).
        any_graph: It may write graphs not in ``writes`` (``GRAPH ?g``, or not understood).
        scope: ``ALL`` or ``NAMED`` for ``CLEAR``/``DROP`` of every (named) graph.
        source: For ``LOAD``: the document's IRI; for ``ADD``/``MOVE``/``COPY``: the source graph.
    """

    kind: str
    tokens: list[Token]
    prefixes: dict[str, str]
    base: str | None
    silent: bool = False
    writes: set[str] = field(default_factory=set)
    any_graph: bool = False
    scope: str | None = None
    source: str | None = None

    @property
    def start(self) -> int:
        return self.tokens[0].start

    @property
    def end(self) -> int:
        last = self.tokens[-1]
        return last.start + len(last.text)


def read_update(text: str, prefixes: dict[str, str], base: str | None) -> list[Operation]:
    """The operations of an update request, in order.

    Raises:
        QueryError: a string that does not close (with line and column).
    """
    tokens = tokenize(text)
    known, ops, i = dict(prefixes), [], 0
    while i < len(tokens):
        i, base = _prologue(tokens, i, known, base)
        if i >= len(tokens):
            break
        j, depth = i, 0
        while j < len(tokens):
            tok = tokens[j]
            if tok.kind == "punct" and tok.text == ";" and depth <= 0:
                break
            depth += nesting(tok)
            j += 1
        if j > i:
            ops.append(_operation(tokens[i:j], dict(known), base))
        i = j + 1
    return ops


def _prologue(tokens: list[Token], i: int, known: dict[str, str], base: str | None) -> tuple[int, str | None]:
    """Read ``BASE``/``PREFIX`` declarations from ``i``; returns where they end and the base."""
    while i < len(tokens) and tokens[i].kind == "word":
        word = tokens[i].text.upper()
        if word == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
            base = expand(tokens[i + 1].text, "iri", known, base)
            i += 2
        elif word == "PREFIX" and i + 2 < len(tokens) and tokens[i + 1].kind == "pname" \
                and tokens[i + 2].kind == "iri":
            known[tokens[i + 1].text[:-1]] = expand(tokens[i + 2].text, "iri", known, base) or ""
            i += 3
        else:
            break
    return i, base


def _word(tokens: list[Token], k: int) -> str:
    return tokens[k].text.upper() if k < len(tokens) and tokens[k].kind == "word" else ""


def _operation(tokens: list[Token], prefixes: dict[str, str], base: str | None) -> Operation:
    op = Operation("UNKNOWN", tokens, prefixes, base, any_graph=True)
    first = _word(tokens, 0)
    k = 1
    if first in ("LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY") and _word(tokens, 1) == "SILENT":
        op.silent, k = True, 2
    if (first in ("INSERT", "DELETE") and _word(tokens, 1) == "DATA") or (first, _word(tokens, 1)) == ("DELETE", "WHERE"):
        op.kind, op.any_graph = f"{first} {_word(tokens, 1)}", False
        if _scan_template(op, tokens, 2, DEFAULT) == 2:
            op.any_graph = True  # no braces: not an operation this reader follows
    elif first in ("INSERT", "DELETE", "WITH"):
        _modify(op, tokens)
    elif first == "LOAD":
        _load(op, tokens, k)
    elif first in ("CLEAR", "DROP", "CREATE"):
        _graph_ref_all(op, tokens, k, first)
    elif first in ("ADD", "MOVE", "COPY"):
        _transfer(op, tokens, k, first)
    return op


def _iri_at(op: Operation, tokens: list[Token], k: int) -> str | None:
    """The IRI of the token at ``k`` (``None``: not an IRI, or not one this reader can expand)."""
    if k >= len(tokens):
        return None
    return expand(tokens[k].text, tokens[k].kind, op.prefixes, op.base)


def _scan_template(op: Operation, tokens: list[Token], k: int, default: str) -> int:
    """Read the quad template (or quad data) in braces at ``k``; returns the index after it."""
    if k >= len(tokens) or tokens[k].text != "{":
        return k
    depth, k = 1, k + 1
    while k < len(tokens) and depth > 0:
        tok = tokens[k]
        if depth == 1 and tok.kind == "word" and tok.text.upper() == "GRAPH":
            if k + 1 < len(tokens) and tokens[k + 1].kind == "var":
                op.any_graph = True
            else:
                iri = _iri_at(op, tokens, k + 1)
                if iri is None:
                    op.any_graph = True
                else:
                    op.writes.add(iri)
            k = skip_group(tokens, k + 2)
            continue
        depth += nesting(tok)
        if depth == 0:
            return k + 1
        if not (depth == 1 and tok.kind == "punct" and tok.text == "."):
            op.writes.add(default)
        k += 1
    return k


def _modify(op: Operation, tokens: list[Token]) -> None:
    """``[WITH g] DELETE {..} INSERT {..} USING .. WHERE {..}``: the templates' graphs."""
    op.kind, op.any_graph = "MODIFY", False
    default, k = DEFAULT, 0
    if _word(tokens, 0) == "WITH":
        iri = _iri_at(op, tokens, 1)
        if iri is None:
            op.any_graph = True
            return
        default, k = iri, 2
    while _word(tokens, k) in ("DELETE", "INSERT"):
        before = k + 1
        k = _scan_template(op, tokens, before, default)
        if k == before:
            op.any_graph = True
            return


def _load(op: Operation, tokens: list[Token], k: int) -> None:
    op.kind, op.any_graph = "LOAD", False
    op.source = _iri_at(op, tokens, k)
    if op.source is None:
        raise _bad(tokens, k, "LOAD needs the IRI of a document")
    if _word(tokens, k + 1) == "INTO":
        if _word(tokens, k + 2) != "GRAPH" or _iri_at(op, tokens, k + 3) is None or len(tokens) != k + 4:
            raise _bad(tokens, k + 2, "LOAD ... INTO needs GRAPH <iri>")
        op.writes.add(_iri_at(op, tokens, k + 3) or "")
    elif len(tokens) != k + 1:
        raise _bad(tokens, k + 1, "LOAD <document> takes only INTO GRAPH <iri> after it")
    else:
        op.writes.add(DEFAULT)


def _graph_ref_all(op: Operation, tokens: list[Token], k: int, word: str) -> None:
    """``CLEAR``/``DROP`` (``GRAPH <g>``, ``DEFAULT``, ``NAMED``, ``ALL``) and ``CREATE GRAPH <g>``."""
    op.kind = word
    ref = _word(tokens, k)
    if ref == "GRAPH" and _iri_at(op, tokens, k + 1) is not None:
        op.writes.add(_iri_at(op, tokens, k + 1) or "")
        op.any_graph = False
    elif ref == "DEFAULT" and word != "CREATE":
        op.writes.add(DEFAULT)
        op.any_graph = False
    elif ref in ("NAMED", "ALL") and word != "CREATE":
        op.scope = ref
        if ref == "ALL":
            op.writes.add(DEFAULT)


def _transfer(op: Operation, tokens: list[Token], k: int, word: str) -> None:
    """``ADD``/``MOVE``/``COPY`` source ``TO`` target (each ``DEFAULT`` or ``[GRAPH] <g>``)."""
    op.kind = word
    source, k = _graph_or_default(op, tokens, k)
    if _word(tokens, k) != "TO":
        return
    target, _ = _graph_or_default(op, tokens, k + 1)
    if source is None or target is None:
        return
    op.any_graph, op.source = False, source
    op.writes.add(target)
    if word == "MOVE":
        op.writes.add(source)


def _graph_or_default(op: Operation, tokens: list[Token], k: int) -> tuple[str | None, int]:
    if _word(tokens, k) == "DEFAULT":
        return DEFAULT, k + 1
    if _word(tokens, k) == "GRAPH":
        k += 1
    return _iri_at(op, tokens, k), k + 1


# -- rewriting LOAD and CLEAR/DROP ALL|NAMED -----------------------------------------------
def rewrite(text: str, ops: list[Operation], users: set[str], *, allow_load: bool, namespace: str | None) -> str:
    """The text Oxigraph runs: each ``LOAD`` as ``INSERT DATA`` of the document nesy read,
    ``CLEAR``/``DROP`` ``ALL``/``NAMED`` as the default graph and the users' graphs only
    (``users``, plus those earlier operations name; never nesy's provenance graphs). Line
    numbers stay as they were.

    Raises:
        QueryError: ``LOAD`` not allowed, of a remote document, or of one that cannot be read.
    """
    known = set(users)
    free = True  # no operation so far may have written a graph this reader cannot name
    pieces: list[tuple[int, int, str]] = []
    for k, op in enumerate(ops):
        if op.kind == "LOAD":
            pieces.append((op.start, op.end, _load_text(op, k, allow_load, namespace) + _newlines(text, op)))
        elif op.scope is not None and free:
            pieces.append((op.start, op.end, _scope_text(op, sorted(known)) + _newlines(text, op)))
        elif op.scope is not None:
            op.any_graph = True
        free = free and not op.any_graph
        known |= {w for w in op.writes if w != DEFAULT}
    for start, end, new in sorted(pieces, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _newlines(text: str, op: Operation) -> str:
    return "\n" * text.count("\n", op.start, op.end)


def _scope_text(op: Operation, users: list[str]) -> str:
    """``CLEAR``/``DROP`` ``ALL``/``NAMED`` spelled out over the users' graphs."""
    parts = [f"{op.kind} DEFAULT"] if op.scope == "ALL" else []
    parts += [f"{op.kind} SILENT GRAPH <{iri}>" for iri in users]
    op.writes |= set(users)
    op.scope = None
    return " ; ".join(parts) or "INSERT DATA { }"


def _load_text(op: Operation, k: int, allow: bool, namespace: str | None) -> str:
    """``INSERT DATA`` of the local document a ``LOAD`` names (nothing for a ``SILENT`` one
    that cannot be read).

    Raises:
        QueryError: ``LOAD`` not allowed, a remote document, or one that cannot be read.
    """
    where = op.tokens[0]
    iri = op.source or ""
    if not allow:
        raise QueryError(f"SPARQL update refused: LOAD <{iri}> reads a document; allow it with allow_load=True "
                         "(`nesy update --allow-load`). Nothing was changed", line=where.line, column=where.column)
    target = next(iter(op.writes))
    try:
        parsed = read_file(_local_path(iri), None, namespace=namespace, progress=False)
    except (NesyError, OSError) as exc:
        if op.silent:
            return "INSERT DATA { }"
        message = exc.message if isinstance(exc, NesyError) else str(exc)
        raise QueryError(f"LOAD <{iri}> failed: {message}. Nothing was changed",
                         line=where.line, column=where.column) from None
    relabel: dict[Any, Any] = {}

    def fresh(term: Any) -> Any:
        # One document's blank nodes are its own: labels no other operation of the request uses.
        if isinstance(term, ox.BlankNode):
            return relabel.setdefault(term, ox.BlankNode(f"load{k}x{len(relabel)}"))
        return term

    triples = [ox.Triple(fresh(t.subject), t.predicate, fresh(t.object)) for t in parsed.triples()]
    body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8").replace("\n", " ")
    return f"INSERT DATA {{ GRAPH <{target}> {{ {body} }} }}" if target != DEFAULT else f"INSERT DATA {{ {body} }}"


def _local_path(iri: str) -> str:
    """The local file a ``file:`` IRI names; any other scheme is refused (nesy fetches
    nothing over the network in an update)."""
    parts = urllib.parse.urlparse(iri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise OSError(f"only local file: documents are loaded by an update, not {parts.scheme or 'relative'} "
                      "IRIs (download the document and LOAD <file:...>, or `nesy load` it)")
    return urllib.request.url2pathname(parts.path)


def _bad(tokens: list[Token], k: int, what: str) -> QueryError:
    tok = tokens[min(k, len(tokens) - 1)]
    return QueryError(f"SPARQL syntax error: {what}", line=tok.line, column=tok.column)


__all__ = ["DEFAULT", "Operation", "read_update", "rewrite"]
