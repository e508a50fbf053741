"""The package's house rules that lint cannot see: sizes, module cycles, private imports, lazy torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nesy"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
MAX_FACADE_LINES = 400


def modules() -> Iterator[tuple[str, Path, ast.Module]]:
    """Every module of the package: dotted name, file, parsed tree."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_module_over_500_lines() -> None:
    too_long = [f"{shown(p)}: {n} lines" for _, p, _ in modules()
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not too_long, "modules over 500 lines:\n" + "\n".join(too_long)


def test_facade_under_400_lines() -> None:
    facade = PACKAGE / "kb" / "facade.py"
    n = len(facade.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_FACADE_LINES, f"{shown(facade)}: {n} lines"


def test_no_function_over_80_lines() -> None:
    too_long = [f"{shown(p)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines"
                for _, p, tree in modules() for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not too_long, "functions over 80 lines:\n" + "\n".join(too_long)


def test_no_private_name_imported_across_modules() -> None:
    """ruff's PLC2701 skips imports inside the package itself, so this test looks at those."""
    found = []
    for name, path, tree in modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if not node.module.startswith("nesy") or node.module == name:
                continue
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            if private:
                found.append(f"{shown(path)}:{node.lineno} from {node.module} import {', '.join(private)}")
    assert not found, "private names imported from another module:\n" + "\n".join(found)


def test_no_import_cycle_between_modules() -> None:
    """Imports anywhere in a module count (a lazy import is still a dependency), except under
    ``if TYPE_CHECKING:``; grimp reads them the way lint-imports does."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("nesy", exclude_type_checking_imports=True)
    names = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in names}
    cycles = [c for c in strongly_connected(names, edges) if len(c) > 1]
    assert not cycles, "module import cycles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in cycles)


def strongly_connected(nodes: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit to hit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(edges.get(start, ())))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


SYMBOLIC_RUN = """
import sys
from click.testing import CliRunner
from nesy.cli import cli

result = CliRunner().invoke(cli, ["--help"])
assert result.exit_code == 0, result.output
import nesy
kb = nesy.KnowledgeBase()
kb.load(sys.argv[1])
kb.add_rules(sys.argv[2])
answers = list(kb.ask("?- fam:grandparent(fam:ann, X)."))
assert answers, "no answers"
answers[0].proof.to_text(kb.prefixes)
heavy = sorted(m for m in ("torch", "transformers", "torch_geometric", "safetensors") if m in sys.modules)
print(" ".join(heavy))
"""


def test_symbolic_path_imports_no_torch() -> None:
    """With every extra installed, `nesy --help` and a rule query with its proof still import
    neither torch nor transformers (the core install would not have them)."""
    family = ROOT / "examples" / "family"
    run = subprocess.run([sys.executable, "-c", SYMBOLIC_RUN, str(family / "family.ttl"),
                          str(family / "family.rules")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "", f"imported on the symbolic path: {run.stdout.strip()}"
