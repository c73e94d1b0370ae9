"""Proportions, binomial/Fisher/chi-square tests against R, clustered rates against
a hand-derived sandwich and statsmodels GEE. R values: r_cases.json (make_cases.R)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercar.errors import InputError, StatisticalWarning
from aftercar.stats import (
    binom_test,
    chisq_test,
    clustered_proportion,
    clustered_proportions,
    fisher_test,
    proportion_ci,
)

R = json.loads((Path(__file__).with_name("r_cases.json")).read_text())


def _approx(value):
    return pytest.approx(value, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("i", range(len(R["proportions"]["x"])))
def test_exact_and_wilson_intervals_match_r(i):
    ref = R["proportions"]
    x, n = ref["x"][i], ref["n"][i]
    est, lo, hi = proportion_ci(x, n)
    assert est == x / n
    assert (lo, hi) == (_approx(ref["exact_lower"][i]), _approx(ref["exact_upper"][i]))
    _, lo, hi = proportion_ci(x, n, conf_level=0.9)
    assert (lo, hi) == (_approx(ref["exact90_lower"][i]), _approx(ref["exact90_upper"][i]))
    _, lo, hi = proportion_ci(x, n, method="wilson")
    assert (lo, hi) == (_approx(ref["wilson_lower"][i]), _approx(ref["wilson_upper"][i]))


def test_published_tce_orr_interval():
    # Van Oekelen 2023: 32/35 responded to a T-cell engager (91.4%)
    est, lo, hi = proportion_ci(32, 35)
    assert round(est * 100, 1) == 91.4 and lo < 0.8 < hi


@pytest.mark.parametrize("i", range(len(R["binom_test"]["x"])))
def test_binom_test_matches_r(i):
    ref = R["binom_test"]
    x, n, p = ref["x"][i], ref["n"][i], ref["p"][i]
    assert binom_test(x, n, p) == _approx(ref["p_two_sided"][i])
    assert binom_test(x, n, p, alternative="less") == _approx(ref["p_less"][i])
    assert binom_test(x, n, p, alternative="greater") == _approx(ref["p_greater"][i])


def test_binom_test_at_the_mean_is_one():
    assert binom_test(5, 10, 0.5) == 1.0


@pytest.mark.parametrize("i", range(len(R["fisher"])))
def test_fisher_matches_r(i):
    case = R["fisher"][i]
    table = np.array(case["table"]).reshape(case["nrow"][0], -1)
    assert fisher_test(table).p_value == _approx(case["p"][0])
    assert fisher_test(table.T).p_value == _approx(case["p"][0])


def test_fisher_too_large_table_is_a_clear_error():
    table = [[30, 12, 8, 5, 20, 3, 9, 4], [10, 15, 12, 20, 8, 30, 6, 45]]
    with pytest.raises(InputError, match="too large"):
        fisher_test(table)


def test_fisher_refuses_a_wide_table_by_its_steps_and_names_the_monte_carlo_test():
    """A 4 x 4 table of 128 counts carries few partial tables per step but takes millions
    of steps: the steps count towards the limit (it was refused after 11-57 s, then 8 s,
    now about 1 s: ``stats/fisher.py`` ``_STEP_WORK``; R's default workspace refuses it at
    once), and the message names simulate=True."""
    table = [[8, 13, 5, 12], [6, 7, 10, 7], [8, 3, 10, 8], [7, 10, 6, 8]]
    with pytest.raises(InputError, match="simulate=True"):
        fisher_test(table)


@pytest.mark.parametrize("key", ["chisq", "chisq_nocorrect"])
def test_chisq_matches_r(key):
    for case in R[key]:
        table = np.array(case["table"]).reshape(case["nrow"][0], -1)
        res = chisq_test(table, correct=key == "chisq")
        assert res.statistic == _approx(case["statistic"][0])
        assert res.p_value == _approx(case["p"][0])


def test_chisq_warns_on_small_expected_counts():
    with pytest.warns(StatisticalWarning, match="expected count"):
        chisq_test([[3, 1], [1, 3]])


def test_clustered_proportion_hand_derived_sandwich():
    # p = 3/6; patient scores sum_g (y_g - n_g p): a: 1-1 = 0, b: 2-1 = 1, c: 0-1 = -1.
    # Var(logit p) = (0 + 1 + 1) / (N p (1-p))^2 = 2 / 1.5^2 -> se = sqrt(2)/1.5.
    r = clustered_proportion([1, 0, 1, 1, 0, 0], ["a", "a", "b", "b", "c", "c"])
    assert r.se_logit == pytest.approx(np.sqrt(2) / 1.5, rel=1e-12)
    z = 1.959963984540054
    assert r.lower == pytest.approx(1 / (1 + np.exp(z * r.se_logit)), rel=1e-12)
    assert (r.x, r.n, r.n_clusters, r.method) == (3, 6, 3, "sandwich-logit")


def test_clustered_proportion_equals_statsmodels_gee():
    rng = np.random.default_rng(7)
    cluster = rng.integers(0, 40, 150)
    y = (rng.random(150) < 0.3 + 0.4 * (cluster % 3 == 0)).astype(float)
    r = clustered_proportion(y, cluster)
    gee = sm.GEE(
        y,
        np.ones((150, 1)),
        groups=cluster,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Independence(),
    ).fit()
    assert np.log(r.estimate / (1 - r.estimate)) == pytest.approx(gee.params[0], rel=1e-8)
    assert r.se_logit == pytest.approx(gee.bse[0], rel=1e-6)


def test_one_line_per_patient_reduces_to_binomial_logit_se():
    y = np.array([1, 0, 1, 1, 0, 1, 0, 1])
    r = clustered_proportion(y, np.arange(8))
    p = y.mean()
    # robust = model-based minus a factor: sum (y-p)^2 / (N p q)^2 = 1 / (N p q)
    assert r.se_logit == pytest.approx(1 / np.sqrt(8 * p * (1 - p)), rel=1e-12)


def test_all_responded_falls_back_to_exact_on_patients_with_warning():
    with pytest.warns(StatisticalWarning, match="All or none"):
        r = clustered_proportion([1, 1, 1, 1], ["a", "a", "b", "c"])
    assert r.method == "exact-clusters" and r.upper == 1.0
    assert r.lower == pytest.approx(proportion_ci(3, 3).lower)


def test_clustered_proportions_by_group():
    y = [1, 0, 1, 1, 0, 0, 1, 1]
    pid = ["a", "a", "b", "b", "c", "c", "d", "d"]
    grp = ["tce", "other", "tce", "tce", "other", "other", "tce", "other"]
    frame = clustered_proportions(y, pid, grp)
    assert frame["group"].tolist() == ["other", "tce"]
    assert frame["x"].tolist() == [1, 4] and frame["n"].tolist() == [4, 4]
    assert frame.loc[1, "method"] == "exact-clusters"
    alone = clustered_proportion([0, 0, 0, 1], ["a", "c", "c", "d"])
    assert frame.loc[0, "se_logit"] == pytest.approx(alone.se_logit)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_intervals_contain_estimate(xn):
    x, n = xn
    for method in ("exact", "wilson"):
        est, lo, hi = proportion_ci(x, n, method=method)
        assert 0.0 <= lo <= est <= hi <= 1.0


@pytest.mark.parametrize(("x", "n"), [(-1, 5), (6, 5), (1.5, 5), (0, 0)])
def test_bad_counts_raise(x, n):
    with pytest.raises(InputError):
        proportion_ci(x, n)


def test_fisher_monte_carlo_agrees_with_exact():
    table = [[2, 7, 1], [9, 4, 0], [3, 3, 5]]
    exact = fisher_test(table).p_value
    sim = fisher_test(table, simulate=True, n_sim=20000, seed=11)
    se = np.sqrt(exact * (1 - exact) / 20000)
    assert abs(sim.p_value - exact) < 4 * se
    assert "Monte Carlo, 20000 tables" in sim.method


def test_fisher_monte_carlo_matches_r_on_table_too_large_for_exact():
    case = R["fisher_sim"]
    table = np.array(case["table"]).reshape(case["nrow"][0], -1)
    with pytest.raises(InputError, match="too large"):
        fisher_test(table)
    sim = fisher_test(table, simulate=True, n_sim=50000, seed=3).p_value
    ref = case["p"][0]  # R, B = 2e5: Monte Carlo error of both about 0.002 at most
    assert abs(sim - ref) < 4 * np.sqrt(ref * (1 - ref) / 50000)


def test_clustered_proportions_equal_one_fit_per_group_on_random_lines():
    # the grouped version sums all groups in one pass of bincounts over (group,
    # patient) pairs: it must give each group's clustered_proportion exactly
    rng = np.random.default_rng(7)
    n = 600
    pid = rng.integers(0, 150, n).astype(str)
    grp = rng.choice(["a", "b", "c", "d", "e"], n, p=[0.4, 0.3, 0.2, 0.09, 0.01])
    y = rng.random(n) < np.where(grp == "b", 0.7, 0.3)
    y[grp == "d"] = True  # all responders: exact fallback on patients
    frame = clustered_proportions(y, pid, grp)
    assert frame["group"].tolist() == sorted(set(grp))
    for row in frame.itertuples(index=False):
        rows = grp == row.group
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            one = clustered_proportion(y[rows], pid[rows])
        assert (row.x, row.n, row.n_clusters, row.method) == (
            one.x,
            one.n,
            one.n_clusters,
            one.method,
        )
        for field in ("estimate", "lower", "upper", "se_logit"):
            assert getattr(row, field) == pytest.approx(getattr(one, field), rel=1e-12, nan_ok=True)
