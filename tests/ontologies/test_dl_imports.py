"""`nesy classify` never lets owlready2 follow owl:imports unless allowed."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from rdflib import URIRef

import nesy
from nesy.errors import NesyError
from nesy.ontologies.dl import classify_into

pytest.importorskip("owlready2")

OWL_IMPORTS = URIRef("http://www.w3.org/2002/07/owl#imports")


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
    return f"http://127.0.0.1:{srv.getsockname()[1]}/evil.owl", srv


def test_imports_are_left_out_unless_allowed(tmp_path: Path) -> None:
    hits: list[int] = []
    url, srv = _listener(hits)
    kb = nesy.KnowledgeBase()
    data = tmp_path / "o.ttl"
    data.write_text(f"""@prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix ex: <http://e.org/o#> .
<http://e.org/o> a owl:Ontology ; owl:imports <{url}>, <{(tmp_path / 'x.owl').as_uri()}> .
ex:A a owl:Class . ex:B a owl:Class . ex:A <http://www.w3.org/2000/01/rdf-schema#subClassOf> ex:B .
ex:x a ex:A, owl:NamedIndividual .
""", encoding="utf-8")
    kb.load(data)
    (tmp_path / "x.owl").write_text('<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
                                    'syntax-ns#" xmlns:owl="http://www.w3.org/2002/07/owl#">\n'
                                    '<owl:Ontology rdf:about="http://e.org/x"/>\n</rdf:RDF>\n', encoding="utf-8")
    try:
        report = classify_into(kb, "hermit")
        time.sleep(0.05)
        assert hits == [] and report["imports_skipped"] == 2 and report["consistent"]
        assert report["added"] >= 1  # x a B, entailed without the imports
        # The imports stay in the KB: only the reasoner's copy leaves them out.
        assert len(kb.sparql(f"SELECT ?o WHERE {{ ?s <{OWL_IMPORTS}> ?o }}").rows) == 2
        with pytest.raises(NesyError, match="imported ontology"):
            classify_into(kb, "hermit", allow_imports=True)
        time.sleep(0.05)
        assert hits, "with allow_imports owlready2 does fetch: the listener must see it"
    finally:
        srv.close()
