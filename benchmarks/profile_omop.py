"""Where the time of `aftercar derive --omop` goes on DuckDB (issue 13 item 6, the 5-minute
target at 1,000,000 persons), in three measurements of one instance.

Usage::

    python benchmarks/profile_omop.py --omop /data/omop100k/omop --persons 25000

1. ``statements``: one batch of the first ``--persons`` persons derived as the batched
   run derives it, with the engine time of every statement summed by the aftercar
   function that issued it (``create_table`` / ``raw_sql`` / ``to_pyarrow`` ...); the rest
   of the wall time is Python (building and compiling the Ibis expressions, Arrow);
2. ``fixed``: the same for the first 100 persons: the cost every batch pays whatever its
   size (source reading aside);
3. ``floor``: what the least a derivation must do costs on the same files: one pass that
   lists every ``drug_exposure`` and ``measurement`` row with a reason (the audit's
   size), and one grouping plus one window over the distinct drug days.

The source checks are skipped (``open_source(checked=True)``), as a resumed run skips
them. Nothing is asserted; see ``benchmarks/README.md`` for the measured numbers.

Variants of the batch (``--only-batch`` skips measurements 2 and 3):
``--engine-memory 7000MB`` gives the engine more memory than the batched run's
``ENGINE_MEMORY`` (less spilling); ``--database compress`` runs it in an in-memory
database with compression (``ATTACH ':memory:' (COMPRESS)``), ``--database file`` in a
database file; ``--operators`` sums DuckDB's own profile of every statement by
operator type (CPU seconds over all threads) with the bytes spilled; ``--by-line`` sums
the statements by their calling line rather than function; ``--setting SQL`` (repeatable)
runs a statement on the engine first (an allocator setting, say). The process's user and
system CPU time and its minor page faults over the batch follow its statements, then the
batch's steps (the time from each progress message to the next).
"""

from __future__ import annotations

import argparse
import itertools
import resource
import tempfile
import time
import traceback
from collections import defaultdict
from pathlib import Path

_CALLS = ("create_table", "raw_sql", "to_pyarrow", "execute", "insert")


def _caller(by_line: bool = False) -> str:
    for fr in reversed(traceback.extract_stack()[:-2]):
        if "/aftercar/" in fr.filename:
            where = f"{fr.filename.split('/aftercar/')[1]}:{fr.name}"
            return f"{where}:{fr.lineno}" if by_line else where
    return "?"


def _timed(totals: dict[str, float], by_line: bool = False) -> None:
    """Wrap the DuckDB backend's engine calls to add their time to ``totals`` by caller
    (``by_line``: by the calling line)."""
    from ibis.backends.duckdb import Backend

    for name in _CALLS:
        orig = getattr(Backend, name)

        def call(*a, _orig=orig, _name=name, **k):
            t = time.perf_counter()
            try:
                return _orig(*a, **k)
            finally:
                totals[f"{_name:12s} {_caller(by_line)}"] += time.perf_counter() - t

        setattr(Backend, name, call)


def _engine(memory: str | None, database: str):
    """The batched run's engine, or a variant of it (module docstring)."""
    import ibis

    from aftercar.derive.omop import batched

    spill = Path(tempfile.mkdtemp(prefix="aftercar-profile-"))
    limit = memory or batched.ENGINE_MEMORY
    if database == "file":
        return ibis.duckdb.connect(str(spill / "work.duckdb"), memory_limit=limit,
                                   temp_directory=str(spill), preserve_insertion_order=False)
    con = ibis.duckdb.connect(memory_limit=limit, temp_directory=str(spill),
                              preserve_insertion_order=False)  # as batched.engine
    if database == "compress":
        con.raw_sql("ATTACH ':memory:' AS work (COMPRESS)")
        con.raw_sql("USE work")
    return con


def _operators(ops: dict[str, float]) -> None:
    """Sum DuckDB's JSON profile of every engine call by operator type into ``ops``
    (``"spilled bytes"``: DuckDB's ``total_bytes_spilled``)."""
    import json
    import os

    from ibis.backends.duckdb import Backend

    out = Path(tempfile.mkdtemp(prefix="aftercar-ops-")) / "profile.json"

    def walk(node: dict) -> None:
        ops[node.get("type", "?")] += node.get("timing", 0.0) or 0.0
        for child in node.get("children", []):
            walk(child)

    for name in _CALLS:
        orig = getattr(Backend, name)

        def call(self, *a, _orig=orig, **k):
            self.con.execute("SET enable_profiling = 'json'")
            self.con.execute(f"SET profiling_output = '{out}'")
            if out.exists():
                os.remove(out)
            result = _orig(self, *a, **k)
            if out.exists():
                prof = json.loads(out.read_text())
                for node in prof.get("operator", []):
                    walk(node)
                ops["spilled bytes"] += prof.get("system", {}).get("total_bytes_spilled", 0)
            return result

        setattr(Backend, name, call)


