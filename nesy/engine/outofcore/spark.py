"""Spark as an out-of-core engine: tables as Parquet-backed views, SQL through Spark SQL.

Every table is a temporary view over Parquet files in the work directory; :meth:`create`
writes each new version to a fresh folder, so Spark's lineage stays one step long and a
table may be far larger than memory. The default ``master="local[2]"`` runs Spark inside
this process; for a cluster, pass its URL (``"spark://host:7077"``, ``"yarn"``,
``"k8s://..."``) or a ready ``session``, and a ``workdir`` on storage that the driver and
every executor node can read and write (``"hdfs:///tmp/nesy"``, ``"s3a://bucket/nesy"``, or
a path on NFS mounted everywhere). Paths mean what they mean to Spark: a plain path lies on
the cluster's default file system. One executor per session at a time (views are global to it).
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from nesy.engine.outofcore.executor import to_arrow, to_numpy
from nesy.errors import NesyError


class SparkExecutor:
    """Spark SQL over Parquet-backed temporary views.

    Args:
        workdir: Folder for the tables' Parquet files (None: a local temporary folder, which
            only a local master can use).
        master: Spark master URL when this executor starts the session.
        memory: ``spark.driver.memory`` (``"8g"``) when this executor starts the session.
        partitions: ``spark.sql.shuffle.partitions`` (None: twice the cores of a local
            master, Spark's default on a cluster).
        session: A running SparkSession to use (and leave running on :meth:`close`).
    """

    name = "spark"

    def __init__(self, workdir: str | os.PathLike[str] | None = None, *, master: str = "local[2]",
                 memory: str | None = None, partitions: int | None = None,
                 session: Any | None = None) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError as e:
            raise NesyError("the spark engine needs pyspark: pip install 'nesy[scale]'") from e
        where = session.sparkContext.master if session is not None else master
        if workdir is None and not where.startswith("local"):
            # Executors on other machines cannot see the driver's temporary folder.
            raise NesyError(f"the spark master {where!r} needs a workdir that every node can "
                            "reach (an hdfs://, s3a:// or shared NFS path)")
        self._owns_session = session is None and SparkSession.getActiveSession() is None
        if session is None:
            session = _start(SparkSession, master, memory, partitions)
        elif partitions is not None:
            session.conf.set("spark.sql.shuffle.partitions", str(int(partitions)))
        self.spark = session
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="nesy-spark-")
            workdir = Path(self._tmp.name).as_uri()
        self._fs = _Files(session)
        self._root = self._fs.qualify(f"{os.fspath(workdir).rstrip('/')}/tables")
        # table -> the files and folders its view reads; every write goes to a fresh folder,
        # so a failed job never leaves partial rows in a table.
        self._paths: dict[str, list[str]] = {}
        self._schemas: dict[str, Any] = {}  # table -> its Spark schema
        self._version = 0  # one counter for all tables: a folder name is never reused

    def put(self, table: str, cols: dict[str, np.ndarray]) -> None:
        import pyarrow.parquet as pq
        from pyspark.sql.pandas.types import from_arrow_schema

        # int64 columns stay int64 in Parquet, so Spark reads them as BIGINT (LongType).
        frame = to_arrow(cols)
        folder = self._new_folder(table)
        with tempfile.TemporaryDirectory(prefix="nesy-put-") as stage:
            local = str(Path(stage) / "part-0.parquet")
            pq.write_table(frame, local)
            # Copied through Hadoop, so that the file reaches HDFS / S3 as well as a local disk.
            self._fs.copy_from_local(local, f"{folder}/part-0.parquet")
        # The schema is known: Spark need not open the file to infer it.
        self._register(table, [folder], from_arrow_schema(frame.schema))

    def put_parquet(self, table: str, paths: list[str]) -> None:
        # The view reads the files where they are: they must stay until the table goes.
        self._register(table, [self._fs.qualify(p) for p in paths], None)

    def create(self, table: str, sql: str) -> int:
        frame = self.spark.sql(sql)
        folder = self._new_folder(table)
        rows = self._write(frame, folder)
        # The old version is deleted only after the new one is written: ``sql`` may read it.
        self._register(table, [folder], frame.schema)
        return rows

    def append(self, table: str, sql: str) -> None:
        schema = self._schemas[table]
        folder = self._new_folder(table)
        self._write(self._conform(self.spark.sql(sql), schema), folder)
        self._register(table, [*self._paths[table], folder], schema, keep=True)

    def replace(self, table: str, new: str, cols: list[str]) -> None:
        match = " AND ".join(f"o.{c} = n.{c}" for c in cols) or "TRUE"
        kept = self.spark.sql(f"SELECT o.* FROM {table} AS o LEFT ANTI JOIN {new} AS n ON {match}")
        schema = self._schemas[table]
        folder = self._new_folder(table)
        self._write(kept.unionAll(self._conform(self.spark.table(new), schema)), folder)
        self._register(table, [folder], schema)

    def fetch(self, sql: str) -> dict[str, np.ndarray]:
        return to_numpy(self.spark.sql(sql).toArrow())

    def export(self, sql: str, path: str) -> None:
        target = self._fs.qualify(path)
        # Next to the target, so that the final move is a rename on one file system.
        parts = f"{target}.parts-{uuid.uuid4().hex}"
        self.spark.sql(sql).coalesce(1).write.mode("overwrite").parquet(parts)
        (part,) = [p for p in self._fs.files(parts) if p.rsplit("/", 1)[-1].startswith("part-")]
        self._fs.delete(target)
        self._fs.rename(part, target)
        self._fs.delete(parts)

    def drop(self, table: str) -> None:
        self.spark.catalog.dropTempView(table)
        self._forget(table)
        self._fs.delete(f"{self._root}/{table}")

    def close(self) -> None:
        if self.spark is None:
            return
        for table in list(self._paths):
            self.spark.catalog.dropTempView(table)
            self._forget(table)
        self._fs.delete(self._root)
        if self._owns_session:
            self.spark.stop()
        self.spark = None
        if self._tmp is not None:
            self._tmp.cleanup()

    def _new_folder(self, table: str) -> str:
        self._version += 1
        return f"{self._root}/{table}/v{self._version}"

    def _write(self, frame: Any, folder: str) -> int:
        """Write ``frame`` as Parquet into the new ``folder``; its number of rows, counted on
        the way (no second job)."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        seen = Observation()
        frame.observe(seen, F.count(F.lit(1)).alias("rows")).write.mode("overwrite").parquet(folder)
        return int(seen.get["rows"])

    def _register(self, table: str, paths: list[str], schema: Any, *, keep: bool = False) -> None:
        """Point the view ``table`` at ``paths``, deleting the folders of its previous version
        (unless ``keep``: they are among ``paths``)."""
        reader = self.spark.read if schema is None else self.spark.read.schema(schema)
        view = reader.parquet(*paths)  # lists the files now: later reads see exactly these
        view.createOrReplaceTempView(table)
        if not keep:
            self._forget(table)
        self._paths[table], self._schemas[table] = paths, view.schema

    def _forget(self, table: str) -> None:
        """Delete the folders of ``table`` in the work directory (not put_parquet's files)."""
        for path in self._paths.pop(table, []):
            if path.startswith(f"{self._root}/"):
                self._fs.delete(path)
        self._schemas.pop(table, None)

    @staticmethod
    def _conform(frame: Any, schema: Any) -> Any:
        """``frame``'s columns renamed and cast, by position, to the table's ``schema``."""
        named = frame.toDF(*schema.names)
        return named.select([named[f.name].cast(f.dataType) for f in schema.fields])


def _start(builder_class: Any, master: str, memory: str | None, partitions: int | None) -> Any:
    """A new SparkSession for ``master`` with nesy's settings."""
    builder = (builder_class.builder.master(master).appName("nesy")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               # Each write goes to a fresh folder, read only once it is complete: the faster
               # commit (v2) is safe, and _SUCCESS markers are not needed.
               .config("spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version", "2")
               .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false"))
    partitions = partitions or _local_partitions(master)
    if partitions:
        # Spark's default of 200 shuffle partitions makes every tiny local join slow.
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    if memory:
        builder = builder.config("spark.driver.memory", memory)
    try:
        session = builder.getOrCreate()
    except Exception as e:  # most often: no Java for the JVM (pyspark's own error type varies)
        raise NesyError(f"could not start Spark on {master!r} (it needs Java 17 or newer: "
                        f"install it or set JAVA_HOME): {e}") from e
    session.sparkContext.setLogLevel("ERROR")
    return session


def _local_partitions(master: str) -> int | None:
    """Twice the cores of a ``local[N]`` master (``local[*]``: of this machine), else None."""
    found = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?", master.strip())
    if found is None:
        return None
    cores = found.group(1)
    if cores is None:
        return 2
    return 2 * ((os.cpu_count() or 1) if cores == "*" else int(cores))


class _Files:
    """Files where Spark keeps them, through Hadoop's FileSystem API: a path means the same
    here as in Spark (local disk, HDFS, S3, ...)."""

    def __init__(self, session: Any) -> None:
        # Hadoop's file systems are reachable from Python only through Spark's py4j gateway.
        self._jvm = session.sparkContext._jvm  # noqa: SLF001
        self._conf = session.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001

    def _path(self, path: str) -> tuple[Any, Any]:
        jpath = self._jvm.org.apache.hadoop.fs.Path(path)
        return jpath.getFileSystem(self._conf), jpath

    def qualify(self, path: str | os.PathLike[str]) -> str:
        """``path`` with its file system's scheme (``file:/tmp/x``, ``hdfs://nn/x``)."""
        fs, jpath = self._path(os.fspath(path))
        return str(fs.makeQualified(jpath).toString())

    def files(self, folder: str) -> list[str]:
        fs, jpath = self._path(folder)
        return [str(s.getPath().toString()) for s in fs.listStatus(jpath) if s.isFile()]

    def delete(self, path: str) -> None:
        fs, jpath = self._path(path)
        fs.delete(jpath, True)  # False when nothing was there: nothing to do then either

    def rename(self, src: str, dst: str) -> None:
        fs, jsrc = self._path(src)
        jdst = self._path(dst)[1]
        if not fs.rename(jsrc, jdst):
            raise NesyError(f"could not move {src} to {dst}")
        if fs.getScheme() == "file":
            # A local checksum moves along as a hidden .NAME.crc; left there it would fail
            # Hadoop's reads of the file once something else rewrites it.
            crc = self._jvm.org.apache.hadoop.fs.Path(jdst.getParent(), f".{jdst.getName()}.crc")
            fs.delete(crc, False)

    def copy_from_local(self, local: str, dst: str) -> None:
        fs, jdst = self._path(dst)
        fs.copyFromLocalFile(True, True, self._jvm.org.apache.hadoop.fs.Path(local), jdst)


__all__ = ["SparkExecutor"]
