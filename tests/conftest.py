"""Shared fixtures: the evaluation data directory and small example files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


#: The test files that take longest (minutes each on two cores): collected first, so that with
#: ``-n`` (``make test`` runs pytest-xdist, one worker per core, whole files per worker) they
#: start at once and the workers finish together instead of one running them at the end.
SLOWEST_FIRST = ("reliability/test_hostile.py", "engine/test_outofcore_differential.py",
                 "reliability/test_kill.py", "test_docs.py", "kb/test_outofcore.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The :data:`SLOWEST_FIRST` files first, in that order; the rest as collected."""
    def rank(item: pytest.Item) -> int:
        try:
            path = item.path.relative_to(ROOT / "tests").as_posix()
        except ValueError:
            return len(SLOWEST_FIRST)
        return SLOWEST_FIRST.index(path) if path in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: each file keeps its own order


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: a worker per core, at most four (each may hold a Spark JVM and torch). Not
    more than the cores: three workers on two cores saved a minute of twenty but stretched the
    kill campaign (``tests/reliability/test_kill.py``) from 4 to 8 of its 10 minutes' timeout."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


def data_dir() -> Path:
    """``$NESY_DATA`` or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("NESY_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """The public evaluation data; tests that need it skip with a clear message when absent."""
    d = data_dir()
    if not d.is_dir():
        pytest.skip(f"evaluation data not found at {d} (set NESY_DATA)")
    return d


@pytest.fixture
def family_ttl() -> Path:
    return EXAMPLES / "family" / "family.ttl"


@pytest.fixture(scope="module")
def family_kb() -> object:
    """An in-memory KB with the family example's data and rules (shared within a module)."""
    from nesy.kb import KnowledgeBase

    kb = KnowledgeBase()
    kb.load(EXAMPLES / "family" / "family.ttl")
    kb.add_rules(EXAMPLES / "family" / "family.rules")
    return kb


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session (``local[2]``) for the whole test run: the JVM starts once.
    CI installs pyspark (the [scale] extra) and has Java 17: a missing one fails, never skips."""
    from nesy.engine.outofcore.spark import SparkExecutor

    owner = SparkExecutor(master="local[2]")
    # Tests send many small, different statements: compiling each to Java code costs more
    # than it saves (a third of the Spark tests' time); results are the same.
    owner.spark.conf.set("spark.sql.codegen.wholeStage", "false")
    yield owner.spark
    owner.close()


@pytest.fixture(scope="module")
def spark_executor(spark_session, tmp_path_factory):
    """A Spark executor on the shared session, working in a fresh folder."""
    from nesy.engine.outofcore.spark import SparkExecutor

    ex = SparkExecutor(tmp_path_factory.mktemp("spark"), session=spark_session)
    yield ex
    ex.close()
