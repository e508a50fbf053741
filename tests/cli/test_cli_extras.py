"""A command that needs a missing optional package says which extra to install, without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from nesy.cli.common import friendly


def _failing(exc: BaseException) -> click.Command:
    @click.command()
    @friendly
    def needs() -> None:
        raise exc

    return needs


@pytest.mark.parametrize(("module", "extra"), [("torch", "neural"), ("transformers", "text"), ("owlready2", "dl")])
def test_missing_extra_is_one_message_and_exit_1(module: str, extra: str) -> None:
    result = CliRunner().invoke(_failing(ModuleNotFoundError(f"No module named {module!r}", name=module)))
    assert result.exit_code == 1
    assert f"pip install 'nesy[{extra}]'" in result.output
    assert "Traceback" not in result.output


def test_other_import_errors_are_not_hidden() -> None:
    result = CliRunner().invoke(_failing(ModuleNotFoundError("No module named 'nosuch'", name="nosuch")))
    assert result.exit_code != 0 and isinstance(result.exception, ModuleNotFoundError)


def test_train_without_torch_names_the_neural_extra(tmp_path: Path) -> None:
    # A stand-in ``torch`` that fails to import as a missing torch does.
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "torch.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")])}
    kb = str(tmp_path / "kb")
    data = tmp_path / "train.tsv"
    data.write_text("a\tknows\tb\nb\tknows\tc\n")

    def nesy(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "nesy", *args], capture_output=True, text=True,
                              timeout=120, env=env)

    assert nesy("init", kb).returncode == 0
    assert nesy("load", kb, str(data)).returncode == 0
    done = nesy("train", kb, "--epochs", "1")
    assert done.returncode == 1
    assert "pip install 'nesy[neural]'" in done.stderr and "Traceback" not in done.stderr
