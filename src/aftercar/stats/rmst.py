"""Restricted mean survival time (RMST) as R ``print(survfit(...), rmean=tau)``.

The RMST up to ``tau`` is the area under the Kaplan-Meier curve from 0 to
``tau``: the expected event-free time over the first ``tau`` time units (months
in aftercar), a summary that stays interpretable when hazards are not
proportional. Its variance is R's (``survmean``): for each event time
``t_j <= tau`` with ``n_j`` at risk and ``d_j`` events, the squared area under
the curve from ``t_j`` to ``tau`` times the Greenwood increment
``d_j / (n_j (n_j - d_j))``, summed. Everything is a cumulative sum over the
distinct times of one sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import norm

from aftercar.errors import InputError
from aftercar.stats import _inputs
from aftercar.stats.km import _fit_curve

__all__ = ["RMSTResult", "rmst"]


@dataclass(frozen=True, repr=False, eq=False)
class RMSTResult:
    """Result of :func:`rmst`.

    Attributes
    ----------
    tau, conf_level
        The restriction time and the confidence level.
    table
        One row per group (``group`` None without ``by``): ``group, n, events,
        estimate, se, lower, upper`` (Wald interval ``estimate +/- z se``).
    differences
        With ``by``: one row per group after the first: ``group, reference,
        difference`` (group minus the first group), ``se`` (the square root of
        the summed variances, independent groups), ``lower, upper, z, p``.
        Empty without ``by``.
    """

    tau: float
    conf_level: float
    table: pd.DataFrame
    differences: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def to_dict(self) -> dict:
        """JSON-ready dictionary (NaN as None)."""

        def rows(frame: pd.DataFrame) -> list[dict]:
            return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")

        return {
            "tau": self.tau,
            "conf_level": self.conf_level,
            "table": rows(self.table),
            "differences": rows(self.differences),
        }

    def _repr_html_(self) -> str:
        return f"<p>RMST up to {self.tau:g}</p>" + self.table.to_html(index=False)

    def __repr__(self) -> str:
        return f"RMSTResult(tau={self.tau:g})\n{self.table.to_string(index=False)}"


def _one(time, event, entry, tau: float) -> tuple[float, float, float, float]:
    """(n, events, RMST, se) of one curve: R ``survmean`` with ``rmean = tau``."""
    fit = _fit_curve(time, event, np.ones(time.size), entry)
    t, surv = fit["time"], fit["surv"]
    keep = t < tau
    # rectangles [start, t_1), [t_1, t_2), ..., [t_m, tau): S before t_1 is 1
    edges = np.concatenate(([0.0], t[keep], [tau]))
    heights = np.concatenate(([1.0], surv[keep]))
    area = np.diff(edges) * heights
    estimate = float(area.sum())
    after = np.cumsum(area[::-1])[::-1][1:]  # area from t_j to tau, j over kept times
    n, d = fit["n_risk"][keep], fit["n_event"][keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where((d > 0) & (n > d), d / (n * (n - d)), 0.0)
    se = float(np.sqrt(np.sum(after * after * inc)))
    return float(time.size), float(event.sum()), estimate, se


def rmst(
    time, event, /, *, tau: float, by=None, entry=None, conf_level: float = 0.95
) -> RMSTResult:
    """Restricted mean survival time up to ``tau``, by group, as R ``survfit`` ``rmean``.

    Parameters
    ----------
    time
        Follow-up time (aftercar uses months = days / 30.4375).
    event
        1/True = event, 0/False = censored.
    tau
        Restriction time (> 0), in the unit of ``time``: e.g. 12 or 24 months.
        Beyond the last observed time the curve is carried at its last value,
        as R does.
    by
        Optional group labels: one RMST per group (sorted labels) and the
        difference of each group from the first.
    entry
        Optional delayed-entry times (< ``time``), as ``Surv(entry, time, event)``.
    conf_level
        Level of the Wald intervals.

    Returns
    -------
    RMSTResult
        ``table`` (estimate, se, lower, upper per group), ``differences``.

    Examples
    --------
    >>> r = rmst([2, 4, 6, 8], [1, 1, 1, 1], tau=5)
    >>> float(r.table["estimate"].iloc[0])  # 2 x 1 + 2 x 0.75 + 1 x 0.5
    4.0

    References
    ----------
    Royston P, Parmar MKB. Restricted mean survival time: an alternative to the
    hazard ratio. BMC Med Res Methodol 2013;13:152.
    Therneau TM. survival 3.5-3, ``survmean`` (``print.survfit(rmean=)``).
    """
    t = _inputs.as_float(time, "time")
    if t.size == 0:
        raise InputError("rmst needs at least one subject; `time` is empty.")
    e = _inputs.as_event(event, n=t.size)
    en = _inputs.as_entry(entry, t)
    t, en = _inputs.timefix(t, en)
    tau = float(_inputs.as_float([tau], "tau")[0])
    if tau <= 0:
        raise InputError(f"rmst: tau must be > 0; got {tau!r}. Fix: give the horizon, e.g. 12.")
    if not 0 < conf_level < 1:
        raise InputError(f"rmst: conf_level must be in (0, 1); got {conf_level!r}.")
    if by is None:
        labels, codes = [None], np.zeros(t.size, dtype=np.int64)
    else:
        labels, codes = _inputs.factorize(_inputs.as_labels(by, "by", n=t.size))
    rows = []
    for g, label in enumerate(labels):  # one vectorised curve per group
        m = codes == g
        rows.append((label, *_one(t[m], e[m], None if en is None else en[m], tau)))
    z = float(ndtri(1 - (1 - conf_level) / 2))
    table = pd.DataFrame(rows, columns=["group", "n", "events", "estimate", "se"])
    table["lower"] = table["estimate"] - z * table["se"]
    table["upper"] = table["estimate"] + z * table["se"]
    return RMSTResult(tau, float(conf_level), table, _differences(table, z))


def _differences(table: pd.DataFrame, z: float) -> pd.DataFrame:
    ref = table.iloc[0]
    rest = table.iloc[1:]
    diff = rest["estimate"].to_numpy() - ref["estimate"]
    se = np.sqrt(rest["se"].to_numpy() ** 2 + ref["se"] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        zstat = diff / se
    return pd.DataFrame(
        {
            "group": rest["group"].to_numpy(),
            "reference": [ref["group"]] * len(rest),
            "difference": diff,
            "se": se,
            "lower": diff - z * se,
            "upper": diff + z * se,
            "z": zstat,
            "p": 2 * norm.sf(np.abs(zstat)),
        }
    )
