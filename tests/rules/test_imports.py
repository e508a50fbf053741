"""``@import``: relative paths, inlining in place, diamonds, cycles, missing files, prefixes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rdflib import URIRef

from nesy.errors import ImportCycleError, NesyError, ParseError, PluginError, RuleError
from nesy.rules import parse_file, parse_program


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_import_is_relative_to_the_importing_file(tmp_path: Path) -> None:
    write(tmp_path, "lib/base.rules", 'q(a).\n@import "deeper/more.rules" .\n')
    write(tmp_path, "lib/deeper/more.rules", "r(a).\n")
    main = write(tmp_path, "main.rules", '@import "lib/base.rules" .\np(X) :- q(X).\n')
    program = parse_file(main)
    assert [f.atom.predicate.split("#")[-1] for f in program.facts] == ["q", "r"]
    assert [Path(f).name for f in program.files] == ["main.rules", "base.rules", "more.rules"]


def test_imported_items_keep_their_own_locations(tmp_path: Path) -> None:
    write(tmp_path, "lib.rules", "\n\nq(X) :- r(X).\n")
    main = write(tmp_path, "main.rules", 'p(X) :- q(X).\n@import "lib.rules" .\ns(X) :- p(X).\n')
    program = parse_file(main)
    assert [(Path(r.loc.file).name, r.loc.line) for r in program.rules] == [  # type: ignore[arg-type]
        ("main.rules", 1),
        ("lib.rules", 3),  # inlined at the point of the @import
        ("main.rules", 3),
    ]


def test_diamond_includes_a_file_once(tmp_path: Path) -> None:
    write(tmp_path, "common.rules", "@prefix c: <http://c.org/> .\nc:base(a).\n")
    write(tmp_path, "left.rules", '@import "common.rules" .\nleft(X) :- c:base(X).\n')
    write(tmp_path, "right.rules", '@import "common.rules" .\nright(X) :- c:base(X).\n')
    main = write(tmp_path, "main.rules", '@import "left.rules" .\n@import "right.rules" .\n')
    program = parse_file(main)
    assert len(program.facts) == 1
    assert len(program.rules) == 2
    assert [Path(f).name for f in program.files] == [
        "main.rules",
        "left.rules",
        "common.rules",
        "right.rules",
    ]


def test_diamond_through_different_spellings(tmp_path: Path) -> None:
    write(tmp_path, "lib/common.rules", "base(a).\n")
    write(tmp_path, "lib/x.rules", '@import "./common.rules" .\n')
    main = write(tmp_path, "main.rules", '@import "lib/common.rules" .\n@import "lib/x.rules" .\n')
    assert len(parse_file(main).facts) == 1


def test_import_cycle_names_the_chain(tmp_path: Path) -> None:
    write(tmp_path, "a.rules", '@import "b.rules" .\n')
    write(tmp_path, "b.rules", 'p(a).\n@import "a.rules" .\n')
    with pytest.raises(ImportCycleError) as info:
        parse_file(tmp_path / "a.rules")
    err = info.value
    assert (
        err.message
        == f"import cycle: {tmp_path / 'a.rules'} -> {tmp_path / 'b.rules'} -> {tmp_path / 'a.rules'}"
    )
    assert (Path(err.file).name, err.line, err.column) == ("b.rules", 2, 1)  # type: ignore[arg-type]
    assert '@import "a.rules" .' in str(err)


def test_self_import_is_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "self.rules", '@import "self.rules" .\n')
    with pytest.raises(ImportCycleError, match="self.rules -> .*self.rules"):
        parse_file(tmp_path / "self.rules")


def test_missing_import_names_the_importing_line(tmp_path: Path) -> None:
    main = write(tmp_path, "main.rules", 'p(a).\n@import "nowhere.rules" .\n')
    with pytest.raises(ParseError) as info:
        parse_file(main)
    err = info.value
    assert err.message.startswith('cannot import "nowhere.rules": no such file')
    assert (err.file, err.line, err.column) == (str(main), 2, 1)


def test_missing_root_file(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot read rule file"):
        parse_file(tmp_path / "absent.rules")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.rules"
    path.write_bytes('p(a).\nq("caf\xe9").\n'.encode("latin-1"))
    with pytest.raises(ParseError, match="not valid UTF-8") as info:
        parse_file(path)
    assert info.value.line == 2


def test_errors_inside_imports_point_into_the_imported_file(tmp_path: Path) -> None:
    write(tmp_path, "lib.rules", "p(X) :- q(Y).\n")
    main = write(tmp_path, "main.rules", '@import "lib.rules" .\n')
    with pytest.raises(RuleError) as info:
        parse_file(main)
    assert info.value.file == str(tmp_path / "lib.rules")
    assert "p(X) :- q(Y)." in str(info.value)


def test_arity_clash_across_files_names_both_places(tmp_path: Path) -> None:
    write(tmp_path, "lib.rules", "parent(ann, bob).\n")
    main = write(tmp_path, "main.rules", '@import "lib.rules" .\n\nparent(ann).\n')
    with pytest.raises(RuleError) as info:
        parse_file(main)
    err = info.value
    assert (err.file, err.line) == (str(main), 3)
    assert f"with 2 arguments at {tmp_path / 'lib.rules'}:1:1" in err.message


def test_prefixes_of_imports_are_visible_after_the_import(tmp_path: Path) -> None:
    write(tmp_path, "vocab.rules", "@prefix fam: <http://fam.org/> .\n")
    main = write(tmp_path, "main.rules", '@import "vocab.rules" .\nfam:parent(fam:a, fam:b).\n')
    program = parse_file(main)
    assert program.facts[0].atom.predicate == URIRef("http://fam.org/parent")
    assert program.prefixes == (("fam", "http://fam.org/"),)


def test_prefixes_of_a_diamond_import_reach_both_importers(tmp_path: Path) -> None:
    write(tmp_path, "vocab.rules", "@prefix v: <http://v.org/> .\n")
    write(tmp_path, "a.rules", '@import "vocab.rules" .\nv:a(x).\n')
    main = write(tmp_path, "main.rules", '@import "a.rules" .\n@import "vocab.rules" .\nv:b(x).\n')
    assert len(parse_file(main).facts) == 2


def test_an_imported_file_does_not_see_the_importers_prefixes(tmp_path: Path) -> None:
    write(tmp_path, "lib.rules", "fam:parent(fam:a, fam:b).\n")
    main = write(
        tmp_path, "main.rules", '@prefix fam: <http://fam.org/> .\n@import "lib.rules" .\n'
    )
    with pytest.raises(RuleError, match="unknown prefix 'fam:'"):
        parse_file(main)


def test_caller_prefixes_reach_imported_files(tmp_path: Path) -> None:
    write(tmp_path, "lib.rules", "fam:parent(fam:a, fam:b).\n")
    main = write(tmp_path, "main.rules", '@import "lib.rules" .\n')
    program = parse_file(main, prefixes={"fam": "http://fam.org/"})
    assert program.facts[0].atom.predicate == URIRef("http://fam.org/parent")


def test_plugin_in_an_imported_file_needs_trust(tmp_path: Path) -> None:
    write(tmp_path, "lib.rules", '@plugin "some.module" .\n')
    main = write(tmp_path, "main.rules", '@import "lib.rules" .\n')
    with pytest.raises(PluginError) as info:
        parse_file(main)
    assert info.value.file == str(tmp_path / "lib.rules")
    program = parse_file(main, trust_plugins=True)
    assert [p.module for p in program.plugins] == ["some.module"]


def test_import_from_text_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "lib.rules", "q(a).\n")
    monkeypatch.chdir(tmp_path)
    program = parse_program('@import "lib.rules" .\n')
    assert len(program.facts) == 1
    assert program.files == ("lib.rules",)


def test_import_from_text_with_a_file_name(tmp_path: Path) -> None:
    write(tmp_path, "lib.rules", "q(a).\n")
    program = parse_program('@import "lib.rules" .\n', file=str(tmp_path / "virtual.rules"))
    assert program.files == (str(tmp_path / "virtual.rules"), str(tmp_path / "lib.rules"))


def test_a_failed_import_changes_nothing(tmp_path: Path) -> None:
    # parse_program is a pure function: an error leaves no half-built program anywhere.
    write(tmp_path, "lib.rules", "p(a).\np(a, b).\n")
    main = write(tmp_path, "main.rules", 'q(a).\n@import "lib.rules" .\n')
    for _ in range(2):
        with pytest.raises(NesyError):
            parse_file(main)


def test_parse_file_accepts_str_and_pathlike(tmp_path: Path) -> None:
    main = write(tmp_path, "main.rules", "p(a).\n")
    assert parse_file(str(main)) == parse_file(main)
    assert parse_file(os.fspath(main)).files == (str(main),)
