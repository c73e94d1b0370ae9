"""Single-arm survival sample size (one-sample log-rank, exponential, Wu 2015)."""

import numpy as np
import pytest
from scipy import stats as sps

from aftercar.benchmark import one_sample_survival_size
from aftercar.errors import InputError


def test_moments_match_closed_form_without_censoring():
    # accrual -> 0 and long follow-up: nearly everyone has the event; p1 -> 1,
    # p0 = E[L0(T)] = lam0 / lam1 under H1
    res = one_sample_survival_size(median0=10, median1=20, accrual=0.0, followup=2000.0)
    assert res.p1 == pytest.approx(1.0, abs=1e-9)
    assert res.p0 == pytest.approx(2.0, rel=1e-6)  # lam0/lam1 = 20/10
    # Var(1 - L0(T)) with L0(T) = 2 * Exp(1): 4
    assert res.sigma == pytest.approx(2.0, rel=1e-6)
    za, zb = sps.norm.ppf(0.95), sps.norm.ppf(0.8)
    assert res.n_exact == pytest.approx((za * np.sqrt(2.0) + zb * 2.0) ** 2 / 1.0, rel=1e-6)


def test_power_at_the_computed_n_holds_in_simulation():
    res = one_sample_survival_size(median0=17.9, median1=27.0, accrual=24.0, followup=12.0)
    lam0, lam1 = np.log(2) / 17.9, np.log(2) / 27.0
    rng = np.random.default_rng(2015)
    b = 4000
    t = rng.exponential(1 / lam1, (b, res.n))
    c = 12.0 + rng.uniform(0.0, 24.0, (b, res.n))
    x, d = np.minimum(t, c), t <= c
    z = (d.sum(1) - lam0 * x.sum(1)) / np.sqrt(lam0 * x.sum(1))
    power = np.mean(z < -sps.norm.ppf(0.95))
    assert power == pytest.approx(0.80, abs=0.025)
    assert res.achieved_power >= 0.8


def test_worse_target_median_is_refused():
    with pytest.raises(InputError, match="must exceed median0"):
        one_sample_survival_size(median0=17.9, median1=12.0, accrual=24, followup=12)


@pytest.mark.parametrize(("median0", "median1"), [(1e300, 1e308), (6.0, 6.0000001)])
def test_medians_no_study_can_tell_apart_are_refused(median0, median1):
    # fuzz round 8 (session 27): an OverflowError traceback, and n = 2.6e16 printed
    with pytest.raises(InputError, match="more than 1,000,000"):
        one_sample_survival_size(median0=median0, median1=median1, accrual=12, followup=12)
