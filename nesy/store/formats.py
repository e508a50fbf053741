"""Reading data files into quads: format detection, strict parsing, TSV triples, clear errors.

Everything is parsed completely before anything is stored, so a file with an error adds
nothing. RDF syntaxes go through Oxigraph's parsers (fast and conformant to the W3C test
suites); TSV triples ``head<TAB>relation<TAB>tail`` are mapped into a namespace.
"""

from __future__ import annotations

import io
import json
import os
import sys
from itertools import islice
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyoxigraph as ox

from nesy.errors import LoadError, excerpt_of
from nesy.namespaces import INPUT_BASE
from nesy.store.depth import NestingCounter, check_json_depth
from nesy.store.gz import GZIP_ERRORS, open_data
from nesy.store.parsed import ParsedFile
from nesy.store.tsv import check_namespace, parse_tsv, tsv_iri, tsv_name

#: Format names users may give, mapped to Oxigraph formats (``tsv`` is nesy's own).
FORMATS: dict[str, ox.RdfFormat | str] = {
    "turtle": ox.RdfFormat.TURTLE,
    "ttl": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nt": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "n3": ox.RdfFormat.N3,
    "xml": ox.RdfFormat.RDF_XML,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "rdf": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
    "json-ld": ox.RdfFormat.JSON_LD,
    "tsv": "tsv",
    "owl": "owl",
}

_EXTENSIONS = {
    ".ttl": "turtle", ".turtle": "turtle", ".nt": "ntriples", ".ntriples": "ntriples",
    ".nq": "nquads", ".nquads": "nquads", ".trig": "trig", ".n3": "n3",
    ".rdf": "rdfxml", ".xml": "rdfxml", ".owl": "owl", ".owx": "owl",
    ".jsonld": "jsonld", ".json": "jsonld", ".tsv": "tsv", ".txt": "tsv",
}


#: Longest line of a line-based file (N-Triples, N-Quads, TSV), and longest single token
#: (a literal, an IRI) in any syntax: Oxigraph's parser buffer stops at 16 MiB.
MAX_LINE_BYTES = 16 * 1024 * 1024
_LINE_BASED = ("ntriples", "nquads", "tsv")
#: Bytes :class:`_Guard` reads and checks at a time (below :data:`MAX_LINE_BYTES`, so a
#: long line is always seen across a block boundary).
BLOCK = 1 << 20
#: Files of at most this many triples keep the parser's quads for the store (about 0.4 KB
#: each); larger ones have them rebuilt from the term table in chunks.
KEEP_QUADS = 2_000_000
#: Quads taken from the parser at a time while numbering terms.
NUMBER_CHUNK = 100_000


class _Guard(io.RawIOBase):
    """A byte stream that counts lines as it is read and, for line-based formats, stops at
    a line longer than :data:`MAX_LINE_BYTES` before the parser buffers it.

    It reads :data:`BLOCK` bytes at a time and checks each block once (lines, nesting)
    before the parser gets any of it: parsers ask for a few KiB per call, and checking
    every small read would cost more than the parse."""

    def __init__(self, inner: IO[bytes], file: str | None, limit_lines: bool, canon: str = "") -> None:
        super().__init__()
        self.inner, self.file, self.limit_lines = inner, file, limit_lines
        self.newlines = 0
        self.since_newline = 0
        self.nesting = NestingCounter(canon, file)
        # The block being handed out, how far, and the line it starts on.
        self.block, self.pos, self.block_line = b"", 0, 1

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.pos >= len(self.block):
            self.block_line = self.newlines + 1
            self.block, self.pos = self._checked(self.inner.read(BLOCK)), 0
        n = min(len(buffer), len(self.block) - self.pos)
        buffer[:n] = memoryview(self.block)[self.pos:self.pos + n]
        self.pos += n
        return n

    def readall(self) -> bytes:
        parts = [self.block[self.pos:]]
        self.pos = len(self.block)
        while chunk := self._checked(self.inner.read(BLOCK)):
            parts.append(chunk)
        return b"".join(parts)

    def _checked(self, chunk: bytes) -> bytes:
        """Count and check ``chunk``, the next bytes of the input."""
        n = len(chunk)
        self.nesting.feed(chunk, self.newlines + 1, self.since_newline + 1)
        first = chunk.find(b"\n")
        if first < 0:
            self.since_newline += n
        else:
            self.since_newline += first
            self._check()
            self.newlines += chunk.count(b"\n")
            self.since_newline = n - chunk.rfind(b"\n") - 1
        self._check()
        return chunk

    def _check(self) -> None:
        if self.limit_lines and self.since_newline > MAX_LINE_BYTES:
            raise LoadError(f"line {self.newlines + 1} is longer than {MAX_LINE_BYTES // 2**20} MiB, the most nesy "
                            "reads in one line; split the data or shorten the literal",
                            file=self.file or "<input>", line=self.newlines + 1)

    @property
    def line(self) -> int:
        """The line the parser is reading (1-based)."""
        return self.block_line + self.block.count(b"\n", 0, self.pos)


