"""Hostile inputs for the chaos benchmark: seeded mutations of data files, rule files, queries,
checkpoints and KB files, each one a ``nesy`` command line to run against a small KB.

Case ``i`` of seed ``s`` depends only on ``(s, i)`` (its own ``random.Random``), so any one
input can be rebuilt from its number without generating the others. Command lines use the
placeholders ``{KB}`` (the KB directory), ``{IN}`` (the folder the case's files are written
to), ``{PORT}`` (a loopback listener that counts connections) and ``{DEAD}`` (a closed port).
"""

from __future__ import annotations

import gzip
import random
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LUBM_QUERIES = REPO.parent / "shared" / "data" / "owl" / "lubm" / "queries"

#: Kinds of input and how often each is drawn.
KIND_WEIGHTS = {"data": 34, "rules": 24, "query": 24, "repl": 4, "checkpoint": 7, "kbfile": 7}

#: The model the pristine KB trains (``DIR/models/<name>``).
MODEL = "distmult"

#: Sizes of the expensive attacks. ``light`` (the CI form) keeps every kind of attack but
#: caps huge lines at 200 KB and nesting at 2,000 levels, so that 2,000 inputs take minutes.
SCALES = {
    "full": {"huge": [200_000, 1_000_000, 4_000_000], "giant": 40_000_000, "deep": [200, 1_000, 5_000, 50_000],
             "bomb": [20_000_000, 200_000_000]},
    "light": {"huge": [20_000, 200_000], "giant": 200_000, "deep": [100, 500, 2_000], "bomb": [5_000_000]},
}
SCALE = SCALES["full"]


def set_scale(name: str) -> None:
    """Use the ``full`` or ``light`` sizes (inputs stay reproducible per scale and seed)."""
    global SCALE  # noqa: PLW0603 - one switch read by every generator below
    SCALE = SCALES[name]


@dataclass
class Case:
    """One hostile input: the command, the files it reads and the edits made to the KB first."""

    index: int
    kind: str
    variant: str
    args: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    edits: dict[str, bytes | None] = field(default_factory=dict)
    stdin: bytes | None = None
    #: The command must leave the KB as it was even when it succeeds.
    read_only: bool = False
    #: ``--allow-service``: contacting the listener is the user's choice here.
    network: bool = False

    def size(self) -> int:
        """Bytes of input, to pick the smallest reproduction of a failure."""
        return sum(len(b) for b in self.files.values()) + sum(len(b or b"") for b in self.edits.values()) + \
            len(self.stdin or b"") + sum(len(a) for a in self.args)


# -- seeds ---------------------------------------------------------------------------------

@cache
def data_seeds() -> dict[str, bytes]:
    """A small valid document per format (family.ttl converted by Oxigraph), by extension."""
    import pyoxigraph as ox

    ttl = (REPO / "examples" / "family" / "family.ttl").read_bytes()
    triples = list(ox.parse(ttl, format=ox.RdfFormat.TURTLE))
    graph = ox.NamedNode("http://example.org/g")
    quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
    seeds = {"ttl": ttl, "nt": ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES),
             "nq": ox.serialize(quads, format=ox.RdfFormat.N_QUADS),
             "trig": ox.serialize(quads, format=ox.RdfFormat.TRIG),
             "rdf": ox.serialize(triples, format=ox.RdfFormat.RDF_XML),
             "jsonld": ox.serialize(triples, format=ox.RdfFormat.JSON_LD)}
    lines = (REPO / "examples" / "link-prediction" / "train.tsv").read_bytes().splitlines()[:40]
    seeds["tsv"] = b"\n".join(lines) + b"\n"
    return seeds


