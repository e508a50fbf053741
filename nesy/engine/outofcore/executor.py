"""Where out-of-core SQL runs: the :class:`Executor` interface and its DuckDB implementation.

The driver speaks to an engine only through these calls, with SQL in the dialect that
DuckDB and Spark SQL share (joins, ``NOT EXISTS``, ``GROUP BY``, ``UNION ALL``, window
``row_number``). Tables hold int64 id columns, float64 scores and int64 stamps; numpy
arrays go in and come out through Parquet or Arrow, never as Python objects per row.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nesy.errors import NesyError


class Executor(Protocol):
    """An engine that stores named tables and runs SELECT statements over them."""

    name: str

    def put(self, table: str, cols: dict[str, np.ndarray]) -> None:
        """Create (or replace) ``table`` from numpy columns (each ``(n,)``, int64 or float64)."""

    def put_parquet(self, table: str, paths: list[str]) -> None:
        """Create (or replace) ``table`` from Parquet files."""

    def create(self, table: str, sql: str) -> int:
        """Create (or replace) ``table`` as the result of ``sql`` (which may read ``table``
        itself); returns its number of rows."""

    def append(self, table: str, sql: str) -> None:
        """Add the rows of ``sql`` to ``table`` (same columns, same order)."""

    def replace(self, table: str, new: str, cols: list[str]) -> None:
        """Rows of ``table`` that match a row of table ``new`` on ``cols`` are replaced by it;
        the other rows of ``new`` are added."""

    def fetch(self, sql: str) -> dict[str, np.ndarray]:
        """The result of ``sql`` as numpy columns (NULLs of an id column become -1)."""

    def export(self, sql: str, path: str) -> None:
        """Write the result of ``sql`` to the Parquet file ``path``."""

    def drop(self, table: str) -> None:
        """Forget ``table`` (nothing when there is none)."""

    def close(self) -> None:
        """Release the engine (files it wrote in its work directory go with it)."""


def to_numpy(arrow_table: Any) -> dict[str, np.ndarray]:
    """Numpy columns of an Arrow table: integers as int64 (NULL -> -1), the rest float64."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out: dict[str, np.ndarray] = {}
    for name, col in zip(arrow_table.column_names, arrow_table.columns, strict=True):
        if pa.types.is_integer(col.type) or pa.types.is_boolean(col.type):
            col = pc.fill_null(col.cast(pa.int64()), -1)
            out[name] = np.asarray(col.to_numpy(), dtype=np.int64)
        else:
            col = pc.fill_null(col.cast(pa.float64()), np.nan)
            out[name] = np.asarray(col.to_numpy(), dtype=np.float64)
    return out


def to_arrow(cols: dict[str, np.ndarray]) -> Any:
    """An Arrow table of numpy columns (int64 / float64)."""
    import pyarrow as pa

    return pa.table({k: pa.array(np.ascontiguousarray(v)) for k, v in cols.items()})


class DuckDBExecutor:
    """DuckDB, embedded: one database file in ``workdir`` (spilling to disk beyond
    ``memory_limit``), or in memory when ``workdir`` is None.

    Args:
        workdir: Folder for the database and spill files (None: memory and a temporary
            spill folder).
        memory_limit: DuckDB's ``memory_limit`` (``"4GB"``), None for its default (80% of RAM).
        threads: Worker threads (None: DuckDB's default, every core).
    """

    name = "duckdb"
    #: Round candidates are worth a table of their own (a better plan for the comparison).
    stage_candidates = True

    def __init__(self, workdir: str | os.PathLike[str] | None = None, *, memory_limit: str | None = None,
                 threads: int | None = None) -> None:
        try:
            import duckdb
        except ImportError as e:  # pragma: no cover - the [scale] extra installs it
            raise NesyError("the duckdb engine needs the duckdb package: pip install 'nesy[scale]'") from e
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="nesy-duckdb-")
            spill, db = self._tmp.name, ":memory:"
        else:
            Path(workdir).mkdir(parents=True, exist_ok=True)
            spill, db = str(Path(workdir) / "spill"), str(Path(workdir) / "model.duckdb")
        self.con = duckdb.connect(db)
        self._run(f"SET temp_directory = '{_quote(spill)}'")
        self._run("SET preserve_insertion_order = false")
        if memory_limit:
            self._run(f"SET memory_limit = '{_quote(memory_limit)}'")
        if threads:
            self._run(f"SET threads = {int(threads)}")

    def _run(self, sql: str) -> list[Any]:
        # DuckDB 2 keeps a statement's result pending until it is read: read it, so that the
        # next statement (con.sql in fetch above all) finds the connection free.
        return self.con.execute(sql).fetchall()

    def put(self, table: str, cols: dict[str, np.ndarray]) -> None:
        self.con.register("nesy_frame", to_arrow(cols))
        try:
            self._run(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM nesy_frame")
        finally:
            self.con.unregister("nesy_frame")

    def put_parquet(self, table: str, paths: list[str]) -> None:
        files = ", ".join(f"'{_quote(p)}'" for p in paths)
        self._run(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_parquet([{files}])")

    def create(self, table: str, sql: str) -> int:
        # DuckDB reads the old table to the end before replacing it, and reports the row count.
        return int(self._run(f"CREATE OR REPLACE TABLE {table} AS {sql}")[0][0])

    def append(self, table: str, sql: str) -> None:
        self._run(f"INSERT INTO {table} {sql}")

    def replace(self, table: str, new: str, cols: list[str]) -> None:
        match = " AND ".join(f"{table}.{c} = {new}.{c}" for c in cols) or "TRUE"
        self._run(f"DELETE FROM {table} USING {new} WHERE {match}")
        self._run(f"INSERT INTO {table} SELECT * FROM {new}")

    def fetch(self, sql: str) -> dict[str, np.ndarray]:
        return to_numpy(self.con.sql(sql).to_arrow_table())

    def export(self, sql: str, path: str) -> None:
        self._run(f"COPY ({sql}) TO '{_quote(path)}' (FORMAT PARQUET)")

    def drop(self, table: str) -> None:
        self._run(f"DROP TABLE IF EXISTS {table}")

    def close(self) -> None:
        self.con.close()
        if self._tmp is not None:
            self._tmp.cleanup()


def _quote(text: str) -> str:
    """``text`` inside a single-quoted SQL string."""
    return str(text).replace("'", "''")


__all__ = ["DuckDBExecutor", "Executor", "to_arrow", "to_numpy"]
