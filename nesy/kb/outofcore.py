"""A KB materialised out of core: its triples to Parquet, the engine's model back into ``inferred``.

``kb.materialize(engine="duckdb")`` (or ``spark``) writes the stored id triples (all
graphs but ``inferred``) to Parquet in blocks straight from the id table's arrays, runs the
rule programs on the engine (:class:`~nesy.engine.outofcore.driver.OutOfCore`), reads the
derived binary facts back as arrays and stores them in ``inferred`` exactly as the memory
engine's are stored. The engine's model stays open for ``kb.why`` until the KB changes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nesy.kb.reasoning import store_model
from nesy.kb.rulebook import runnable
from nesy.store.graphs import GRAPH_CODE

if TYPE_CHECKING:
    from nesy.engine.outofcore.driver import OutOfCore
    from nesy.kbview import KBView

#: Triples per Parquet row group when the store is exported.
BLOCK = 1 << 20


def export_triples(kb: KBView, path: Path, check: Callable[[], None] | None = None) -> int:
    """Write the KB's input triples (not ``inferred``) to one Parquet file with int64
    ``s, p, o`` and float64 ``score``; returns how many rows it wrote."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = kb.store.table
    schema = pa.schema([("s", pa.int64()), ("p", pa.int64()), ("o", pa.int64()), ("score", pa.float64())])
    n = len(t)
    written = 0
    with pq.ParquetWriter(str(path), schema) as out:
        for lo in range(0, max(n, 1), BLOCK):
            if check is not None:
                check()
            hi = min(n, lo + BLOCK)
            keep = t.g[lo:hi] != GRAPH_CODE["inferred"]
            cols = [t.s[lo:hi][keep], t.p[lo:hi][keep], t.o[lo:hi][keep], t.score[lo:hi][keep]]
            out.write_table(pa.table([pa.array(np.ascontiguousarray(c)) for c in cols], schema=schema))
            written += int(keep.sum())
    return written


def materialize(kb: KBView, engine: str, *, master: str | None = None, memory_limit: str | None = None,
                progress: Callable[[dict[str, Any]], None] | None = None,
                workdir: str | None = None) -> tuple[dict[str, Any], OutOfCore]:
    """Derive everything the rules entail on ``engine`` and store the binary facts in
    ``inferred``; returns the statistics (as :meth:`KnowledgeBase.materialize`'s, plus
    ``engine`` and ``exported``) and the engine's open model."""
    from nesy.engine.outofcore.driver import OutOfCore

    tmp = tempfile.TemporaryDirectory(prefix=f"nesy-{engine}-", dir=workdir)
    ooc = OutOfCore(kb.vocab, engine=engine, semiring=kb.semiring, workdir=str(Path(tmp.name) / "engine"),
                    master=master, memory_limit=memory_limit, progress=progress, registry=kb.registry)
    ooc.keep_alive(tmp)
    try:
        for program, kind in kb.rule_programs():
            ooc.add_program(runnable(program), kind=kind)
        exported = export_triples(kb, Path(tmp.name) / "triples.parquet")
        ooc.add_triples_parquet([str(Path(tmp.name) / "triples.parquet")])
        stats = ooc.materialize()
        stats["exported"] = exported
        if not kb.store.read_only:
            store_model(kb, ooc, stats, lambda: None)
    except BaseException:
        ooc.close()
        raise
    return stats, ooc


__all__ = ["BLOCK", "export_triples", "materialize"]
