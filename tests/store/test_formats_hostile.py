"""Hostile data files: each is refused with a LoadError that names the file (and the line
where the parser knows it), nothing is fetched, and the KB is unchanged."""

from __future__ import annotations

import gzip
import random
import socket
import threading
import time
from pathlib import Path

import pytest

from nesy.errors import LoadError
from nesy.kb import KnowledgeBase
from nesy.store.formats import MAX_LINE_BYTES, read_file


@pytest.fixture
def hits() -> list[int]:
    """One entry per connection a loopback listener (see `_listener`) received."""
    return []


def _listener(hits: list[int]) -> tuple[str, socket.socket]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            hits.append(1)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}", srv


def _refused(kb: KnowledgeBase, path: Path, match: str) -> LoadError:
    before = len(kb.store)
    with pytest.raises(LoadError, match=match) as err:
        kb.load(path)
    assert err.value.file is not None and path.name in err.value.file
    assert len(kb.store) == before
    return err.value


def test_truncated_gzip_is_a_load_error_naming_the_file(tmp_path: Path) -> None:
    rng = random.Random(0)
    text = "".join(f"<http://a/{rng.random()}> <http://b/p> \"{rng.random()}\" .\n" for _ in range(5000)).encode()
    packed = gzip.compress(text)
    path = tmp_path / "cut.nt.gz"
    path.write_bytes(packed[: len(packed) // 2])
    _refused(KnowledgeBase(), path, "truncated or corrupt gzip")
    (tmp_path / "junk.ttl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    _refused(KnowledgeBase(), tmp_path / "junk.ttl.gz", "gzip")


def test_rdfxml_errors_have_a_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.rdf"
    path.write_text('<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
                    '<rdf:Description rdf:about="http://a/">\n  <bad </rdf:RDF>\n', encoding="utf-8")
    err = _refused(KnowledgeBase(), path, "invalid rdfxml")
    assert (err.line, err.column) == (4, 8)


@pytest.mark.parametrize(("doc", "match"), [
    ('[{"@id": "http://a/", "http://b/p": "c"}, 5]', "item 1 of the top-level array is a int"),
    ("5", "top level is a int"),
    ('"x"', "top level is a str"),
    ('[{"@id": "http://a/"}, [1]]', "item 1 of the top-level array is a list"),
    ('{"@id": "http://a/", ', "invalid jsonld"),
])
def test_jsonld_that_is_not_node_objects_is_refused(tmp_path: Path, doc: str, match: str) -> None:
    path = tmp_path / "doc.jsonld"
    path.write_text(doc, encoding="utf-8")
    _refused(KnowledgeBase(), path, match)


def test_a_remote_jsonld_context_is_never_fetched(tmp_path: Path, hits: list[int]) -> None:
    url, srv = _listener(hits)
    try:
        for i, ctx in enumerate([f'"{url}/ctx.jsonld"', f'[{{"x": "http://x/"}}, "{url}/c2"]',
                                 f'{{"@import": "{url}/c3"}}']):
            path = tmp_path / f"remote{i}.jsonld"
            path.write_text(f'{{"@context": {ctx}, "@id": "http://a/", "http://b/p": "c"}}', encoding="utf-8")
            _refused(KnowledgeBase(), path, "remote, and nesy never fetches")
        nested = tmp_path / "nested.jsonld"
        nested.write_text(f'{{"@id": "http://a/", "http://b/p": {{"@context": "{url}/n", "@id": "http://c/"}}}}')
        _refused(KnowledgeBase(), nested, "remote")
        time.sleep(0.05)
        assert hits == []
    finally:
        srv.close()
    inline = tmp_path / "inline.jsonld"
    inline.write_text('{"@context": {"p": "http://b/p"}, "@id": "http://a/", "p": "c"}', encoding="utf-8")
    assert len(read_file(inline)) == 1


@pytest.mark.parametrize("name", ["huge.nt", "huge.ttl", "huge.nq"])
def test_a_line_over_the_maximum_is_refused_at_its_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with open(path, "wb") as fh:
        fh.write(b"<http://a/> <http://b/> <http://c/> .\n" * 3)
        fh.write(b'<http://a/> <http://b/> "' + b"x" * (MAX_LINE_BYTES + 1024) + b'" .\n')
    err = _refused(KnowledgeBase(), path, "longer than 16 MiB")
    assert err.line == 4


def test_a_long_tsv_line_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "long.tsv"
    with open(path, "wb") as fh:
        fh.write(b"a\tr\tb\n" + b"a\tr\t" + b"x" * (MAX_LINE_BYTES + 10) + b"\n")
    with pytest.raises(LoadError, match="line 2 is longer than 16 MiB") as err:
        read_file(path, namespace="http://e.org/")
    assert err.value.line == 2


def test_owlxml_imports_are_stored_but_never_followed(tmp_path: Path, hits: list[int]) -> None:
    pytest.importorskip("owlready2")
    url, srv = _listener(hits)
    secret = tmp_path / "secret.owl"
    secret.write_text("<not-read/>", encoding="utf-8")
    path = tmp_path / "onto.owx"
    path.write_text(f"""<?xml version="1.0"?>
<Ontology xmlns="http://www.w3.org/2002/07/owl#" ontologyIRI="http://e.org/o">
  <Import>{url}/evil.owl</Import>
  <Import>{secret.as_uri()}</Import>
  <SubClassOf><Class IRI="http://e.org/o#A"/><Class IRI="http://e.org/o#B"/></SubClassOf>
  <DataPropertyAssertion><DataProperty IRI="http://e.org/o#age"/><NamedIndividual IRI="http://e.org/o#x"/>
    <Literal datatypeIRI="http://www.w3.org/2001/XMLSchema#integer">5</Literal></DataPropertyAssertion>
</Ontology>
""", encoding="utf-8")
    try:
        kb = KnowledgeBase()
        kb.load(path)
        time.sleep(0.05)
        assert hits == []
    finally:
        srv.close()
    rows = kb.sparql("SELECT ?o WHERE { <http://e.org/o> <http://www.w3.org/2002/07/owl#imports> ?o }").rows
    assert sorted(str(r["o"]) for r in rows) == sorted([f"{url}/evil.owl", secret.as_uri()])
    assert kb.sparql("ASK { <http://e.org/o#x> <http://e.org/o#age> 5 }").boolean
    bad = tmp_path / "bad.owx"
    bad.write_text(path.read_text().replace("</Ontology>", "<Class"), encoding="utf-8")
    err = _refused(kb, bad, "invalid OWL/XML")
    assert err.line is not None


@pytest.mark.parametrize("name", ["bomb.rdf.gz", "bomb.jsonld.gz", "bomb.nt.gz", "bomb.tsv.gz"])
def test_a_gzip_bomb_is_refused_before_it_fills_memory(tmp_path: Path, name: str) -> None:
    import resource

    from nesy.store.gz import FREE_BYTES

    file = tmp_path / name
    # Newlines keep the line-length check out of it: only the expansion bound can stop this.
    file.write_bytes(gzip.compress(b"\n" * (FREE_BYTES * 3), 9))
    kb = KnowledgeBase(tmp_path / "kb")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(LoadError, match="gzip bomb"):
        kb.load(file, namespace="http://ex.org/")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 150 * 1024  # KiB
    assert len(kb) == 0
    kb.close()


def test_a_well_compressed_real_file_still_loads(tmp_path: Path) -> None:
    body = "".join(f"<http://ex.org/e{i}> <http://ex.org/p> <http://ex.org/e{i + 1}> .\n" for i in range(300_000))
    file = tmp_path / "chain.nt.gz"
    file.write_bytes(gzip.compress(body.encode(), 9))
    kb = KnowledgeBase(tmp_path / "kb")
    assert kb.load(file).added == 300_000
    kb.close()
