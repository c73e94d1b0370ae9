"""Date arithmetic that gives a date on every engine.

Spark types ``date + INTERVAL n DAY`` as a timestamp while Ibis types it as a date (and
then drops a ``.cast("date")`` as a no-op), so a stored ``date + interval`` would be a
timestamp on Spark and a date on DuckDB. :func:`plus_days` goes through a timestamp and
back, which both engines compile to a real date.
"""

from __future__ import annotations

import ibis


def plus_days(date: ibis.Value, days: int | ibis.Value) -> ibis.Value:
    """``date`` + ``days`` days, typed as a date on every engine.

    Parameters
    ----------
    date
        A date expression.
    days
        Days to add (negative: subtract): an integer or an integer expression.

    Returns
    -------
    ibis.Value
        A date expression.
    """
    # int32: DuckDB < 1.1 has to_days(INTEGER) only (Ibis compiles as_interval to to_days)
    if isinstance(days, int):
        step = ibis.interval(days=days)
    else:
        step = days.cast("int32").as_interval("D")
    return (date.cast("timestamp") + step).date()


__all__ = ["plus_days"]
