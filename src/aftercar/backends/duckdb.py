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
import pyarrow as pa

from aftercar.backends.compiled import cache_compiled


def connect(database: str | Path = ":memory:", *, threads: int | None = None):
    """Return an Ibis DuckDB connection (in memory by default, never networked), compiling
    each distinct expression once per process (:func:`cache_compiled`).

    Parameters
    ----------
    database
        ``":memory:"`` (default) or the path of a DuckDB database file.
    threads
        Number of DuckDB worker threads; ``None`` lets DuckDB decide.
    """
    kwargs = {} if threads is None else {"threads": threads}
    return cache_compiled(ibis.duckdb.connect(str(database), **kwargs))


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
