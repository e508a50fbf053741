"""kb.extract: text documents into the extracted graph, with provenance, through a user's
extractor plugin (tests/extract_plugin.py: a regular expression, so no model is needed)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef
from rdflib.namespace import RDFS

from nesy.errors import PluginError, TextError
from nesy.kb import KnowledgeBase
from nesy.text.ingest import BATCH_SENTENCES, document_batches

# pytest imports tests with --import-mode=importlib: the plugin's folder goes on the path here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from extract_plugin import RegexExtractor, register  # noqa: E402

EX = "http://example.org/text#"
DATA = f"""
@prefix ex: <{EX}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:worksFor rdfs:label "works for" .
ex:basedIn rdfs:label "is based in" .
ex:alice rdfs:label "Alice Martin" .
ex:acme rdfs:label "Acme" .
"""
RULE = f"@prefix ex: <{EX}> .\n[worksIn] ex:worksIn(X, C) :- ex:worksFor(X, O), ex:basedIn(O, C).\n"


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    (tmp_path / "data.ttl").write_text(DATA)
    kb = KnowledgeBase()
    kb.load(tmp_path / "data.ttl")
    register(kb.registry)
    return kb


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_triples_land_in_extracted_with_full_provenance(kb: KnowledgeBase, tmp_path: Path) -> None:
    text = "Our team grew this year. Alice Martin works for Acme.\n\nAcme is based in Lyon."
    doc = write(tmp_path / "news.txt", text)
    report = kb.extract(doc, extractor="regex")
    assert (report.documents, report.sentences, report.triples, report.entities) == (1, 3, 2, 1)
    assert report.errors == [] and report.extractor == "regex"
    [copy] = kb.provenance(URIRef(EX + "alice"), URIRef(EX + "worksFor"), URIRef(EX + "acme"))
    assert copy["graph"] == "extracted" and copy["score"] == pytest.approx(0.9)
    src = copy["source"]
    assert src["document"] == str(doc) and src["extractor"] == "regex"
    assert src["sentence"] == "Alice Martin works for Acme."
    a, b = src["span"]
    assert text[a:b] == "Alice Martin works for Acme"
    assert src["extra"]["sentence_index"] == 1
    s0, s1 = src["extra"]["subject_span"]
    o0, o1 = src["extra"]["object_span"]
    assert text[s0:s1] == "Alice Martin" and text[o0:o1] == "Acme"


def test_unlinked_mentions_become_labelled_entities(kb: KnowledgeBase, tmp_path: Path) -> None:
    doc = write(tmp_path / "d.txt", "Bob Stone works for Globex. Globex is based in Lyon. Zoe works for Globex.")
    report = kb.extract(doc, extractor="regex")
    assert report.entities == 4 and report.triples == 3
    labels = {str(o): s for s, p, o, g in kb.triples("extracted") if p == RDFS.label}
    assert set(labels) == {"Bob Stone", "Globex", "Lyon", "Zoe"}
    # One name, one entity: "Globex" in three sentences is minted once.
    globex = labels["Globex"]
    assert str(globex).startswith(kb.default_namespace)
    assert (labels["Zoe"], URIRef(EX + "worksFor"), globex, "extracted") in kb.triples("extracted")
    # Again: the same names give the same entities, so nothing is new.
    again = kb.extract(doc, extractor="regex")
    assert (again.entities, again.triples, len(again.extracted)) == (0, 0, 3)


def test_rules_reason_over_extracted_facts_and_proofs_quote_the_sentence(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.add_rules(RULE)
    assert len(kb.ask("?- ex:worksIn(X, C).")) == 0          # the reasoner exists before the text
    doc = write(tmp_path / "news.txt", "Alice Martin works for Acme. Acme is based in Lyon.")
    kb.extract(doc, extractor="regex")
    [answer] = kb.ask("?- ex:worksIn(ex:alice, C).")
    assert kb.shorten(answer.bindings["C"]) == ":Lyon" or str(answer.bindings["C"]).endswith("Lyon")
    assert answer.score == pytest.approx(0.81)
    text = answer.proof.to_text(kb.prefixes)
    assert f'extracted from {doc}, sentence 1, chars 0–27: "Alice Martin works for Acme."' in text
    assert f'extracted from {doc}, sentence 2, chars 29–50: "Acme is based in Lyon."' in text
    leaf = json.loads(answer.proof.to_json(kb.prefixes))["premises"][0]
    assert leaf["kind"] == "extracted"
    assert leaf["source"]["document"] == str(doc) and leaf["source"]["span"] == [0, 27]
    assert leaf["source"]["sentence"] == "Alice Martin works for Acme."
    assert leaf["source"]["extra"]["subject_span"] == [0, 12]
    assert kb.check_proof(answer.proof).ok


def test_min_confidence_and_an_extractor_object(kb: KnowledgeBase, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    doc = write(tmp_path / "d.txt", "Alice Martin works for Acme.")
    assert kb.extract(doc, extractor=RegexExtractor(kb, 0.4), progress=True).triples == 0
    assert "extract" in capsys.readouterr().err         # the progress bar, asked for
    assert kb.extract(doc, extractor=RegexExtractor(kb, 0.4), min_confidence=0.3).triples == 1
    assert kb.store.count("extracted") == 1


def test_one_failing_document_keeps_the_others(kb: KnowledgeBase, tmp_path: Path) -> None:
    good = write(tmp_path / "a.txt", "Alice Martin works for Acme.")
    # Its first sentence extracts fine; the second makes the extractor raise: none of it stays.
    bad = write(tmp_path / "b.txt", "Bob Stone works for Globex. EXPLODE here.")
    wrong = write(tmp_path / "c.txt", "Carl works for Initech. OVERCONFIDENT Dan works for Initech.")
    before = len(kb.vocab)
    report = kb.extract([good, bad, wrong], extractor="regex")
    assert report.triples == 1 and report.documents == 3
    errors = dict(report.errors)
    assert errors[str(bad)].startswith(f"{bad}: extractor regex failed: RuntimeError: the model ran out of memory")
    assert "confidence 1.5" in errors[str(wrong)]
    assert [(str(s), str(o)) for s, p, o, g in kb.triples("extracted")] == [(EX + "alice", EX + "acme")]
    assert all("Bob" not in str(t) and "Initech" not in str(t) for t in kb.vocab.terms(range(before, len(kb.vocab))))


def test_mentions_outside_their_sentence_are_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    from nesy.text.extract import Extraction, Mention

    class OffByMany:
        name = "off"

        def extract(self, sentences, kb):  # type: ignore[no-untyped-def]
            s = sentences[0]
            return [Extraction(s, Mention("Acme", 0, 4, None, 1.0), URIRef(EX + "basedIn"),
                               Mention("Lyon", 40, 44, None, 1.0), 0.9, self.name)]

    doc = write(tmp_path / "d.txt", "Acme is based in Lyon.")
    [(where, msg)] = kb.extract(doc, extractor=OffByMany()).errors
    assert where == str(doc) and "mention 'Lyon' at chars 40-44, outside its sentence of 22 characters" in msg
    assert kb.store.count("extracted") == 0


@pytest.mark.parametrize(("name", "data", "message"), [
    ("bin.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "bin.txt: binary file (NUL byte at byte offset 8)"),
    ("latin.txt", "Alice works.\nCaf\u00e9 works for Acme.".encode("latin-1"),
     "latin.txt:2: not valid utf-8 text: byte 0xe9 at byte offset 16"),
    ("data.ttl", b"<a> <b> <c> .", "data.ttl: not a text document"),
    ("missing.txt", None, "missing.txt: cannot read"),
])
def test_unreadable_documents_are_reported_and_change_nothing(kb: KnowledgeBase, tmp_path: Path, name: str,
                                                              data: bytes | None, message: str) -> None:
    if data is not None:
        (tmp_path / name).write_bytes(data)
    good = write(tmp_path / "good.txt", "Alice Martin works for Acme.")
    report = kb.extract([tmp_path / name, good], extractor="regex")
    [(where, msg)] = report.errors
    assert where == str(tmp_path / name) and msg.startswith(str(tmp_path / name)) and message.split(": ", 1)[1] in msg
    assert msg.split(str(tmp_path) + "/", 1)[1].startswith(message)
    assert report.triples == 1


def test_empty_files_are_skipped(kb: KnowledgeBase, tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.txt", "")
    blank = write(tmp_path / "blank.md", "\n  \n")
    report = kb.extract([empty, blank], extractor="regex")
    assert report.skipped == [str(empty), str(blank)] and report.errors == [] and report.documents == 0
    assert "2 empty files skipped" in str(report)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_byte_order_marks(kb: KnowledgeBase, tmp_path: Path, encoding: str) -> None:
    text = "Caf\u00e9 Zo\u00e9 works for Acme."
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    (tmp_path / "bom.txt").write_bytes(data)
    report = kb.extract(tmp_path / "bom.txt", extractor="regex")
    assert report.errors == [] and report.triples == 1
    [label] = [str(o) for s, p, o, g in kb.triples("extracted") if p == RDFS.label]
    assert label == "Café Zoé"
    [copy] = [c for s, p, o, g in kb.triples("extracted") if p != RDFS.label for c in kb.provenance(s, p, o)]
    assert copy["source"]["span"] == (0, 23)      # offsets count characters of the decoded text


def test_a_huge_line_without_a_full_stop_is_cut_into_bounded_sentences(kb: KnowledgeBase, tmp_path: Path) -> None:
    doc = write(tmp_path / "huge.txt", "Alice Martin works for Acme " + "and more words " * 70_000)  # ~1 MB
    seen: list[int] = []

    class Spy(RegexExtractor):
        def extract(self, sentences, kb):  # type: ignore[no-untyped-def]
            seen.extend(len(s.text) for s in sentences)
            return super().extract(sentences, kb)

    start = time.perf_counter()
    report = kb.extract(doc, extractor=Spy(kb))
    assert time.perf_counter() - start < 20
    assert report.errors == [] and report.triples == 1
    assert len(seen) > 1000 and max(seen) <= 1000


def test_lines_make_one_document_per_line(kb: KnowledgeBase, tmp_path: Path) -> None:
    doc = write(tmp_path / "rows.txt", "Alice Martin works for Acme.\n\nAcme is based in Lyon.\n")
    report = kb.extract(doc, extractor="regex", lines=True)
    assert report.documents == 2 and report.triples == 2
    docs = sorted(c["source"]["document"] for s, p, o, g in kb.triples("extracted") if p != RDFS.label
                  for c in kb.provenance(s, p, o))
    assert docs == [f"{doc}:1", f"{doc}:3"]
    [copy] = kb.provenance(URIRef(EX + "acme"), URIRef(EX + "basedIn"), URIRef(kb.default_namespace + "Lyon"))
    assert copy["source"]["span"] == (0, 21)     # within its line


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 7), max_size=40), st.integers(1, 12))
def test_document_batches_are_whole_documents_in_order_of_about_size_sentences(sizes: list[int], size: int) -> None:
    docs = [(i, ["s"] * n) for i, n in enumerate(sizes)]
    got = list(document_batches(docs, size))
    assert [d for batch in got for d in batch] == docs
    for batch in got[:-1]:  # each batch ends at the document that takes it to size
        counts = [len(sents) for _, sents in batch]
        assert sum(counts) >= size > sum(counts[:-1])
    if got:  # the rest: fewer than size sentences before its last document
        assert sum(len(sents) for _, sents in got[-1][:-1]) < size


def test_many_small_documents_reach_the_extractor_together(kb: KnowledgeBase, tmp_path: Path) -> None:
    calls: list[int] = []

    class Counting(RegexExtractor):
        def extract(self, sentences, kb):  # type: ignore[no-untyped-def]
            calls.append(len(sentences))
            return super().extract(sentences, kb)

    rows = write(tmp_path / "rows.txt", "".join(f"Alice Martin works for Acme{i}.\n" for i in range(BATCH_SENTENCES + 10)))
    report = kb.extract(rows, extractor=Counting(kb), lines=True)
    # One call per batch (the reader pads less in larger calls), not one per line.
    assert calls == [BATCH_SENTENCES, 10] and report.documents == BATCH_SENTENCES + 10
    assert report.triples == BATCH_SENTENCES + 10


def test_markdown_markup_is_not_prose_and_offsets_stay_in_the_file(kb: KnowledgeBase, tmp_path: Path) -> None:
    text = "# Alice Martin works for Acme\n\n- Acme is based in Lyon\n\n```\nBob works for Nobody.\n```\n"
    doc = write(tmp_path / "notes.md", text)
    report = kb.extract(doc, extractor="regex")
    assert report.triples == 2 and report.sentences == 2
    spans = sorted(c["source"]["span"] for s, p, o, g in kb.triples("extracted") if p != RDFS.label
                   for c in kb.provenance(s, p, o))
    assert [text[a:b] for a, b in spans] == ["Alice Martin works for Acme", "Acme is based in Lyon"]


def test_unknown_extractor_changes_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    doc = write(tmp_path / "d.txt", "Alice Martin works for Acme.")
    with pytest.raises(PluginError, match="unknown extractor 'regx'"):
        kb.extract(doc, extractor="regx")
    assert kb.store.count("extracted") == 0


def test_on_disk_provenance_survives_reopening(tmp_path: Path) -> None:
    (tmp_path / "data.ttl").write_text(DATA)
    doc = write(tmp_path / "d.txt", "Alice Martin works for Acme.")
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.load(tmp_path / "data.ttl")
        kb.extract(doc, extractor=RegexExtractor(kb))
    with KnowledgeBase(tmp_path / "kb") as kb:
        [copy] = kb.provenance(URIRef(EX + "alice"), URIRef(EX + "worksFor"), URIRef(EX + "acme"))
        assert copy["source"]["span"] == (0, 27) and copy["source"]["extra"]["object_span"] == [23, 27]
        assert (URIRef(EX + "alice"), RDFS.label, Literal("Alice Martin"), "asserted") in kb.triples()


def test_train_extractor_by_distant_supervision_then_extract_uses_it(kb: KnowledgeBase, tmp_path: Path) -> None:
    """The wiring of training (the model itself is tested in tests/text/test_extract.py)."""
    kb.add(URIRef(EX + "acme"), URIRef(EX + "basedIn"), URIRef(EX + "lyon"))
    kb.add(URIRef(EX + "lyon"), RDFS.label, Literal("Lyon"))
    text = write(tmp_path / "t.txt", "Acme is based in Lyon. Lyon is home to Acme. Nothing else here.")
    with pytest.raises(TextError, match="not a labelled examples file"):
        kb.train_extractor([text])
    metrics = kb.train_extractor(texts=[text], config={"epochs": 1}, progress=False)
    assert metrics["distant_examples"] == 2 and metrics["labelled_examples"] == 0
    assert kb.extract(text).extractor == "reader"  # the trained model, by default the fine-tuned reader


def test_ontology_reasoning_covers_extracted_facts(tmp_path: Path) -> None:
    (tmp_path / "o.ttl").write_text(DATA + "ex:worksFor rdfs:range ex:Organisation .\n")
    kb = KnowledgeBase()
    register(kb.registry)
    kb.load_ontology(tmp_path / "o.ttl", profile="rdfs")
    doc = write(tmp_path / "d.txt", "Alice Martin works for Acme.")
    kb.extract(doc, extractor="regex")
    proof = kb.why(f"rdf:type(<{EX}acme>, <{EX}Organisation>)")
    assert [leaf.kind for leaf in proof.leaves()] == ["asserted", "extracted"]
    rows = kb.sparql(f"SELECT ?x WHERE {{ ?x a <{EX}Organisation> }}").rows
    assert [str(r.bindings["x"]) for r in rows] == [EX + "acme"]


def test_a_pronoun_for_a_new_entity_mints_the_entity_by_its_name(kb: KnowledgeBase, tmp_path: Path) -> None:
    from rdflib import RDFS, Literal

    from nesy.text.extract import Extraction, Mention

    class Pronoun:
        name = "pronoun"

        def extract(self, sentences, kb):  # type: ignore[no-untyped-def]
            s = sentences[-1]  # "It is based in Lyon.": "It" is the Zorblax Corp of the sentence before
            return [Extraction(s, Mention("It", 0, 2, None, 1.0, "Zorblax Corp"), URIRef(EX + "basedIn"),
                               Mention("Lyon", 15, 19, None, 1.0), 0.9, self.name)]

    doc = write(tmp_path / "d.txt", "Zorblax Corp makes gears. It is based in Lyon.")
    assert kb.extract(doc, extractor=Pronoun()).triples == 1
    labels = {str(o) for _, _, o, _ in kb.triples("extracted") if isinstance(o, Literal)}
    assert "Zorblax Corp" in labels and "It" not in labels
    [(s, _, _, _)] = [t for t in kb.triples("extracted") if t[1] == URIRef(EX + "basedIn")]
    assert (s, RDFS.label, Literal("Zorblax Corp")) in {t[:3] for t in kb.triples("extracted")}