def _batch(source: str, persons: int, totals: dict[str, float], memory: str | None = None,
           database: str = "memory", steps: list | None = None,
           settings: tuple[str, ...] = ()) -> float:  # fmt: skip
    from aftercar.derive.omop.batched import restrict
    from aftercar.derive.omop.concepts import load_concepts
    from aftercar.derive.omop.derive import derive_tables
    from aftercar.derive.omop.source import open_source
    from aftercar.derive.raw.rules import load_rules

    rules = load_rules()
    con = _engine(memory, database)
    for sql in settings:  # e.g. SET block_allocator_memory = '3GB'
        con.raw_sql(sql)
    tables = open_source(con, source, checked=True)
    first = int(tables["person"].person_id.min().to_pyarrow().as_py())
    totals.clear()
    t = time.perf_counter()
    def step(what: str) -> None:
        if steps is not None:
            steps.append((time.perf_counter(), what))

    derive_tables(con, restrict(tables, first, first + persons - 1), load_concepts(None, rules),
                  rules, step)  # fmt: skip
    wall = time.perf_counter() - t
    if steps is not None:
        steps.append((t + wall, "end"))
    con.disconnect()
    return wall


def _report(title: str, wall: float, totals: dict[str, float], top: int) -> None:
    engine = sum(totals.values())
    print(f"\n{title}: {wall:.1f} s wall, {engine:.1f} s in engine calls, "
          f"{wall - engine:.1f} s Python")  # fmt: skip
    for key, s in sorted(totals.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {s:6.2f} s  {key}")


def _rusage(r0, r1) -> None:
    """The process's CPU time (user, system) and minor page faults (4 KiB pages touched for
    the first time) from ``r0`` to ``r1`` (``resource.getrusage``), and its peak memory."""
    print(f"  process: {r1.ru_utime - r0.ru_utime:.1f} s user, "
          f"{r1.ru_stime - r0.ru_stime:.1f} s system, "
          f"{r1.ru_minflt - r0.ru_minflt:,} minor page faults, "
          f"peak {r1.ru_maxrss / 2**20:.2f} GiB")  # fmt: skip


def _floor(source: str) -> None:
    import duckdb

    con = duckdb.connect(config={"preserve_insertion_order": False})
    out = Path(tempfile.mkdtemp(prefix="aftercar-floor-"))
    de, me = (f"read_parquet('{Path(source) / t}/**/*.parquet')" for t in ("drug_exposure",
                                                                         "measurement"))
    steps = {
        "list every drug_exposure row with a reason": f"COPY (SELECT drug_exposure_id AS row, "
        f"CAST(person_id AS VARCHAR) AS patient_id, CASE WHEN drug_concept_id % 3 = 0 THEN "
        f"'used' ELSE 'not anti-myeloma' END AS reason FROM {de}) TO '{out}/de.parquet'",
        "list every measurement row with a reason": f"COPY (SELECT measurement_id AS row, "
        f"CAST(person_id AS VARCHAR) AS patient_id, CASE WHEN measurement_concept_id % 3 = 0 "
        f"THEN 'used' ELSE 'not used' END AS reason FROM {me}) TO '{out}/me.parquet'",
        "distinct drug days (one grouping)": "CREATE TABLE dd AS SELECT person_id, "
        f"drug_concept_id, drug_exposure_start_date AS d FROM {de} GROUP BY ALL",
        "previous day of each drug (one window)": "CREATE TABLE w AS SELECT *, lag(d) OVER "
        "(PARTITION BY person_id, drug_concept_id ORDER BY d) AS p FROM dd",
    }  # fmt: skip
    print("\nfloor (the whole instance, one statement each):")
    for what, sql in steps.items():
        t = time.perf_counter()
        con.sql(sql)
        print(f"  {time.perf_counter() - t:6.2f} s  {what}")
    con.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--omop", required=True, help="an OMOP folder of Parquet tables")
    ap.add_argument("--persons", type=int, default=25_000, help="persons in the batch")
    ap.add_argument("--top", type=int, default=15, help="statements listed")
    ap.add_argument("--engine-memory", help="the engine's memory limit (default: the "
                    "batched run's ENGINE_MEMORY)")
    ap.add_argument("--database", choices=("memory", "compress", "file"), default="memory")
    ap.add_argument("--operators", action="store_true", help="DuckDB's profile by operator")
    ap.add_argument("--only-batch", action="store_true", help="measurement 1 only")
    ap.add_argument("--by-line", action="store_true", help="statements by calling line")
    ap.add_argument("--setting", action="append", default=[], metavar="SQL",
                    help="a statement run on the engine before the batch (repeatable), "
                    "e.g. \"SET block_allocator_memory = '3GB'\"")
    args = ap.parse_args(argv)
    totals: dict[str, float] = defaultdict(float)
    ops: dict[str, float] = defaultdict(float)
    _timed(totals, args.by_line)
    if args.operators:
        _operators(ops)
    steps: list = []
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    wall = _batch(args.omop, args.persons, totals, args.engine_memory, args.database, steps,
                  tuple(args.setting))  # fmt: skip
    _report(f"statements: one batch of {args.persons:,} persons", wall, totals, args.top)
    _rusage(r0, resource.getrusage(resource.RUSAGE_SELF))
    print("\nsteps (the derivation's progress messages; the batched run then writes the outputs):")
    for (t0, what), (t1, _next) in itertools.pairwise(steps):
        print(f"  {t1 - t0:6.2f} s  {what}")
    if args.operators:
        spilled = ops.pop("spilled bytes", 0.0)
        print(f"\noperators (CPU s over all threads; {spilled / 1e9:.2f} GB spilled):")
        for name, sec in sorted(ops.items(), key=lambda kv: -kv[1])[:10]:
            print(f"  {sec:6.2f} s  {name}")
    if args.only_batch:
        return
    wall = _batch(args.omop, 100, totals)
    _report("fixed: one batch of 100 persons", wall, totals, 5)
    _floor(args.omop)


if __name__ == "__main__":
    main()
