"""An installed plugin adds a KGE model and a semiring; the real CLI lists and uses both by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nesy.plugins import ENTRY_POINT_GROUP

PLUGIN = '''
"""A test plugin: a semiring (an object) and a link-prediction model (lazy: no torch at load)."""
from dataclasses import dataclass

import numpy as np

from nesy.engine.semirings import Semiring


@dataclass(frozen=True)
class GodelSemiring(Semiring):
    """Goedel logic: a rule application scores min(weight, body scores); alternatives take the max."""

    def conjoin(self, weight, factors):
        if not factors:
            return None
        out = np.full(len(factors[0]), weight)
        for f in factors:
            out = np.minimum(out, f)
        return out


def register(registry):
    registry.add("semiring", "godel", GodelSemiring("godel"))
    registry.add_lazy("kge_model", "tiny-mult", "myplug_models:TinyMult")
'''

MODELS = '''
"""The plugin's model, imported only when its name is resolved."""
from nesy.linkpred.kge import DistMult


class TinyMult(DistMult):
    """DistMult under the plugin's own name."""
'''

RULES = """
@prefix ex: <http://example.org/g#> .
0.8 :: ex:p(ex:a, ex:b).
0.9 :: ex:r(ex:b, ex:c).
0.5 :: ex:q(X, Z) :- ex:p(X, Y), ex:r(Y, Z).
"""


def install(site: Path) -> None:
    """The plugin as pip would install it: modules plus a dist-info with the entry point."""
    (site / "myplug_mod.py").write_text(PLUGIN)
    (site / "myplug_models.py").write_text(MODELS)
    info = site / "myplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nmyplug = myplug_mod\n")


@pytest.fixture(scope="module")
def nesy_cli(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    site = tmp_path_factory.mktemp("site")
    install(site)
    env = {"PYTHONPATH": str(site), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "HOME": str(site)}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True, env=env,
                              timeout=300)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def test_nesy_plugins_lists_the_plugin_components_with_their_origin(nesy_cli) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(nesy_cli("plugins", "--format", "json").stdout)
    by_name = {(r["kind"], r["name"]): r for r in rows}
    assert by_name["semiring", "godel"]["origin"] == "entry point myplug:myplug"
    assert by_name["kge_model", "tiny-mult"] == {"kind": "kge_model", "name": "tiny-mult",
                                                 "origin": "entry point myplug:myplug",
                                                 "target": "myplug_models:TinyMult"}
    assert by_name["kge_model", "transe"]["origin"] == "built-in"
    assert by_name["semiring", "maxprod"]["origin"] == "built-in"
    assert {"predicate", "operator", "comparison", "aggregate", "text_encoder", "extractor"} <= {r["kind"] for r in rows}
    table = nesy_cli("plugins", "--kind", "semiring").stdout.splitlines()
    assert table[0].split() == ["KIND", "NAME", "ORIGIN", "TARGET"]
    assert any(line.split()[:3] == ["semiring", "godel", "entry"] for line in table[1:])
    assert all(line.startswith("semiring") for line in table[1:])


def test_train_with_the_plugin_model_by_name(nesy_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kb = tmp_path / "kb"
    graph = tmp_path / "graph.tsv"
    graph.write_text("".join(f"e{i}\tlinks\te{(i * 7 + 3) % 12}\ne{i}\tnear\te{(i + 1) % 12}\n" for i in range(12)))
    nesy_cli("init", str(kb))
    nesy_cli("load", str(kb), str(graph))
    out = nesy_cli("train", str(kb), "--model", "tiny-mult", "--epochs", "1", "--dim", "8").stdout
    assert out.startswith("tiny-mult: ")
    configs = [json.loads(p.read_text()) for p in (kb / "models").rglob("*.json")]
    assert any(json.dumps(c).count('"tiny-mult"') for c in configs)
    bad = nesy_cli("train", str(kb), "--model", "tiny-mul", "--epochs", "1", ok=False)
    assert bad.returncode == 1 and "Did you mean tiny-mult?" in bad.stderr


def test_materialize_and_query_with_the_plugin_semiring(nesy_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kb = tmp_path / "kb"
    rules = tmp_path / "g.rules"
    rules.write_text(textwrap.dedent(RULES))
    nesy_cli("init", str(kb))
    nesy_cli("rules", str(kb), str(rules))

    def score() -> float:
        (answer,) = json.loads(nesy_cli("query", str(kb), "?- ex:q(X, Y).", "--format", "json").stdout)
        return float(answer["score"])

    assert score() == pytest.approx(0.5 * 0.8 * 0.9)  # maxprod, the default
    nesy_cli("materialize", str(kb), "--semiring", "Godel")
    assert score() == pytest.approx(0.5)  # min(0.5, 0.8, 0.9)
    bad = nesy_cli("materialize", str(kb), "--semiring", "godl", ok=False)
    assert bad.returncode == 1 and "Did you mean godel?" in bad.stderr
