"""Aggregates that leave a site: event tables in whole days, counts, sketches, coarsening.

A survival endpoint leaves a site as an *event table* per group: for every
distinct time (whole days from the index date) the number of events and of
censorings there. The numbers at risk follow (the group's size less everything
that left before), and so do the Kaplan-Meier estimate, Greenwood's variance,
the log-rank statistic and the Cox partial likelihood of categorical covariates:
all of them are sums over distinct times of these counts. :func:`expand` turns an
event table back into anonymous (time, event) rows, which the statistics of
:mod:`aftercar.stats` take exactly as they take the patients' own rows.

A table is shared as ``{time, n_risk, events}``. Disclosure control
(:func:`coarsen`) merges consecutive days into bins of at least K events, placed
at the mean day of their events, and into bins of at least K censorings, placed
at the mean day of theirs, so that
every event count and every bin's censorings are 0 or at least K and every number
at risk at least K; a group with 1 to K-1 events or censorings, or fewer than K
rows, is suppressed; the coarsening is
recorded with the table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aftercar.errors import InputError
from aftercar.schema import DAYS_PER_MONTH, Col

#: Largest distance (days) of a time in months * DAYS_PER_MONTH from a whole day.
WHOLE_DAY_TOLERANCE = 1e-6


def whole_days(months: Any, what: str) -> np.ndarray:
    """Months (``days / DAYS_PER_MONTH``) back to whole days; raises if a time is not whole."""
    days = np.asarray(months, dtype=float) * DAYS_PER_MONTH
    out = np.rint(days)
    if np.any(np.abs(days - out) > WHOLE_DAY_TOLERANCE):
        raise InputError(
            f"{what}: a time is not a whole number of days; site summaries hold whole days. "
            "Fix: derive the cohort from dates (aftercar derives every time from dates)."
        )
    return out.astype(np.int64)


def event_table(months: Any, event: Any) -> dict[str, list[int]]:
    """Events and censorings per distinct whole day of finite, non-negative times.

    Parameters
    ----------
    months
        Times in months (days / DAYS_PER_MONTH); NaN or negative times are left
        out, as the analyses leave them out.
    event
        True for an event, False for a censoring.

    Returns
    -------
    dict
        ``{Col.TIME: days, "events": [...], "censored": [...]}`` sorted by time.
    """
    t = np.asarray(months, dtype=float)
    e = np.asarray(event, dtype=bool)
    ok = np.isfinite(t) & (t >= 0)
    days = whole_days(t[ok], "event table")
    uniq, inv = np.unique(days, return_inverse=True)
    ev = np.bincount(inv, weights=e[ok], minlength=len(uniq)).astype(np.int64)
    total = np.bincount(inv, minlength=len(uniq)).astype(np.int64)
    return {Col.TIME: uniq.tolist(), "events": ev.tolist(), "censored": (total - ev).tolist()}


def grouped_tables(months: Any, event: Any, group: pd.Series) -> dict[str, dict[str, Any]]:
    """:func:`event_table` per group label (sorted; rows with a missing group left out)."""
    labels = pd.Series(group).astype("string")
    codes, levels = pd.factorize(labels, sort=True)
    t = np.asarray(months, dtype=float)
    e = np.asarray(event, dtype=bool)
    return {str(lv): event_table(t[codes == i], e[codes == i]) for i, lv in enumerate(levels)}


def expand(table: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Anonymous rows of a shared event table: times in months and event flags.

    The censorings at each listed time are the number at risk there less the
    events and less the number at risk at the next listed time.
    """
    if table.get("suppressed"):
        return np.empty(0), np.empty(0, dtype=bool)
    time = np.asarray(table.get(Col.TIME, []), dtype=float)
    risk = np.asarray(table.get("n_risk", []), dtype=np.int64)
    ev = np.asarray(table.get("events", []), dtype=np.int64)
    cens = risk - ev - np.r_[risk[1:], 0]
    months = time / DAYS_PER_MONTH
    t = np.concatenate([np.repeat(months, ev), np.repeat(months, cens)])
    e = np.concatenate([np.ones(int(ev.sum()), bool), np.zeros(int(cens.sum()), bool)])
    return t, e


def _ok(count: int, k: int) -> bool:
    return count == 0 or count >= k


def _bin_ends(ev: np.ndarray, k: int) -> list[int]:
    """Greedy forward pass: the index closing each bin of >= k events (a loop over
    distinct times); a tail with fewer joins the last bin."""
    ends: list[int] = []
    acc = 0
    for i in range(len(ev)):
        acc += int(ev[i])
        if acc >= k:
            ends.append(i)
            acc = 0
    if not ends or ends[-1] != len(ev) - 1:
        ends = [*ends[:-1], len(ev) - 1]
    return ends


def _merged(values: np.ndarray, ends: list[int]) -> np.ndarray:
    starts = np.r_[0, np.asarray(ends[:-1], dtype=np.int64) + 1].astype(np.int64)
    return np.add.reduceat(values, starts)


def _shared(time, ev, cens) -> dict[str, Any]:
    exits = ev + cens
    risk = exits[::-1].cumsum()[::-1]
    return {Col.TIME: time.tolist(), "n_risk": risk.tolist(), "events": ev.tolist()}