def format_names() -> list[str]:
    """Every format name :func:`read_file` accepts."""
    return sorted(FORMATS)


def detect_format(path: Path, fmt: str | None) -> str:
    """The canonical format name for ``path`` given an optional user choice."""
    if fmt is not None:
        key = fmt.lower()
        if key not in FORMATS:
            raise LoadError(f"unknown format {fmt!r}; known formats: {', '.join(format_names())}", file=str(path))
        canon = FORMATS[key]
        return canon if isinstance(canon, str) else _canonical(canon)
    suffixes = path.suffixes
    ext = suffixes[-2].lower() if suffixes and suffixes[-1].lower() == ".gz" and len(suffixes) > 1 else path.suffix.lower()
    if ext not in _EXTENSIONS:
        raise LoadError(
            f"cannot tell the format of {path.name!r} from its extension; pass --format "
            f"(one of {', '.join(format_names())})",
            file=str(path),
        )
    return _EXTENSIONS[ext]


def _canonical(f: ox.RdfFormat) -> str:
    for name in ("turtle", "ntriples", "nquads", "trig", "n3", "rdfxml", "jsonld"):
        if FORMATS[name] == f:
            return name
    raise AssertionError(f)


def _progress(fh: IO[bytes], path: Path, progress: bool | None) -> IO[bytes]:
    """Wrap ``fh`` so reading it advances a byte progress bar (on a terminal, or when asked)."""
    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        return fh
    from tqdm import tqdm
    from tqdm.utils import CallbackIOWrapper

    bar = tqdm(total=os.path.getsize(path), desc=f"loading {path.name}", unit="B", unit_scale=True, leave=False)
    wrapped = CallbackIOWrapper(bar.update, fh, "read")
    close = fh.close

    def close_both() -> None:
        bar.close()
        close()

    fh.close = close_both  # type: ignore[method-assign]
    return wrapped  # type: ignore[return-value]