@cache
def rule_seeds() -> list[str]:
    """The example rule files and one snippet per statement of the grammar."""
    files = [p.read_text() for p in sorted((REPO / "examples").rglob("*.rules"))]
    return files + [
        "@prefix fam: <http://example.org/family#> .\nfam:x(fam:a).",
        "@base <http://example.org/b/> .\n<p>(<a>, <b>).",
        "@prefix fam: <http://example.org/family#> .\n[r] 0.7 :: fam:sib(X, Y) :- fam:parent(P, X), "
        "fam:parent(P, Y), X != Y.",
        "@prefix fam: <http://example.org/family#> .\nfalse :- fam:parent(X, X).",
        "@prefix fam: <http://example.org/family#> .\nfam:old(X) :- fam:age(X, A), A > 60, not fam:job(X, _).",
        "@prefix fam: <http://example.org/family#> .\nfam:n(X, N) :- fam:Person(X), N = sum { A : fam:age(X, A) }.",
        "@prefix fam: <http://example.org/family#> .\nfam:l(fam:a, \"x\"@en). fam:l(fam:b, \"1\"^^xsd:integer).",
        "@prefix fam: <http://example.org/family#> .\nfam:d(X, Y) :- fam:age(X, A), Y = (A * 2 + 1) / 3 - -1 % 5.",
        "@prefix fam: <http://example.org/family#> .\nfam:p(X, Y) :- ~fam:parent(X, Y).",
        "@prefix fam: <http://example.org/family#> .\n?- fam:grandparent(X, Y).",
    ]


RULE_QUERIES = [
    "?- fam:grandparent(X, Y).", "?- fam:ancestor(fam:ann, X).", "?- fam:kids(X, N), N > 1.",
    "?- fam:age(X, A), B = A * 2 + 1.", "?- fam:Person(X), not fam:parent(X, _).", "fam:Adult(X)",
    "?- ~fam:parent(fam:ann, Y).", "?- fam:livesIn(X, C), fam:spouse(X, Y).",
]

FAMILY_SPARQL = [
    "SELECT ?s ?o WHERE { ?s <http://example.org/family#parent> ?o }",
    "PREFIX fam: <http://example.org/family#> SELECT (COUNT(*) AS ?n) WHERE { ?a fam:ancestor ?b }",
    "ASK { ?s ?p ?o }", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5",
    "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?s LIMIT 10",
    "PREFIX fam: <http://example.org/family#> SELECT ?x (SUM(?a) AS ?t) WHERE { ?x fam:age ?a } GROUP BY ?x",
]


@cache
def sparql_seeds() -> list[str]:
    """LUBM's 14 queries (when the shared data is there) and a few over the family KB."""
    lubm = [p.read_text() for p in sorted(LUBM_QUERIES.glob("q*.rq"))] if LUBM_QUERIES.is_dir() else []
    return lubm + FAMILY_SPARQL


SERVICE_FORMS = [
    "SELECT * WHERE { ?a ?b ?c FILTER(1<2)SERVICE<http://127.0.0.1:{PORT}/sparql>{?s ?p ?o} }",
    "SELECT * WHERE { # \" a quote in a comment\n SERVICE <http://127.0.0.1:{PORT}/s> { ?s ?p ?o } }",
    "SELECT * WHERE { service <http://127.0.0.1:{PORT}/> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:{PORT}/> { ?s ?p ?o } }",
    "SELECT * WHERE { BIND(<http://127.0.0.1:{PORT}/> AS ?e) SERVICE ?e { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE ?var { ?s ?p ?o } }",
    "SELECT * WHERE { { SELECT * WHERE { SERVICE <http://127.0.0.1:{PORT}/> { ?s ?p ?o } } } }",
    "SELECT * WHERE { OPTIONAL { SERVICE\t<http://127.0.0.1:{PORT}/x> { ?s ?p ?o } } }",
    "PREFIX e: <http://127.0.0.1:{PORT}/> SELECT * WHERE { SERVICE e: { ?s ?p ?o } }",
    "SELECT * WHERE { SeRvIcE <http://localhost:{PORT}/> { ?s ?p ?o } }",
]

