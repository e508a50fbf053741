"""Lexical forms Oxigraph does not keep ("01"^^xsd:integer) come back as the file wrote them."""

from __future__ import annotations

from pathlib import Path

from rdflib import Literal, URIRef

from nesy.kb import KnowledgeBase
from nesy.store.formats import read_file
from nesy.store.lexical import changed_forms

EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
DATA = f"""@prefix ex: <{EX}> . @prefix xsd: <{XSD}> .
ex:a ex:price "2.50"^^xsd:decimal ; ex:n "7"^^xsd:integer ; ex:ok "1"^^xsd:boolean ;
     ex:name "Ann" ; ex:day "2020-01-01"^^xsd:date .
"""


def test_only_forms_oxigraph_changes_are_recorded(tmp_path: Path) -> None:
    f = tmp_path / "a.ttl"
    f.write_text(DATA)
    parsed = read_file(f, None)
    assert changed_forms(parsed.terms, parsed.index) == {
        f'<{EX}a> <{EX}price> "2.5"^^<{XSD}decimal>': "2.50",
        f'<{EX}a> <{EX}ok> "true"^^<{XSD}boolean>': "1",
    }


def test_forms_survive_a_reopen_and_stop_with_the_row(tmp_path: Path) -> None:
    f = tmp_path / "a.ttl"
    f.write_text(DATA)
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.load(f)
    query = f"SELECT ?v WHERE {{ <{EX}a> <{EX}price> ?v }}"
    with KnowledgeBase(tmp_path / "kb") as kb:
        [row] = kb.sparql(query)
        assert str(row.bindings["v"]) == "2.50" and row.score == 1.0
        # Taken out, then written again by an update: Oxigraph's form, not the old file's.
        kb.remove(pattern=(URIRef(EX + "a"), URIRef(EX + "price"), Literal("2.50", datatype=URIRef(XSD + "decimal"))))
        assert len(kb.sparql(query)) == 0
        kb.update(f'INSERT DATA {{ <{EX}a> <{EX}price> "2.50"^^<{XSD}decimal> }}')
        [row] = kb.sparql(query)
        assert str(row.bindings["v"]) == "2.5"