def _mean_day(time: np.ndarray, weight: np.ndarray, ends: list[int]) -> np.ndarray:
    """Each bin's weighted mean day, rounded (its last day when the weights are 0)."""
    total = _merged(weight, ends)
    mean = _merged(time * weight, ends) / np.where(total > 0, total, 1)
    return np.where(total > 0, np.rint(mean), time[ends]).astype(np.int64)


def _binned(time, ev, cens, k: int) -> dict[str, Any]:
    """Events in bins of >= k events (consecutive days) at the mean day of each bin's
    events; censorings, separately, in bins of >= k censorings at the mean day of
    each bin's censorings. Every listed day then has 0 or >= k events and 0 or >= k
    censorings (a reader gets those as n_risk - events - the next n_risk)."""
    ends_e, ends_c = _bin_ends(ev, k), _bin_ends(cens, k)
    e2, c2 = _merged(ev, ends_e), _merged(cens, ends_c)
    te, tc = _mean_day(time, ev, ends_e), _mean_day(time, cens, ends_c)
    rows = pd.DataFrame(
        {"t": np.r_[te, tc], "e": np.r_[e2, np.zeros_like(c2)], "c": np.r_[np.zeros_like(e2), c2]}
    )
    rows = rows.loc[(rows["e"] + rows["c"]) > 0].groupby("t", sort=True).sum()
    return _shared(rows.index.to_numpy(np.int64), rows["e"].to_numpy(), rows["c"].to_numpy())


def coarsen(table: dict[str, Any], k: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The event table as shared: ``{time, n_risk, events}``, bins merged for ``k``.

    With ``k``, consecutive days are merged into bins of at least ``k`` events (a
    tail with fewer joins the last bin), each placed at the mean day of its events,
    and, separately, into bins of at least ``k`` censorings, each at the mean day
    of its censorings (both rounded). So every event count, every count of
    censorings between listed days (``n_risk[i] - events[i] - n_risk[i+1]``) is 0
    or >= ``k``, and every number at risk >= ``k``. A group with 1 to
    k-1 events, 1 to k-1 censorings, or fewer than k rows, is suppressed
    (``{"suppressed": true}``). Returns the table and a record ``{bins_before,
    bins_after, suppressed}``.
    """
    time = np.asarray(table[Col.TIME], dtype=np.int64)
    ev = np.asarray(table["events"], dtype=np.int64)
    cens = np.asarray(table["censored"], dtype=np.int64)
    bins = len(time)
    if k is None or k <= 1 or bins == 0:
        rec = {"bins_before": bins, "bins_after": bins, "suppressed": False}
        return _shared(time, ev, cens), rec
    if not (_ok(int(ev.sum()), k) and _ok(int(cens.sum()), k)) or int((ev + cens).sum()) < k:
        return {"suppressed": True}, {"bins_before": bins, "bins_after": 0, "suppressed": True}
    shared = _binned(time, ev, cens, k)
    rec = {"bins_before": bins, "bins_after": len(shared[Col.TIME]), "suppressed": False}
    return shared, rec


def count_or_none(count: int, k: int | None) -> int | None:
    """A count as shared: ``None`` (suppressed) when it is 1 to k-1."""
    count = int(count)
    return None if k is not None and 0 < count < k else count


def sketch(values: Any, per_unit: float, k: int | None) -> dict[str, Any]:
    """Counts of values rounded to ``1 / per_unit`` (a quantile sketch), bins merged to >= k.

    Each bin is ``[low, high]`` (the smallest and largest rounded value in it)
    with its count; without suppression every bin is one rounded value
    (``round(x * per_unit) / per_unit``), so pooled quantiles are exact for values
    on that grid (ages to 0.1 year, times in whole days). With ``k`` both edges
    are the bin's midpoint (the edges of the first and last bins would be the
    minimum and the maximum, one patient's value each).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    grid = np.rint(x * per_unit).astype(np.int64)
    uniq, counts = np.unique(grid, return_counts=True)
    out: dict[str, Any] = {"resolution": 1.0 / per_unit, "per_unit": per_unit}
    if k is not None and 0 < len(x) < k:
        return out | {"suppressed": True}
    ends = _bin_ends(counts, k) if k is not None and len(uniq) else list(range(len(uniq)))
    highs = uniq[ends]
    lows = np.r_[uniq[0], uniq[np.asarray(ends[:-1], dtype=np.int64) + 1]] if ends else []
    if k is not None and ends:  # a bin's edges are one patient's value: share its midpoint
        lows = highs = (lows + highs) / 2
    return out | {
        "low": [float(v / per_unit) for v in lows],
        "high": [float(v / per_unit) for v in highs],
        "count": _merged(counts, ends).tolist() if ends else [],
    }


def sketch_values(sk: dict[str, Any]) -> np.ndarray:
    """Values of a sketch: each bin's midpoint repeated by its count."""
    if sk.get("suppressed") or "count" not in sk:
        return np.empty(0)
    mid = (np.asarray(sk["low"], float) + np.asarray(sk["high"], float)) / 2
    return np.repeat(mid, np.asarray(sk["count"], dtype=np.int64))