UPDATE_FORMS = [
    "INSERT DATA { <http://a> <http://b> <http://c> }", "DELETE WHERE { ?s ?p ?o }", "CLEAR ALL",
    "DROP ALL", "LOAD <file:///etc/passwd>", "CREATE GRAPH <http://g>", "DELETE DATA { <http://a> <http://b> 1 }",
    "WITH <http://g> DELETE { ?s ?p ?o } INSERT { ?o ?p ?s } WHERE { ?s ?p ?o }",
    "PREFIX x: <http://x/> INSERT { ?s x:p 1 } WHERE { ?s ?p ?o }", "ADD DEFAULT TO <http://g>",
]

OUTSIDE_PATHS = ["/etc/passwd", "../../x.rules", "/proc/self/environ", "../" * 12 + "etc/hostname",
                 "/dev/zero", "/dev/urandom", "~/.bashrc", "file:///etc/passwd", "..", "/", ""]


# -- byte mutations ------------------------------------------------------------------------

def bit_flips(rng: random.Random, data: bytes) -> bytes:
    """``data`` with one to eight random bits flipped."""
    if not data:
        return bytes([rng.randrange(256)])
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(max(len(data), 1))]


def token_edit(rng: random.Random, text: str) -> str:
    """Delete, duplicate, swap or insert tokens (words, punctuation) a few times."""
    tokens = re.findall(r"\s+|[\w:#<>/.\-\"?@]+|[^\w\s]", text) or [text]
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(tokens))
        op = rng.randrange(5)
        if op == 0 and len(tokens) > 1:
            del tokens[i]
        elif op == 1:
            tokens.insert(i, tokens[i])
        elif op == 2:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == 3:
            tokens.insert(i, rng.choice(["(", ")", "{", "}", "[", "]", ",", ".", ":-", "\"", "'", "?", "#", "<", ">",
                                         "@", ":", "not", "~", "=", "::", "\\", "\x00", "\u2028", "¿"]))
        else:
            tokens[i] = tokens[i][: rng.randrange(len(tokens[i]) + 1)]
    return "".join(tokens)


def bad_text(rng: random.Random, text: bytes) -> tuple[str, bytes]:
    """One of the byte-level attacks every text input gets: the variant's name and the bytes."""
    what = rng.choice(["truncate", "bitflip", "random", "empty", "bom", "nul", "latin1", "crlf", "unbalanced"])
    if what == "truncate":
        return what, truncate(rng, text)
    if what == "bitflip":
        return what, bit_flips(rng, text)
    if what == "random":
        return what, rng.randbytes(rng.choice([1, 16, 200, 4000]))
    if what == "empty":
        return what, rng.choice([b"", b"\n", b"   \t\n"])
    if what == "bom":
        return what, rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]) + text
    if what == "nul":
        i = rng.randrange(len(text) + 1)
        return what, text[:i] + b"\x00" * rng.randint(1, 3) + text[i:]
    if what == "latin1":
        i = rng.randrange(len(text) + 1)
        return what, text[:i] + rng.choice([b"\xe9", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]) + text[i:]
    if what == "crlf":
        return what, text.replace(b"\n", rng.choice([b"\r\n", b"\r", b"\x0b", b"\x85"]))
    i = rng.randrange(len(text) + 1)
    return what, text[:i] + rng.choice([b"(", b")", b"[", b"]", b"{", b"}", b"<", b"\"", b"'''"]) * rng.randint(1, 4) + text[i:]


def huge_size(rng: random.Random) -> int:
    """Bytes of a huge line or literal: mostly a few hundred KiB, sometimes tens of MiB."""
    return rng.choice(SCALE["huge"]) if rng.random() < 0.97 else SCALE["giant"]


def deep_depth(rng: random.Random) -> int:
    return rng.choice(SCALE["deep"])


# -- data files ----------------------------------------------------------------------------

def deep_document(rng: random.Random, ext: str) -> bytes:
    """Deeply nested structure in ``ext``'s syntax (lists, blank nodes, elements, arrays)."""
    d = deep_depth(rng)
    if ext == "jsonld":
        return rng.choice([b"[" * d + b"]" * d, b'{"@id": "http://a", "http://p": ' * d + b"1" + b"}" * d])
    if ext == "rdf":
        head = b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
        body = b'<rdf:Description><e:p rdf:parseType="Resource">' * d + b"</e:p></rdf:Description>" * d
        return head + body + b"</rdf:RDF>"
    opener, closer = rng.choice([(b"[ <http://p> ", b" ]"), (b"( ", b" )")])
    doc = b"<http://s> <http://p> " + opener * d + b"<http://o>" + closer * d + b" ."
    return b"<http://g> { " + doc + b" }" if ext == "trig" else doc


