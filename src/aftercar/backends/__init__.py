"""aftercar.backends: the engines the derivations run on; only this package knows them.

Stages receive an Ibis connection and write backend-neutral expressions;
:func:`connect` returns one by name:

* ``"duckdb"`` (in-process, the default), always available;
* ``"spark"`` (PySpark, local mode or an existing session), available with the
  optional extra ``aftercar[spark]`` and a Java 17 runtime (:func:`unavailable`
  says what is missing). It is imported only when used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftercar.backends import duckdb as _duckdb
from aftercar.errors import InputError


def _spark(*args: Any, **options: Any) -> Any:
    from aftercar.backends import spark

    return spark.connect(*args, **options)


#: Engine name -> function returning a new Ibis connection.
ENGINES: dict[str, Callable[..., Any]] = {"duckdb": _duckdb.connect, "spark": _spark}


def unavailable(engine: str) -> str | None:
    """Return why ``engine`` cannot run on this machine (with the fix), or ``None``."""
    if engine not in ENGINES:
        return f"unknown engine {engine!r}. Fix: use one of {', '.join(sorted(ENGINES))}."
    if engine == "spark":
        from aftercar.backends import spark

        return spark.unavailable()
    return None


def connect(engine: str = "duckdb", *args: Any, **options: Any) -> Any:
    """Return a new Ibis connection to ``engine`` (default: in-process DuckDB).

    Parameters
    ----------
    engine
        ``"duckdb"`` or ``"spark"``.
    *args, **options
        Passed to the engine: :func:`aftercar.backends.duckdb.connect` (``database``,
        ``threads``) or :func:`aftercar.backends.spark.connect` (``source``: a folder
        of Parquet tables or a catalog schema; ``session``, ``scratch``, ``config``).

    Raises
    ------
    InputError
        Unknown engine (the message lists the available ones), or an engine whose
        dependencies are missing (the message says how to install them).
    """
    reason = unavailable(engine)
    if reason:
        raise InputError(reason)
    return ENGINES[engine](*args, **options)


__all__ = ["ENGINES", "connect", "unavailable"]
