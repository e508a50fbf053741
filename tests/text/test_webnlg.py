"""Reading labelled examples: WebNLG XML, JSONL, names ↔ terms and the benchmark's normalisation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from nesy.errors import TextError
from nesy.text.webnlg import (
    Example,
    name_to_term,
    normalise_triple,
    read_examples,
    read_jsonl,
    read_webnlg,
    term_to_name,
)

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "text" / "webnlg" / "dev"

XML = """<?xml version='1.0' encoding='utf-8'?>
<benchmark><entries>
  <entry category="Airport" eid="Id1" size="2">
    <originaltripleset><otriple>A | b | C</otriple></originaltripleset>
    <modifiedtripleset>
      <mtriple>Abilene_Regional_Airport | cityServed | Abilene,_Texas</mtriple>
      <mtriple>Abilene,_Texas | isPartOf | Texas</mtriple>
    </modifiedtripleset>
    <lex comment="good" lid="Id1">Abilene is in Texas and is served by the Abilene regional airport.</lex>
    <lex comment="good" lid="Id2">Abilene,   part of Texas, is served by the Abilene regional airport.</lex>
  </entry>
</entries></benchmark>
"""


def test_inline_webnlg_xml(tmp_path: Path) -> None:
    path = tmp_path / "tiny.xml"
    path.write_text(XML, encoding="utf-8")
    examples = read_webnlg(path)
    assert len(examples) == 2  # one per <lex>; <otriple>s are not references
    first = examples[0]
    assert first.triples == (("Abilene_Regional_Airport", "cityServed", "Abilene,_Texas"),
                             ("Abilene,_Texas", "isPartOf", "Texas"))
    assert examples[1].text == "Abilene, part of Texas, is served by the Abilene regional airport."
    assert first.source.endswith("tiny.xml#Id1/Id1")
    assert read_examples(tmp_path) == examples  # a directory is read recursively


def test_real_dev_file() -> None:
    examples = read_webnlg(DEV / "1triples" / "Airport_allSolutions.xml")
    assert len(examples) > 50
    assert all(len(e.triples) == 1 and e.text for e in examples)


def test_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "ex.jsonl"
    rows = [{"text": "Ann is Bob's parent.", "triples": [["ann", "parent", "bob"]]}, {}]
    path.write_text(json.dumps(rows[0]) + "\n\n", encoding="utf-8")
    assert read_jsonl(path) == [Example("Ann is Bob's parent.", (("ann", "parent", "bob"),), f"{path}:1")]


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_text("<benchmark>\n<entries>\n<entry>\n</entries>\n", encoding="utf-8")
    with pytest.raises(TextError) as err:
        read_examples(path)
    assert err.value.file == str(path) and err.value.line == 4
    assert "malformed WebNLG XML" in str(err.value)


@pytest.mark.parametrize("line", ['{"text": "x", "triples": [["a", "b"]]}', "{not json", '["a list"]'])
def test_bad_jsonl_line_names_file_and_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "Ann knows Bob.", "triples": [["ann", "knows", "bob"]]}\n' + line + "\n",
                    encoding="utf-8")
    with pytest.raises(TextError) as err:
        read_examples([path])
    assert err.value.file == str(path) and err.value.line == 2


def test_bad_triple_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "t.xml"
    path.write_text(XML.replace("Texas | isPartOf | Texas", "Texas isPartOf Texas"), encoding="utf-8")
    with pytest.raises(TextError, match="subject \\| predicate \\| object"):
        read_examples(path)
    with pytest.raises(TextError, match="no such examples file"):
        read_examples(tmp_path / "absent.xml")


def test_names_to_terms_and_back() -> None:
    ns = "http://dbpedia.org/resource/"
    assert name_to_term("Abilene,_Texas", ns) == URIRef(ns + "Abilene,_Texas")
    assert name_to_term("Adolfo_Suárez", ns) == URIRef(ns + "Adolfo_Su%C3%A1rez")
    assert name_to_term("3500.0", ns) == Literal("3500.0", datatype=XSD.decimal)
    assert name_to_term("1946-03-27", ns) == Literal("1946-03-27", datatype=XSD.date)
    assert name_to_term('"KABI"', ns) == Literal("KABI")
    assert name_to_term("cityServed", ns, predicate=True) == URIRef(ns + "cityServed")
    for name in ("Abilene,_Texas", "Adolfo_Suárez", "3500.0", "1946-03-27", '"KABI"'):
        assert term_to_name(name_to_term(name, ns), ns) == name


def test_normalise_triple_as_webnlg_2020() -> None:
    assert normalise_triple(("Abilene_Regional_Airport", "cityServed", '"Abilene, Texas" (city)')) == (
        "abilene regional airport", "city served", "abilene, texas")
    assert normalise_triple(("A", "b", "X_(band)")) == ("a", "b", "x")
    assert normalise_triple(("A", "b", "X(band)")) == ("a", "b", "x(band)")  # only a " (...)" at the end
