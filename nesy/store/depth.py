"""Nesting bounds for data files: input nested deeper than a parser can take is refused before it runs.

Parsers recurse once per nesting level, on the native stack (a stack overflow aborts the
process) or in memory that grows faster than the depth. Scanning the bytes is linear and
needs no recursion, so a file is checked here first and refused with the line (and
column) where it passes the bound.
"""

from __future__ import annotations

import re

import numpy as np

from nesy.errors import LoadError

#: Deepest nesting of JSON objects and arrays in a JSON-LD file. Measured with Oxigraph's
#: JSON-LD parser (pyoxigraph 0.5.13): node objects nested 500 deep took 100 MB and 900
#: deep 210 MB (memory grows with the square of the depth), and 10,000 deep aborted the
#: process at a 3 GiB address-space cap. Real JSON-LD nests a few levels (a list of lists
#: is two per level), so 100 refuses nothing real and costs about 25 MB at worst.
MAX_JSON_DEPTH = 100

#: Deepest nesting of RDF 1.2 triple terms ``<<( ... )>>`` (Turtle, TriG, N-Triples,
#: N-Quads, N3). Oxigraph's parsers recurse once per level on the native stack: 30,000
#: nested triple terms in an N-Quads file killed the process (SIGSEGV), 10,000 ran.
#: Real data nests a handful (a statement about a statement about a statement).
MAX_TRIPLE_TERM_DEPTH = 100
#: Deepest element nesting of an RDF/XML file. Oxigraph's RDF/XML parser takes time that
#: grows with the square of the depth: nested property elements 5,000 deep took 0.07 s,
#: 10,000 deep 0.33 s, and 100,000 deep ran past 60 s. 1,000 is far beyond real files.
MAX_XML_DEPTH = 1000
_SYNTAXES_WITH_TRIPLE_TERMS = ("turtle", "trig", "ntriples", "nquads", "n3")
_TRIPLE_TERM = re.compile(rb"<<\(|\)>>")

# A JSON string (no raw newline inside, as JSON requires, so line numbers stay exact).
_JSON_STRING = re.compile(rb'"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*"')
_CHUNK = 1 << 23


def check_json_depth(data: bytes, where: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` (objects and arrays; brackets in strings
    do not count). Linear time, memory of one copy of ``data`` plus a few chunk arrays.

    Raises:
        LoadError: the file ``where``, with the line and column of the bracket past the limit.
    """
    stripped = _JSON_STRING.sub(b'""', data)
    depth = 0
    for start in range(0, len(stripped), _CHUNK):
        chunk = np.frombuffer(stripped, dtype=np.uint8, count=min(_CHUNK, len(stripped) - start), offset=start)
        step = ((chunk == 0x7B) | (chunk == 0x5B)).astype(np.int64) - ((chunk == 0x7D) | (chunk == 0x5D))
        running = np.cumsum(step) + depth
        over = np.flatnonzero(running > limit)
        if over.size:
            line, column = _position(data, stripped, start + int(over[0]))
            raise LoadError(f"invalid jsonld: nested more than {limit} levels deep (objects and arrays); nesy "
                            "refuses deeper JSON-LD because the parser's memory grows with the square of the "
                            "depth; flatten the document (give nested nodes an @id at the top level)",
                            file=where, line=line, column=column)
        depth = int(running[-1])


class NestingCounter:
    """Counts the nesting of triple terms (or of XML elements) in a byte stream read chunk
    by chunk, and stops at the first level past the bound, before the parser sees that chunk.

    The count is lexical: a ``<<(`` inside a string literal, or a tag inside an XML comment
    or CDATA section, counts too, so a file is never let through deeper than the bound,
    and only absurd literals could be refused without being deep.

    Args:
        canon: The format name (``rdfxml``, or one with triple terms; others are not counted).
        file: The file, for the error.
    """

    def __init__(self, canon: str, file: str | None) -> None:
        self.xml = canon == "rdfxml"
        self.active = self.xml or canon in _SYNTAXES_WITH_TRIPLE_TERMS
        self.limit = MAX_XML_DEPTH if self.xml else MAX_TRIPLE_TERM_DEPTH
        self.file = file or "<input>"
        self.depth = 0
        # The last bytes of the previous chunk: a token split across two reads is seen whole
        # once (one byte short of the longest token, so none is counted twice).
        self.tail = b""

    def feed(self, chunk: bytes, line: int, column: int) -> None:
        """Count ``chunk``, which starts at ``line`` and (1-based, in bytes) ``column``.

        Raises:
            LoadError: the bound is passed (with the line, and the column when known).
        """
        if not self.active or not chunk:
            return
        buf = self.tail + chunk
        over = self._xml(buf) if self.xml else self._triple_terms(buf)
        self.tail = buf[-(1 if self.xml else 2):]
        if over is None:
            return
        at = max(over - (len(buf) - len(chunk)), 0)
        before = chunk.rfind(b"\n", 0, at)
        what = "XML elements" if self.xml else "triple terms <<( )>>"
        why = ("parsing time grows with the square of the depth" if self.xml
               else "the parser recurses once per level and would overflow its stack")
        raise LoadError(f"invalid {'rdfxml' if self.xml else 'RDF'}: {what} nested more than {self.limit} levels "
                        f"deep; nesy refuses deeper nesting because {why}", file=self.file,
                        line=line + chunk.count(b"\n", 0, at), column=at - before if before >= 0 else column + at)

    def _triple_terms(self, buf: bytes) -> int | None:
        if b"<<(" not in buf and b")>>" not in buf:
            return None
        for m in _TRIPLE_TERM.finditer(buf):
            self.depth = self.depth + 1 if m.group() == b"<<(" else max(self.depth - 1, 0)
            if self.depth > self.limit:
                return m.start()
        return None

    def _xml(self, buf: bytes) -> int | None:
        a = np.frombuffer(buf, dtype=np.uint8)
        first, second = a[:-1], a[1:]
        lt = first == 0x3C  # '<'
        opens = lt & (second != 0x2F) & (second != 0x3F) & (second != 0x21)  # not '</', '<?', '<!'
        closes = (lt & (second == 0x2F)) | ((first == 0x2F) & (second == 0x3E))  # '</' and '/>'
        running = np.cumsum(opens.astype(np.int64) - closes) + self.depth
        over = np.flatnonzero(running > self.limit)
        if over.size:
            return int(over[0])
        if running.size:
            self.depth = max(int(running[-1]), 0)
        return None


def _position(data: bytes, stripped: bytes, pos: int) -> tuple[int, int]:
    """Line and column (1-based, in characters) in ``data`` of offset ``pos`` in ``stripped``
    (strings emptied): only the one line is rescanned."""
    line = stripped.count(b"\n", 0, pos) + 1
    col_stripped = pos - (stripped.rfind(b"\n", 0, pos) + 1)
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)
    begin = int(newlines[line - 2]) + 1 if line > 1 else 0
    shift = 0  # bytes the strings before the position lost when emptied
    for m in _JSON_STRING.finditer(data, begin):
        if m.start() - begin - shift >= col_stripped:
            break
        shift += len(m.group()) - 2
    offset = begin + col_stripped + shift
    return line, len(data[begin:offset].decode("utf-8", "replace")) + 1


__all__ = ["MAX_JSON_DEPTH", "MAX_TRIPLE_TERM_DEPTH", "MAX_XML_DEPTH", "NestingCounter", "check_json_depth"]
