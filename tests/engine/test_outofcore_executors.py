"""The out-of-core executors (DuckDB, Spark) behave alike on every call of the Executor protocol.

Each test runs once per engine against the same expected values. Spark's JVM takes seconds to
start: the Spark cases share the test run's one session (``spark_session`` in conftest.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nesy.engine.outofcore.executor import DuckDBExecutor, Executor
from nesy.errors import NesyError

# pyspark warns about pandas 3, which these tests do not use.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")


@pytest.fixture(params=["duckdb", "spark"])
def ex(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Executor]:
    if request.param == "duckdb":
        executor: Any = DuckDBExecutor()
    else:
        from nesy.engine.outofcore.spark import SparkExecutor

        executor = SparkExecutor(tmp_path / "work", session=request.getfixturevalue("spark_session"))
    yield executor
    executor.close()


def ids(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def scores(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def rows(ex: Executor, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, sorted, as tuples of Python numbers (NaN as None)."""
    cols = ex.fetch(sql)
    out = zip(*([None if isinstance(x, float) and np.isnan(x) else x.item() for x in col]
                for col in cols.values()), strict=True)
    return sorted(out, key=lambda r: tuple((x is None, x) for x in r))


def test_put_and_fetch_keep_types(ex: Executor) -> None:
    big = 2**62 + 1  # would lose its last bit as a float
    ex.put("t", {"a": ids(3, big, -5), "s": scores(0.5, 1.0, 0.25)})
    got = ex.fetch("SELECT a, s FROM t ORDER BY a")
    assert list(got) == ["a", "s"]
    assert got["a"].dtype == np.int64 and got["s"].dtype == np.float64
    assert got["a"].tolist() == [-5, 3, big]
    assert got["s"].tolist() == [0.25, 0.5, 1.0]


def test_put_of_empty_columns(ex: Executor) -> None:
    ex.put("t", {"a": ids(), "s": scores()})
    got = ex.fetch("SELECT a, s FROM t")
    assert got["a"].dtype == np.int64 and got["a"].shape == (0,)
    assert got["s"].dtype == np.float64 and got["s"].shape == (0,)


def test_put_replaces_a_table(ex: Executor) -> None:
    ex.put("t", {"a": ids(1, 2)})
    ex.put("t", {"b": ids(7)})
    assert rows(ex, "SELECT * FROM t") == [(7,)]


def test_fetch_null_ids_are_minus_one_and_null_scores_nan(ex: Executor) -> None:
    ex.put("t", {"a": ids(1, 2)})
    ex.put("u", {"a": ids(1), "b": ids(10), "s": scores(0.5)})
    got = ex.fetch("SELECT t.a, u.b, u.s FROM t LEFT JOIN u ON t.a = u.a ORDER BY t.a")
    assert got["b"].tolist() == [10, -1] and got["b"].dtype == np.int64
    assert got["s"][0] == 0.5 and np.isnan(got["s"][1])


def test_fetch_computed_columns(ex: Executor) -> None:
    ex.put("t", {"a": ids(1, 2, 2), "s": scores(0.5, 0.25, 0.75)})
    got = ex.fetch("SELECT a, count(*) AS n, max(s) AS m, CAST(a AS DOUBLE) / 4 AS q, "
                   "CAST(NULL AS BIGINT) AS z FROM t GROUP BY a ORDER BY a")
    assert got["n"].tolist() == [1, 2] and got["n"].dtype == np.int64
    assert got["m"].tolist() == [0.5, 0.75]
    assert got["q"].tolist() == [0.25, 0.5]
    assert got["z"].tolist() == [-1, -1]


def test_create_returns_its_row_count(ex: Executor) -> None:
    ex.put("t", {"a": ids(1, 2, 3)})
    assert ex.create("u", "SELECT a, a * 10 AS b FROM t WHERE a > 1") == 2
    assert rows(ex, "SELECT a, b FROM u") == [(2, 20), (3, 30)]
    assert ex.create("u", "SELECT a, b FROM u WHERE a > 100") == 0
    assert ex.fetch("SELECT a, b FROM u")["a"].shape == (0,)


