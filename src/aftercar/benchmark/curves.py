"""Reference survival curves for benchmark comparisons.

A benchmark curve is what a one-sample test compares a cohort against: a
known survival function ``S0(t)`` with cumulative hazard ``H0(t) = -log S0(t)``.
When a publication gives a Kaplan-Meier curve with numbers at risk, the curve
is the Nelson-Aalen estimate from reconstructed IPD (:class:`StepCurve`); when
it gives only a median and landmark rates, a parametric curve is fitted to
those published points: exponential (one parameter; the median), Weibull (two
parameters; median plus one landmark, least squares on ``log H`` when more are
given) or piecewise exponential (a constant hazard between consecutive
published points, passing through every one of them).

Times are in months (days / 30.4375) unless a benchmark file says otherwise.

References
----------
Finkelstein DM, Muzikansky A, Schoenfeld DA. Comparing survival of a sample to
that of a standard population. J Natl Cancer Inst 2003;95(19):1434-1439.
Collett D. Modelling Survival Data in Medical Research, 3rd ed. CRC Press,
2015, section 5.1 (Weibull), 6.1 (piecewise exponential).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from aftercar.errors import InputError

__all__ = [
    "ExponentialCurve",
    "PiecewiseExponentialCurve",
    "ReferenceCurve",
    "StepCurve",
    "WeibullCurve",
    "fit_reference_curve",
]

_LN2 = float(np.log(2.0))


class ReferenceCurve:
    """Base class: a survival function defined by its cumulative hazard."""

    kind: str = "curve"

    def cumhaz(self, t: np.ndarray | Sequence[float] | float) -> np.ndarray:
        """Cumulative hazard ``H0(t)`` (dimensionless) at times ``t`` (months)."""
        raise NotImplementedError

    def survival(self, t: np.ndarray | Sequence[float] | float) -> np.ndarray:
        """Survival ``S0(t) = exp(-H0(t))``."""
        return np.exp(-self.cumhaz(t))

    def median(self) -> float | None:
        """Time at which ``S0`` first reaches 0.5, or ``None`` if it never does."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, object]:
        """JSON-ready description (kind and parameters)."""
        raise NotImplementedError


@dataclass(frozen=True)
class ExponentialCurve(ReferenceCurve):
    """Constant hazard ``rate`` per month: ``H0(t) = rate * t``."""

    rate: float
    kind: str = field(default="exponential", init=False)

    @classmethod
    def from_median(cls, median: float) -> ExponentialCurve:
        """Exponential curve with the given median (months): ``rate = log 2 / median``."""
        return cls(_LN2 / float(median))

    def cumhaz(self, t):
        return self.rate * np.clip(np.asarray(t, dtype=float), 0.0, None)

    def median(self) -> float:
        return _LN2 / self.rate

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "rate_per_month": self.rate, "median": self.median()}


@dataclass(frozen=True)
class WeibullCurve(ReferenceCurve):
    """Weibull curve ``H0(t) = (t / scale) ** shape`` (scale in months)."""

    shape: float
    scale: float
    kind: str = field(default="weibull", init=False)

    def cumhaz(self, t):
        return (np.clip(np.asarray(t, dtype=float), 0.0, None) / self.scale) ** self.shape

    def median(self) -> float:
        return self.scale * _LN2 ** (1.0 / self.shape)

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "shape": self.shape, "scale": self.scale,
                "median": self.median()}  # fmt: skip


@dataclass(frozen=True)
class PiecewiseExponentialCurve(ReferenceCurve):
    """Piecewise-constant hazard: ``rates[k]`` on ``[breaks[k], breaks[k+1])``.

    ``breaks`` starts at 0; the last rate extends beyond the last break.
    """

    breaks: tuple[float, ...]
    rates: tuple[float, ...]
    kind: str = field(default="piecewise_exponential", init=False)

    def cumhaz(self, t):
        t = np.clip(np.asarray(t, dtype=float), 0.0, None)
        b = np.asarray(self.breaks, dtype=float)
        r = np.asarray(self.rates, dtype=float)
        h_at_breaks = np.concatenate([[0.0], np.cumsum(np.diff(b) * r[:-1])])
        k = np.searchsorted(b, t, side="right") - 1
        return h_at_breaks[k] + r[k] * (t - b[k])

    def median(self) -> float | None:
        b = np.asarray(self.breaks, dtype=float)
        r = np.asarray(self.rates, dtype=float)
        h_at_breaks = np.concatenate([[0.0], np.cumsum(np.diff(b) * r[:-1])])
        k = int(np.searchsorted(h_at_breaks, _LN2, side="right") - 1)
        if r[k] <= 0:
            return None
        return float(b[k] + (_LN2 - h_at_breaks[k]) / r[k])

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "breaks": list(self.breaks), "rates_per_month":
                list(self.rates), "median": self.median()}  # fmt: skip


