"""Kaplan-Meier survival curves that reproduce R ``survival::survfit``.

Implemented here rather than taken from a library: statsmodels' ``SurvfuncRight``
matches R's estimates but has no delayed entry with weights, no R-style quantile
midpoint rule for all three interval types and no per-row Python-free grouping;
lifelines and scikit-survival differ from R in the interval and quantile
conventions. The whole curve is computed from one sort (``np.unique``) and
cumulative sums, so 10^6 rows take a fraction of a second.

Conventions copied from R survival 3.5-3 (``survfitKM``, ``survfit_confint``,
``quantile.survfit``, ``summary.survfit``):

* one row per distinct time, censor-only times included (``censored=TRUE``);
  a subject censored at an event time counts as at risk at that time;
* with ``entry`` (left truncation) the risk set at ``t`` is ``entry < t <= time``;
* Greenwood variance, weighted counts with case weights. When any weight is not a
  whole number R switches to the infinitesimal-jackknife (robust) variance by
  default, and so do we;
* ``std_err`` is the standard error of the survival estimate (R's summary value,
  i.e. survival times the standard error of the cumulative hazard);
* intervals: ``plain`` is S +/- z se clipped to [0, 1], ``log`` is
  exp(log S +/- z se_H) capped at 1, ``log-log`` is on log(-log S); limits are
  missing (NaN) where R gives NA: S = 0 for every type (the standard error is
  0 x inf) and S = 1 for log-log.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.special import ndtri

from aftercar.errors import InputError
from aftercar.stats import _inputs

CONF_TYPES = ("log-log", "log", "plain")
TABLE_COLUMNS = ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper")
_TOL = float(np.sqrt(np.finfo(float).eps))  # R: tolerance = sqrt(.Machine$double.eps)


class QuantileEstimate(NamedTuple):
    """A survival-time quantile and its confidence limits (None = not estimable)."""

    estimate: float | None
    lower: float | None
    upper: float | None


# ---------------------------------------------------------------------------
# core computation


def _risk_set(ut: np.ndarray, exits: np.ndarray, entry, w) -> np.ndarray:
    """Weighted number at risk at each distinct time ``ut`` (entry < t <= time)."""
    n_risk = np.cumsum(exits[::-1])[::-1]
    if entry is not None:
        order = np.argsort(entry, kind="stable")
        cw = np.concatenate(([0.0], np.cumsum(w[order])))
        not_entered = cw[-1] - cw[np.searchsorted(entry[order], ut, side="left")]
        n_risk = n_risk - not_entered
    return n_risk


def _greenwood(n_risk, n_event) -> np.ndarray:
    """Cumulative Greenwood sum d / (n (n - d)); inf once n == d (S reaches 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    return np.cumsum(inc)


def _robust_var(fit: dict, inv, event, w, entry) -> np.ndarray:
    """Infinitesimal-jackknife variance of log S (R's default for non-integer weights).

    The influence of subject i on log S(t) is
    ``-[d_i 1{T_i<=t} / (Y(T_i) - D(T_i)) - (A(min(t, T_i)) - A(e_i))]`` with
    ``A(t) = sum_{s<=t} D(s) / (Y(s) (Y(s) - D(s)))``; the variance sums the squared
    weighted influences, split into subjects who left by ``t`` (a cumulative sum)
    and those still at risk (a quadratic in ``A(t)`` with suffix sums).
    """
    ut, n_risk, n_event = fit["time"], fit["n_risk"], fit["n_event"]
    k = ut.size
    a_cum = _greenwood(n_risk, n_event)
    a_end = a_cum[inv]
    a_entry = np.zeros_like(w)
    if entry is not None:
        pos = np.searchsorted(ut, entry, side="right") - 1
        a_entry = np.where(pos >= 0, a_cum[np.maximum(pos, 0)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        jump = np.where(event, 1.0 / (n_risk - n_event)[inv], 0.0)
        part = jump - (a_end - a_entry)
        w2 = w * w
        gone = np.cumsum(np.bincount(inv, weights=w2 * part * part, minlength=k))
    sums = []
    for m in range(3):
        vals = w2 * a_entry**m
        by_exit = np.bincount(inv, weights=vals, minlength=k)
        after = np.concatenate((np.cumsum(by_exit[::-1])[::-1][1:], [0.0]))
        if entry is not None:
            order = np.argsort(entry, kind="stable")
            cv = np.concatenate(([0.0], np.cumsum(vals[order])))
            after = after - (cv[-1] - cv[np.searchsorted(entry[order], ut, side="left")])
        sums.append(after)
    with np.errstate(invalid="ignore"):
        at_risk = a_cum**2 * sums[0] - 2 * a_cum * sums[1] + sums[2]
        var = gone + at_risk
    return np.where(fit["surv"] > 0, np.maximum(var, 0.0), 0.0)


def _fit_curve(time, event, w, entry) -> dict[str, np.ndarray]:
    """Return the survfit-style arrays for one curve (all distinct times)."""
    ut, inv = np.unique(time, return_inverse=True)
    inv = inv.reshape(-1)
    k = ut.size
    n_event = np.bincount(inv, weights=np.where(event, w, 0.0), minlength=k)
    n_censor = np.bincount(inv, weights=np.where(event, 0.0, w), minlength=k)
    n_risk = _risk_set(ut, n_event + n_censor, entry, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n_risk > 0, n_event / n_risk, 0.0)
    fit = {
        "time": ut,
        "n_risk": n_risk,
        "n_event": n_event,
        "n_censor": n_censor,
        "surv": np.cumprod(1.0 - hazard),
    }
    if np.all(w == np.floor(w)):
        var_log = _greenwood(n_risk, n_event)
    else:
        var_log = _robust_var(fit, inv, event, w, entry)
    fit["se_log"] = np.sqrt(var_log)
    return fit


def _confint(surv, se_log, conf_type: str, conf_level: float):
    """Pointwise limits exactly as R's ``survfit_confint`` (logse = TRUE)."""
    z = float(ndtri(1.0 - (1.0 - conf_level) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = se_log * surv * z
            lower = np.maximum(surv - half, 0.0)
            upper = np.minimum(surv + half, 1.0)
            bad = np.isnan(half)
            return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(xx) - z * se_log), np.minimum(np.exp(np.log(xx) + z * se_log), 1.0)
        xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
        se2 = z * se_log / np.log(xx)
        loglog = np.log(-np.log(xx))
        return np.exp(-np.exp(loglog - se2)), np.exp(-np.exp(loglog + se2))


def _check_options(conf_type: str, conf_level: float) -> None:
    if conf_type not in CONF_TYPES:
        raise InputError(
            f"conf_type must be one of {', '.join(CONF_TYPES)}; got {conf_type!r}. "
            "Fix: use 'log-log' (default), 'log' (R's default) or 'plain'."
        )
    if not 0.0 < float(conf_level) < 1.0:
        raise InputError(f"conf_level must be strictly between 0 and 1; got {conf_level!r}.")


# ---------------------------------------------------------------------------
# quantiles (R's findq)


def _approx_right(xp: np.ndarray, index: np.ndarray, p: float) -> float:
    """R ``approx(xp, index, p, method="constant", f=1)`` for one ``p`` (NaN outside)."""
    if xp.size == 0 or p < xp[0] or p > xp[-1]:
        return np.nan
    return float(index[np.searchsorted(xp, p, side="left")])


def _findq(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """R survival's ``findq``: quantile of a step curve with the midpoint rule for ties."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return np.nan
    xmax = x[-1]
    _, first = np.unique(y, return_index=True)  # NaN counts once, like duplicated()
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    idx = np.arange(y.size, dtype=float)
    ok = ~np.isnan(y)
    order = np.argsort(y[ok], kind="stable")
    ys, ids = y[ok][order], idx[ok][order]
    i1 = _approx_right(ys + _TOL, ids, p)
    i2 = _approx_right(ys - _TOL, ids, p)
    if p == 0:
        return float(x[0])
    quant = np.nan if np.isnan(i1) or np.isnan(i2) else (x[int(i1)] + x[int(i2)]) / 2
    if not np.isnan(y[-1]) and abs(p - y[-1]) < _TOL and not np.isnan(i1):
        quant = (x[int(i1)] + xmax) / 2
    return float(quant)


def _none(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


# ---------------------------------------------------------------------------
# results


@dataclass(frozen=True, repr=False)
class KaplanMeier:
    """One Kaplan-Meier curve (see :func:`kaplan_meier`).

    Attributes
    ----------
    table
        One row per distinct time: ``time, n_risk, n_event, n_censor, surv,
        std_err, lower, upper`` (counts are weighted sums when weights are given).
    conf_type, conf_level
        The interval type and level used for ``lower``/``upper``.
    start_time
        Where the curve starts at S = 1 (``min(0, time)``, or ``min(0, entry)``).
    """

    table: pd.DataFrame
    conf_type: str
    conf_level: float
    start_time: float = 0.0

    @property
    def n(self) -> float:
        """(Weighted) number of subjects."""
        return float(self.table["n_event"].sum() + self.table["n_censor"].sum())

    @property
    def n_events(self) -> float:
        """(Weighted) number of events."""
        return float(self.table["n_event"].sum())

    def quantile(self, p: float) -> QuantileEstimate:
        """Time by which a fraction ``p`` has had the event, with confidence limits.

        R's rule (``quantile.survfit``): the estimate is the first time where
        ``1 - S(t) >= p``; if ``1 - S`` equals ``p`` (within sqrt(machine eps)) on
        a flat segment, the midpoint of that segment (Brookmeyer & Crowley 1982
        limits come from the same rule applied to the lower and upper curves).
        ``None`` where the curve (or limit curve) never reaches ``p``.
        """
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise InputError(f"quantile p must be in [0, 1]; got {p!r}.")
        tab = self.table
        x = np.concatenate(([0.0], tab["time"].to_numpy(float)))  # R: firstx = 0

        def q(curve: str) -> float | None:
            y = np.concatenate(([0.0], 1.0 - tab[curve].to_numpy(float)))
            return _none(_findq(x, y, p))

        return QuantileEstimate(q("surv"), q("lower"), q("upper"))

    def median(self) -> QuantileEstimate:
        """Median survival time with confidence limits (``quantile(0.5)``)."""
        return self.quantile(0.5)

    def at(self, times) -> pd.DataFrame:
        """Survival and limits at landmark ``times`` (R ``summary(fit, times=)``).

        The curve is right-continuous: at a time equal to an event time the value
        after the drop is returned; before the first time S = 1 with limits 1.
        Times after the last observed time are not estimable: R drops them, we
        return them with NaN so that nothing disappears silently.
        """
        t = _inputs.as_float(np.atleast_1d(times), "times")
        tab = self.table
        grid = np.concatenate(([self.start_time], tab["time"].to_numpy(float)))
        idx = np.maximum(np.searchsorted(grid, t, side="right") - 1, 0)
        out = {"time": t}
        for col in ("surv", "lower", "upper"):
            vals = np.concatenate(([1.0], tab[col].to_numpy(float)))[idx]
            out[col] = np.where(t > grid[-1], np.nan, vals)
        return pd.DataFrame(out)

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`table`."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (NaN as None): options, n, events, median and the table."""
        table = self.table.astype(float).replace({np.nan: None})
        return {
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "n": self.n,
            "events": self.n_events,
            "median": self.median()._asdict(),
            "table": {col: table[col].tolist() for col in table.columns},
        }

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + self.table.to_html(index=False)

    def __repr__(self) -> str:
        med = self.median()
        return (
            f"KaplanMeier(n={self.n:g}, events={self.n_events:g}, median={med.estimate} "
            f"({self.conf_level:.0%} CI {med.lower}-{med.upper}, {self.conf_type}))"
        )


@dataclass(frozen=True, repr=False)
class KaplanMeierGroups(Mapping):
    """Kaplan-Meier curves by group: a read-only mapping label -> :class:`KaplanMeier`.

    Iteration order is the sorted order of the group labels (R's factor levels).
    """

    curves: tuple[tuple[Any, KaplanMeier], ...]

    def __getitem__(self, key) -> KaplanMeier:
        for label, curve in self.curves:
            if label == key:
                return curve
        raise KeyError(key)

    def __iter__(self) -> Iterator:
        return iter(label for label, _ in self.curves)

    def __len__(self) -> int:
        return len(self.curves)

    def _stack(self, frames: dict) -> pd.DataFrame:
        parts = [f.assign(group=label) for label, f in frames.items()]
        out = pd.concat(parts, ignore_index=True)
        return out[["group", *[c for c in out.columns if c != "group"]]]

    def quantile(self, p: float) -> pd.DataFrame:
        """One row per group: ``group, estimate, lower, upper`` (NaN = not estimable)."""
        rows = [{"group": g, **c.quantile(p)._asdict()} for g, c in self.curves]
        frame = pd.DataFrame(rows, columns=["group", "estimate", "lower", "upper"])
        return frame.astype({"estimate": float, "lower": float, "upper": float})

    def median(self) -> pd.DataFrame:
        """Median by group, see :meth:`quantile`."""
        return self.quantile(0.5)

    def at(self, times) -> pd.DataFrame:
        """Landmark survival by group: ``group, time, surv, lower, upper``."""
        return self._stack({g: c.at(times) for g, c in self.curves})

    def to_frame(self) -> pd.DataFrame:
        """All tables stacked with a leading ``group`` column."""
        return self._stack({g: c.table for g, c in self.curves})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{str(label): curve.to_dict()}`` in level order."""
        return {str(g): c.to_dict() for g, c in self.curves}

    def __repr__(self) -> str:
        inner = ", ".join(f"{g!r}: {c!r}" for g, c in self.curves)
        return f"KaplanMeierGroups({inner})"


def _build(time, event, w, entry, conf_type, conf_level) -> KaplanMeier:
    fit = _fit_curve(time, event, w, entry)
    lower, upper = _confint(fit["surv"], fit["se_log"], conf_type, conf_level)
    with np.errstate(invalid="ignore"):
        std_err = fit["surv"] * fit["se_log"]
    table = pd.DataFrame(
        {
            "time": fit["time"],
            "n_risk": fit["n_risk"],
            "n_event": fit["n_event"],
            "n_censor": fit["n_censor"],
            "surv": fit["surv"],
            "std_err": std_err,
            "lower": lower,
            "upper": upper,
        }
    )
    lowest = time if entry is None else entry
    start = min(0.0, float(lowest.min())) if lowest.size else 0.0
    return KaplanMeier(table, conf_type, float(conf_level), start)


def kaplan_meier(
    time,
    event,
    *,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    weights=None,
    entry=None,
    by=None,
    timefix: bool = True,
) -> KaplanMeier | KaplanMeierGroups:
    """Kaplan-Meier estimate of the survival function, identical to R ``survfit``.

    Parameters
    ----------
    time
        Follow-up time of each subject (any unit; aftercar uses months =
        days / 30.4375). Array-like of finite numbers.
    event
        1/True if the event was observed at ``time``, 0/False if censored.
    conf_type
        ``"log-log"`` (default), ``"log"`` or ``"plain"``. **Note:** R's
        ``survfit`` defaults to ``"log"``; aftercar defaults to ``"log-log"``, whose
        limits stay inside [0, 1] and behave better in the tails (Kalbfleisch &
        Prentice). Pass ``conf_type="log"`` to reproduce R's default output.
    conf_level
        Confidence level of the pointwise limits and quantile limits.
    weights
        Optional non-negative case weights. With whole-number weights the counts
        are weighted and the variance is Greenwood's on weighted counts; with any
        fractional weight the variance is the robust (infinitesimal jackknife)
        one, as R chooses by default.
    entry
        Optional delayed-entry (left-truncation) times, each < ``time``; a subject
        is at risk at ``t`` when ``entry < t <= time`` (R ``Surv(entry, time, event)``).
    by
        Optional group labels; then a :class:`KaplanMeierGroups` mapping of one
        curve per group (sorted labels) is returned instead of one curve.
    timefix
        Merge times that differ by less than sqrt(machine eps) before fitting, as
        R does by default (``aeqSurv``); ``False`` compares times exactly.

    Returns
    -------
    KaplanMeier or KaplanMeierGroups
        ``.table`` (``time, n_risk, n_event, n_censor, surv, std_err, lower,
        upper``; one row per distinct time including censor-only times, as R's
        ``summary(fit, censored=TRUE)``), ``.median()``, ``.quantile(p)``,
        ``.at(times)``, ``.to_frame()``.

    Raises
    ------
    InputError
        Missing or non-finite values, event not 0/1, unequal lengths, negative
        weights, ``entry >= time``, unknown ``conf_type``.

    Examples
    --------
    >>> fit = kaplan_meier([1, 2, 2, 3, 4, 4, 5, 6], [0, 1, 0, 1, 1, 1, 0, 1], conf_type="log")
    >>> fit.table[["time", "n_risk", "surv"]].round(4).values.tolist()[1]
    [2.0, 7.0, 0.8571]
    >>> fit.median()
    QuantileEstimate(estimate=4.0, lower=3.0, upper=None)

    References
    ----------
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations.
    J Am Stat Assoc 1958;53:457-481.
    Greenwood M. The natural duration of cancer. Rep Public Health Med Subj 1926;33.
    Brookmeyer R, Crowley J. A confidence interval for the median survival time.
    Biometrics 1982;38:29-41.
    Therneau TM. A Package for Survival Analysis in R (survival 3.5-3):
    ``survfitKM``, ``survfit_confint``, ``quantile.survfit``.
    """
    _check_options(conf_type, conf_level)
    t = _inputs.as_float(time, "time")
    if t.size == 0:
        raise InputError("kaplan_meier needs at least one subject; `time` is empty.")
    e = _inputs.as_event(event, n=t.size)
    w = _inputs.as_weights(weights, n=t.size)
    en = _inputs.as_entry(entry, t)
    if timefix:
        t, en = _inputs.timefix(t, en)
    if by is None:
        return _build(t, e, w, en, conf_type, conf_level)
    levels, codes = _inputs.factorize(_inputs.as_labels(by, "by", n=t.size))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(levels) + 1))
    curves = []
    for g, label in enumerate(levels):
        rows = order[bounds[g] : bounds[g + 1]]
        sub_en = None if en is None else en[rows]
        curves.append((label, _build(t[rows], e[rows], w[rows], sub_en, conf_type, conf_level)))
    return KaplanMeierGroups(tuple(curves))
