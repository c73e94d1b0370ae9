"""One-sample log-rank test: a published worked example, R golden values, hand-worked cases."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from aftercar.benchmark import (
    ExponentialCurve,
    PiecewiseExponentialCurve,
    WeibullCurve,
    one_sample_logrank,
)
from aftercar.benchmark.onesample import poisson_exact_test
from aftercar.errors import InputError

DATA = Path(__file__).parent / "data"


def test_reproduces_published_example_oneArm2stage_kj1_final():
    """Published example: R package OneArm2stage (Wu, Chen, Wei, Weiss & Chauhan,
    "Two-stage phase II survival trial design", Pharm Stat 2020;19:214-229),
    ``LRT(dist="WB", shape=1, S0=0.62, x0=2, data=kj1_final)`` documented output
    ``O = 18, E = 16.3598, Z = -0.4055`` where that package's Z is (E - O)/sqrt(E).
    The data file is the package's ``inst/extdata/kj1_final.csv``.
    """
    data = pd.read_csv(DATA / "kj1_final.csv")
    curve = WeibullCurve(shape=1.0, scale=2.0 / (-np.log(0.62)))  # S(2) = 0.62
    res = one_sample_logrank(data["time"], data["status"], curve)
    assert res.observed == 18
    assert res.expected == pytest.approx(16.3598, abs=5e-5)
    assert -res.z == pytest.approx(-0.4055, abs=5e-5)


def test_hand_worked_exponential_case():
    # H0 hazard 0.1/month; times 2, 5, 10 (events) and 3 (censored): E = 0.1 * 20 = 2
    res = one_sample_logrank([2, 5, 10, 3], [1, 1, 1, 0], ExponentialCurve(0.1))
    assert res.observed == 3 and res.expected == pytest.approx(2.0)
    assert res.z == pytest.approx(1 / np.sqrt(2))
    assert res.p_value == pytest.approx(2 * sps.norm.sf(1 / np.sqrt(2)))
    # exact: two-sided = 2 * P(X >= 3 | Poisson(2))
    assert res.exact_p_value == pytest.approx(2 * (1 - sps.poisson.cdf(2, 2.0)))
    assert res.ratio == pytest.approx(1.5)


def test_delayed_entry_subtracts_the_hazard_before_entry():
    res = one_sample_logrank([10.0], [1], ExponentialCurve(0.1), entry=[4.0])
    assert res.expected == pytest.approx(0.6)


def test_garwood_interval_is_exact_poisson_interval():
    res = one_sample_logrank([1.0] * 5, [1] * 5, ExponentialCurve(1.0))
    # Garwood limits for 5 events: chi2(0.025, 10)/2 and chi2(0.975, 12)/2
    assert res.ratio_lower * 5 == pytest.approx(sps.chi2.ppf(0.025, 10) / 2)
    assert res.ratio_upper * 5 == pytest.approx(sps.chi2.ppf(0.975, 12) / 2)


def test_one_sided_alternatives_are_complementary_tails():
    less = poisson_exact_test(3, 6.0, alternative="less")
    greater = poisson_exact_test(3, 6.0, alternative="greater")
    assert less == pytest.approx(sps.poisson.cdf(3, 6.0))
    assert greater == pytest.approx(sps.poisson.sf(2, 6.0))


@pytest.mark.parametrize(
    ("time", "event", "match"),
    [([1, -2], [1, 0], "patient 2"), ([1, 2], [1, 2], "0/1"), ([], [], "non-zero length")],
)
def test_bad_inputs_raise_input_error(time, event, match):
    with pytest.raises(InputError, match=match):
        one_sample_logrank(time, event, ExponentialCurve(0.1))


GOLDEN = json.loads((Path(__file__).parent / "golden" / "onesample.json").read_text())
ROOT = Path(__file__).parents[1] / "golden"


def _curve(case):
    if case["kind"] == "exponential":
        return ExponentialCurve(case["rate"])
    if case["kind"] == "weibull":
        return WeibullCurve(case["shape"], case["scale"])
    return PiecewiseExponentialCurve(tuple(case["breaks"]), tuple(case["rates"]))


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
def test_matches_r_survdiff_one_sample_offset(case):
    """R survival 3.5-3 ``survdiff(Surv(t, e) ~ offset(S0(t)))`` (golden/make_onesample.R)."""
    data = pd.read_csv(ROOT / f"{case['data']}.csv")
    res = one_sample_logrank(data["time"] / 30.4375, data["status"], _curve(case))
    assert res.observed == case["observed"]
    assert res.expected == pytest.approx(case["expected"], rel=1e-10)
    assert res.z**2 == pytest.approx(case["chisq"], rel=1e-10)


def test_a_benchmark_curve_that_never_drops_is_named_not_a_traceback():
    """Fuzzing round 4 (G07): a flat digitised curve stopped `benchmark compare` with an
    IndexError; with no event it expects none, and the message says so."""
    from aftercar.benchmark.curves import StepCurve

    flat = StepCurve((), ())
    assert list(flat.cumhaz([0.0, 5.0])) == [0.0, 0.0]
    with pytest.raises(InputError, match="never drops"):
        one_sample_logrank([1.0, 2.0], [1, 0], flat)


def test_no_follow_up_is_named_as_such():
    with pytest.raises(InputError, match="No follow-up time"):
        one_sample_logrank([0.0, 0.0], [1, 0], ExponentialCurve(0.1))
