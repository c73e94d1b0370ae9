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
    return one_statement_tables(cache_compiled(ibis.duckdb.connect(str(database), **kwargs)))


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
    return one_statement_tables(cache_compiled(con))


def one_statement_tables(con):
    """``con`` (an Ibis DuckDB connection) whose ``create_table(name, expr, overwrite=True)``
    of an Ibis table expression runs one ``CREATE OR REPLACE TABLE ... AS`` statement.

    Ibis runs six for it (the current catalog, the current schema, ``CREATE`` of a table
    under a temporary name with the expression's column types, ``INSERT`` of the query,
    ``DROP`` of the old table, ``ALTER ... RENAME``): a derivation materialises some 70
    tables, and on a small cohort those extra statements and their Python took about a
    tenth of its time. The table made is the same: each column cast to the type Ibis
    declares for it (no-op casts where the query already gives it) and ``NOT NULL`` where
    Ibis declares the column not nullable, in the connection's current schema, as Ibis
    makes it. Anything else (data that is not an Ibis expression, a schema, another
    database, a temporary table, no ``overwrite``) goes to Ibis's own ``create_table``.
    """
    import ibis.expr.types as ir
    import sqlglot as sg
    from ibis.backends.sql.datatypes import DuckDBType

    ibis_create = con.create_table
    owner = weakref.ref(con)

    def quoted(name: str) -> str:
        return sg.to_identifier(name, quoted=True).sql("duckdb")

    def create_table(name, /, obj=None, *, schema=None, database=None, temp=False,
                     overwrite=False):  # fmt: skip
        schema_of = obj.schema() if isinstance(obj, ir.Table) else None
        if (not overwrite or schema_of is None or schema is not None or database is not None
                or temp or schema_of.null_fields):  # fmt: skip
            return ibis_create(name, obj, schema=schema, database=database, temp=temp,
                               overwrite=overwrite)  # fmt: skip
        self = owner()
        self._run_pre_execute_hooks(obj)  # in-memory tables the expression reads
        cols = ", ".join(f"CAST(t.{quoted(c)} AS {DuckDBType.from_ibis(d).sql('duckdb')}) "
                         f"AS {quoted(c)}" for c, d in schema_of.items())  # fmt: skip
        table = quoted(name)
        statements = [f"CREATE OR REPLACE TABLE {table} AS SELECT {cols} FROM "
                      f"({self.compile(obj)}) AS t"]  # fmt: skip
        statements += [f"ALTER TABLE {table} ALTER COLUMN {quoted(c)} SET NOT NULL"
                       for c, d in schema_of.items() if not d.nullable]  # fmt: skip
        self.raw_sql(";\n".join(statements))
        return self.table(name)

    create_table.__doc__ = ibis_create.__doc__
    con.create_table = create_table
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


__all__ = ["arrow_reader", "cache_compiled", "connect", "engine", "one_statement_tables", "scratch"]
