"""Content negotiation: which result or RDF format a request gets, from its Accept header or ``format=``."""

from __future__ import annotations

from dataclasses import dataclass

from nesy.serve.problems import RequestError

#: Media type -> result format of SELECT and ASK (the server's preference first).
RESULT_TYPES: dict[str, str] = {
    "application/sparql-results+json": "sparql-json",
    "application/json": "sparql-json",
    "application/sparql-results+xml": "sparql-xml",
    "application/xml": "sparql-xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "text/xml": "sparql-xml",
}
#: Media type -> RDF format of CONSTRUCT, DESCRIBE and the Graph Store (preference first).
GRAPH_TYPES: dict[str, str] = {
    "text/turtle": "turtle",
    "application/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/n-triples": "ntriples",
    "text/plain": "ntriples",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdfxml",
}
#: The media type each format is sent as.
MEDIA_OF: dict[str, str] = {
    "sparql-json": "application/sparql-results+json",
    "sparql-xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
}
#: Short names of the ``format=`` parameter (SPARQLWrapper sends these too) -> format.
FORMAT_NAMES: dict[str, str] = {
    "json": "sparql-json", "sparql-json": "sparql-json", "srj": "sparql-json",
    "xml": "sparql-xml", "sparql-xml": "sparql-xml", "srx": "sparql-xml",
    "csv": "csv", "tsv": "tsv",
    "turtle": "turtle", "ttl": "turtle", "n3": "turtle",
    "ntriples": "ntriples", "nt": "ntriples", "n-triples": "ntriples",
    "json-ld": "jsonld", "jsonld": "jsonld",
    "rdfxml": "rdfxml", "rdf+xml": "rdfxml", "rdf": "rdfxml",
}
_GRAPH_OF_RESULT = {"sparql-json": "jsonld", "sparql-xml": "rdfxml"}


@dataclass(frozen=True)
class Range:
    """One media range of an Accept header: ``type/subtype`` (``*`` allowed) and its quality."""

    kind: str
    sub: str
    q: float

    def matches(self, media: str) -> int:
        """How specifically this range matches ``media`` (2 exact, 1 ``type/*``, 0 ``*/*``; -1 not)."""
        kind, _, sub = media.partition("/")
        if self.kind == "*":
            return 0
        if self.kind != kind:
            return -1
        if self.sub == "*":
            return 1
        return 2 if self.sub == sub else -1


def parse_accept(header: str) -> list[Range]:
    """The media ranges of an Accept header (malformed entries are skipped)."""
    out = []
    for part in header.split(",")[:64]:
        fields = [f.strip() for f in part.split(";")]
        kind, slash, sub = fields[0].lower().partition("/")
        if not slash or not kind or not sub:
            continue
        q = 1.0
        for f in fields[1:]:
            name, _, value = f.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        out.append(Range(kind, sub, q))
    return out


def quality(ranges: list[Range], media: str) -> float:
    """The quality the client gives ``media``: that of the most specific range matching it."""
    best, q = -1, 0.0
    for r in ranges:
        level = r.matches(media)
        if level > best:
            best, q = level, r.q
    return q if best >= 0 else 0.0


def choose(accept: str | None, offered: dict[str, str], fmt: str | None = None) -> str:
    """The format to answer with, among ``offered`` (media type -> format, preference first).

    Args:
        accept: The Accept header (missing or empty: the first offered format).
        offered: :data:`RESULT_TYPES` or :data:`GRAPH_TYPES`.
        fmt: The ``format=`` parameter, which wins over the header (a short name or a media type).

    Raises:
        RequestError: 406 when nothing the client accepts is offered; 400 for an unknown ``format=``.
    """
    formats = list(dict.fromkeys(offered.values()))
    if fmt:
        name = FORMAT_NAMES.get(fmt.strip().lower()) or offered.get(fmt.split(";")[0].strip().lower())
        if name is not None and name not in formats:
            name = _GRAPH_OF_RESULT.get(name)
        if name is None or name not in formats:
            raise RequestError(400, f"unknown or unsuitable format={fmt[:40]!r}; this result can be "
                                    f"written as {', '.join(formats)}")
        return name
    if not accept or not accept.strip():
        return formats[0]
    ranges = parse_accept(accept)
    best, chosen = 0.0, None
    for media, name in offered.items():
        q = quality(ranges, media)
        if q > best:
            best, chosen = q, name
    if chosen is None:
        raise RequestError(406, f"none of the accepted media types ({accept[:120]}) can be produced; "
                                f"this result can be sent as {', '.join(offered)}")
    return chosen


__all__ = ["FORMAT_NAMES", "GRAPH_TYPES", "MEDIA_OF", "RESULT_TYPES", "Range", "choose", "parse_accept", "quality"]
