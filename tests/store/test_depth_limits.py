"""Hostile nesting and damaged gzip through the real CLI: each case runs in its own process
(a stack overflow would kill it), exits 1 with one ``error:`` line, and leaves the KB as it was."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nesy.errors import LoadError, QueryError
from nesy.store.depth import MAX_JSON_DEPTH, MAX_TRIPLE_TERM_DEPTH, MAX_XML_DEPTH, check_json_depth
from nesy.store.formats import read_file
from nesy.store.sparql_text import MAX_QUERY_CHARS, MAX_QUERY_DEPTH, check_query_shape

REPO = Path(__file__).resolve().parents[2]
FAMILY = REPO / "examples" / "family" / "family.ttl"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
P = "<http://a/p>"


def nesy(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("depth") / "kb"
    done = nesy("load", str(path), str(FAMILY))
    assert done.returncode == 0, done.stderr
    return path


def state(kb: Path) -> tuple[str, str]:
    """The KB's own files (not Oxigraph's logs) hashed, and what SPARQL counts."""
    digest = hashlib.sha256()
    for f in sorted(p for p in kb.iterdir() if p.is_file()):
        digest.update(f.name.encode() + f.read_bytes())
    done = nesy("query", str(kb), COUNT, "--format", "json")
    assert done.returncode == 0, done.stderr
    return digest.hexdigest(), done.stdout


def refused(kb: Path, *args: str, match: str) -> str:
    before = state(kb)
    done = nesy(*args)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-2000:]
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in out, out[-2000:]
    assert match in errors[0], errors[0]
    assert state(kb) == before
    return errors[0]


# -- SPARQL -------------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * 10_000 + "1" + ")" * 10_000 + ") }",
    "SELECT * WHERE " + "{" * 10_000 + "?s ?p ?o" + "}" * 10_000,
    "SELECT * WHERE { ?s ?p ?o " + "FILTER(EXISTS{ ?s ?p ?o " * 2_000 + "})" * 2_000 + " }",
    # '<...>' after an operand may be read as less-than: the brackets inside still count
    "SELECT * WHERE { ?s ?p ?o FILTER(?s<" + "(" * 10_000 + "1" + ")" * 10_000 + ">0) }",
    "SELECT * WHERE { ?s ?p ?o FILTER(?service < 1 || " + "(" * 10_000 + "1" + ")" * 10_000 + ") }",
])
def test_deeply_nested_sparql_is_a_query_error_not_a_crash(kb: Path, query: str) -> None:
    err = refused(kb, "query", str(kb), query, match="nested too deeply")
    assert f"more than {MAX_QUERY_DEPTH} levels" in err and ":1:" in err  # line and column


def test_query_depth_limit_is_exact_and_names_line_and_column() -> None:
    depth_ok = MAX_QUERY_DEPTH - 2  # the WHERE brace and FILTER's own parenthesis
    check_query_shape("SELECT * WHERE {\n FILTER(" + "(" * depth_ok + "1" + ")" * depth_ok + ") }")
    with pytest.raises(QueryError, match="nested too deeply") as err:
        check_query_shape("SELECT * WHERE {\n FILTER(" + "(" * (depth_ok + 1) + "1" + ")" * (depth_ok + 1) + ") }")
    assert (err.value.line, err.value.column) == (2, 9 + depth_ok)
    # brackets in strings and comments do not count
    check_query_shape('SELECT * WHERE { ?s ?p "' + "(" * 1000 + '" } # ' + "{" * 1000)


def test_an_oversized_query_is_refused(kb: Path) -> None:
    with pytest.raises(QueryError, match="characters long"):
        check_query_shape("SELECT * WHERE { ?s ?p ?o } #" + "x" * MAX_QUERY_CHARS)


def test_a_query_within_the_bounds_still_runs(kb: Path) -> None:
    depth = MAX_QUERY_DEPTH - 2
    done = nesy("query", str(kb), "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * depth + "true" + ")" * depth + ") }",
                "--format", "json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 41


# -- data files ---------------------------------------------------------------------------

def _deep_files(d: int) -> dict[str, str]:
    xml_head = ('<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                'xmlns:a="http://a/">\n<rdf:Description rdf:about="http://a/s">')
    return {
        "deep.jsonld": '{"@id": "http://a/s", "http://a/p": ' + '{"http://a/p": ' * d + "1" + "}" * d + "}",
        "deeparr.jsonld": '{"@id": "http://a/s", "http://a/p": ' + "[" * d + "1" + "]" * d + "}",
        "deep.nq": f"<http://a/s> {P} " + f"<<( <http://a/s> {P} " * d + "<http://a/o>" + " )>>" * d + " .\n",
        "deep.nt": f"<http://a/s> {P} " + f"<<( <http://a/s> {P} " * d + "<http://a/o>" + " )>>" * d + " .\n",
        "deep.ttl": f"<http://a/s> {P} " + f"<<( <http://a/s> {P} " * d + "<http://a/o>" + " )>>" * d + " .\n",
        "deep.trig": f"<http://a/g> {{ <http://a/s> {P} " + f"<<( <http://a/s> {P} " * d + "<http://a/o>"
                     + " )>>" * d + " . }\n",
        "deep.rdf": xml_head + "<a:p><rdf:Description>" * d + "<a:p>1</a:p>" + "</rdf:Description></a:p>" * d
                    + "</rdf:Description></rdf:RDF>\n",
    }


@pytest.mark.parametrize("name", sorted(_deep_files(1)))
def test_deeply_nested_data_is_a_load_error_with_the_line(kb: Path, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(_deep_files(100_000)[name], encoding="utf-8")
    err = refused(kb, "load", str(kb), str(path), match="nested more than")
    assert f"{path}:1:" in err or f"{path}:3:" in err  # line 3: the XML file's deep line


@pytest.mark.parametrize("name", sorted(_deep_files(1)))
def test_deep_gzip_data_is_refused_too(tmp_path: Path, name: str) -> None:
    path = tmp_path / (name + ".gz")
    path.write_bytes(gzip.compress(_deep_files(100_000)[name].encode()))
    with pytest.raises(LoadError, match="nested more than") as err:
        read_file(path)
    assert err.value.file == str(path) and err.value.line is not None


def test_nesting_within_the_bounds_loads(tmp_path: Path) -> None:
    files = {"deep.jsonld": MAX_JSON_DEPTH - 1, "deep.nq": MAX_TRIPLE_TERM_DEPTH, "deep.rdf": MAX_XML_DEPTH // 2 - 2}
    for name, d in files.items():
        path = tmp_path / name
        path.write_text(_deep_files(d)[name], encoding="utf-8")
        assert len(read_file(path)) >= 1, name
    # Turtle blank-node property lists and collections are read without recursion: no bound.
    bnodes = tmp_path / "bnodes.ttl"
    bnodes.write_text(f"<http://a/s> {P} " + f"[ {P} " * 100_000 + "1" + " ]" * 100_000 + " .\n", encoding="utf-8")
    assert len(read_file(bnodes)) == 100_001


def test_json_depth_error_points_at_the_bracket() -> None:
    doc = b'{"a": "[[[[{{{{",\n "b": ' + b"[" * (MAX_JSON_DEPTH + 5) + b"]" * (MAX_JSON_DEPTH + 5) + b"}"
    with pytest.raises(LoadError) as err:
        check_json_depth(doc, "x.jsonld")
    assert (err.value.line, err.value.column) == (2, 7 + MAX_JSON_DEPTH - 1)


# -- damaged gzip -------------------------------------------------------------------------

_BODIES = {
    "ttl": b"<http://a/s> <http://a/p> <http://a/o> .\n" * 3000,
    "nt": b"<http://a/s> <http://a/p> <http://a/o> .\n" * 3000,
    "nq": b"<http://a/s> <http://a/p> <http://a/o> <http://a/g> .\n" * 3000,
    "trig": b"<http://a/g> { <http://a/s> <http://a/p> <http://a/o> . }\n" * 3000,
    "rdf": b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           + b'<rdf:Description rdf:about="http://a/s"><rdf:type rdf:resource="http://a/o"/></rdf:Description>' * 1500
           + b"</rdf:RDF>",
    "jsonld": b"[" + b",".join([b'{"@id": "http://a/s", "http://a/p": {"@id": "http://a/o"}}'] * 1500) + b"]",
    "tsv": b"a\tb\tc\n" * 3000,
}


def _damaged(body: bytes) -> dict[str, bytes]:
    packed = gzip.compress(body)
    flipped = bytearray(packed)
    for i in range(20, len(flipped) - 10, 7):
        flipped[i] ^= 0xFF
    return {"notgzip": body, "truncated": packed[: len(packed) // 2], "flipped": bytes(flipped),
            "header": b"\x1f\x8b\x08\x00garbage" * 10}


@pytest.mark.parametrize("ext", sorted(_BODIES))
def test_a_damaged_gzip_is_a_load_error_naming_the_file(tmp_path: Path, ext: str) -> None:
    for how, data in _damaged(_BODIES[ext]).items():
        path = tmp_path / f"{how}.{ext}.gz"
        path.write_bytes(data)
        with pytest.raises(LoadError, match="gzip") as err:
            read_file(path, namespace="http://x/")
        assert err.value.file == str(path), how


def test_damaged_jsonld_gzip_through_the_cli(kb: Path, tmp_path: Path) -> None:
    for how, data in _damaged(_BODIES["jsonld"]).items():
        path = tmp_path / f"{how}.jsonld.gz"
        path.write_bytes(data)
        err = refused(kb, "load", str(kb), str(path), match="gzip")
        assert str(path) in err, how


def test_a_damaged_owlxml_gzip_is_a_load_error(tmp_path: Path) -> None:
    body = (b'<?xml version="1.0"?>\n<Ontology xmlns="http://www.w3.org/2002/07/owl#" ontologyIRI="http://a/o">'
            + b'<Declaration><Class IRI="http://a/C"/></Declaration>' * 500 + b"</Ontology>\n")
    good = tmp_path / "good.owx.gz"
    good.write_bytes(gzip.compress(body))
    assert len(read_file(good)) >= 1
    for how, data in _damaged(body).items():
        path = tmp_path / f"{how}.owx.gz"
        path.write_bytes(data)
        with pytest.raises(LoadError, match="gzip"):
            read_file(path)