@dataclass(frozen=True)
class StepCurve(ReferenceCurve):
    """Right-continuous step cumulative hazard (Nelson-Aalen from reconstructed IPD).

    ``H0(t)`` is ``cumhaz[k]`` for ``times[k] <= t < times[k+1]`` and 0 before
    the first time. Beyond the last time the curve is flat (no information).
    """

    times: tuple[float, ...]
    cumhazard: tuple[float, ...]
    kind: str = field(default="nelson_aalen", init=False)

    @classmethod
    def from_ipd(cls, time: np.ndarray, event: np.ndarray) -> StepCurve:
        """Nelson-Aalen cumulative hazard of IPD (``time`` months, ``event`` 0/1)."""
        time = np.asarray(time, dtype=float)
        event = np.asarray(event, dtype=bool)
        ut, inv = np.unique(time, return_inverse=True)
        d = np.bincount(inv, weights=event.astype(float), minlength=ut.size)
        n_at = np.bincount(inv, minlength=ut.size)
        at_risk = n_at[::-1].cumsum()[::-1]
        keep = d > 0
        return cls(tuple(ut[keep]), tuple(np.cumsum(d[keep] / at_risk[keep])))

    def cumhaz(self, t):
        t = np.asarray(t, dtype=float)
        if not self.times:  # no event: no hazard (a flat digitised curve)
            return np.zeros_like(t)
        k = np.searchsorted(np.asarray(self.times), t, side="right") - 1
        return np.where(k >= 0, np.asarray(self.cumhazard)[np.clip(k, 0, None)], 0.0)

    def median(self) -> float | None:
        ok = np.asarray(self.cumhazard) >= _LN2
        return float(np.asarray(self.times)[np.argmax(ok)]) if ok.any() else None

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "n_steps": len(self.times), "median": self.median()}


def _check_points(times: np.ndarray, surv: np.ndarray) -> None:
    bad = (times <= 0) | ~np.isfinite(times) | (surv <= 0) | (surv >= 1) | ~np.isfinite(surv)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"Published survival point {i + 1} (time {times[i]}, survival {surv[i]}) cannot "
            "define a curve. Fix: use times > 0 (months) and survival strictly between 0 and 1."
        )
    order = np.argsort(times)
    if np.any(np.diff(surv[order]) >= 0):
        raise InputError(
            "Published survival points do not decrease with time "
            f"(times {times.tolist()}, survival {surv.tolist()}). Fix: check the benchmark file."
        )


def fit_reference_curve(
    times: Sequence[float], survival: Sequence[float], *, kind: str = "piecewise_exponential"
) -> ReferenceCurve:
    """Fit a parametric reference curve to published survival points.

    Parameters
    ----------
    times
        Times (months) of published survival points; a median ``m`` is the point
        ``(m, 0.5)``.
    survival
        Survival proportions at ``times``.
    kind
        ``"exponential"`` (uses the point closest to 0.5 if several are given:
        least squares of ``H = rate * t`` on all points), ``"weibull"``
        (exact through two points, least squares on ``log H`` vs ``log t`` with
        more) or ``"piecewise_exponential"`` (through every point).

    Returns
    -------
    ReferenceCurve

    References
    ----------
    Collett D. Modelling Survival Data in Medical Research, 3rd ed., 2015.
    """
    t = np.asarray(times, dtype=float)
    s = np.asarray(survival, dtype=float)
    if t.size == 0:
        raise InputError("No published survival points to fit. Fix: give a median or landmarks.")
    _check_points(t, s)
    order = np.argsort(t)
    t, h = t[order], -np.log(s[order])
    if kind == "exponential":
        return ExponentialCurve(float(np.sum(h * t) / np.sum(t * t)))
    if kind == "weibull":
        if t.size < 2:
            raise InputError(
                "A Weibull curve needs two published points (e.g. median and a landmark "
                "rate). Fix: use kind='exponential' or add a landmark."
            )
        slope, intercept = np.polyfit(np.log(t), np.log(h), 1)
        return WeibullCurve(float(slope), float(np.exp(-intercept / slope)))
    if kind == "piecewise_exponential":
        knots = np.concatenate([[0.0], t])
        hk = np.concatenate([[0.0], h])
        rates = np.diff(hk) / np.diff(knots)
        return PiecewiseExponentialCurve(tuple(knots[:-1].tolist()), tuple(rates.tolist()))
    raise InputError(
        f"Unknown curve kind {kind!r}. Fix: use exponential, weibull or piecewise_exponential."
    )
