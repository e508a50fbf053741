"""Rule sets are the KB's own: copies with checksums, atomic adds, list/remove/reload, confined @import."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from nesy.errors import (
    LimitExceeded,
    NesyError,
    ParseError,
    PluginError,
    StoreError,
    StratificationError,
)
from nesy.kb import KnowledgeBase, rulebook
from nesy.rules.builder import Context, parse_text
from nesy.rules.parser import import_folders, parse_file

FAMILY = Path(__file__).resolve().parents[2] / "examples" / "family"
EX = "@prefix ex: <http://example.org/r#> .\n"
RUNAWAY = "n(0).\nn(Y) :- n(X), Y = X + 1.\n"
SECRET = "TOP-SECRET-FIRST-LINE do not echo me"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def answers(kb: KnowledgeBase, query: str) -> list[str]:
    return sorted(kb.shorten(a.bindings["X"]) for a in kb.ask(query))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    """main.rules imports lib/base.rules, which imports lib/deeper/more.rules."""
    write(tmp_path / "src" / "lib" / "deeper" / "more.rules", EX + "ex:q(ex:c).\n")
    write(tmp_path / "src" / "lib" / "base.rules", EX + 'ex:q(ex:b).\n@import "deeper/more.rules" .\n')
    return write(tmp_path / "src" / "main.rules", EX + '@import "lib/base.rules" .\nex:p(X) :- ex:q(X).\n')


def test_the_file_and_its_imports_are_copied_with_checksums(tmp_path: Path, nested: Path) -> None:
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.add_rules(nested)
    config = json.loads((tmp_path / "kb" / "kb.json").read_text())
    [entry] = config["rules"]
    assert entry["name"] == "main" and entry["file"] == str(nested.resolve()) and entry["kind"] == "derived"
    assert entry["copy"] == "rules/000-main.rules"
    assert sha(tmp_path / "kb" / entry["copy"]) == entry["sha256"]
    assert [i["file"] for i in entry["imports"]] == [str(tmp_path / "src" / "lib" / "base.rules"),
                                                     str(tmp_path / "src" / "lib" / "deeper" / "more.rules")]
    for imp in entry["imports"]:
        assert sha(tmp_path / "kb" / imp["copy"]) == imp["sha256"]
        assert imp["file_sha256"] == sha(Path(imp["file"]))
    # The copies import each other, not the originals.
    assert '@import "000-main.imports/1-base.rules" .' in (tmp_path / "kb" / entry["copy"]).read_text()
    assert '@import "2-more.rules" .' in (tmp_path / "kb" / entry["imports"][0]["copy"]).read_text()
    # With every original gone, the KB still has its rules.
    for f in (tmp_path / "src").rglob("*.rules"):
        f.unlink()
    with KnowledgeBase(tmp_path / "kb", read_only=True) as kb:
        assert answers(kb, "?- ex:p(X).") == ["ex:b", "ex:c"]


def test_an_edited_original_changes_nothing_until_reload(tmp_path: Path) -> None:
    src = write(tmp_path / "r.rules", EX + "ex:q(ex:a).\nex:p(X) :- ex:q(X).\n")
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.add_rules(src, materialize=True)
    write(src, EX + "ex:q(ex:z).\nex:p(X) :- ex:q(X).\n")
    with KnowledgeBase(tmp_path / "kb") as kb:
        assert answers(kb, "?- ex:p(X).") == ["ex:a"]
        [info] = kb.rule_sets()
        assert (info["name"], info["original"], info["rules"], info["facts"]) == ("r", "changed", 1, 1)
        old_copy = tmp_path / "kb" / info["copy"]
        kb.reload_rules("r", materialize=True)
        assert answers(kb, "?- ex:p(X).") == ["ex:z"]
        assert kb.rule_sets()[0]["original"] == "unchanged"
        assert not old_copy.exists()  # the replaced copy is gone once the new one is committed
    with KnowledgeBase(tmp_path / "kb", read_only=True) as kb:
        assert answers(kb, "?- ex:p(X).") == ["ex:z"]


def test_a_damaged_copy_is_never_used(tmp_path: Path) -> None:
    src = write(tmp_path / "r.rules", EX + "ex:q(ex:a).\nex:p(X) :- ex:q(X).\n")
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.add_rules(src)
    copy = tmp_path / "kb" / "rules" / "000-r.rules"
    copy.write_text(copy.read_text().replace("ex:a", "ex:EVIL"))
    # Whichever layer notices first (the store's manifest on open, or the rule book on use),
    # the answer is a StoreError naming the copy, never an answer from the edited copy.
    with pytest.raises(StoreError) as info, KnowledgeBase(tmp_path / "kb") as kb:
        kb.ask("?- ex:p(X).")
    assert info.value.file == str(copy)


def test_the_rule_book_reports_a_damaged_copy_when_used_with_the_fix(tmp_path: Path) -> None:
    src = write(tmp_path / "r.rules", EX + "ex:q(ex:a).\nex:p(X) :- ex:q(X).\n")
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.add_rules(src)
    d = tmp_path / "kb"
    config = json.loads((d / "kb.json").read_text())
    copy = d / "rules" / "000-r.rules"
    copy.write_text(copy.read_text().replace("ex:a", "ex:EVIL"))
    [damaged] = rulebook.restore_rule_sets(config, d, {}, "http://x/")
    assert damaged.program is None and damaged.damage is not None
    assert damaged.damage.file == str(copy)
    assert "SHA-256 mismatch" in damaged.damage.message and "--reload r" in damaged.damage.message
    with pytest.raises(StoreError, match="SHA-256"):
        rulebook.check_healthy([damaged])
    assert rulebook.describe(damaged, d)["damaged"]
    copy.unlink()
    [missing] = rulebook.restore_rule_sets(config, d, {}, "http://x/")
    assert missing.damage is not None and "missing" in missing.damage.message
    write(copy, "p(a).\n")
    config["rules"][0].pop("sha256")  # a KB written before checksums: read, but never the original
    [legacy] = rulebook.restore_rule_sets(config, d, {}, "http://x/")
    assert legacy.program is not None and len(legacy.program.facts) == 1


def test_a_runaway_rule_is_not_kept_and_the_kb_still_answers(tmp_path: Path) -> None:
    d = tmp_path / "kb"
    with KnowledgeBase(d) as kb:
        kb.load(FAMILY / "family.ttl")
        kb.add_rules(FAMILY / "family.rules", materialize=True)
        grandparents = len(kb.ask("?- fam:grandparent(X, Y)."))
    before = {p.relative_to(d): p.read_bytes() for p in d.rglob("*") if p.is_file() and "oxigraph" not in p.parts}
    with KnowledgeBase(d) as kb:
        kb.config["max_iterations"] = 200
        with pytest.raises(LimitExceeded):
            kb.add_rules(write(tmp_path / "run.rules", RUNAWAY), materialize=True)
        assert [s["name"] for s in kb.rule_sets()] == ["family"]
        assert len(kb.ask("?- fam:grandparent(X, Y).")) == grandparents > 0
        assert len(kb.sparql("SELECT ?s WHERE { ?s ?p ?o }")) > 41
    after = {p.relative_to(d): p.read_bytes() for p in d.rglob("*") if p.is_file() and "oxigraph" not in p.parts}
    assert after == before  # kb.json, the copies, the vocabulary and the id table: byte for byte
    with KnowledgeBase(d) as kb:
        assert kb.materialize()["stored"] == 60


def test_a_transaction_keeps_all_or_nothing(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    good = write(tmp_path / "good.rules", EX + "ex:q(ex:a).\nex:p(X) :- ex:q(X).\n")
    bad = write(tmp_path / "bad.rules", EX + "ex:s(X) :- ex:q(X), not ex:t(X).\nex:t(X) :- ex:s(X).\n")
    config = (tmp_path / "kb" / "kb.json").read_bytes()
    with pytest.raises(StratificationError), kb.rules_transaction(materialize=True):
        kb.add_rules(good)
        kb.add_rules(bad)
    assert kb.rule_sets() == [] and kb.rules == [] and not (tmp_path / "kb" / "rules").exists()
    assert (tmp_path / "kb" / "kb.json").read_bytes() == config
    with pytest.raises(KeyError), kb.rules_transaction():
        kb.add_rules(good)
        raise KeyError("the caller's own failure")
    assert kb.rule_sets() == []
    with kb.rules_transaction(materialize=True) as stats:
        kb.add_rules(good)
    assert stats["stored"] == 1 and answers(kb, "?- ex:p(X).") == ["ex:a"]
    kb.close()


def test_list_remove_and_names(tmp_path: Path) -> None:
    a = write(tmp_path / "a.rules", EX + "ex:q(ex:a).\nex:p(X) :- ex:q(X).\n")
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.add_rules(a, materialize=True)
        kb.add_rules(EX + "ex:r(X) :- ex:p(X).\n", materialize=True)
        kb.add_rules(a, name="again")
        with pytest.raises(NesyError, match="taken"):
            kb.add_rules(a, name="again")
        assert [(s["name"], s["file"]) for s in kb.rule_sets()] == [
            ("a", str(a.resolve())), ("session", None), ("again", str(a.resolve()))]
        with pytest.raises(NesyError, match="several rule sets"):
            kb.remove_rules(a)
        kb.remove_rules("again")
        kb.remove_rules(str(a), materialize=True)  # by its original file, now unambiguous
        assert [s["name"] for s in kb.rule_sets()] == ["session"]
        assert kb.store.count("inferred") == 0  # ex:p is gone, so is ex:r
        kb.remove_rules("session")
        assert kb.rules == [] and sorted(p.name for p in (tmp_path / "kb" / "rules").iterdir()) == []
        with pytest.raises(NesyError, match="no rule set named 'nope'"):
            kb.remove_rules("nope")


def test_removing_the_last_rule_set_empties_inferred(tmp_path: Path) -> None:
    with KnowledgeBase(tmp_path / "kb") as kb:
        kb.load(FAMILY / "family.ttl")
        kb.add_rules(FAMILY / "family.rules", materialize=True)
        assert kb.store.count("inferred") == 60
        kb.remove_rules("family")
        assert kb.store.count("inferred") == 0


def test_in_memory_kb_has_named_rule_sets_too() -> None:
    kb = KnowledgeBase()
    kb.add_rules(EX + "ex:q(ex:a).\n")
    kb.add_rules(EX + "ex:p(X) :- ex:q(X).\n")
    assert [s["name"] for s in kb.rule_sets()] == ["session", "session-2"]
    assert answers(kb, "?- ex:p(X).") == ["ex:a"]
    kb.remove_rules("session-2")
    assert kb.ask("?- ex:q(X).") and len(kb.rules) == 0


# -- @import confinement -----------------------------------------------------------------------

@pytest.fixture
def outside(tmp_path: Path) -> Path:
    return write(tmp_path / "outside.rules", SECRET + "\nex:q(ex:a).\n")


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside.rules", "/proc/self/environ", "../../../etc/hostname"])
def test_imports_outside_the_folder_are_refused_without_echo(tmp_path: Path, outside: Path, target: str) -> None:
    main = write(tmp_path / "rules" / "main.rules", f'p(a).\n  @import "{target}" .\n')
    with pytest.raises(ParseError) as info:
        parse_file(main)
    err = info.value
    assert (err.file, err.line, err.column) == (str(main), 2, 3)
    assert f'@import "{target}" refused' in err.message and "allow_paths" in err.message
    assert SECRET not in str(err) and "root:" not in str(err)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path, outside: Path) -> None:
    (tmp_path / "rules").mkdir()
    os.symlink(outside, tmp_path / "rules" / "link.rules")
    main = write(tmp_path / "rules" / "main.rules", '@import "link.rules" .\n')
    with pytest.raises(ParseError, match="refused") as info:
        parse_file(main)
    assert SECRET not in str(info.value)


def test_allowed_folders_are_read_but_never_quoted(tmp_path: Path, outside: Path) -> None:
    main = write(tmp_path / "rules" / "main.rules", EX + '@import "../outside.rules" .\n')
    with pytest.raises(ParseError) as info:
        parse_file(main, allow_paths=[tmp_path])
    assert "is not a rule file (syntax error at line 1" in info.value.message
    assert SECRET not in str(info.value) and info.value.line == 2
    write(outside, EX + "ex:q(ex:a).\np(X, Y) :- ex:q(X).\n")  # parses, but is unsafe: no excerpt either
    with pytest.raises(NesyError) as info:
        parse_file(main, allow_paths=[tmp_path])
    assert info.value.excerpt is None
    write(outside, EX + "ex:q(ex:a).\n")
    assert len(parse_file(main, allow_paths=[tmp_path]).facts) == 1


def test_the_kb_refuses_outside_imports_and_allows_more_when_asked(tmp_path: Path, outside: Path) -> None:
    main = write(tmp_path / "rules" / "main.rules", EX + '@import "../outside.rules" .\nex:p(X) :- ex:q(X).\n')
    write(outside, EX + "ex:q(ex:a).\n")
    with KnowledgeBase(tmp_path / "kb") as kb:
        with pytest.raises(ParseError, match="refused"):
            kb.add_rules(main)
        assert kb.rule_sets() == []
        kb.add_rules(main, allow_paths=[tmp_path], materialize=True)
        assert answers(kb, "?- ex:p(X).") == ["ex:a"]
    outside.unlink()
    with KnowledgeBase(tmp_path / "kb", read_only=True) as kb:  # the import's copy is the KB's own
        assert answers(kb, "?- ex:p(X).") == ["ex:a"]


def test_the_number_and_size_of_imports_are_bounded(tmp_path: Path) -> None:
    write(tmp_path / "big.rules", "p(a).\n" * 100)
    for i in range(3):
        write(tmp_path / f"f{i}.rules", f"q(c{i}).\n")
    ctx = Context(trust_plugins=False, base_prefixes={}, default_ns="http://x/", aggregates=None,
                  allowed=import_folders(str(tmp_path / "main.rules")), max_import_bytes=100, max_imports=2)
    with pytest.raises(ParseError, match="at most 100 bytes"):
        parse_text('@import "big.rules" .\n', str(tmp_path / "main.rules"), ctx, None)
    ctx.max_import_bytes = 10_000
    with pytest.raises(ParseError, match="more than 2 imported files"):
        parse_text('@import "f0.rules" .\n@import "f1.rules" .\n@import "f2.rules" .\n',
                   str(tmp_path / "main2.rules"), ctx, None)


# -- plugins only from installed entry points ----------------------------------------------------

def test_trusted_plugins_in_kb_json_must_be_installed_entry_points(tmp_path: Path) -> None:
    d = tmp_path / "kb"
    KnowledgeBase(d).close()
    config = json.loads((d / "kb.json").read_text())
    (d / "kb.json").write_text(json.dumps({**config, "trusted_plugins": ["json"]}))
    with KnowledgeBase(d) as kb:
        with pytest.raises(PluginError, match="no installed package announces it"):
            _ = kb.registry
