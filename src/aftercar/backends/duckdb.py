"""The default engine: Ibis over an in-process DuckDB database.

Only this package knows which engine runs the derivations; stages receive an
Ibis connection and write backend-neutral expressions, so the same code can run
on Spark (``ibis.pyspark``) for large cohorts.

References
----------
Ibis project, DuckDB backend: https://ibis-project.org/backends/duckdb
"""

from __future__ import annotations

from pathlib import Path

import ibis


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
