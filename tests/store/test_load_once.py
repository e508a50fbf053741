"""Loading parses each file once: the ids and what Oxigraph stores come from the same parse,
TSV is numbered in bulk, and the results are those of reading line by line."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pyoxigraph as ox
import pytest

from nesy.errors import LoadError
from nesy.kb import KnowledgeBase
from nesy.store import formats, parsed, writing
from nesy.store.formats import read_file
from nesy.store.terms import to_ox
from nesy.store.tsv import parse_tsv

NS = "http://e.org/"

TURTLE = """@prefix : <http://e.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
:a :p :b ; :n "01"^^xsd:integer ; :l "x"@en ; :s "plain" .
:b :p [ :q :c ; :r ( 1 2 ) ] .
_:x :p :a .
:c :p "1.50"^^xsd:decimal .
"""

TRIG = """@prefix : <http://e.org/> .
:a :p :b .
:g1 { :a :p :c . _:b :q :d . }
:g2 { :a :p :b . :e :p "v" . }
"""


def _reference_tsv(text: str, namespace: str) -> tuple[list[str], list[list[int]]]:
    """What nesy's line-by-line TSV reader made: terms in order of first use, and the index."""
    local: dict[str, int] = {}
    flat: list[int] = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line or line.startswith("#") or not line.strip():
            continue
        for part in line.split("\t"):
            flat.append(local.setdefault(part, len(local)))
    terms = [namespace + quote(name, safe="-._~") for name in local]
    return terms, [flat[i:i + 3] for i in range(0, len(flat), 3)]


def test_tsv_in_bulk_matches_reading_line_by_line() -> None:
    text = ("# a comment\r\n/m/1\t/r/x\t/m/2\r\n\n   \n/m/2\t/r/x\t/m/1\nü é\t/r/y\t€%#?\n"
            "\t \t\n".replace("\t \t\n", "") + "a b\tc\u00a0d\t/m/1\n#tail\t\t\n/m/1\t/r/x\t/m/2")
    got = parse_tsv(text, NS)
    terms, index = _reference_tsv(text, NS)
    assert got.terms == terms
    assert got.index.tolist() == index
    assert got.graph_index.tolist() == [0] * len(index)


@pytest.mark.parametrize(("text", "line", "found"), [
    ("a\tb\tc\na\tb\na\tb\tc\td\n", 2, "found 2 field(s)"),  # 2 + 4 fields: the tab count balances out
    ("a\tb\tc\n\n# x\na\t\tc\n", 4, "found 3 field(s) (an empty field)"),
    ("a\tb\tc\r\nx\r\n", 2, "found 1 field(s)"),
])
def test_a_bad_tsv_line_is_named(text: str, line: int, found: str) -> None:
    with pytest.raises(LoadError, match=r"expected head<TAB>relation<TAB>tail, " + found.replace("(", r"\(")
                       .replace(")", r"\)")) as err:
        parse_tsv(text, NS, file="bad.tsv")
    assert (err.value.file, err.value.line, err.value.column) == ("bad.tsv", line, 1)


def _native_quads(kb: KnowledgeBase) -> set[Any]:
    return set(kb.store.backend.native)


def _table_quads(kb: KnowledgeBase) -> set[Any]:
    store, t = kb.store, kb.store.table
    term = store.vocab.term
    quads = [ox.Quad(to_ox(term(s)), to_ox(term(p)), to_ox(term(o)), store.graphs.target(int(g)))
             for g, s, p, o in zip(t.g.tolist(), t.s.tolist(), t.p.tolist(), t.o.tolist())]
    canonical = ox.Store()  # Oxigraph keeps "1.50"^^xsd:decimal as 1.5: compare in its form
    canonical.extend(quads)
    return set(canonical)


