"""aftercar.backends: the engines the derivations run on; only this package knows them.

Stages receive an Ibis connection and write backend-neutral expressions;
:func:`connect` returns one by name. ``"duckdb"`` (in-process, the default) is
always available; further engines (e.g. Spark) register here when their optional
dependencies are installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftercar.backends import duckdb as _duckdb
from aftercar.errors import InputError

#: Engine name -> function returning a new Ibis connection.
ENGINES: dict[str, Callable[..., Any]] = {"duckdb": _duckdb.connect}


def connect(engine: str = "duckdb", **options: Any) -> Any:
    """Return a new Ibis connection to ``engine`` (default: in-process DuckDB).

    Raises
    ------
    InputError
        Unknown engine (the message lists the available ones).
    """
    if engine not in ENGINES:
        raise InputError(
            f"unknown engine {engine!r}. Fix: use one of {', '.join(sorted(ENGINES))}."
        )
    return ENGINES[engine](**options)


__all__ = ["ENGINES", "connect"]
