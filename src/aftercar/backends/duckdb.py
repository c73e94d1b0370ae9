"""The default engine: Ibis over an in-process DuckDB database.

Only this package knows which engine runs the derivations; stages receive an
Ibis connection and write backend-neutral expressions, so the same code can run
on Spark (``ibis.pyspark``) for large cohorts.

References
----------
Ibis project, DuckDB backend: https://ibis-project.org/backends/duckdb
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ibis
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


def arrow_reader(rel, rows: int = 1_000_000) -> pa.RecordBatchReader:
    """The result of the DuckDB relation ``rel`` as Arrow record batches of ``rows``
    (``to_arrow_reader`` since duckdb 1.4, ``fetch_arrow_reader`` before)."""
    reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader
    return reader(rows)


__all__ = ["arrow_reader", "connect", "scratch"]
