"""The Spark engine: Ibis over PySpark, local mode by default (``aftercar[spark]``).

The derivations are the same Ibis expressions as on DuckDB; only this module knows
Spark. :func:`connect` returns an ``ibis.pyspark`` connection over

* a **local** Spark session started here (``local[2]``, UI off, bound to the
  loopback address, session time zone UTC, small shuffle partitions, scratch
  tables in a private temporary warehouse), or
* an **existing** session (``session=spark`` on Databricks or a cluster), whose
  configuration is left as it is (only the time zone is set to UTC by Ibis).

A ``source`` makes the tables of a study readable by name (``con.table("person")``):
a folder of Parquet files or folders named by table (``person.parquet`` or
``person/``), or a catalog schema (``"main.omop"`` or ``"omop"``) whose tables are
exposed as temporary views. Scratch tables that a derivation materialises go to the
current database (``scratch`` to choose another), never into the source schema.

pyspark and a Java runtime (17) are needed; :func:`unavailable` says which is missing
and how to install it. Everything is imported lazily so that ``import aftercar``
never loads pyspark.

References
----------
Ibis project, PySpark backend: https://ibis-project.org/backends/pyspark
Apache Spark configuration: https://spark.apache.org/docs/latest/configuration.html
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aftercar.backends.compiled import cache_compiled
from aftercar.errors import InputError

#: Local-mode settings: quick to start, quiet, private (no UI, no network but loopback).
LOCAL_CONFIG: Mapping[str, str] = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}

#: For small cohorts (tests, a site's few hundred patients): the JIT's quick tier,
#: interpreted query plans and expressions (no Janino compilation of generated code), no
#: adaptive re-planning and one shuffle partition start each query faster than compiling
#: it; leave them out for millions of rows. The raw derivation of 8 simulated patients
#: (a test of ``tests/spark/test_raw_on_spark.py`` then) took 94 s with the first three
#: settings and 72 s with all six (2026-12-02, 2 cores).
SMALL_DATA_CONFIG: Mapping[str, str] = {
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC -XX:TieredStopAtLevel=1",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
}

_INSTALL_JAVA = (
    "Fix: install a Java 17 runtime (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) "
    "or set JAVA_HOME."
)
_INSTALL_PYSPARK = "Fix: pip install 'aftercar[spark]'."


def unavailable() -> str | None:
    """Return why the Spark engine cannot run here (with the fix), or ``None`` if it can."""
    if importlib.util.find_spec("pyspark") is None:
        return f"the Spark engine needs pyspark, which is not installed. {_INSTALL_PYSPARK}"
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return None
    if shutil.which("java") is None:
        return f"the Spark engine needs Java, and no java is on PATH. {_INSTALL_JAVA}"
    return None


def _scratch_warehouse() -> str:
    path = tempfile.mkdtemp(prefix="aftercar-spark-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def local_session(master: str = "local[2]", config: Mapping[str, str] | None = None) -> Any:
    """Return the process's local SparkSession, starting it on first use.

    Parameters
    ----------
    master
        Spark master URL (``local[N]`` uses N cores of this machine).
    config
        Settings added to (or overriding) :data:`LOCAL_CONFIG`, e.g.
        ``{"spark.driver.memory": "8g"}``; they take effect only when the session
        starts (the first call in a process).
    """
    reason = unavailable()
    if reason:
        raise InputError(reason)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers see the same packages
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    settings = {
        **LOCAL_CONFIG,
        "spark.sql.warehouse.dir": _scratch_warehouse(),
        **(config or {}),
    }
    builder = SparkSession.builder.master(master).appName("aftercar")
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _table_files(folder: Path) -> dict[str, str]:
    """Table name -> Parquet path for ``NAME.parquet`` files and ``NAME/`` folders."""
    found = {}
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.suffix == ".parquet":
            found[entry.stem] = str(entry)
        elif entry.is_dir() and any(entry.rglob("*.parquet")):
            found[entry.name] = str(entry)
    return found


def _register_source(session: Any, source: str | Path) -> list[str]:
    """Expose the tables of ``source`` as temporary views named by table."""
    path = Path(source)
    if path.is_dir():
        tables = _table_files(path)
        if not tables:
            raise InputError(
                f"{path}: no Parquet tables (NAME.parquet files or NAME/ folders). "
                "Fix: point the source at the folder holding person.parquet etc."
            )
        for name, file in tables.items():
            session.read.parquet(file).createOrReplaceTempView(name)
        return sorted(tables)
    if path.exists() or os.sep in str(source):
        raise InputError(f"{source}: not a folder. Fix: give a folder of Parquet tables or "
                         "a catalog schema such as main.omop.")  # fmt: skip
    try:
        listed = session.catalog.listTables(str(source))
    except Exception as exc:  # pyspark's AnalysisException: no such catalog or schema
        raise InputError(f"Spark schema {source!r} cannot be read ({type(exc).__name__}). Fix: "
                         "check the catalog and schema name (catalog.schema) and your "
                         "permissions.") from None  # fmt: skip
    names = [t.name for t in listed if not t.isTemporary]
    if not names:
        raise InputError(f"Spark schema {source!r} has no tables. Fix: check the catalog and "
                         "schema name (catalog.schema) and your permissions.")  # fmt: skip
    for name in names:
        session.table(f"{source}.{name}").createOrReplaceTempView(name)
    return sorted(names)


def connect(
    source: str | Path | None = None,
    *,
    session: Any = None,
    scratch: str | None = None,
    master: str = "local[2]",
    config: Mapping[str, str] | None = None,
) -> Any:
    """Return an Ibis PySpark connection (compiling each distinct expression once per
    process: :func:`aftercar.backends.compiled.cache_compiled`).

    Parameters
    ----------
    source
        Optional: a folder of Parquet tables (``person.parquet`` or ``person/``), or a
        Spark catalog schema (``"catalog.schema"`` or ``"schema"``); each of its tables
        becomes readable as ``con.table(name)``.
    session
        An existing SparkSession (Databricks: ``spark``); default: a local session
        (:func:`local_session`, shared by every connection of the process).
    scratch
        Database (``"catalog.schema"`` or ``"schema"``) where derivations write their
        intermediate tables; default: the session's current database.
    master, config
        For a local session: the master URL and extra settings.

    Raises
    ------
    InputError
        pyspark or Java missing, or an unreadable source (the message says the fix).
    """
    session = session if session is not None else local_session(master, config)
    if scratch:
        *catalog, database = scratch.split(".")
        if catalog:
            session.catalog.setCurrentCatalog(catalog[0])
        session.catalog.setCurrentDatabase(database)
    if source is not None:
        _register_source(session, source)
    return cache_compiled(_backend_class()().connect(session))


def _backend_class() -> type:
    """The Ibis PySpark backend, moving data as Arrow both ways on pyspark >= 4.

    Ibis goes through pandas (``createDataFrame(pandas)`` / ``toPandas``), whose
    Arrow path pyspark 4.0 cannot take with pandas 3's Arrow-backed strings (it then
    falls back to pickling rows through Python workers). pyspark 4 reads and returns
    Arrow tables itself (``createDataFrame(pyarrow.Table)``, ``DataFrame.toArrow``);
    pyspark 3.5 keeps Ibis's own path.
    """
    import ibis
    from ibis.backends.pyspark import Backend
    from pyspark import __version__ as pyspark_version

    ibis.load_backend("pyspark")  # registers the backend's options (ibis.options.pyspark)
    if int(pyspark_version.split(".")[0]) < 4:
        return Backend

    class ArrowBackend(Backend):
        def _register_in_memory_table(self, op: Any) -> None:
            from ibis.backends.pyspark.datatypes import PySparkSchema

            data = op.data.to_pyarrow(op.schema)
            schema = PySparkSchema.from_ibis(op.schema)
            self._session.createDataFrame(data, schema=schema).createOrReplaceTempView(op.name)

        def to_pyarrow(self, expr: Any, /, *, params=None, limit=None, **kwargs: Any) -> Any:
            from ibis.formats.pyarrow import PyArrowData

            table_expr = expr.as_table()
            self._run_pre_execute_hooks(table_expr)
            sql = self.compile(table_expr, params=params, limit=limit, **kwargs)
            table = self._session.sql(sql).toArrow()
            return expr.__pyarrow_result__(PyArrowData.convert_table(table, table_expr.schema()))

    return ArrowBackend