def huge_line(rng: random.Random, ext: str) -> bytes:
    n = huge_size(rng)
    if ext == "tsv":
        return b"a\t" + b"r" * n + b"\tb\n"
    if ext == "jsonld":
        return b'{"@id": "http://a", "http://p": "' + b"x" * n + b'"}'
    if ext == "rdf":
        return (b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                b'xmlns:e="http://e/"><rdf:Description rdf:about="http://a"><e:p>' + b"x" * n +
                b"</e:p></rdf:Description></rdf:RDF>")
    iri = rng.random() < 0.3
    obj = b"<http://o/" + b"o" * n + b">" if iri else b'"' + b"x" * n + b'"'
    line = b"<http://s> <http://p> " + obj + (b" <http://g>" if ext == "nq" else b"") + b" .\n"
    return b"<http://g> {" + line + b"}" if ext == "trig" else line


BAD_IRIS = [b"<http://a b>", b"<ht tp://x>", b"<\\u0000>", b"<>", b"<http://x/\\u0000>", b"<../x>", b"<{}>",
            b"<http://[::1>", b"<javascript:alert(1)>", b"<http://x/\x00>", b"<" + b"%" * 50 + b">", b"<\\U0011FFFF>"]
BAD_ESCAPES = [b'"\\uZZZZ"', b'"\\U0011FFFF"', b'"\\x41"', b'"\\', b'"\\ud800"', b'"\\q"', b"'''", b'"\\U00000000"',
               b'"x"^^<>', b'"x"@', b'"x"@-bad-', b'"1"^^<http://www.w3.org/2001/XMLSchema#integer>x']


def splice(rng: random.Random, data: bytes, piece: bytes) -> bytes:
    """``piece`` in place of one IRI or literal of ``data`` (or inserted when there is none)."""
    spots = [m.span() for m in re.finditer(rb"<[^<>\s]*>|\"[^\"\n]*\"", data)]
    if not spots:
        i = rng.randrange(len(data) + 1)
        return data[:i] + piece + data[i:]
    a, b = rng.choice(spots)
    return data[:a] + piece + data[b:]


def data_case(rng: random.Random, index: int) -> Case:
    seeds = data_seeds()
    ext = rng.choice(sorted(seeds))
    seed = seeds[ext]
    what = rng.choice(["text", "text", "deep", "huge", "badiri", "escape", "wrongext", "gzip", "tsvcols"])
    if what == "text":
        what, body = bad_text(rng, seed)
    elif what == "deep":
        body = deep_document(rng, ext)
    elif what == "huge":
        body = huge_line(rng, ext)
    elif what == "badiri":
        body = splice(rng, seed, rng.choice(BAD_IRIS))
    elif what == "escape":
        body = splice(rng, seed, rng.choice(BAD_ESCAPES))
    elif what == "tsvcols":
        ext, body = "tsv", rng.choice([b"a\tb\n", b"a\tb\tc\td\n", b"\t\t\n", b"a\t\tc\n", b"a b c\n",
                                       b"a\t<x>\t\"y\n", b"a\tr\t" + b"\t" * 1000 + b"\n"])
    elif what == "wrongext":
        body = seed if rng.random() < 0.5 else bad_text(rng, seed)[1]
        ext = rng.choice([e for e in [*seeds, "owl", "n3", "txt", "json", "xml", "csv", "", "gz"] if e != ext])
    else:
        ext, body = gzip_variant(rng, ext, seed)
    name = f"input.{ext}" if ext else "input"
    args = ["load", "{KB}", "{IN}/" + name]
    if rng.random() < 0.15:
        args += ["--format", rng.choice(["turtle", "ntriples", "nquads", "trig", "rdfxml", "jsonld", "tsv", "owl",
                                         "n3", "xml", "nosuch", ""])]
    if rng.random() < 0.1:
        args += ["--score", rng.choice(["nan", "-1", "inf", "2", "0.5", "1e308", "-0"])]
    if rng.random() < 0.05:
        args += ["--namespace", rng.choice(["not an iri", "http://x/", "", "<>", "http://x/\x7f"])]
    if rng.random() < 0.05:
        args += ["-g", rng.choice(["extracted", "predicted"])]
    return Case(index, "data", f"{ext or 'noext'}/{what}", args, files={name: body})


