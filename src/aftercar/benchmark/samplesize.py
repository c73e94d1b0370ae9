"""Sample size of a single-arm survival trial against a benchmark median.

Exponential survival under the benchmark (H0: median ``median0``) and under
the new treatment (H1: median ``median1``, hazard ratio ``delta =
median0 / median1``); uniform accrual over ``accrual`` months followed by
``followup`` months, so a patient's administrative censoring time is uniform
on ``[followup, accrual + followup]``. The analysis is the one-sample log-rank
test ``Z = (O - E) / sqrt(E)``, rejecting for ``Z < -z_{1-alpha}`` (fewer
events than the benchmark predicts).

Per patient, with ``G`` the censoring survival, ``S1`` the H1 survival and
``L0``, ``L1`` the cumulative hazards:

* ``p1 = E[delta_i]      = int G S1 dL1`` (probability of an observed event)
* ``p0 = E[L0(X_i)]      = int G S1 dL0`` (expected benchmark events)
* ``p00 = int G S1 L0 dL0``, ``p01 = int G S1 L0 dL1``
* ``sigma^2 = Var(delta_i - L0(X_i)) = p1 - p1^2 + 2 p00 - p0^2 - 2 p01 + 2 p0 p1``

and ``n = (z_{1-alpha} sqrt(p0) + z_{1-beta} sigma)^2 / (p1 - p0)^2``: the
"exact variance" sample size of Wu (2015), which corrects the under-powered
normal approximation that uses the H0 variance alone.

References
----------
Wu J. Sample size calculation for the one-sample log-rank test. Pharm Stat
2015;14(1):26-33. doi:10.1002/pst.1654
Finkelstein DM, Muzikansky A, Schoenfeld DA. J Natl Cancer Inst
2003;95:1434-1439.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np
from scipy import integrate
from scipy import stats as sps

from aftercar.errors import InputError

__all__ = ["SurvivalSampleSize", "one_sample_survival_size"]


@dataclass(frozen=True)
class SurvivalSampleSize:
    """Result of :func:`one_sample_survival_size` (times in months)."""

    n: int
    n_exact: float
    expected_events_h1: float
    expected_events_h0: float
    hazard_ratio: float
    p1: float
    p0: float
    sigma: float
    median0: float
    median1: float
    accrual: float
    followup: float
    alpha: float
    power: float
    achieved_power: float

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready dictionary."""
        return asdict(self)


def _moments(lam0: float, lam1: float, accrual: float, followup: float) -> tuple[float, ...]:
    """``p1, p0, p00, p01`` by quadrature over ``[0, accrual + followup]``."""
    tau = accrual + followup

    def g(t: float) -> float:
        if t <= followup:
            return 1.0
        return (tau - t) / accrual if accrual > 0 else 0.0

    def integral(fun) -> float:
        pts = [0.0, followup, tau] if followup > 0 else [0.0, tau]
        pieces = [(a, b) for a, b in itertools.pairwise(pts) if b > a]
        return sum(integrate.quad(fun, a, b, limit=200)[0] for a, b in pieces)

    def s1(t: float) -> float:
        return float(np.exp(-lam1 * t))

    p1 = integral(lambda t: g(t) * s1(t) * lam1)
    p0 = integral(lambda t: g(t) * s1(t) * lam0)
    p00 = integral(lambda t: g(t) * s1(t) * lam0 * t * lam0)
    p01 = integral(lambda t: g(t) * s1(t) * lam0 * t * lam1)
    return p1, p0, p00, p01


def _check(median0, median1, accrual, followup, alpha, power) -> None:
    problems = []
    for name, v in (("median0", median0), ("median1", median1)):
        if not (np.isfinite(v) and v > 0):
            problems.append(f"{name} must be > 0 months (got {v})")
    if not problems and median1 <= median0:
        problems.append(f"median1 ({median1}) must exceed median0 ({median0}) (an improvement)")
    if accrual < 0 or followup < 0 or accrual + followup <= 0:
        problems.append(f"accrual ({accrual}) and followup ({followup}) must be >= 0, sum > 0")
    if not 0 < alpha < 0.5:
        problems.append(f"alpha must be in (0, 0.5) (got {alpha})")
    if not 0.5 < power < 1:
        problems.append(f"power must be in (0.5, 1) (got {power})")
    if problems:
        raise InputError(
            "Invalid survival design input: " + "; ".join(problems) + ". Fix: e.g. "
            "--median0 17.9 --median1 27 --accrual 24 --followup 12."
        )


#: The largest sample size reported: beyond it the medians are too close (or too long
#: for the study's time) for any study to tell them apart.
MAX_PATIENTS = 1_000_000


def _check_size(n_exact: float, median0: float, median1: float) -> None:
    """Stop on a sample size that is not finite or above :data:`MAX_PATIENTS` (fuzz round
    8, session 27: medians of 1e300 and 1e308 months ended in an OverflowError traceback,
    medians of 6 and 6.0000001 months printed n = 25,738,392,351,428,952)."""
    if np.isfinite(n_exact) and n_exact <= MAX_PATIENTS:
        return
    shown = f"{n_exact:,.0f}" if np.isfinite(n_exact) else "no finite number of"
    raise InputError(
        f"Invalid survival design input: median0 {median0:.10g} and median1 {median1:.10g} months "
        f"would need {shown} patients (more than {MAX_PATIENTS:,}): the medians are too close, "
        "or too long for the accrual and follow-up, for any study to tell them apart. "
        "Fix: give a larger improvement or a longer follow-up, e.g. --median0 17.9 --median1 27 "
        "--accrual 24 --followup 12."
    )


def one_sample_survival_size(
    *,
    median0: float,
    median1: float,
    accrual: float,
    followup: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> SurvivalSampleSize:
    """Patients needed to show ``median1`` > benchmark ``median0`` (one-sided test).

    Parameters
    ----------
    median0
        Benchmark median (months), e.g. 17.9 for OS from post-CAR-T relapse.
    median1
        Median worth detecting (months).
    accrual, followup
        Uniform accrual period and additional follow-up after the last patient
        (months).
    alpha
        One-sided type I error.
    power
        Target power.

    Returns
    -------
    SurvivalSampleSize
        ``n`` (rounded up), expected events under H1 and H0 and the power at ``n``.

    References
    ----------
    Wu J. Pharm Stat 2015;14:26-33 (exact-variance formula for the one-sample
    log-rank test).
    """
    _check(median0, median1, accrual, followup, alpha, power)
    lam0, lam1 = np.log(2) / median0, np.log(2) / median1
    p1, p0, p00, p01 = _moments(lam0, lam1, accrual, followup)
    sigma = float(np.sqrt(p1 - p1**2 + 2 * p00 - p0**2 - 2 * p01 + 2 * p0 * p1))
    za, zb = sps.norm.ppf(1 - alpha), sps.norm.ppf(power)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n_exact = (za * np.sqrt(p0) + zb * sigma) ** 2 / (p1 - p0) ** 2
    _check_size(float(n_exact), median0, median1)
    n = int(np.ceil(n_exact - 1e-9))
    achieved = float(sps.norm.cdf((np.sqrt(n) * (p0 - p1) - za * np.sqrt(p0)) / sigma))
    return SurvivalSampleSize(
        n=n, n_exact=float(n_exact), expected_events_h1=n * p1, expected_events_h0=n * p0,
        hazard_ratio=float(lam1 / lam0), p1=p1, p0=p0, sigma=sigma, median0=median0,
        median1=median1, accrual=accrual, followup=followup, alpha=alpha, power=power,
        achieved_power=achieved,
    )  # fmt: skip
