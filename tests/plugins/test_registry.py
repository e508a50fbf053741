"""The one registry: name normalisation, did-you-mean, lazy entries, origins, parents."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nesy.errors import MissingExtraError, NesyError, PluginError
from nesy.plugins import Registry, UnknownComponentError, default_registry, resolve, shared_registry
from nesy.plugins.builtins import LAZY_COMPONENTS


def test_every_builtin_kind_is_registered_lazily_with_its_origin() -> None:
    reg = default_registry(entry_points=False)
    assert {"predicate", "operator", "comparison", "aggregate", "semiring", "kge_model",
            "text_encoder", "extractor"} <= set(reg.kinds())
    assert {"boolean", "maxprod", "noisyor", "topk"} <= set(reg.names("semiring"))
    assert {"transe", "distmult", "complex", "rotate", "rgcn"} <= set(reg.names("kge_model"))
    assert {"zero-shot", "trained"} <= set(reg.names("extractor"))
    assert "all-MiniLM-L6-v2" in reg.names("text_encoder")
    for kind, table in LAZY_COMPONENTS.items():
        for name, ref in table.items():
            entry = reg.lookup(kind, name)
            assert entry is not None and entry.origin == "built-in" and entry.ref == ref
    assert all(e.origin == "built-in" for e in reg.entries())


def test_names_resolve_ignoring_case_dash_and_underscore() -> None:
    reg = default_registry(entry_points=False)
    maxprod = reg.resolve("semiring", "maxprod")
    assert reg.resolve("semiring", "MaxProd") is maxprod
    assert reg.resolve("Semiring", " maxprod ") is maxprod
    assert reg.resolve("extractor", "zero_shot") is reg.resolve("extractor", "Zero-Shot")
    assert reg.has("kge-model", "TransE") and reg.has("kge_model", "transe")
    # Predicate IRIs and operator symbols are exact.
    assert "+" in reg.operators and len(reg.predicates) >= 10


def test_unknown_name_suggests_the_closest() -> None:
    reg = default_registry(entry_points=False)
    with pytest.raises(UnknownComponentError) as info:
        reg.resolve("semiring", "maxprd")
    err = info.value
    assert isinstance(err, PluginError) and isinstance(err, NesyError)
    assert err.kind == "semiring" and err.suggestions == ["maxprod"]
    assert "Did you mean maxprod?" in str(err) and "Known: boolean, maxprod, noisyor, noisyor-rules, topk." in str(err)
    with pytest.raises(UnknownComponentError, match="unknown kge model 'ComplX'. Did you mean complex"):
        reg.resolve("kge_model", "ComplX")
    with pytest.raises(UnknownComponentError, match="Known: none"):
        reg.resolve("store_backend", "oxigraph")


def test_lazy_entry_is_not_imported_until_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "nesy_lazy_probe.py").write_text("THING = object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry()
    entry = reg.add_lazy("widget", "probe", "nesy_lazy_probe:THING")
    assert reg.names("widget") == ["probe"] and reg.has("widget", "PROBE")
    assert reg.entries("widget")[0].target == "nesy_lazy_probe:THING"
    assert "nesy_lazy_probe" not in sys.modules and not entry.loaded
    thing = reg.resolve("widget", "probe")
    assert "nesy_lazy_probe" in sys.modules and entry.loaded
    assert thing is sys.modules["nesy_lazy_probe"].THING
    assert reg.resolve("widget", "probe") is thing  # imported once
    sys.modules.pop("nesy_lazy_probe")


def test_bad_lazy_references_are_plugin_errors() -> None:
    reg = Registry()
    with pytest.raises(PluginError, match="package.module:attr"):
        reg.add_lazy("widget", "x", "no colon here")
    reg.add_lazy("widget", "gone", "nesy_no_such_module_anywhere:X")
    with pytest.raises(PluginError, match="cannot import widget 'gone'"):
        reg.resolve("widget", "gone")
    reg.add_lazy("widget", "attr", "nesy.errors:NoSuchError")
    with pytest.raises(PluginError, match="has no 'NoSuchError'"):
        reg.resolve("widget", "attr")


def test_lazy_entry_needing_a_missing_extra_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A module that needs an extra which is not installed: the message names the extra.
    (tmp_path / "nesy_needs_dl.py").write_text("import owlready2_not_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry()
    reg.add_lazy("widget", "x", "nesy_needs_dl:X")

    def fake_missing(exc: ImportError) -> MissingExtraError:
        return MissingExtraError("needs nesy[dl]")

    monkeypatch.setattr("nesy.plugins.registry.missing_extra", fake_missing)
    with pytest.raises(MissingExtraError, match=r"nesy\[dl\]"):
        reg.resolve("widget", "x")


def test_child_registry_sees_its_parent_and_shadows_it() -> None:
    parent = default_registry(entry_points=False)
    child = Registry(parent=parent)
    marker = object()
    child.add("semiring", "maxprod", marker)
    assert child.resolve("semiring", "maxprod") is marker
    assert parent.resolve("semiring", "maxprod") is not marker
    assert child.plugins == ["nesy.plugins.builtins"]
    assert [e.name for e in child.entries("semiring")].count("maxprod") == 1
    before = dict(child.aggregates)
    parent.aggregate("median")(lambda v, g, n: (v, v))
    assert "median" in child.aggregates and "median" not in before  # tables follow the parent
    child.remove("semiring", "maxprod")
    assert child.resolve("semiring", "maxprod") is parent.resolve("semiring", "maxprod")


def test_origin_of_code_registered_outside_a_plugin() -> None:
    reg = Registry()

    class Thing:
        pass

    assert reg.add("widget", "thing", Thing).origin == f"module {__name__}"
    assert reg.add("widget", "path", "/some/dir").origin == "python"
    assert reg.add("widget", "other", Thing, origin="python").origin == "python"


def test_module_resolve_uses_the_shared_registry() -> None:
    assert resolve("semiring", "topk") is shared_registry().resolve("semiring", "topk")
    assert default_registry().parent is shared_registry()


def test_listing_and_symbolic_use_import_no_torch() -> None:
    code = textwrap.dedent("""
        import sys
        from nesy.plugins import shared_registry
        from nesy.engine.semirings import get_semiring
        reg = shared_registry()
        assert "transe" in reg.names("kge_model") and "rgcn" in reg.names("kge_model")
        assert get_semiring("TopK:2").k == 2
        assert not reg.lookup("kge_model", "transe").loaded
        heavy = [m for m in ("torch", "transformers", "nesy.linkpred.kge") if m in sys.modules]
        assert not heavy, heavy
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_trusted_rule_file_plugin_adds_a_semiring_to_its_kb_only(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from nesy.kb import KnowledgeBase

    plugin = tmp_path / "nesy_local_min.py"
    info = tmp_path / "nesy_local_min-0.1.dist-info"  # installed the way pip would: an entry point
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nesy-local-min\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[nesy.plugins]\nlocal-min = nesy_local_min\n")
    plugin.write_text(textwrap.dedent('''
        import numpy as np
        from nesy.engine.semirings import Semiring

        class MinSemiring(Semiring):
            def conjoin(self, weight, factors):
                return np.minimum.reduce([np.full(len(factors[0]), weight), *factors]) if factors else None

        def register(registry):
            registry.add("semiring", "local-min", lambda arg: MinSemiring("local-min"))
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    kb = KnowledgeBase()
    kb.add_rules(textwrap.dedent("""
        @prefix ex: <http://example.org/m#> .
        @plugin "nesy_local_min" .
        0.8 :: ex:p(ex:a, ex:b).
        0.5 :: ex:q(X, Y) :- ex:p(X, Y).
    """), trust=True)
    assert kb.ask("?- ex:q(X, Y).")[0].score == pytest.approx(0.4)
    kb.semiring = "Local_Min"
    assert kb.ask("?- ex:q(X, Y).")[0].score == pytest.approx(0.5)
    assert kb.registry.lookup("semiring", "local-min").origin == "entry point nesy-local-min:local-min"
    assert not shared_registry().has("semiring", "local-min")
