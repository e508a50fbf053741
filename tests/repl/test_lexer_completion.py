"""Syntax highlighting fragments and Tab completion, without a terminal."""

from __future__ import annotations

import io
from pathlib import Path

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from rich.console import Console

from nesy.kb import KnowledgeBase
from nesy.repl.completion import MAX_WORDS, NesyCompleter
from nesy.repl.lexer import NesyLexer, tokens
from nesy.repl.session import Session

ROOT = Path(__file__).resolve().parents[2]
FAMILY = ROOT / "examples" / "family"


def styles(line: str) -> dict[str, str]:
    """token text -> style class, for the non-blank fragments of ``line``."""
    return {text: style.removeprefix("class:") for style, text in tokens(line) if text.strip()}


def test_fragments_spell_the_line() -> None:
    line = '[gp] 0.8 :: fam:gp(X, Z) :- fam:p(X, Y), not q(Y, "a # b"), A >= 18. # note'
    assert "".join(text for _, text in tokens(line)) == line


def test_rule_language_tokens() -> None:
    st = styles('0.8 :: fam:gp(X, Who) :- fam:p(X, _), not q(X, "a # b", <http://x.org/a#b>), N = count { Y : r(Y) }. # c')
    assert st["0.8"] == "number" and st["::"] == "operator" and st[":-"] == "operator"
    assert st["fam:gp"] == "name" and st["q"] == "name" and st["r"] == "name"
    assert st["X"] == "variable" and st["Who"] == "variable" and st["_"] == "variable"
    assert st['"a # b"'] == "string" and st["<http://x.org/a#b>"] == "iri" and st["# c"] == "comment"
    assert st["not"] == "keyword" and st["count"] == "keyword"
    assert styles("@prefix fam: <http://example.org/family#> .")["@prefix"] == "directive"
    assert styles("?- fam:p(X).")["?-"] == "operator"


def test_sparql_and_command_tokens() -> None:
    st = styles("SELECT ?x WHERE { fam:ann fam:grandparent ?x } limit 3")
    assert st["SELECT"] == "keyword" and st["WHERE"] == "keyword" and st["limit"] == "keyword"
    assert st["?x"] == "variable" and st["fam:ann"] == "name" and st["3"] == "number"
    assert styles(":load a.ttl")[":load"] == "command"
    assert styles(":knows(:ann, :bob).")[":knows"] == "name"


def test_lexer_lines() -> None:
    get = NesyLexer().lex_document(Document("p(X) :-\n  q(X)."))
    assert ("class:variable", "X") in get(1) and get(5) == []


def complete(completer: NesyCompleter, text: str) -> list[str]:
    return [c.text for c in completer.get_completions(Document(text, len(text)), CompleteEvent(completion_requested=True))]


def test_completion_of_commands_formats_and_names(tmp_path: Path) -> None:
    kb = KnowledgeBase()
    kb.load(FAMILY / "family.ttl", progress=False)
    kb.add_rules(FAMILY / "family.rules")
    c = NesyCompleter(kb)
    assert complete(c, ":wh") == ["why", "whynot"]
    assert complete(c, ":format js") == ["json"]
    assert complete(c, ":help lo") == ["load"]
    assert "fam:grandparent" in complete(c, "?- fam:gr")
    assert "fam:ann" in complete(c, "?- fam:grandparent(fam:a")
    assert "fam:" in complete(c, "?- fa")
    assert complete(c, "?- fam:parent(X") == []  # variables are not completed
    (tmp_path / "mine.rules").write_text("", encoding="utf-8")
    assert complete(c, f":load {tmp_path}/mi") == ["ne.rules"]


def test_completion_word_list_is_lazy_capped_and_refreshed() -> None:
    kb = KnowledgeBase()
    session = Session(kb, Console(file=io.StringIO()))
    c = NesyCompleter(kb, session)
    assert c._key is None  # nothing built until the first Tab
    session.handle(" ".join(f"p(n{i}, n{i + 1})." for i in range(MAX_WORDS + 100)))
    words = c.words()
    assert len(words) == MAX_WORDS and "p" in words
    assert c.words() is words  # cached
    session.handle("newpred(a, b).")
    assert "newpred" in c.words()  # predicates come before other names
    session.handle("[r] derived(X) :- newpred(X, _).")
    assert "derived" in c.words()