def gzip_variant(rng: random.Random, ext: str, seed: bytes) -> tuple[str, bytes]:
    """A ``.gz`` attack: truncated, flipped, not gzip at all, or a bomb of spaces."""
    packed = gzip.compress(seed)
    what = rng.choice(["truncated", "flipped", "notgzip", "inner", "bomb"])
    if what == "truncated":
        body = packed[: rng.randrange(len(packed))]
    elif what == "flipped":
        body = bit_flips(rng, packed)
    elif what == "notgzip":
        body = seed
    elif what == "inner":
        body = gzip.compress(bad_text(rng, seed)[1])
    else:
        body = bomb(rng.choice(SCALE["bomb"]))
    return f"{ext}.gz", body


@cache
def bomb(size: int) -> bytes:
    """A gzip member that unpacks to one comment line of ``size`` bytes."""
    return gzip.compress(b"#" + b" " * size + b"\n", compresslevel=1)


# -- rule files, queries and the shell -----------------------------------------------------

FAM = "@prefix fam: <http://example.org/family#> .\n"


def hostile_rules(rng: random.Random) -> tuple[str, str]:
    """A rule text built to hurt: the variant's name and the text."""
    # Runaway work (the limits' business, see chaos_limits.py) is drawn less often: it costs a timeout.
    what = rng.choices(["import", "plugin", "huge", "deep", "runaway", "cartesian", "wide", "bignum", "cycle"],
                       weights=[4, 2, 2, 3, 1, 1, 1, 2, 1])[0]
    if what == "import":
        return what, f'@import "{rng.choice(OUTSIDE_PATHS)}" .\n' + FAM + "fam:x(fam:a)."
    if what == "plugin":
        return what, f'@plugin "{rng.choice(["os", "subprocess", "nesy.cli", "tests.extract_plugin", "x;y"])}" .'
    if what == "huge":
        return what, FAM + 'fam:name(fam:a, "' + "x" * huge_size(rng) + '").'
    if what == "deep":
        d = deep_depth(rng)
        form = rng.choice(["paren", "minus", "plus"])
        expr = {"paren": "(" * d + "1" + ")" * d, "minus": "- " * d + "1", "plus": " + ".join(["1"] * d)}[form]
        return f"deep-{form}", FAM + f"fam:v(X, Y) :- fam:age(X, A), Y = {expr}."
    if what == "runaway":
        return what, FAM + "fam:n(0).\nfam:n(Y) :- fam:n(X), Y = X + 1."
    if what == "cartesian":
        body = ", ".join(f"fam:age(X{i}, A{i})" for i in range(rng.choice([4, 6, 8])))
        head = ", ".join(f"X{i}" for i in range(3))
        return what, FAM + f"fam:c({head}) :- {body}."
    if what == "wide":
        n = rng.choice([300, 1000, 3000])
        body = ", ".join(f"fam:parent(X{i}, X{i + 1})" for i in range(n))
        return what, FAM + f"fam:chain(X0, X{n}) :- {body}."
    if what == "bignum":
        return what, FAM + f"fam:big(fam:a, {'9' * rng.choice([30, 5000, 200_000])}).\n" \
            "fam:b(X, Y) :- fam:big(X, N), Y = N * N + 9007199254740993."
    return what, '@import "b.rules" .\n' + FAM + "fam:x(fam:a)."


