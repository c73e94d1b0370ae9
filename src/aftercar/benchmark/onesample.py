"""One-sample log-rank test of a cohort's survival against a benchmark curve.

Each patient contributes the cumulative hazard of the benchmark curve over
the time they were followed, ``H0(exit) - H0(entry)``; the sum is the expected
number of events ``E`` if the cohort behaved like the benchmark. With ``O``
observed events the standard statistic is ``Z = (O - E) / sqrt(E)``
(asymptotically standard normal; positive = more events than the benchmark,
i.e. worse survival). For small samples ``O`` is compared with a
Poisson(``E``) distribution exactly, and the standardised event ratio ``O/E``
gets an exact (Garwood) confidence interval.

References
----------
Breslow NE. Analysis of survival data under the proportional hazards model.
Int Stat Rev 1975;43:45-58.
Woolson RF. Rank tests and a one-sample logrank test for comparing observed
survival data to a standard population. Biometrics 1981;37:687-696.
Finkelstein DM, Muzikansky A, Schoenfeld DA. Comparing survival of a sample to
that of a standard population. J Natl Cancer Inst 2003;95(19):1434-1439.
Garwood F. Fiducial limits for the Poisson distribution. Biometrika
1936;28:437-442.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps

from aftercar.benchmark.curves import ReferenceCurve
from aftercar.errors import InputError

__all__ = ["OneSampleLogRankResult", "one_sample_logrank", "poisson_exact_test"]

_ALTERNATIVES = ("two-sided", "less", "greater")


@dataclass(frozen=True)
class OneSampleLogRankResult:
    """Result of :func:`one_sample_logrank`.

    Attributes
    ----------
    observed, expected
        Observed events ``O`` and events expected under the benchmark ``E``.
    z
        ``(O - E) / sqrt(E)``.
    p_value
        Normal-approximation p-value for ``alternative``.
    exact_p_value
        Exact Poisson p-value for ``alternative`` (``O ~ Poisson(E)``).
    ratio, ratio_lower, ratio_upper
        Standardised event ratio ``O/E`` with an exact (Garwood) CI.
    alternative
        ``"two-sided"``, ``"less"`` (fewer events than the benchmark: better
        survival) or ``"greater"``.
    n
        Number of patients.
    """

    observed: int
    expected: float
    z: float
    p_value: float
    exact_p_value: float
    ratio: float
    ratio_lower: float
    ratio_upper: float
    alternative: str
    n: int
    conf_level: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary."""
        return asdict(self)


def poisson_exact_test(observed: int, expected: float, *, alternative: str = "two-sided") -> float:
    """Exact p-value of ``observed`` events against Poisson(``expected``).

    The two-sided p-value is twice the smaller tail, capped at 1 (the
    "central" convention, as in R ``poisson.test`` for the one-sample SMR).
    """
    lower = float(sps.poisson.cdf(observed, expected))  # P(X <= O)
    upper = float(sps.poisson.sf(observed - 1, expected))  # P(X >= O)
    if alternative == "less":
        return lower
    if alternative == "greater":
        return upper
    return min(1.0, 2.0 * min(lower, upper))


def _garwood(observed: int, conf_level: float) -> tuple[float, float]:
    a = (1.0 - conf_level) / 2.0
    lo = 0.0 if observed == 0 else float(sps.chi2.ppf(a, 2 * observed) / 2.0)
    hi = float(sps.chi2.ppf(1.0 - a, 2 * observed + 2) / 2.0)
    return lo, hi


def _validate(time: np.ndarray, event: np.ndarray, entry: np.ndarray | None) -> None:
    if time.shape != event.shape or time.ndim != 1 or time.size == 0:
        raise InputError(
            "time and event must be 1-d arrays of the same non-zero length. "
            "Fix: pass one follow-up time and one event flag per patient."
        )
    bad = ~np.isfinite(time) | (time < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"Follow-up time of patient {i + 1} is {time[i]!r}. Fix: times must be "
            "finite and >= 0 (months)."
        )
    if not np.isin(event, (0, 1)).all():
        raise InputError("event must be 0/1 (or False/True). Fix: recode the event column.")
    if entry is not None and (entry.shape != time.shape or np.any(entry > time)):
        raise InputError("entry must have one value per patient, each <= its exit time.")


def _no_expected_events(curve, t: np.ndarray, entry: np.ndarray | None) -> str:
    """Why the benchmark expects no events (E = 0), and the fix (fuzzing rounds 3 and 4: the
    one message blamed the time unit for a flat digitised curve and for zero follow-up)."""
    if float(np.asarray(curve.cumhaz(np.array([1e9])))[0]) <= 0:
        return ("The benchmark curve never drops (no events), so it expects none (E = 0). "
                "Fix: digitise the curve's steps, or give the benchmark's events.")
    if np.all(t - (0.0 if entry is None else entry) <= 0):
        return ("No follow-up time: every patient's time is 0 (or ends at entry), so the "
                "benchmark expects no events (E = 0). Fix: check the cohort's dates.")
    return ("The benchmark curve expects no events over this follow-up (E = 0). "
            "Fix: check that times are in months from the benchmark's time zero.")


def one_sample_logrank(
    time,
    event,
    curve: ReferenceCurve,
    *,
    entry=None,
    alternative: str = "two-sided",
    conf_level: float = 0.95,
) -> OneSampleLogRankResult:
    """One-sample log-rank test of cohort survival against a benchmark curve.

    Parameters
    ----------
    time
        Follow-up time of each patient (months, from the benchmark's time zero).
    event
        1 if the event (death, progression) was observed, 0 if censored.
    curve
        The benchmark survival curve (see :mod:`aftercar.benchmark.curves`).
    entry
        Optional delayed-entry times (months); each patient then contributes
        ``H0(time) - H0(entry)``.
    alternative
        ``"two-sided"`` (default), ``"less"`` (H1: fewer events than expected,
        better survival than the benchmark) or ``"greater"``.
    conf_level
        Level of the exact CI for ``O/E``.

    Returns
    -------
    OneSampleLogRankResult

    References
    ----------
    Finkelstein DM, Muzikansky A, Schoenfeld DA. J Natl Cancer Inst
    2003;95:1434-1439. Wu J. Sample size calculation for the one-sample
    log-rank test. Pharm Stat 2015;14:26-33.
    """
    if alternative not in _ALTERNATIVES:
        raise InputError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}.")
    t = np.asarray(time, dtype=float)
    d = np.asarray(event)
    d = d.astype(int) if d.dtype == bool else d
    e0 = None if entry is None else np.asarray(entry, dtype=float)
    _validate(t, d, e0)
    expected_each = curve.cumhaz(t) - (0.0 if e0 is None else curve.cumhaz(e0))
    obs = int(np.sum(d))
    exp_ = float(np.sum(expected_each))
    if exp_ <= 0:
        raise InputError(_no_expected_events(curve, t, e0))
    z = (obs - exp_) / np.sqrt(exp_)
    if alternative == "two-sided":
        p = 2.0 * float(sps.norm.sf(abs(z)))
    elif alternative == "less":
        p = float(sps.norm.cdf(z))
    else:
        p = float(sps.norm.sf(z))
    lo, hi = _garwood(obs, conf_level)
    return OneSampleLogRankResult(
        observed=obs,
        expected=exp_,
        z=float(z),
        p_value=p,
        exact_p_value=poisson_exact_test(obs, exp_, alternative=alternative),
        ratio=obs / exp_,
        ratio_lower=lo / exp_,
        ratio_upper=hi / exp_,
        alternative=alternative,
        n=int(t.size),
        conf_level=conf_level,
    )