def sniff_owl(head: bytes) -> str:
    """Which concrete syntax an ``.owl`` file uses, from its first bytes."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<?xml") or text.startswith("<rdf:RDF") or text.startswith("<!DOCTYPE"):
        if "<Ontology" in text and "rdf:RDF" not in text:
            return "owlxml"
        return "rdfxml"
    if text.startswith("Prefix(") or text.startswith("Ontology("):
        return "owlfunctional"
    return "turtle"


def read_file(
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    namespace: str | None = None,
    base_iri: str | None = None,
    progress: bool | None = None,
) -> ParsedFile:
    """Parse one data file completely.

    Args:
        path: The file (``.gz`` compressed files are read transparently).
        fmt: A format name (see :func:`format_names`); guessed from the extension if ``None``.
        namespace: For TSV triples: the namespace the names are placed in.
        base_iri: Base IRI for relative IRIs; defaults to the file's ``file://`` URI.
        progress: Show a progress bar (default: when stderr is a terminal).

    Raises:
        LoadError: Missing file, unknown format, or a syntax error (with line and column).
    """
    path = Path(path)
    canon = detect_format(path, fmt)
    if canon == "tsv":
        if namespace is None:
            raise LoadError("TSV triples need a namespace to place their names in (--namespace)", file=str(path))
        with open_data(path) as fh:
            parsed = read_tsv(_progress(fh, path, progress), namespace, file=str(path))
        parsed.path = path
        return parsed
    with open_data(path) as fh:
        if canon == "owl":
            try:
                head = fh.read(4096)
            except GZIP_ERRORS as exc:
                raise LoadError(f"truncated or corrupt gzip file ({exc}); nothing was loaded", file=str(path)) from None
            canon = sniff_owl(head)
            fh.seek(0)
            if canon == "owlfunctional":
                raise LoadError(
                    f"{path.name} is in OWL functional syntax; nesy reads OWL in RDF/XML, OWL/XML or "
                    "Turtle; convert it first (e.g. with Protégé or ROBOT)",
                    file=str(path),
                )
            if canon == "owlxml":
                from nesy.store.owlxml import owlxml_to_ntriples

                parsed = _parse_rdf(io.BytesIO(owlxml_to_ntriples(path)), FORMATS["nt"], "nt",
                                    path.resolve().as_uri(), str(path))  # type: ignore[arg-type]
                parsed.path = path
                parsed.format = "owlxml"
                return parsed
        data = _progress(fh, path, progress)
        base = base_iri or path.resolve().as_uri()
        parsed = _parse_rdf(data, FORMATS[canon], canon, base, str(path))  # type: ignore[arg-type]
        parsed.path = path
        return parsed


def parse_text(text: str, fmt: str = "turtle", *, base_iri: str = INPUT_BASE) -> ParsedFile:
    """Parse RDF given as a string (same errors as :func:`read_file`, file ``<input>``)."""
    canon = detect_format(Path("input"), fmt)
    return _parse_rdf(io.BytesIO(text.encode("utf-8")), FORMATS[canon], canon, base_iri, None, text=text)  # type: ignore[arg-type]


def _parse_rdf(
    data: IO[bytes], fmt: ox.RdfFormat, canon: str, base: str, file: str | None, text: str | None = None
) -> ParsedFile:
    where = file or "<input>"
    guard = _Guard(data, file, canon in _LINE_BASED, canon)
    stream: IO[bytes] = guard  # type: ignore[assignment]
    if canon == "jsonld":
        stream = io.BytesIO(_checked_jsonld(guard, where))
    parser = ox.parse(stream, format=fmt, base_iri=base)
    numbering = _Numbering(fmt.supports_datasets)
    try:
        # In chunks, each taken from the parser in one call: a file never holds more than one
        # chunk of quads beyond those it keeps for the store.
        while chunk := list(islice(parser, NUMBER_CHUNK)):
            numbering.add(chunk)
    except SyntaxError as exc:
        raise _syntax_error(exc, canon, file, text) from None
    except MemoryError:  # Oxigraph's parser buffer is full: one token is longer than it
        raise LoadError(f"invalid {canon}: a single token (literal or IRI) longer than {MAX_LINE_BYTES // 2**20} "
                        f"MiB near line {guard.line}; nesy does not read tokens that long", file=where,
                        line=guard.line) from None
    except GZIP_ERRORS as exc:
        raise LoadError(f"truncated or corrupt gzip file ({exc}); nothing was loaded", file=where) from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"invalid {canon}: {exc}", file=where) from None
    return numbering.parsed(canon, base, dict(parser.prefixes or {}))


class _Numbering:
    """Numbers the distinct terms (and graphs) of a file's quads as the parser gives them,
    and keeps the quads for the store (up to :data:`KEEP_QUADS`)."""

    def __init__(self, datasets: bool) -> None:
        self.datasets = datasets
        self.local: dict[Any, int] = {}
        self.graphs: dict[Any, int] = {}
        self.flat: list[int] = []
        self.gidx: list[int] = []
        self.n = 0
        self.quads: list[ox.Quad] | None = []

    def add(self, chunk: list[ox.Quad]) -> None:
        """Number the terms of the next ``chunk`` of quads."""
        self.n += len(chunk)
        if self.quads is not None:
            self.quads += chunk
            if len(self.quads) > KEEP_QUADS:
                self.quads = None
        local, extend = self.local, self.flat.extend
        get = local.get
        # Unrolled: this loop runs once per triple of every file loaded.
        for s, p, o, _ in chunk:
            a = get(s)
            if a is None:
                a = local[s] = len(local)
            b = get(p)
            if b is None:
                b = local[p] = len(local)
            c = get(o)
            if c is None:
                c = local[o] = len(local)
            extend((a, b, c))
        if self.datasets:
            graphs = self.graphs
            for q in chunk:
                g = graphs.get(q.graph_name)
                if g is None:
                    g = graphs[q.graph_name] = len(graphs)
                self.gidx.append(g)

    def parsed(self, canon: str, base: str, prefixes: dict[str, str]) -> ParsedFile:
        """The file as a :class:`ParsedFile`."""
        terms = list(self.local)
        if self.datasets:
            graph_names, gidx = list(self.graphs), np.asarray(self.gidx, dtype=np.int64)
        else:  # a triples syntax: everything is in the default graph
            graph_names, gidx = [ox.DefaultGraph()] if self.n else [], np.zeros(self.n, dtype=np.int64)
        return ParsedFile(
            format=canon,
            terms=terms,
            index=np.asarray(self.flat, dtype=np.int64).reshape(-1, 3),
            graph_names=graph_names,
            graph_index=gidx,
            prefixes=prefixes,
            base_iri=base,
            blank_nodes=any(isinstance(t, ox.BlankNode) for t in terms),
            quads=self.quads,
        )


def _syntax_error(exc: SyntaxError, canon: str, file: str | None, text: str | None) -> LoadError:
    """A parser's SyntaxError as a LoadError with line, column and the line's text.

    Oxigraph's RDF/XML errors carry no position; an XML well-formedness error is then
    located with expat (line and column), other RDF/XML errors stay without a line.
    """
    line, col = exc.lineno, exc.offset
    msg = str(exc.msg if hasattr(exc, "msg") else exc)
    msg = msg.split(": ", 1)[1] if msg.startswith("Parser error at line") and ": " in msg else msg
    if line is None and canon == "rdfxml":
        found = _xml_position(file, text)
        if found is not None:
            line, col, xml_msg = found
            msg = f"{msg} (XML: {xml_msg})"
    excerpt = None
    if line:
        excerpt = excerpt_of(text, line) if text is not None else _line_of(file, line)
    return LoadError(f"invalid {canon}: {msg}", file=file or "<input>", line=line, column=col, excerpt=excerpt)


def _xml_position(file: str | None, text: str | None) -> tuple[int, int, str] | None:
    """Line, column (1-based) and message of the first XML well-formedness error, if any."""
    import xml.parsers.expat

    parser = xml.parsers.expat.ParserCreate()
    try:
        if text is not None:
            parser.Parse(text.encode("utf-8"), True)
        elif file is not None:
            with open_data(Path(file)) as fh:
                parser.ParseFile(fh)
    except xml.parsers.expat.ExpatError as err:
        return err.lineno, err.offset + 1, xml.parsers.expat.ErrorString(err.code)
    except (OSError, LoadError, *GZIP_ERRORS):
        return None
    return None


def _checked_jsonld(fh: IO[bytes], where: str) -> bytes:
    """The JSON-LD file's bytes, once its top level is known to be node objects and no
    context is remote (nesy never fetches documents while loading)."""
    try:
        data = fh.read()
    except GZIP_ERRORS as exc:
        raise LoadError(f"truncated or corrupt gzip file ({exc}); nothing was loaded", file=where) from None
    check_json_depth(data, where)
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise LoadError(f"invalid jsonld: {exc}", file=where, line=line, column=getattr(exc, "colno", None)) from None
    except RecursionError:
        raise LoadError("invalid jsonld: nested too deeply", file=where) from None
    items = doc if isinstance(doc, list) else [doc]
    bad = next((i for i, item in enumerate(items) if not isinstance(item, dict)), None)
    if bad is not None:
        what = "the top level" if not isinstance(doc, list) else f"item {bad} of the top-level array"
        raise LoadError(f"invalid jsonld: {what} is a {type(items[bad]).__name__}; JSON-LD needs a node object "
                        "or an array of node objects", file=where)
    remote = _remote_context(doc)
    if remote is not None:
        raise LoadError(f"invalid jsonld: the context {remote[:200]!r} is remote, and nesy never fetches "
                        "documents while loading; put the context object inline in the file", file=where)
    return data


def _remote_context(node: Any, depth: int = 0) -> str | None:
    """The first ``@context`` (or context ``@import``) given as a URL, anywhere in the document."""
    if depth > 200:
        return None
    if isinstance(node, dict):
        for key in ("@context", "@import"):
            ctx = node.get(key)
            for c in ctx if isinstance(ctx, list) else [ctx]:
                if isinstance(c, str):
                    return c
        return next((r for v in node.values() if (r := _remote_context(v, depth + 1)) is not None), None)
    if isinstance(node, list):
        return next((r for v in node if (r := _remote_context(v, depth + 1)) is not None), None)
    return None


def _line_of(file: str | None, line: int) -> str | None:
    if file is None:
        return None
    try:
        with open(file, encoding="utf-8", errors="replace") as fh:
            for i, text in enumerate(fh, 1):
                if i == line:
                    return text.rstrip("\n")
    except OSError:
        return None
    return None


def read_tsv(fh: IO[bytes], namespace: str, *, file: str | None = None) -> ParsedFile:
    """Parse ``head<TAB>relation<TAB>tail`` lines (blank lines and ``#`` comments skipped)."""
    check_namespace(namespace, file)
    try:
        text = _Guard(fh, file, True).read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"TSV file is not UTF-8: {exc}", file=file) from None
    except GZIP_ERRORS as exc:
        raise LoadError(f"truncated or corrupt gzip file ({exc}); nothing was loaded", file=file) from None
    return parse_tsv(text, namespace, file=file)


__all__ = ["BLOCK", "FORMATS", "KEEP_QUADS", "MAX_LINE_BYTES", "ParsedFile", "detect_format", "format_names",
           "parse_text", "read_file", "read_tsv", "sniff_owl", "tsv_iri", "tsv_name"]