def rules_case(rng: random.Random, index: int) -> Case:
    files: dict[str, bytes] = {}
    if rng.random() < 0.3:
        variant, text = hostile_rules(rng)
        if variant == "cycle":
            files["b.rules"] = b'@import "x.rules" .\n'
        body = text.encode()
    else:
        seed = rng.choice(rule_seeds())
        if rng.random() < 0.6:
            variant, body = "tokens", token_edit(rng, seed).encode("utf-8", "surrogatepass")
        else:
            variant, body = bad_text(rng, seed.encode())
    files["x.rules"] = body
    args = ["rules", "{KB}", "{IN}/x.rules"]
    if rng.random() < 0.3:
        args.append("--no-materialize")
    return Case(index, "rules", variant, args, files=files)


def mutate_query(rng: random.Random, text: str) -> tuple[str, str]:
    what = rng.choices(["tokens", "truncate", "update", "service", "deep", "huge", "union", "cross"],
                       weights=[8, 2, 3, 3, 2, 1, 1, 1])[0]
    if what == "tokens":
        return what, token_edit(rng, text)
    if what == "truncate":
        return what, text[: rng.randrange(len(text) + 1)]
    if what == "update":
        return what, rng.choice(UPDATE_FORMS)
    if what == "service":
        return what, rng.choice(SERVICE_FORMS)
    d = deep_depth(rng)
    if what == "deep":
        return what, "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * d + "1" + ")" * d + ") }"
    if what == "huge":
        return what, 'SELECT * WHERE { ?s ?p "' + "x" * huge_size(rng) + '" }'
    if what == "union":
        return what, "SELECT * WHERE { " + " UNION ".join(["{ ?s ?p ?o }"] * min(d, 300)) + " } LIMIT 50"
    return what, "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(f"?s{i} ?p{i} ?o{i} ." for i in range(6)) + " }"


def query_case(rng: random.Random, index: int) -> Case:
    sparql = rng.random() < 0.6
    seed = rng.choice(sparql_seeds() if sparql else RULE_QUERIES)
    variant, text = mutate_query(rng, seed)
    if not sparql and variant in ("tokens", "truncate") and rng.random() < 0.3:
        return Case(index, "query", "explain/" + variant, ["explain", "{KB}", text.removeprefix("?- ")],
                    read_only=True)
    args = ["query", "{KB}", text]
    network = variant == "service" and rng.random() < 0.2
    if network:
        args.append("--allow-service")
        args[2] = args[2].replace("{PORT}", rng.choice(["{PORT}", "{DEAD}"]))
    if rng.random() < 0.2:
        args += ["--limit", rng.choice(["-1", "0", "5", "1000000000000", "x"])]
    if rng.random() < 0.2:
        args += ["--format", rng.choice(["json", "csv"])]
    if rng.random() < 0.1:
        args.append(rng.choice(["--explain", "--predicted"]))
    kind = "sparql" if sparql else "rule"
    return Case(index, "query", f"{kind}/{variant}", args, read_only=True, network=network)


def repl_case(rng: random.Random, index: int) -> Case:
    """Several bad statements typed into ``nesy repl KB`` (its error path, never a traceback)."""
    lines = []
    for _ in range(rng.randint(1, 5)):
        pick = rng.randrange(4)
        if pick == 0:
            lines.append(token_edit(rng, rng.choice(rule_seeds()[-10:])))
        elif pick == 1:
            lines.append(mutate_query(rng, rng.choice(RULE_QUERIES + FAMILY_SPARQL))[1][:20000])
        elif pick == 2:
            lines.append(rng.choice([":why 99", ":unload x", ":nosuch", ":load /etc/passwd", ":explain",
                                     ":format nope", ":semiring nope", ":limit -1", ":rules", ":why -1", ":help x"]))
        else:
            lines.append(hostile_rules(rng)[1][:20000])
    text = "\n".join(lines) + "\n"
    return Case(index, "repl", "statements", ["repl", "{KB}"], stdin=text.encode("utf-8", "surrogatepass"))
