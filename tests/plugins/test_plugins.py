"""Plugins: an installed entry-point plugin adds a predicate that rule files can use."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nesy.errors import PluginError
from nesy.kb import KnowledgeBase
from nesy.plugins import ENTRY_POINT_GROUP, default_registry

PLUGIN = '''
"""A tiny nesy plugin: ex:double(X, Y) holds when Y is twice the number X."""
from rdflib import Literal

def register(registry):
    @registry.predicate("http://example.org/plug#double", arity=2, inputs=(0,))
    def double(x, y):
        yield (x, Literal(int(x.toPython()) * 2))
'''


def install_plugin(site: Path) -> None:
    """Install the plugin the way pip would: a module plus a dist-info with an entry point."""
    (site / "nesy_double.py").write_text(PLUGIN)
    info = site / "nesy_double-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nesy-double\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\ndouble = nesy_double\n")


def test_entry_point_plugin_predicate_in_a_rule_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site)
    rules = tmp_path / "twice.rules"
    rules.write_text(textwrap.dedent("""
        @prefix ex: <http://example.org/plug#> .
        ex:size(ex:a, 3).
        ex:size(ex:b, 5).
        ex:twice(X, Y) :- ex:size(X, N), ex:double(N, Y).
    """))
    code = textwrap.dedent(f"""
        import json
        from nesy.kb import KnowledgeBase
        kb = KnowledgeBase()
        from pathlib import Path
        kb.add_rules(Path({str(rules)!r}))
        answers = kb.ask("?- ex:twice(X, Y).")
        print(json.dumps([[kb.shorten(a.bindings['X']), int(a.bindings['Y'])] for a in answers]))
        print(json.dumps(kb.registry.plugins))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    answers, plugins = (json.loads(line) for line in proc.stdout.splitlines())
    assert answers == [["ex:a", 6], ["ex:b", 10]]
    assert "nesy_double" in plugins and "nesy.plugins.builtins" in plugins


def install_as(site: Path, module: str, code: str) -> None:
    """``module`` installed the way pip would (a dist-info announcing it under nesy.plugins)."""
    (site / f"{module}.py").write_text(code)
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{module} = {module}\n")


def test_plugin_directive_needs_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_as(tmp_path, "nesy_trusted_demo", PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    text = '@prefix ex: <http://example.org/plug#> .\n@plugin "nesy_trusted_demo" .\nex:t(Y) :- ex:double(4, Y).\n'
    kb = KnowledgeBase()
    with pytest.raises(PluginError) as info:
        kb.add_rules(text)
    assert info.value.line == 2
    assert not kb.rules
    kb.add_rules(text, trust=True)
    assert [int(a.bindings["Y"]) for a in kb.ask("?- ex:t(Y).")] == [8]


def test_a_bare_module_on_the_path_is_refused_even_when_trusted(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # A module file that merely sits on sys.path is not an installed plugin: no entry point, no import.
    (tmp_path / "nesy_planted_demo.py").write_text(PLUGIN + "\nraise SystemExit('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    text = '@plugin "nesy_planted_demo" .\np(a).\n'
    kb = KnowledgeBase()
    with pytest.raises(PluginError, match="no installed package announces it") as info:
        kb.add_rules(text, trust=True)
    assert info.value.line is None or info.value.line >= 1
    assert "nesy_planted_demo" not in sys.modules
    assert not kb.rules and kb.rule_sets() == []
    with pytest.raises(PluginError, match="entry-point group 'nesy.plugins'"):
        kb.registry.load_module("json")
    assert "json" not in kb.registry.plugins


def test_an_installed_plugin_loads_by_entry_point_name_or_module(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    install_as(tmp_path, "nesy_named_demo", PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = default_registry(entry_points=False)
    reg.load_module("nesy_named_demo")
    assert "nesy_named_demo" in reg.plugins
    [entry] = [e for e in reg.entries("predicate") if str(e.name) == "http://example.org/plug#double"]
    assert entry.origin == "entry point nesy_named_demo:nesy_named_demo"


def test_builtins_are_a_plugin_and_unknown_names_suggest() -> None:
    reg = default_registry(entry_points=False)
    assert reg.plugins == ["nesy.plugins.builtins"]
    assert {"+", "-", "*", "/", "%"} <= set(reg.operators)
    assert {"count", "sum", "min", "max", "avg"} <= set(reg.aggregates)
    reg.add("semiring", "maxprod", object())
    with pytest.raises(PluginError, match="Did you mean maxprod"):
        reg.get("semiring", "maxprd")


def test_string_builtins_in_rules() -> None:
    kb = KnowledgeBase()
    kb.add_rules(textwrap.dedent("""
        @prefix ex: <http://example.org/s#> .
        ex:name(ex:a, "Ada").
        ex:name(ex:b, "Bob").
        ex:greeting(X, G) :- ex:name(X, N), nesy:concat("Hi ", N, G).
        ex:short(X) :- ex:name(X, N), nesy:strlen(N, L), L < 4.
        ex:hasA(X) :- ex:name(X, N), nesy:lower(N, M), nesy:contains(M, "a").
    """))
    assert sorted(str(a.bindings["G"]) for a in kb.ask("?- ex:greeting(X, G).")) == ["Hi Ada", "Hi Bob"]
    assert len(kb.ask("?- ex:short(X).")) == 2
    assert [kb.shorten(a.bindings["X"]) for a in kb.ask("?- ex:hasA(X).")] == ["ex:a"]
