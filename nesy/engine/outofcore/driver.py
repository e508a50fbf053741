"""Stratified semi-naive evaluation on an out-of-core engine: rounds of SQL, facts back as numpy.

:class:`OutOfCore` takes the reasoner's input facts and rules (the same calls as
:class:`~nesy.engine.reasoner.Reasoner`), compiles them with the reasoner's compiler and
stratifier, and runs each stratum as rounds of SELECTs (:mod:`~nesy.engine.outofcore.sqlgen`)
on an :class:`~nesy.engine.outofcore.executor.Executor`: round one evaluates every rule
whole, later rounds (recursive strata only) join one atom against the facts the previous
round added or improved. A round's candidates are grouped per fact (best score), and the
facts that are new, or better under ``maxprod``, get the round's stamp. Numbers computed by
rules get provisional ids (from :data:`FRESH_BASE` on) that become vocabulary ids when the
facts are read back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from rdflib import RDF

from nesy.engine.compile import TYPE_ANY, Compiler, CRule, Key
from nesy.engine.outofcore.numbers import canonical_term, constant_value, number_table
from nesy.engine.outofcore.sqlgen import RuleSQL, check_runnable, table_arity, table_of
from nesy.engine.reasoner import Reasoner
from nesy.engine.semirings import IMPROVEMENT_EPS, get_semiring
from nesy.engine.stratify import Stratum, stratify
from nesy.errors import NesyError
from nesy.plugins.registry import Registry, default_registry, resolve
from nesy.rules.ast import Program, Rule

#: First provisional id of a number a rule computed (the vocabulary's ids stay below it).
FRESH_BASE = 1 << 48
OPERATORS = {"+", "-", "*", "/", "%"}

Progress = Callable[[dict[str, Any]], None]


def duckdb_executor(workdir: str | None = None, *, master: str | None = None, memory_limit: str | None = None) -> Any:
    """The ``duckdb`` engine (``master`` does not apply)."""
    from nesy.engine.outofcore.executor import DuckDBExecutor

    return DuckDBExecutor(workdir, memory_limit=memory_limit)


def spark_executor(workdir: str | None = None, *, master: str | None = None, memory_limit: str | None = None) -> Any:
    """The ``spark`` engine on ``master`` (default ``local[2]``)."""
    from nesy.engine.outofcore.spark import SparkExecutor

    return SparkExecutor(workdir, master=master or "local[2]", memory=memory_limit)


def make_executor(engine: str, workdir: str | None = None, *, master: str | None = None,
                  memory_limit: str | None = None, registry: Registry | None = None) -> Any:
    """The executor of an out-of-core engine by its registry name (``duckdb``, ``spark``)."""
    factory = resolve("engine", engine, registry or default_registry())
    if not callable(factory) or factory is Reasoner:
        raise NesyError(f"{engine!r} is not an out-of-core engine: pick duckdb or spark")
    return factory(workdir, master=master, memory_limit=memory_limit)


class OutOfCore:
    """The reasoner's model computed on DuckDB or Spark.

    Args:
        vocab: The shared vocabulary.
        engine: ``duckdb`` or ``spark`` (or an executor object).
        semiring: ``boolean`` or ``maxprod`` (``noisyor`` and ``topk`` are refused).
        workdir: Folder for the engine's tables (None: a temporary one).
        master: Spark master URL (default ``local[2]``).
        memory_limit: Memory the engine may use before spilling (``"4GB"``).
        progress: Called after every round with ``{stratum, strata, round, new, seconds}``.
        registry: Operators and aggregates (default: all plugins).
    """

    def __init__(self, vocab: Any, *, engine: Any = "duckdb", semiring: str = "maxprod", workdir: str | None = None,
                 master: str | None = None, memory_limit: str | None = None, progress: Progress | None = None,
                 registry: Registry | None = None) -> None:
        sr = get_semiring(semiring)
        if sr.name not in ("boolean", "maxprod"):
            raise NesyError(f"the out-of-core engines compute the boolean and maxprod semirings, not {sr.name!r}: "
                            "use the memory engine for it")
        self.vocab = vocab
        self.semiring = sr
        self.registry = registry or default_registry()
        self.ex = make_executor(engine, workdir, master=master, memory_limit=memory_limit, registry=self.registry) \
            if isinstance(engine, str) else engine
        self.progress = progress
        self._compiler = Compiler(vocab, self.registry)
        self._rules: list[CRule] = []
        self._inputs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._parquet: list[str] = []
        self._rdf_type = vocab.id(RDF.type)
        self._sql = RuleSQL(lambda i: constant_value(vocab, i), sr.tracks_scores, self._name)
        self._fresh = FRESH_BASE
        self._tables: dict[str, int] = {}
        self.stats: dict[str, Any] = {}
        self._owned: list[Any] = []

    @property
    def compiled_rules(self) -> list[CRule]:
        """The compiled rules (constraints left out)."""
        return self._rules

    @property
    def sql(self) -> RuleSQL:
        """The SQL writer of these rules."""
        return self._sql

    @property
    def tables(self) -> dict[str, int]:
        """The physical tables of the last :meth:`materialize` and their id columns."""
        return self._tables

    def why(self, pred: int, row: tuple[int, ...]) -> Any:
        """The best proof of a fact of the model (:func:`~nesy.engine.outofcore.why.rebuild_proof`)."""
        from nesy.engine.outofcore.why import rebuild_proof

        return rebuild_proof(self, pred, row)

    # -- input ---------------------------------------------------------------------------------
    def add_rules(self, rules: Iterable[Rule], *, kind: str = "derived", once: bool = False) -> None:
        """Add rules (AST); constraints are kept out (the memory engine reports violations)."""
        rules = list(rules)
        compiled = [self._compiler.rule(r, len(self._rules) + i, kind, once=once) for i, r in enumerate(rules)]
        compiled = [r for r in compiled if r.head_key is not None]  # constraints derive nothing
        for rule in compiled:
            check_runnable(rule)
        stratify(self._rules + compiled, self._name)
        self._rules += compiled

    def add_program(self, program: Program, *, kind: str = "derived") -> None:
        """Add a program's rules and ground facts."""
        self.add_rules(program.rules, kind=kind, once=program.applied_once)
        for fact in program.facts:
            key, args, score = self._compiler.fact(fact, {})
            table, fixed = table_of(key)
            row = list(args) + [fixed[c] for c in sorted(fixed)]
            self._inputs.setdefault(table, []).append((np.array([row], dtype=np.int64), np.array([score])))

    def add_edb(self, pred: int, rows: np.ndarray, scores: np.ndarray | None = None) -> None:
        """Input facts of ``pred``: int64 ``(n, arity)``; ``rdf:type`` rows are ``(s, class)``."""
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows.reshape(len(rows), -1)
        scores = np.ones(len(rows)) if scores is None else np.asarray(scores, dtype=np.float64)
        if rows.shape[1] == 1:  # members of the class pred
            rows, table = np.concatenate([rows, np.full((len(rows), 1), pred, dtype=np.int64)], axis=1), "tc"
        else:
            table = "tc" if pred == self._rdf_type and rows.shape[1] == 2 else f"p{pred}_{rows.shape[1]}"
        self._inputs.setdefault(table, []).append((rows, scores))

    def add_triples_parquet(self, paths: list[str]) -> None:
        """Input triples from Parquet files with int64 columns ``s, p, o`` and float64 ``score``."""
        self._parquet += [str(p) for p in paths]

    # -- evaluation ----------------------------------------------------------------------------
    def materialize(self) -> dict[str, Any]:
        """Compute the model; ``{facts, derived: {table: n}, iterations, seconds}``."""
        start = time.perf_counter()
        strata = [st for st in stratify(self._rules, self._name) if st.rules]
        self._load(strata)
        rounds = 0
        for st in strata:
            rounds += self._stratum(st, len(strata), start)
        derived = {t: int(self.ex.fetch(f"SELECT count(*) AS n FROM {t} WHERE base = 0")["n"][0]) for t in self._tables}
        self.stats = {"facts": sum(derived.values()), "derived": {t: n for t, n in derived.items() if n},
                      "iterations": rounds, "seconds": time.perf_counter() - start, "engine": self.ex.name}
        return self.stats

    def _load(self, strata: list[Stratum]) -> None:
        """The physical tables with the input facts, and the number tables."""
        keys: set[Key] = set()
        for st in strata:
            for rule in st.rules:
                keys.add(rule.head_key)
                keys.update(_body_keys(rule.body))
        self._tables = {}
        for key in keys:
            self._tables.setdefault(table_of(key)[0], table_arity(key))
        if self._parquet:
            self.ex.put_parquet("triples", self._parquet)
        ids: list[np.ndarray] = []
        for table, arity in self._tables.items():
            cols = [f"c{j}" for j in range(arity)]
            parts = []
            for n, (rows, scores) in enumerate(self._inputs.get(table, [])):
                self.ex.put(f"in_{table}_{n}", {**{c: rows[:, j] for j, c in enumerate(cols)}, "score": scores})
                parts.append(f"SELECT {', '.join(cols)}, score FROM in_{table}_{n}")
                ids.append(np.unique(rows))
            if self._parquet and arity == 2:
                pred = self._rdf_type if table == "tc" else int(table[1:].split("_")[0])
                parts.append(f"SELECT s AS c0, o AS c1, score FROM triples WHERE p = {pred}")
            score = "MAX(score)" if self.semiring.tracks_scores else "CAST(1.0 AS DOUBLE)"
            src = " UNION ALL ".join(parts) or \
                f"SELECT {', '.join(f'CAST(NULL AS BIGINT) AS {c}' for c in cols)}, CAST(1.0 AS DOUBLE) AS score " \
                "WHERE 1 = 0"
            group = ", ".join(cols)
            self.ex.create(table, f"SELECT {group}, {score} AS score, CAST(0 AS BIGINT) AS it, "
                                  f"CAST(1 AS BIGINT) AS base, {score} AS inscore FROM ({src}) x GROUP BY {group}")
            for n in range(len(self._inputs.get(table, []))):
                self.ex.drop(f"in_{table}_{n}")
        if self._parquet:
            got = self.ex.fetch("SELECT DISTINCT o AS i FROM triples")
            ids.append(got["i"])
        ids.append(np.array([a for r in self._rules for a in _constants(r)], dtype=np.int64))
        self.ex.put("num", number_table(self.vocab, np.unique(np.concatenate(ids)) if ids else np.empty(0, np.int64)))
        self.ex.create("numc", "SELECT id, v, k FROM num WHERE canon = 1")
        self._fresh = FRESH_BASE

    def _stratum(self, st: Stratum, n_strata: int, start: float) -> int:
        """Rounds of one stratum until nothing changes; returns how many ran."""
        writes = {table_of(r.head_key)[0] for r in st.rules}
        stamp, rounds = self.stats.get("stamp", 0), 0
        prev: int | None = None
        while True:
            stamp += 1
            rounds += 1
            outputs: dict[str, list[str]] = {}
            for rule in st.rules:
                for delta in self._variants(rule, writes, prev):
                    sql = self._rule_output(rule, delta, prev or 0, len(outputs.get(table_of(rule.head_key)[0], [])))
                    outputs.setdefault(table_of(rule.head_key)[0], []).append(sql)
            # Every table's new facts first, then the merges: a round reads only the facts of
            # earlier rounds (semi-naive, and each fact's stamp above its premises' for proofs).
            news = {table: self._new_facts(table, parts, stamp) for table, parts in outputs.items()}
            new = sum(self._merge(table, n) for table, n in news.items())
            self.stats["stamp"] = stamp
            if self.progress is not None:
                self.progress({"stratum": st.index, "strata": n_strata, "round": rounds, "new": new,
                               "seconds": time.perf_counter() - start})
            if new == 0 or not st.recursive:
                return rounds
            prev = stamp

    @staticmethod
    def _variants(rule: CRule, writes: set[str], prev: int | None) -> list[int | None]:
        """Which positive atom reads the last round's facts: all of the rule (None) in round one."""
        if prev is None:
            return [None]
        atoms = rule.atoms()
        return [i for i, a in enumerate(atoms) if table_of(a.key)[0] in writes]

    def _rule_output(self, rule: CRule, delta: int | None, stamp: int, n: int) -> str:
        """A table of the rule's head facts for this round; returns a SELECT of its id columns."""
        sql, valued = self._sql.rule(rule, delta, stamp)
        if not valued:  # inline: the round's candidates are one statement
            return sql
        arity = table_arity(rule.head_key)
        name = f"out_{table_of(rule.head_key)[0]}_{n}"
        self.ex.create(name, sql)
        pairs = " UNION ALL ".join(f"SELECT v{j} AS v, k{j} AS k FROM {name}" for j in valued)
        fresh = self.ex.create("fresh", f"SELECT DISTINCT v, k FROM ({pairs}) x WHERE NOT EXISTS "
                                        "(SELECT 1 FROM numc m WHERE m.v = x.v AND m.k = x.k)")
        if fresh:
            numbered = f"SELECT CAST({self._fresh} + row_number() OVER (ORDER BY v, k) - 1 AS BIGINT) AS id, v, k FROM fresh"
            self.ex.create("fresh", numbered)
            self.ex.append("numc", "SELECT id, v, k FROM fresh")
            self.ex.append("num", "SELECT id, v, k, CAST(1 AS BIGINT) AS canon FROM fresh")
            self._fresh += fresh
        select = [f"COALESCE(o.c{j}, m{j}.id) AS c{j}" if j in valued else f"o.c{j}" for j in range(arity)]
        joins = " ".join(f"JOIN numc m{j} ON m{j}.v = o.v{j} AND m{j}.k = o.k{j}" for j in valued)
        return f"SELECT {', '.join(select)}, o.score FROM {name} o {joins}"

    def _new_facts(self, table: str, parts: list[str], stamp: int) -> int:
        """This round's facts of ``table`` that are new or better, into ``delta_{table}``; how many."""
        arity = self._tables[table]
        cols = [f"c{j}" for j in range(arity)]
        group = ", ".join(cols)
        match = " AND ".join(f"t.c{j} = x.c{j}" for j in range(arity))
        cand = f"SELECT {group}, MAX(score) AS score FROM ({' UNION ALL '.join(parts)}) u GROUP BY {group}"
        if getattr(self.ex, "stage_candidates", False):
            # The candidates in a table of their own first: DuckDB then compares them with the
            # full relation by an anti (or left) hash join instead of a mark join, 2-3x faster.
            self.ex.create(f"cand_{table}", cand)
            cand = f"cand_{table}"
        else:
            cand = f"({cand})"
        xcols = ", ".join(f"x.{c}" for c in cols)
        if self.semiring.tracks_scores:
            eps = IMPROVEMENT_EPS
            sql = (f"SELECT {xcols}, x.score, CAST({stamp} AS BIGINT) AS it, COALESCE(t.base, 0) AS base, "
                   "COALESCE(t.inscore, CAST(0.0 AS DOUBLE)) AS inscore "
                   f"FROM {cand} x LEFT JOIN {table} t ON {match} "
                   f"WHERE t.c0 IS NULL OR x.score > t.score * {1 + eps!r} + {eps!r}")
        else:
            sql = (f"SELECT {xcols}, CAST(1.0 AS DOUBLE) AS score, CAST({stamp} AS BIGINT) AS it, "
                   f"CAST(0 AS BIGINT) AS base, CAST(0.0 AS DOUBLE) AS inscore FROM {cand} x "
                   f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match})")
        new = self.ex.create(f"delta_{table}", sql)
        if cand == f"cand_{table}":
            self.ex.drop(cand)
        for n, part in enumerate(parts):
            if f"out_{table}_{n} o" in part:
                self.ex.drop(f"out_{table}_{n}")
        return new

    def _merge(self, table: str, new: int) -> int:
        """Add ``delta_{table}`` (``new`` rows) to ``table``; returns ``new``."""
        if new:
            if self.semiring.tracks_scores:
                self.ex.replace(table, f"delta_{table}", [f"c{j}" for j in range(self._tables[table])])
            else:
                self.ex.append(table, f"SELECT * FROM delta_{table}")
        self.ex.drop(f"delta_{table}")
        return new

    # -- output --------------------------------------------------------------------------------
    def derived(self, pred: int, *, include_inputs: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Facts of ``pred`` in the model that are not input facts (or all, with ``include_inputs``):
        int64 ``(n, arity)`` and float64 ``(n,)``; ``rdf:type`` rows are ``(s, class)``."""
        tables = sorted((t for t in self._tables if t.startswith(f"p{pred}_")), key=lambda t: t != f"p{pred}_2")
        where = ["base = 0"] if not include_inputs else []
        if tables:
            table = tables[0]
        elif "tc" in self._tables:
            table = "tc"
            if pred != self._rdf_type:  # a class: its members
                where.append(f"c1 = {pred}")
        else:
            return np.empty((0, 2), dtype=np.int64), np.empty(0)
        arity = self._tables[table] if table != "tc" or pred == self._rdf_type else 1
        cond = f" WHERE {' AND '.join(where)}" if where else ""
        got = self.ex.fetch(f"SELECT {', '.join(f'c{j}' for j in range(arity))}, score FROM {table}{cond}")
        rows = np.stack([got[f"c{j}"] for j in range(arity)], axis=1) if arity else np.empty((len(got["score"]), 0))
        return self.resolve(rows.astype(np.int64)), got["score"]

    def resolve(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` with provisional number ids replaced by vocabulary ids (interned on the way)."""
        fresh = rows >= FRESH_BASE
        if not fresh.any():
            return rows
        got = self.ex.fetch(f"SELECT id, v, k FROM numc WHERE id >= {FRESH_BASE} ORDER BY id")
        terms = [canonical_term(v, k) for v, k in zip(got["v"].tolist(), got["k"].tolist(), strict=True)]
        real = np.array([self.vocab.id(t) for t in terms], dtype=np.int64)
        out = rows.copy()
        out[fresh] = real[np.searchsorted(got["id"], rows[fresh])]
        return out

    def engine_row(self, row: tuple[int, ...]) -> tuple[int, ...]:
        """A row of vocabulary ids as the engine holds it: a number a rule computed has its
        provisional id there."""
        out = []
        for i in row:
            num = constant_value(self.vocab, i) if 0 <= i < len(self.vocab) else None
            if num is not None:
                got = self.ex.fetch(f"SELECT id FROM numc WHERE v = CAST({num[0]!r} AS DOUBLE) AND k = {num[1]} "
                                    f"AND id >= {FRESH_BASE}")["id"]
                i = int(got[0]) if len(got) and self.vocab.get(canonical_term(*num)) == i else i
            out.append(int(i))
        return tuple(out)

    def number_of(self, i: int) -> tuple[float, int] | None:
        """``(value, kind)`` of the number with engine id ``i``, None when it is no number."""
        if i >= FRESH_BASE:
            got = self.ex.fetch(f"SELECT v, k FROM numc WHERE id = {int(i)}")
            return (float(got["v"][0]), int(got["k"][0])) if len(got["v"]) else None
        return constant_value(self.vocab, i) if 0 <= i < len(self.vocab) else None

    def keep_alive(self, resource: Any) -> None:
        """Hold ``resource`` (a temporary folder the engine works in) until :meth:`close`;
        its ``cleanup()`` runs then."""
        self._owned.append(resource)

    def close(self) -> None:
        """Release the engine (and what :meth:`keep_alive` holds)."""
        self.ex.close()
        for res in self._owned:
            res.cleanup()
        self._owned.clear()

    def _name(self, key: Key) -> str:
        if key == TYPE_ANY or key[0] == "c":
            return "rdf:type"
        return str(self.vocab.term(key[1]))


def _body_keys(body: Iterable[Any]) -> set[Key]:
    out: set[Key] = set()
    for lit in body:
        key = getattr(lit, "key", None)
        if key is not None:
            out.add(key)
        out |= _body_keys(getattr(lit, "body", ()))
    return out


def _constants(rule: CRule) -> list[int]:
    """Constant ids among a rule's arguments and expressions (aggregate bodies included)."""
    out: list[int] = [a for a in rule.head_args if isinstance(a, int)]

    def walk(x: Any) -> None:
        if isinstance(x, int) and not isinstance(x, bool):
            out.append(x)
        elif isinstance(x, tuple) and len(x) == 3 and x[0] in OPERATORS:
            walk(x[1])
            walk(x[2])

    def lits(body: Iterable[Any]) -> None:
        for lit in body:
            for name in ("args", "terms"):
                out.extend(a for a in getattr(lit, name, ()) if isinstance(a, int))
            for name in ("left", "right", "expr"):
                walk(getattr(lit, name, None))
            lits(getattr(lit, "body", ()))

    lits(rule.body)
    return out


__all__ = ["FRESH_BASE", "OutOfCore", "duckdb_executor", "make_executor", "spark_executor"]
