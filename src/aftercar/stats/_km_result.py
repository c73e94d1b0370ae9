"""The result of :func:`aftercar.stats.kaplan_meier`: one type, one curve or several.

A fit without ``by=`` holds one curve; a fit with ``by=`` holds one curve per
group. The type and every method are the same either way:

* ``table`` / ``to_frame()``: the curve rows, with a leading ``group`` column
  when the fit is grouped;
* ``quantiles(p)``, ``medians()``, ``at(times)``: DataFrames, one row per group
  (or per group and time) with a ``group`` column (``None`` for a single curve);
* ``quantile(p)``, ``median()``: one :class:`QuantileEstimate` for a single
  curve (a grouped fit refuses, naming ``quantiles``/``curve``);
* ``groups``, ``curve(label)`` / ``fit[label]``, ``items()``: the labels and each
  group's own single-curve :class:`KaplanMeier`;
* lifelines-style ``survival_function_`` and ``confidence_interval_``, and
  ``plot(ax=None)``.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from aftercar.errors import InputError
from aftercar.stats import _inputs

_TOL = float(np.sqrt(np.finfo(float).eps))  # R: tolerance = sqrt(.Machine$double.eps)


class QuantileEstimate(NamedTuple):
    """A survival-time quantile and its confidence limits (None = not estimable)."""

    estimate: float | None
    lower: float | None
    upper: float | None


def _approx_right(xp: np.ndarray, index: np.ndarray, p: float) -> float:
    """R ``approx(xp, index, p, method="constant", f=1)`` for one ``p`` (NaN outside)."""
    if xp.size == 0 or p < xp[0] or p > xp[-1]:
        return np.nan
    return float(index[np.searchsorted(xp, p, side="left")])


def findq(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """R survival's ``findq``: quantile of a step curve with the midpoint rule for ties.

    A curve whose last value is within sqrt(eps) below ``p`` reaches it (e.g. S =
    0.5000000000000001 with fractional weights), as in R's ``quantile(fit)`` with its
    default ``probs``; R's early NA return tests ``max(y) < min(probs)`` over all
    probs at once, so only ``quantile(fit, p)`` alone, with that one ``p``, gives NA.
    """
    if np.all(np.isnan(y)) or np.nanmax(y) < p - _TOL:
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
    quant = np.nan if np.isnan(i1) or np.isnan(i2) else (x[int(i1)] + x[int(i2)]) / 2
    if p == 0:
        quant = x[0]
    # the last point, after p == 0 as in R: a curve that never leaves 1 (all censored, or
    # a limit curve stuck at 1) has no quantile 0 either
    if not np.isnan(y[-1]) and abs(p - y[-1]) < _TOL:
        quant = np.nan if np.isnan(i1) else (x[int(i1)] + xmax) / 2
    return float(quant)


def _none(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


@dataclass(frozen=True, repr=False, eq=False)
class KaplanMeier:
    """Kaplan-Meier curve(s) returned by :func:`aftercar.stats.kaplan_meier`.

    Attributes
    ----------
    table
        One row per distinct time: ``time, n_risk, n_event, n_censor, surv,
        std_err, lower, upper`` (counts are weighted sums when weights are
        given); a grouped fit stacks its curves with a leading ``group`` column.
    conf_type, conf_level
        The interval type and level used for ``lower``/``upper``.
    start_time
        Where the curve starts at S = 1 (``min(0, time)``, or ``min(0, entry)``).
    groups
        Group labels in level (sorted) order; ``()`` for a single curve.
    curves
        Each group's single-curve :class:`KaplanMeier`, aligned with ``groups``
        (``()`` for a single curve).
    variance
        ``"greenwood"``, ``"robust"`` (infinitesimal jackknife, fractional
        weights) or ``"cluster"`` (jackknife summed within ``cluster``).
    """

    table: pd.DataFrame
    conf_type: str
    conf_level: float
    start_time: float = 0.0
    groups: tuple = ()
    curves: tuple[KaplanMeier, ...] = ()
    variance: str = "greenwood"

    # -- structure -------------------------------------------------------

    @property
    def is_grouped(self) -> bool:
        """True when the fit was made with ``by=`` (one curve per group)."""
        return bool(self.groups)

    def items(self) -> Iterator[tuple[Any, KaplanMeier]]:
        """``(label, single-curve fit)`` pairs; ``(None, self)`` for a single curve."""
        if not self.is_grouped:
            return iter([(None, self)])
        return iter(zip(self.groups, self.curves, strict=True))

    def curve(self, label: Any = None) -> KaplanMeier:
        """The single-curve fit of group ``label`` (a single curve returns itself)."""
        if not self.is_grouped:
            if label is None:
                return self
            raise KeyError(label)
        for g, c in zip(self.groups, self.curves, strict=True):
            if g == label:
                return c
        raise KeyError(label)

    def __getitem__(self, label: Any) -> KaplanMeier:
        return self.curve(label)

    @property
    def n(self) -> float:
        """(Weighted) number of subjects, over all groups."""
        return float(self.table["n_event"].sum() + self.table["n_censor"].sum())

    @property
    def n_events(self) -> float:
        """(Weighted) number of events, over all groups."""
        return float(self.table["n_event"].sum())

    # -- quantiles and landmarks ------------------------------------------

    def quantile(self, p: float) -> QuantileEstimate:
        """Time by which a fraction ``p`` has had the event, with confidence limits.

        R's rule (``quantile.survfit``): the estimate is the first time where
        ``1 - S(t) >= p``; if ``1 - S`` equals ``p`` (within sqrt(machine eps)) on
        a flat segment, the midpoint of that segment (Brookmeyer & Crowley 1982
        limits come from the same rule applied to the lower and upper curves).
        ``None`` where the curve (or limit curve) never reaches ``p``. A grouped
        fit has several answers: use :meth:`quantiles` or ``fit[label].quantile``.
        """
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise InputError(f"quantile p must be in [0, 1]; got {p!r}.")
        if self.is_grouped:
            raise InputError(
                f"this Kaplan-Meier fit has {len(self.groups)} curves (by=); quantile() and "
                "median() answer for one curve. Fix: use .quantiles(p) / .medians() for a "
                "frame by group, or fit[label].quantile(p) for one group."
            )
        tab = self.table
        x = np.concatenate(([0.0], tab["time"].to_numpy(float)))  # R: firstx = 0

        def q(col: str) -> float | None:
            y = np.concatenate(([0.0], 1.0 - tab[col].to_numpy(float)))
            return _none(findq(x, y, p))

        return QuantileEstimate(q("surv"), q("lower"), q("upper"))

    def median(self) -> QuantileEstimate:
        """Median survival time with confidence limits (``quantile(0.5)``)."""
        return self.quantile(0.5)

    def quantiles(self, p: float) -> pd.DataFrame:
        """One row per curve: ``group, estimate, lower, upper`` (NaN = not estimable)."""
        rows = [{"group": g, **c.quantile(p)._asdict()} for g, c in self.items()]
        frame = pd.DataFrame(rows, columns=["group", "estimate", "lower", "upper"])
        return frame.astype({"estimate": float, "lower": float, "upper": float})

    def medians(self) -> pd.DataFrame:
        """Median by curve, see :meth:`quantiles`."""
        return self.quantiles(0.5)

    def at(self, times) -> pd.DataFrame:
        """Survival and limits at landmark ``times`` (R ``summary(fit, times=)``).

        Columns ``time, surv, lower, upper`` (a grouped fit adds a leading
        ``group`` column, one block of rows per group). The curve is
        right-continuous: at an event time the value after the drop is returned;
        before the first time S = 1 with limits 1. Times after the last observed
        time are not estimable: R drops them, we return them with NaN so that
        nothing disappears silently.
        """
        if self.is_grouped:
            return _stack({g: c.at(times) for g, c in self.items()})
        t = _inputs.as_float(np.atleast_1d(times), "times")
        tab = self.table
        grid = np.concatenate(([self.start_time], tab["time"].to_numpy(float)))
        idx = np.maximum(np.searchsorted(grid, t, side="right") - 1, 0)
        out = {"time": t}
        for col in ("surv", "lower", "upper"):
            vals = np.concatenate(([1.0], tab[col].to_numpy(float)))[idx]
            out[col] = np.where(t > grid[-1], np.nan, vals)
        return pd.DataFrame(out)

    # -- lifelines-style accessors and plot -------------------------------

    def _timeline(self) -> np.ndarray:
        return np.unique(np.concatenate(([self.start_time], self.table["time"].to_numpy(float))))

    def _label(self, group: Any) -> str:
        return "KM_estimate" if group is None else str(group)

    @property
    def survival_function_(self) -> pd.DataFrame:
        """S(t) on the timeline (start time and every distinct time), as lifelines.

        Index ``timeline``; one column ``KM_estimate`` (a grouped fit: one column
        per group label, NaN after that group's last time).
        """
        timeline = self._timeline()
        cols = {self._label(g): c.at(timeline)["surv"].to_numpy() for g, c in self.items()}
        return pd.DataFrame(cols, index=pd.Index(timeline, name="timeline"))

    @property
    def confidence_interval_(self) -> pd.DataFrame:
        """Pointwise limits on the same timeline, columns ``<label>_lower_<level>``/``_upper_``."""
        timeline = self._timeline()
        cols = {}
        for g, c in self.items():
            at = c.at(timeline)
            cols[f"{self._label(g)}_lower_{self.conf_level:g}"] = at["lower"].to_numpy()
            cols[f"{self._label(g)}_upper_{self.conf_level:g}"] = at["upper"].to_numpy()
        return pd.DataFrame(cols, index=pd.Index(timeline, name="timeline"))

    def plot(self, ax=None, *, ci: bool = True, censor_marks: bool = True, **kwargs):
        """Draw the step curve(s) on a matplotlib ``ax`` (a new one if None); return ``ax``.

        ``ci`` shades the pointwise limits; ``censor_marks`` puts a ``+`` at
        censor-only times; other keyword arguments go to ``ax.step``.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        for g, c in self.items():
            tab = c.table
            x = np.concatenate(([c.start_time], tab["time"].to_numpy(float)))
            step = ax.step(
                x,
                np.concatenate(([1.0], tab["surv"])),
                where="post",
                label=self._label(g),
                **kwargs,
            )
            colour = step[0].get_color()
            if ci:
                lo = np.concatenate(([1.0], tab["lower"].to_numpy(float)))
                hi = np.concatenate(([1.0], tab["upper"].to_numpy(float)))
                ax.fill_between(x, lo, hi, step="post", alpha=0.2, color=colour, linewidth=0)
            if censor_marks:
                cens = (tab["n_censor"] > 0) & (tab["n_event"] == 0)
                ax.plot(tab["time"][cens], tab["surv"][cens], "+", color=colour)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("Survival probability")
        if self.is_grouped:
            ax.legend()
        return ax

    # -- export -----------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`table`."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (NaN as None).

        A single curve: options, n, events, median and the table; a grouped fit:
        options, n, events and ``groups``: ``{str(label): curve.to_dict()}``.
        """
        head = {
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "variance": self.variance,
            "n": self.n,
            "events": self.n_events,
        }
        if self.is_grouped:
            return head | {"groups": {str(g): c.to_dict() for g, c in self.items()}}
        table = self.table.astype(float).replace({np.nan: None})
        return head | {
            "median": self.median()._asdict(),
            "table": {col: table[col].tolist() for col in table.columns},
        }

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + self.table.to_html(index=False)

    def __repr__(self) -> str:
        if self.is_grouped:
            inner = ", ".join(f"{g!r}: {c!r}" for g, c in self.items())
            return f"KaplanMeier(groups={{{inner}}})"
        med = self.median()
        return (
            f"KaplanMeier(n={self.n:g}, events={self.n_events:g}, median={med.estimate} "
            f"({self.conf_level:.0%} CI {med.lower}-{med.upper}, {self.conf_type}))"
        )


def _stack(frames: dict) -> pd.DataFrame:
    parts = [f.assign(group=label) for label, f in frames.items()]
    out = pd.concat(parts, ignore_index=True)
    return out[["group", *[c for c in out.columns if c != "group"]]]


def grouped(labels, curves: list[KaplanMeier]) -> KaplanMeier:
    """Combine single-curve fits into one grouped :class:`KaplanMeier`."""
    first = curves[0]
    return KaplanMeier(
        table=_stack({g: c.table for g, c in zip(labels, curves, strict=True)}),
        conf_type=first.conf_type,
        conf_level=first.conf_level,
        start_time=min(c.start_time for c in curves),
        groups=tuple(labels),
        curves=tuple(curves),
        variance=first.variance,
    )
