"""The Session and its commands, without a terminal: output goes to a captured console."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nesy.kb import KnowledgeBase
from nesy.repl.commands import COMMANDS, suggest
from nesy.repl.shell import run_guarded, run_lines

ROOT = Path(__file__).resolve().parents[2]
FAMILY = ROOT / "examples" / "family"
# pytest imports tests with --import-mode=importlib: the shared helper's folder goes on the path.
sys.path.insert(0, str(ROOT / "tests"))
from session_capture import Captured  # noqa: E402


@pytest.fixture
def s() -> Captured:
    session = Captured(KnowledgeBase())
    out = session.run(f":load {FAMILY / 'family.ttl'} {FAMILY / 'family.rules'}")
    assert "41 triples added" in out and "10 rules, 0 facts added" in out
    return session


def test_rule_query_table_and_why(s: Captured) -> None:
    out = s.run("?- fam:grandparent(fam:ann, X).")
    assert "fam:cid" in out and "fam:cora" in out and "fam:dan" in out and "score" in out
    assert len(s.result) == 3
    proof = s.run(":why 1")
    assert "derived" in proof and "fam:grandparent(fam:ann, fam:cid)" in proof and "rule gp" in proof
    assert "fam:parent(fam:ann, fam:bob)" in proof and "fam:parent(fam:bob, fam:cid)" in proof
    assert "asserted" in proof
    assert s.run(":why") == proof  # answer 1 by default
    assert "no answer 4: the last query has 3 answers" in s.run(":why 4")


def test_ground_query_says_yes(s: Captured) -> None:
    assert "yes" in s.run("?- fam:parent(fam:ann, fam:bob).")
    assert "asserted  fam:parent(fam:ann, fam:bob)" in s.run(":why 1")
    assert "no answers" in s.run("?- fam:parent(fam:bob, fam:ann).")


def test_why_of_a_ground_atom(s: Captured) -> None:
    out = s.run(":why fam:grandparent(fam:ann, fam:dan)")
    assert "rule gp" in out and "fam:parent(fam:beth, fam:dan)" in out


def test_sparql_over_derived_predicate_and_its_proofs(s: Captured) -> None:
    out = s.run("SELECT ?x WHERE { fam:ann fam:grandparent ?x }")
    assert all(n in out for n in ("fam:cid", "fam:cora", "fam:dan"))
    assert "rule gp" in s.run(":why 1")
    s.run("SELECT ?y WHERE { fam:ann fam:parent ?y }")
    assert "matched stored triples only" in s.run(":why 1")
    assert s.run("ASK { fam:ann fam:parent fam:bob }").strip() == "yes"
    out = s.run("CONSTRUCT { ?x fam:knows ?y } WHERE { ?x fam:parent ?y } LIMIT 2")
    assert "fam:knows" in out
    assert "no numbered answers" in s.run(":why 1")


def test_sparql_update_changes_the_kb_and_derived_facts_follow(s: Captured) -> None:
    out = s.run("INSERT DATA { fam:cid fam:parent fam:zoe }")
    assert "inserted" in out.lower(), out
    assert "fam:zoe" in s.run("?- fam:grandparent(fam:bob, X).")
    s.run("DELETE DATA { fam:cid fam:parent fam:zoe }")
    assert "fam:zoe" not in s.run("?- fam:grandparent(fam:bob, X).")
    assert "error" in s.run("INSERT DATA { fam:a fam:b }").lower()  # half a triple: nothing changes
    assert "fam:zoe" not in s.run("SELECT ?x WHERE { ?x ?p fam:zoe }")


def test_syntax_error_keeps_state(s: Captured) -> None:
    s.run("fam:parent(fam:eve, fam:fay).")
    s.run("?- fam:parent(fam:eve, X).")
    before = (len(s.kb), len(s.kb.rules), len(s.typed))
    out = s.run("fam:parent(fam:eve fam:fay).")
    assert "expected ')' or ','" in out and "^" in out and "Traceback" not in out
    assert (len(s.kb), len(s.kb.rules), len(s.typed)) == before
    assert len(s.result) == 1  # the last answers are still there for :why
    out = s.run("[bad] fam:p(X) :- fam:q(Y).")  # unsafe rule: nothing added
    assert "X" in out and len(s.kb.rules) == before[1]
    assert "fam:cid" in s.run("?- fam:grandparent(fam:ann, X).")


def test_a_fact_with_variables_suggests_a_query(s: Captured) -> None:
    out = s.run("fam:grandparent(fam:ann, X).")
    assert "must be ground" in out and "?- fam:grandparent(fam:ann, X)." in out


def test_startup_imports_no_neural_libraries() -> None:
    code = ("import sys, nesy.cli, nesy.kb, nesy.repl.shell, nesy.repl.completion, nesy.repl.lexer; "
            "heavy = {'torch', 'transformers', 'torch_geometric'} & set(sys.modules); "
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_typed_facts_rules_and_inline_queries(s: Captured) -> None:
    out = s.run("fam:parent(fam:eve, fam:fay). [gg] fam:ggp(X, W) :- fam:grandparent(X, Y), fam:parent(Y, W).")
    assert "added 1 fact, 1 rule" in out
    out = s.run("?- fam:ggp(fam:bob, W).")  # bob -> cid -> eve -> fay
    assert "fam:fay" in out
    out = s.run("@prefix ex: <http://example.org/ex#> .\nex:likes(fam:ann, ex:tea).\n?- ex:likes(X, Y).")
    assert "added 1 fact, 1 prefix" in out and "ex:tea" in out


def test_unknown_command_suggests(s: Captured) -> None:
    assert "unknown command :hlep; did you mean :help?" in s.run(":hlep")
    assert "did you mean :whynot?" in s.run(":whynto fam:p(fam:a, fam:b)")
    assert ":help lists the commands" in s.run(":zzzzzz")
    assert suggest("rule") == "rules" and suggest("qit") == "quit"


def test_help(s: Captured) -> None:
    out = s.run(":help")
    assert all(f":{name}" in out for name in COMMANDS)
    assert "explain" in s.run(":help why") or "proof" in s.run(":help why")


def test_rules_facts_whynot_stats_prefix(s: Captured) -> None:
    out = s.run(":rules")
    assert "[gp] fam:grandparent(X, Z) :- fam:parent(X, Y), fam:parent(Y, Z)." in out and "10." in out
    out = s.run(":facts fam:parent")
    assert "fam:ann" in out and "fam:bob" in out and len(s.result) == 10
    out = s.run(":facts fam:Person")
    assert "fam:eve" in out and len(s.result) == 9
    assert "no facts for fam:nothing" in s.run(":facts fam:nothing")
    out = s.run(":whynot fam:grandparent(fam:ann, fam:ann)")
    assert "not derived" in out and "gp" in out
    out = s.run(":stats")
    assert "asserted" in out and "41" in out and "fam:parent" in out and "10 rules" in out
    assert "fam: <http://example.org/family#>" in s.run(":prefix")
    s.run(":prefix ex: <http://example.org/ex#>")
    assert s.kb.prefixes["ex"] == "http://example.org/ex#"
    assert "ex:a" in s.run("ex:p(ex:a, ex:b).\n?- ex:p(X, Y).")


def test_formats(s: Captured) -> None:
    s.run(":format json")
    data = json.loads(s.run("?- fam:grandparent(fam:ann, X)."))
    assert [d["bindings"]["X"] for d in data] == ["fam:cid", "fam:cora", "fam:dan"]
    assert data[0]["proof"]["rule"]["name"] == "gp"
    s.run(":format csv")
    assert s.run("?- fam:grandparent(fam:ann, X).").splitlines() == ["X,score", "fam:cid,1", "fam:cora,1", "fam:dan,1"]
    s.run(":format mermaid")
    out = s.run(":why 1")
    assert out.startswith("graph TD") and "-->" in out
    s.run(":format tree")
    assert "├──" in s.run(":why 1")
    assert "answers: csv, proofs: tree" in s.run(":format")
    assert "did you mean json" in s.run(":format jsno")


def test_long_results_are_cut_with_a_note() -> None:
    s = Captured(KnowledgeBase(), max_rows=5)
    s.run(" ".join(f"p(n{i}, n{i + 1})." for i in range(30)))
    out = s.run("?- p(X, Y).")
    assert "… 25 more answers (:format csv shows them all)" in out
    assert len(s.result) == 30
    assert "row" not in s.run(":why 30")  # every answer stays explainable


def test_save_round_trip(s: Captured, tmp_path: Path) -> None:
    s.run("@prefix ex: <http://example.org/ex#> .")
    s.run('ex:likes(fam:ann, ex:tea). 0.5 :: ex:likes(fam:bob, "green tea"@en).')
    s.run("[fan] 0.9 :: ex:fan(X) :- ex:likes(X, _), not fam:Childless(X).")
    s.run("bare(a, b).")
    s.run("bad(")  # an error: not saved
    out = s.run(f":save {tmp_path / 'session.rules'}")
    assert "saved 3 facts and 1 rule" in out
    text = (tmp_path / "session.rules").read_text(encoding="utf-8")
    assert "family.rules" not in text and "[gp]" not in text  # loaded files are not copied

    again = Captured(KnowledgeBase())
    again.run(f":load {FAMILY / 'family.ttl'} {FAMILY / 'family.rules'} {tmp_path / 'session.rules'}")
    assert [str(r) for r in again.kb.rules[10:]] == [str(r) for r in s.kb.rules[10:]]
    for query in ("?- ex:likes(X, Y).", "?- ex:fan(X).", "?- bare(X, Y)."):
        got = [(a.bindings, a.score) for a in again.kb.ask(query)]
        assert got and got == [(a.bindings, a.score) for a in s.kb.ask(query)]


def test_load_errors(s: Captured, tmp_path: Path) -> None:
    out = s.run(f":load {tmp_path / 'missing.ttl'} {FAMILY / 'family.ttl'}")
    assert "no such file" in out and "not loaded" in out
    assert len(s.kb) > 0
    bad = tmp_path / "bad.rules"
    bad.write_text("fam:p(X) :- .\n", encoding="utf-8")
    assert "bad.rules:1" in s.run(f":load {bad}")
    assert ":load needs" in s.run(":load")


def test_quit_and_piped_lines(tmp_path: Path) -> None:
    s = Captured(KnowledgeBase())
    lines = [
        f":load {FAMILY / 'family.ttl'}",
        "[gp] fam:grandparent(X, Z) :-",
        "    fam:parent(X, Y), fam:parent(Y, Z).",
        "",
        "?- fam:grandparent(fam:ann, X).",
        ":quit",
        "?- fam:parent(X, Y).",  # not run: the session ended
    ]
    run_lines(s, (line + "\n" for line in lines))
    out = s.console.file.getvalue()
    assert "added 1 rule" in out and "fam:dan" in out and s.done
    assert len(s.result) == 3


def test_ctrl_c_cancels_a_running_statement(s: Captured, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(s.kb, "ask", interrupted)
    buf = s.console.file
    run_guarded(s, "?- fam:parent(X, Y).")
    assert buf.getvalue().rstrip().endswith("cancelled")
    monkeypatch.undo()
    run_guarded(s, "?- fam:grandparent(fam:ann, X).")
    assert "fam:dan" in buf.getvalue().rsplit("cancelled", 1)[1]


def test_a_bug_does_not_end_the_session(s: Captured, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(s.kb, "sparql", broken)
    monkeypatch.delenv("NESY_DEBUG", raising=False)
    run_guarded(s, "SELECT ?x WHERE { ?x ?p ?o }")
    assert "internal error: RuntimeError: boom" in s.console.file.getvalue()
    assert not s.done


def test_repl_on_a_directory_keeps_typed_rules(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    script = (f":load {FAMILY / 'family.ttl'}\n"
              "[gp] fam:grandparent(X, Z) :- fam:parent(X, Y), fam:parent(Y, Z).\n")
    env = dict(os.environ, NESY_HISTORY=str(tmp_path / "history"))
    first = subprocess.run([sys.executable, "-m", "nesy", "repl", str(kb_dir)], input=script, text=True,
                           capture_output=True, timeout=120, env=env)
    assert first.returncode == 0, first.stderr
    assert "41 triples added" in first.stdout and "added 1 rule" in first.stdout
    assert (kb_dir / "kb.json").exists()
    second = subprocess.run([sys.executable, "-m", "nesy", "repl", str(kb_dir)], input="?- fam:grandparent(fam:ann, X).\n",
                            text=True, capture_output=True, timeout=120, env=env)
    assert second.returncode == 0, second.stderr
    assert all(n in second.stdout for n in ("fam:cid", "fam:cora", "fam:dan"))


def test_load_owl_enables_ontology_reasoning(tmp_path: Path) -> None:
    owl = tmp_path / "tiny.owl"
    owl.write_text(
        '<?xml version="1.0"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"\n'
        '         xmlns:owl="http://www.w3.org/2002/07/owl#"\n'
        '         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">\n'
        '  <owl:Class rdf:about="http://e.org/#Grad">'
        '<rdfs:subClassOf rdf:resource="http://e.org/#Student"/></owl:Class>\n'
        '  <rdf:Description rdf:about="http://e.org/#ann"><rdf:type rdf:resource="http://e.org/#Grad"/>'
        "</rdf:Description>\n"
        "</rdf:RDF>\n", encoding="utf-8")
    s = Captured(KnowledgeBase())
    out = s.run(f":load {owl}")
    assert "OWL 2 RL reasoning" in out and "0 inconsistencies" in out
    assert "yes" in s.run("?- rdf:type(<http://e.org/#ann>, <http://e.org/#Student>).")
    assert "rule cax-sco" in s.run(":why 1")


def test_train_and_predict_commands(tmp_path: Path) -> None:
    import torch  # noqa: F401, E402 -- a missing extra fails, never skips
    tsv = tmp_path / "ring.tsv"
    tsv.write_text("".join(f"e{i}\tnext\te{(i + 1) % 60}\n" for i in range(60)), encoding="utf-8")
    s = Captured(KnowledgeBase(default_namespace="http://t.org/"))
    s.run(f":load {tsv}")
    assert "takes OPTION=VALUE" in s.run(":train dim")
    out = s.run(":train model=distmult dim=8 epochs=5 eval_every=5 device=cpu")
    assert "distmult: 5 epochs" in out and "validation MRR 0." in out
    # The progress bar's last state: every epoch, the loss and the validation MRR it reached.
    bar = out.splitlines()[0]
    assert bar.startswith("training") and "epoch 5/5" in bar and "loss " in bar and "valid MRR 0." in bar
    table = s.run(":predict <http://t.org/e1> <http://t.org/next> 3")
    assert table.count("e") >= 3 and "probability" in table
    assert "needs HEAD RELATION" in s.run(":predict onlyone")


def test_missing_extra_is_named_and_the_session_goes_on(s: Captured, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_transformers(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'transformers'", name="transformers")

    monkeypatch.setattr(s.kb, "ask_text", no_transformers)
    out = s.run("?? who is ann 's parent ?")
    assert "pip install 'nesy[text]'" in out and "Traceback" not in out
    assert "fam:cid" in s.run("?- fam:grandparent(fam:ann, X).")