@pytest.mark.parametrize("keep", [True, False], ids=["parser-quads", "rebuilt-in-chunks"])
@pytest.mark.parametrize("graph", ["asserted", "extracted", "http://e.org/mine"])
def test_oxigraph_holds_the_triples_the_ids_were_given_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           keep: bool, graph: str) -> None:
    if not keep:  # the path of files too large to keep the parser's quads, 2 quads a chunk
        monkeypatch.setattr(formats, "KEEP_QUADS", 0)
        monkeypatch.setattr(parsed, "CHUNK", 2)
        monkeypatch.setattr(writing, "CHUNK", 2)  # TSV's N-Triples text, 2 triples a bulk load
    (tmp_path / "d.ttl").write_text(TURTLE, encoding="utf-8")
    (tmp_path / "d.trig").write_text(TRIG, encoding="utf-8")
    (tmp_path / "d.tsv").write_text("a\tr\tb\nb\tr\tc\na\tr\tb\n", encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    reports = [kb.load(tmp_path / name, graph=graph, namespace=NS) for name in ("d.ttl", "d.trig", "d.tsv")]
    assert [(r.parsed, r.added) for r in reports] == [(13, 13), (5, 4), (3, 2)]
    assert _native_quads(kb) == _table_quads(kb)
    assert len(kb) == 13 + 4 + 2
    kb.close()
    again = KnowledgeBase(tmp_path / "kb")
    assert _native_quads(again) == _table_quads(again)
    # The lexical form the file wrote comes back from SPARQL, as before.
    pattern = "<http://e.org/a> <http://e.org/n> ?n"
    query = {"asserted": f"SELECT ?n WHERE {{ {pattern} }}",
             "extracted": f"SELECT ?n FROM <urn:nesy:graph:extracted> WHERE {{ {pattern} }}"}.get(
                 graph, f"SELECT ?n WHERE {{ GRAPH <{graph}> {{ {pattern} }} }}")
    assert [str(r["n"]) for r in again.sparql(query).rows] == ["01"]
    again.close()


def test_a_file_is_parsed_once_and_never_bulk_loaded_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.ttl"
    path.write_text(TURTLE.replace("_:x :p :a .\n", ""), encoding="utf-8")
    parses = []
    real_parse = ox.parse

    def counting_parse(*args: Any, **kwargs: Any) -> Any:
        parses.append(kwargs.get("format"))
        return real_parse(*args, **kwargs)

    class Spy:
        """The Oxigraph store, noting which of its methods the load calls."""

        def __init__(self, inner: ox.Store) -> None:
            self.inner, self.calls = inner, []

        def __getattr__(self, name: str) -> Any:
            self.calls.append(name)
            return getattr(self.inner, name)

    kb = KnowledgeBase(tmp_path / "kb")
    spy = Spy(kb.store.backend.native)
    monkeypatch.setattr(kb.store.backend, "native", spy)
    monkeypatch.setattr(ox, "parse", counting_parse)
    kb.load(path)
    monkeypatch.undo()
    assert parses == [ox.RdfFormat.TURTLE]
    assert "bulk_load" not in spy.calls and "bulk_extend" in spy.calls
    assert _native_quads(kb) == _table_quads(kb)
    kb.close()


def test_parsed_quads_rebuilt_from_the_term_table_equal_the_parsers(tmp_path: Path) -> None:
    path = tmp_path / "d.trig"
    path.write_text(TRIG, encoding="utf-8")
    p = read_file(path)
    assert p.quads is not None and len(p.quads) == len(p) == 5
    targets = [ox.NamedNode("urn:x:1"), ox.NamedNode("urn:x:2"), ox.DefaultGraph()][:len(p.graph_names)]
    kept = [q for chunk in p.quads_to(targets, size=2) for q in chunk]
    p.quads = None
    rebuilt = [q for chunk in p.quads_to(targets, size=2) for q in chunk]
    assert kept == rebuilt
    assert [q.graph_name for q in kept] == [targets[k] for k in p.graph_index.tolist()]
    assert np.array_equal(np.unique(p.graph_index), np.arange(len(p.graph_names)))


def test_the_line_of_a_token_too_long_for_the_parser_is_the_parsers_line(tmp_path: Path) -> None:
    # The guard reads a block ahead of the parser; the error names the parser's line.
    path = tmp_path / "long.ttl"
    with open(path, "wb") as fh:
        fh.write(b"<http://a/> <http://b/> <http://c/> .\n" * 5)
        fh.write(b'<http://a/> <http://b/> "' + b"x" * (formats.MAX_LINE_BYTES + 10) + b'" .\n')
        fh.write(b"<http://a/> <http://b/> <http://d/> .\n" * 5)
    with pytest.raises(LoadError) as err:
        read_file(path)
    assert err.value.line == 6


def test_tsv_ntriples_text_in_pieces_is_the_whole(tmp_path: Path) -> None:
    p = parse_tsv("a\tr\tb\nb\tr\tc d\nc d\ts\ta\n", NS)
    whole = "".join(f"<{p.terms[a]}> <{p.terms[b]}> <{p.terms[c]}> .\n" for a, b, c in p.index.tolist())
    assert p.ntriples().decode() == whole
    assert b"".join(p.ntriples(k, k + 2) for k in range(0, len(p), 2)).decode() == whole
    assert p.ntriples(3, 5) == b""
    assert len(list(ox.parse(p.ntriples(), format=ox.RdfFormat.N_TRIPLES))) == 3
