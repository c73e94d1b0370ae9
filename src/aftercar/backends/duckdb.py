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


def quoted(name: str) -> str:
    """``name`` as a quoted DuckDB identifier (a double quote in it doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _sql_type(dtype) -> str:
    """The DuckDB type Ibis declares for the Ibis type ``dtype`` (as its ``create_table``)."""
    from ibis.backends.sql.datatypes import DuckDBType

    return DuckDBType.from_ibis(dtype).sql("duckdb")


def one_statement_tables(con):
    """``con`` (an Ibis DuckDB connection) whose ``create_table(name, expr, overwrite=True)``
    of an Ibis table expression runs one ``CREATE OR REPLACE TABLE ... AS`` statement.

    Ibis runs six for it (the current catalog, the current schema, ``CREATE`` of a table
    under a temporary name with the expression's column types, ``INSERT`` of the query,
    ``DROP`` of the old table, ``ALTER ... RENAME``): a derivation materialises some 70
    tables, and on a small cohort those extra statements and their Python took about a
    tenth of its time. The table made is the same: each column cast to the type Ibis
    declares for it (no-op casts where the query already gives it), in the connection's
    current schema. A column Ibis declares ``NOT NULL`` (from a source table that declares
    it so, e.g. a DuckDB file made with the OHDSI DDL) gets the constraint on a table
    made under a temporary name, which replaces the old one only once it holds: a NULL
    there fails the call and leaves the old table, as Ibis's ``INSERT`` does. Anything
    else (data that is not an Ibis expression, a schema, another database, a temporary
    table, no ``overwrite``) goes to Ibis's own ``create_table``.
    """
    import ibis.expr.types as ir

    owner = weakref.ref(con)  # the connection's own attribute must not keep it alive
    wrapped = con.__dict__.get("create_table")  # the memo's printing one, if set

    def ibis_create(*args, **kwargs):
        if wrapped is not None:
            return wrapped(*args, **kwargs)
        self = owner()
        return type(self).create_table(self, *args, **kwargs)

    def create_table(name, /, obj=None, *, schema=None, database=None, temp=False,
                     overwrite=False):  # fmt: skip
        schema_of = obj.schema() if isinstance(obj, ir.Table) else None
        if (not overwrite or schema_of is None or schema is not None or database is not None
                or temp or schema_of.null_fields):  # fmt: skip
            return ibis_create(name, obj, schema=schema, database=database, temp=temp,
                               overwrite=overwrite)  # fmt: skip
        self = owner()
        self._run_pre_execute_hooks(obj)  # in-memory tables the expression reads
        cols = ", ".join(f"CAST(t.{quoted(c)} AS {_sql_type(d)}) AS {quoted(c)}"
                         for c, d in schema_of.items())  # fmt: skip
        query = f"SELECT {cols} FROM ({self.compile(obj)}) AS t"
        not_null = [c for c, d in schema_of.items() if not d.nullable]
        if not not_null:
            self.raw_sql(f"CREATE OR REPLACE TABLE {quoted(name)} AS {query}")
        else:
            _replace_checked(self, name, query, not_null)
        return self.table(name)

    create_table.__doc__ = type(con).create_table.__doc__
    con.create_table = create_table
    return con


def _replace_checked(con, name: str, query: str, not_null: list[str]) -> None:
    """Make table ``name`` of ``query`` with ``NOT NULL`` columns ``not_null``: under a
    temporary name first, so that a NULL in one of them leaves the old table as it was."""
    from ibis import util

    new = quoted(util.gen_name("aftercar_table"))
    alters = ";\n".join(f"ALTER TABLE {new} ALTER COLUMN {quoted(c)} SET NOT NULL"
                        for c in not_null)  # fmt: skip
    try:
        con.raw_sql(f"CREATE TABLE {new} AS {query};\n{alters}")
    except Exception:
        con.raw_sql(f"DROP TABLE IF EXISTS {new}")
        raise
    con.raw_sql(f"DROP TABLE IF EXISTS {quoted(name)};\n"
                f"ALTER TABLE {new} RENAME TO {quoted(name)}")  # fmt: skip


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


__all__ = ["arrow_reader", "cache_compiled", "connect", "engine", "one_statement_tables", "quoted",
           "scratch"]