def test_create_may_read_the_table_it_replaces(ex: Executor) -> None:
    ex.put("t", {"a": ids(1, 2), "s": scores(0.5, 1.0)})
    assert ex.create("t", "SELECT a + 1 AS a, s * 2 AS s FROM t") == 2
    assert ex.create("t", "SELECT a, s FROM t UNION ALL SELECT a * 10 AS a, s FROM t") == 4
    assert rows(ex, "SELECT a, s FROM t") == [(2, 1.0), (3, 2.0), (20, 1.0), (30, 2.0)]


def test_create_keeps_bigint_ids(ex: Executor) -> None:
    ex.put("t", {"a": ids(1, 2)})
    ex.create("u", "SELECT a, CAST(a * 2 AS BIGINT) AS b, CAST(a AS DOUBLE) AS s FROM t")
    got = ex.fetch("SELECT * FROM u ORDER BY a")
    assert got["b"].dtype == np.int64 and got["s"].dtype == np.float64
    assert got["b"].tolist() == [2, 4]


def test_append_adds_rows_by_position(ex: Executor) -> None:
    ex.put("t", {"a": ids(1), "s": scores(0.5)})
    ex.append("t", "SELECT a + 1 AS x, s / 2 AS y FROM t")  # other names: by position
    ex.append("t", "SELECT a, s FROM t WHERE a < 0")  # nothing
    ex.append("t", "SELECT a * 10, s FROM t")  # reads the table it adds to
    assert rows(ex, "SELECT a, s FROM t") == [(1, 0.5), (2, 0.25), (10, 0.5), (20, 0.25)]
    assert ex.create("t", "SELECT a, s FROM t WHERE a < 10") == 2
    ex.append("t", "SELECT 5, 1.5")
    assert rows(ex, "SELECT a, s FROM t") == [(1, 0.5), (2, 0.25), (5, 1.5)]
    assert ex.fetch("SELECT a, s FROM t")["a"].dtype == np.int64


def test_append_to_a_table_from_parquet(ex: Executor, tmp_path: Path) -> None:
    ex.put("t", {"a": ids(1, 2)})
    path = str(tmp_path / "t.parquet")
    ex.export("SELECT a FROM t", path)
    ex.put_parquet("p", [path])
    ex.append("p", "SELECT a + 2 FROM t")
    assert rows(ex, "SELECT a FROM p") == [(1,), (2,), (3,), (4,)]
    assert os.path.isfile(path)


def test_replace_on_key_columns(ex: Executor) -> None:
    ex.put("t", {"k1": ids(1, 1, 2, 3), "k2": ids(1, 2, 1, 1), "v": scores(0.1, 0.2, 0.3, 0.4)})
    ex.put("n", {"k1": ids(1, 3, 4), "k2": ids(2, 1, 1), "v": scores(0.9, 0.8, 0.7)})
    ex.replace("t", "n", ["k1", "k2"])
    assert rows(ex, "SELECT k1, k2, v FROM t") == [
        (1, 1, 0.1), (1, 2, 0.9), (2, 1, 0.3), (3, 1, 0.8), (4, 1, 0.7)]


def test_replace_on_one_column_and_with_nothing(ex: Executor) -> None:
    ex.put("t", {"k": ids(1, 1, 2), "v": scores(0.1, 0.2, 0.3)})
    ex.put("n", {"k": ids(1), "v": scores(0.5)})
    ex.replace("t", "n", ["k"])  # both rows of key 1 go, one comes
    assert rows(ex, "SELECT k, v FROM t") == [(1, 0.5), (2, 0.3)]
    ex.put("e", {"k": ids(), "v": scores()})
    ex.replace("t", "e", ["k"])
    assert rows(ex, "SELECT k, v FROM t") == [(1, 0.5), (2, 0.3)]


