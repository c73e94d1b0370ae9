"""Line endpoints as backend-neutral Ibis expressions (DuckDB by default; Spark where installed).

The same PFS / TTNT rules as :func:`aftercar.derive.derive_lines`, written once as an
Ibis expression over the cohort's ``patients`` and ``lines`` tables
(:meth:`aftercar.io.Cohort.to_ibis`), so that a cohort that lives in a database is
derived where it lives. The pipeline derives in-memory Arrow cohorts with the
pandas implementation; a parity test (``tests/derive/test_derive_ibis_parity.py``) keeps
both identical on the demo cohort under both PFS rules.

The next line's start is a window ``lead(start_date)`` over each patient's lines
ordered by line number; day differences use ``DateValue.delta(unit="day")``;
months = days / 30.4375.

References
----------
Same rules and sources as :mod:`aftercar.derive.endpoints` (IMWG 2016; Rajkumar 2011).
"""

from __future__ import annotations

from typing import Any

import ibis
import pandas as pd

from aftercar.derive.endpoints import DAYS_PER_MONTH, EndpointRules


def _months(later: Any, earlier: Any) -> Any:
    return later.delta(earlier, unit="day").cast("float64") / DAYS_PER_MONTH


def line_endpoints_expr(
    patients: ibis.Table, lines: ibis.Table, *, rules: EndpointRules | None = None
) -> ibis.Table:
    """Return an Ibis expression with one row per line and its PFS / TTNT.

    Parameters
    ----------
    patients, lines
        Ibis tables in the curated cohort contract (e.g. from ``Cohort.to_ibis()``).
    rules
        Endpoint rules (``pfs_next_line``: ``"censor"`` or ``"ignore"``).

    Returns
    -------
    ibis.Table
        ``patient_id, line, regimen, start_months, end_months, progression_months``
        (months from the index date) and ``pfs_months, pfs_event, ttnt_months,
        ttnt_event`` (months from the line start), ordered by patient and line.
    """
    rules = rules or EndpointRules()
    p = patients.select(
        "patient_id", "death_date", "last_followup_date", index_date=patients.progression_date
    )
    j = lines.join(p, "patient_id")
    window = ibis.window(group_by=j.patient_id, order_by=j.line)
    j = j.mutate(next_start=j.start_date.lead().over(window))
    fu_end = ibis.coalesce(j.death_date, j.last_followup_date)
    has_prog = j.progression_date.notnull()
    has_next = j.next_start.notnull()
    has_death = j.death_date.notnull()
    censor_next = (has_next & ~has_prog) if rules.pfs_next_line == "censor" else ibis.literal(False)
    pfs_end = ibis.cases((has_prog, j.progression_date), (censor_next, j.next_start), else_=fu_end)
    ttnt_end = ibis.coalesce(j.next_start, fu_end)
    out = j.select(
        patient_id=j.patient_id,
        line=j.line,
        regimen=j.regimen,
        start_months=_months(j.start_date, j.index_date),
        end_months=_months(j.end_date, j.index_date),
        progression_months=_months(j.progression_date, j.index_date),
        pfs_months=_months(pfs_end, j.start_date),
        pfs_event=has_prog | (~censor_next & has_death),
        ttnt_months=_months(ttnt_end, j.start_date),
        ttnt_event=has_next | has_death,
    )
    return out.order_by(["patient_id", "line"])


def derive_line_endpoints_ibis(
    cohort: Any, *, rules: EndpointRules | None = None, con: Any = None
) -> pd.DataFrame:
    """Execute :func:`line_endpoints_expr` on a cohort's Ibis tables and return pandas.

    Parameters
    ----------
    cohort
        An :class:`aftercar.io.Cohort` (its ``to_ibis(con)`` gives the tables).
    rules
        Endpoint rules.
    con
        An Ibis connection (default: a new in-process DuckDB connection).
    """
    patients, lines = cohort.to_ibis(con)
    return line_endpoints_expr(patients, lines, rules=rules).to_pandas()
