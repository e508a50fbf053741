"""Out-of-core execution of the reasoner's programs: the same compiled rules as SQL on DuckDB or Spark.

:mod:`~nesy.engine.outofcore.sqlgen` turns compiled rules into SELECT statements over
integer-encoded tables, :mod:`~nesy.engine.outofcore.driver` runs stratified semi-naive
evaluation with them on an :class:`~nesy.engine.outofcore.executor.Executor` (DuckDB in
:mod:`~nesy.engine.outofcore.executor`, Spark in :mod:`~nesy.engine.outofcore.spark`), and
:mod:`~nesy.engine.outofcore.why` rebuilds a proof of a fact derived there.
"""