def test_export_then_put_parquet(ex: Executor, tmp_path: Path) -> None:
    ex.put("t", {"a": ids(1, 2, 3), "s": scores(0.5, 1.0, 1.5)})
    path = str(tmp_path / "out.parquet")
    ex.export("SELECT a, s FROM t WHERE a >= 2", path)
    ex.export("SELECT a, s FROM t WHERE a >= 2", path)  # over an old file
    # One file, and nothing left beside it (no parts folder, no checksum).
    assert [f for f in os.listdir(tmp_path) if f != "work"] == ["out.parquet"]
    import pyarrow.parquet as pq

    assert pq.read_table(path).num_rows == 2
    ex.put_parquet("back", [path])
    got = ex.fetch("SELECT a, s FROM back ORDER BY a")
    assert got["a"].tolist() == [2, 3] and got["a"].dtype == np.int64
    assert got["s"].tolist() == [1.0, 1.5]


def test_export_of_nothing_and_put_parquet_of_several_files(ex: Executor, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    ex.put("t", {"a": ids(1, 2)})
    empty, one, two = (str(tmp_path / f"{n}.parquet") for n in ("empty", "one", "two"))
    ex.export("SELECT a FROM t WHERE a > 5", empty)
    assert pq.read_table(empty).num_rows == 0 and pq.read_table(empty).column_names == ["a"]
    ex.export("SELECT a FROM t WHERE a = 1", one)
    ex.export("SELECT a FROM t WHERE a = 2", two)
    ex.put_parquet("whole", [one, two, empty])
    assert rows(ex, "SELECT a FROM whole") == [(1,), (2,)]


def test_drop(ex: Executor) -> None:
    ex.drop("missing")  # nothing happens
    ex.put("t", {"a": ids(1)})
    ex.create("u", "SELECT a FROM t")
    ex.drop("u")
    with pytest.raises(Exception):  # noqa: B017 - each engine has its own "no such table"
        ex.fetch("SELECT * FROM u")
    ex.create("u", "SELECT a + 1 AS a FROM t")  # the name can be used again
    assert rows(ex, "SELECT a FROM u") == [(2,)]


def test_close(ex: Executor) -> None:
    ex.put("t", {"a": ids(1)})
    ex.create("u", "SELECT a FROM t")
    ex.close()
    ex.close()  # twice is fine


def test_spark_files_and_session_after_close(spark_session: Any, tmp_path: Path) -> None:
    from nesy.engine.outofcore.spark import SparkExecutor

    ex = SparkExecutor(tmp_path, session=spark_session)
    ex.put("t", {"a": ids(1, 2)})
    assert str(spark_session.table("t").schema["a"].dataType) == "LongType()"
    ex.create("t", "SELECT a + 1 AS a FROM t")
    ex.append("t", "SELECT a FROM t")
    assert len(os.listdir(tmp_path / "tables" / "t")) == 2  # the put's version is gone
    ex.drop("t")
    assert not (tmp_path / "tables" / "t").exists()
    ex.create("u", "SELECT 1 AS a")
    ex.close()
    assert not (tmp_path / "tables").exists()
    assert not spark_session.catalog.tableExists("u")
    assert spark_session.sql("SELECT 1 AS one").collect()[0].one == 1  # still running

    temporary = SparkExecutor(session=spark_session)
    ex_dir = temporary._tmp.name
    temporary.put("t", {"a": ids(1)})
    temporary.close()
    assert not os.path.exists(ex_dir)


def test_spark_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from nesy.engine.outofcore.spark import SparkExecutor, _local_partitions

    assert _local_partitions("local[2]") == 4 and _local_partitions("local") == 2
    assert _local_partitions("local[3, 2]") == 6 and _local_partitions("yarn") is None
    with pytest.raises(NesyError, match="workdir"):
        SparkExecutor(master="spark://nowhere:7077")  # checked before any JVM starts
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(NesyError, match=r"pip install 'nesy\[scale\]'"):
        SparkExecutor()


def test_spark_without_java_says_so() -> None:
    import subprocess

    code = ("from nesy.engine.outofcore.spark import SparkExecutor\n"
            "try:\n    SparkExecutor()\nexcept Exception as e:\n    print(type(e).__name__, e)\n")
    env = {**os.environ, "JAVA_HOME": "/nonexistent"}  # a fresh process: no JVM is running yet
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.startswith("NesyError") and "JAVA_HOME" in out
