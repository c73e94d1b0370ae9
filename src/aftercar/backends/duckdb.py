"""The default engine: Ibis over an in-process DuckDB database.

Only this package knows which engine runs the derivations; stages receive an
Ibis connection and write backend-neutral expressions, so the same code can run
on Spark (``ibis.pyspark``) for large cohorts.

References
----------
Ibis project, DuckDB backend: https://ibis-project.org/backends/duckdb
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ibis
import ibis.expr.operations as ops
import pyarrow as pa


def connect(database: str | Path = ":memory:", *, threads: int | None = None):
    """Return an Ibis DuckDB connection (in memory by default, never networked).

    Parameters
    ----------
    database
        ``":memory:"`` (default) or the path of a DuckDB database file.
    threads
        Number of DuckDB worker threads; ``None`` lets DuckDB decide.
    """
    kwargs = {} if threads is None else {"threads": threads}
    return ibis.duckdb.connect(str(database), **kwargs)


def engine(memory_limit: str, spill: str | Path | None = None):
    """An Ibis DuckDB connection in memory for a derivation: it may hold ``memory_limit``
    (DuckDB syntax, e.g. ``"2500MB"``) before it spills to disk, and keeps no insertion
    order (every output of a derivation is ordered by its own keys).

    Parameters
    ----------
    memory_limit
        DuckDB's ``memory_limit``.
    spill
        The folder it spills into; ``None``: a temporary folder of its own, removed when
        the connection is garbage-collected (DuckDB's default is ``.tmp`` in the working
        directory).
    """
    if spill is None:
        spill = tempfile.mkdtemp(prefix="aftercar-derive-")
        con = engine(memory_limit, spill)
        weakref.finalize(con, shutil.rmtree, spill, True)
        return con
    con = ibis.duckdb.connect(memory_limit=memory_limit, temp_directory=str(spill),
                              preserve_insertion_order=False)  # fmt: skip
    return cache_compiled(con)


class _CachedCompiler:
    """An Ibis SQL compiler that compiles each distinct expression once.

    Ibis expressions are immutable values compared by their structure (operations, table
    names and schemas, literals), so an expression equal to one compiled before compiles to
    the same SQL. A batched OMOP derivation builds the same ~110 expressions for every
    batch over tables of fixed names (:func:`aftercar.derive.omop.batched.batch_tables`);
    compiling them was about 1.2 s of every batch. At most ``size`` expressions are kept
    (the oldest are forgotten first); each hit is a copy, as callers may change what they
    receive. An expression over an in-memory table (``ibis.memtable``) is not kept: its
    key would hold the table's data after the caller lets it go (the raw tables a
    derivation releases once the engine holds its copies).
    """

    def __init__(self, inner, size: int = 2000) -> None:
        self._inner = inner
        self._size = size
        self._done: dict = {}

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def to_sqlglot(self, expr, *args, **kwargs):
        op = expr.op()
        try:
            key = (op, args, tuple(sorted(kwargs.items())))
            hit = self._done.get(key)
        except TypeError:  # an argument that cannot be a key: compiled every time
            return self._inner.to_sqlglot(expr, *args, **kwargs)
        if hit is not None:
            return hit.copy()
        hit = self._inner.to_sqlglot(expr, *args, **kwargs)
        if not op.find(ops.InMemoryTable):  # the walk only when compiling anyway
            if len(self._done) >= self._size:
                self._done.pop(next(iter(self._done)))
            self._done[key] = hit.copy()
        return hit


def cache_compiled(con):
    """``con`` (an Ibis DuckDB connection) with a compiler that compiles each distinct
    expression once (:class:`_CachedCompiler`); unchanged if this Ibis version compiles
    otherwise (the cache is a saving, never needed)."""
    inner = getattr(con, "compiler", None)
    if inner is not None and callable(getattr(inner, "to_sqlglot", None)):
        con.compiler = _CachedCompiler(inner)
    return con


@contextmanager
def scratch(memory_limit: str) -> Iterator:
    """A private in-process DuckDB (the ``duckdb`` module's connection) for work on Arrow
    tables, spilling above ``memory_limit`` into a temporary folder of its own (DuckDB's
    default is ``.tmp`` in the working directory); closed and the folder removed after."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="aftercar-duckdb-") as spill:
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill})
        try:
            yield con
        finally:
            con.close()


def regex_problem(pattern: str) -> str | None:
    """Why DuckDB cannot run the regular expression ``pattern`` (it compiles RE2: no
    look-around, no back-references), or ``None``; Spark's Java regex has no ``(?P<``
    named groups, said too."""
    import duckdb

    if "(?P<" in pattern or "(?P=" in pattern:
        return "Spark's Java regex cannot run a (?P<name>...) group; write (?:...)"
    try:
        with duckdb.connect() as con:
            con.execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
    except duckdb.Error as exc:
        return str(exc).strip().splitlines()[0][:200]
    return None


def arrow_reader(rel, rows: int = 1_000_000) -> pa.RecordBatchReader:
    """The result of the DuckDB relation ``rel`` as Arrow record batches of ``rows``
    (``to_arrow_reader`` since duckdb 1.4, ``fetch_arrow_reader`` before)."""
    reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader
    return reader(rows)


__all__ = ["arrow_reader", "cache_compiled", "connect", "engine", "scratch"]
