"""Edge cases where aftercar used to differ from R survival 3.5-3 (reproducers).

Reference values: ``issue15_cases.json`` written by ``make_issue15_cases.R`` (next
to this file), which also generates the data.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aftercar.errors import ConvergenceError, StatisticalWarning
from aftercar.stats import cox_ph, kaplan_meier, logrank_test

CASES = json.loads(Path(__file__).with_name("issue15_cases.json").read_text())


def _same(value, expected) -> bool:
    if expected is None:
        return value is None
    return value is not None and value == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_weighted_km_quantile_limits_equal_r_on_360_random_fits():
    # With fractional weights the SE at a censor-only time used to differ by an ulp
    # from the event row before it (R's values are identical), which reordered the
    # quantile search on the limit curves (e.g. a 75% lower limit of 13.714, R 12.707).
    bad = []
    for i, case in enumerate(CASES["km_weighted_quantiles"]):
        fit = kaplan_meier(case["time"], case["status"], weights=case["weights"])
        for j, p in enumerate((0.25, 0.5, 0.75)):
            q = fit.quantile(p)
            for got, key in (
                (q.estimate, "q_estimate"),
                (q.lower, "q_lower"),
                (q.upper, "q_upper"),
            ):
                if not _same(got, case[key][j]):
                    bad.append((i, p, key, got, case[key][j]))
    assert not bad, bad[:5]


def test_km_standard_error_is_repeated_exactly_at_censor_only_times():
    for case in CASES["km_weighted_quantiles"][:60]:
        tab = kaplan_meier(case["time"], case["status"], weights=case["weights"]).table
        se = (tab["std_err"] / tab["surv"]).to_numpy()
        censor_only = (tab["n_event"] == 0).to_numpy()[1:]
        prev, here = se[:-1][censor_only], se[1:][censor_only]
        np.testing.assert_array_equal(here[np.isfinite(prev)], prev[np.isfinite(prev)])


def test_logrank_df_is_the_rank_of_a_singular_variance():
    case = CASES["logrank_singular"]
    res = logrank_test(case["time"], case["status"], case["group"], strata=case["strata"])
    assert res.df == case["df"][0] == 1  # 3 groups, but the variance has rank 1
    assert res.chisq == pytest.approx(case["chisq"][0], rel=1e-9)
    assert res.p_value == pytest.approx(case["p"][0], rel=1e-9)
    np.testing.assert_allclose(res.expected, case["expected"], rtol=1e-12)
    assert "singular" in res.note and "rank 1" in res.note


def test_all_censored_logrank_has_no_p_value():
    res = logrank_test([1, 2, 3, 4], [0, 0, 0, 0], ["a", "b", "a", "b"])
    assert CASES["logrank_all_censored"]["p"] == [None]  # R: NA
    # R's df is the number of groups with expected events less 1: -1 here
    assert res.df == -1 and res.chisq == 0 and np.isnan(res.p_value)
    assert res.note == "no events: nothing to test"
    assert res.to_dict()["p_value"] is None
    one = logrank_test([3, 1, 4, 2], [1, 0, 1, 0], ["a", "b", "a", "b"])
    # one group with expected events: R's df 0 and p 1 (probe2_cases.json has R's)
    assert one.df == 0 and one.p_value == 1.0 and "one group" in one.note


OUT_OF_ITERATIONS = [c for c in CASES["cox_out_of_iterations"] if "Ran out" in c["warning"]]
INFINITE = [c for c in CASES["cox_out_of_iterations"] if "may be infinite" in c["warning"]]


def _cox(case):
    x = pd.DataFrame({"x1": case["x1"], "x2": case["x2"]})
    return cox_ph(case["time"], case["status"], x, entry=case["entry"], strata=case["strata"])


@pytest.mark.parametrize("case", OUT_OF_ITERATIONS, ids=lambda c: str(c["id"][0]))
def test_impossible_cox_fit_raises_convergence_error_as_r_runs_out(case):
    # R: "Ran out of iterations and did not converge"; aftercar used to accept a step
    # whose information matrix had lost rank and report a log partial likelihood
    # near (or above) 0 with coefficients NaN as "collinear".
    with pytest.raises(ConvergenceError, match="did not converge"):
        _cox(case)


@pytest.mark.parametrize("case", INFINITE, ids=lambda c: str(c["id"][0]))
def test_delayed_entry_fit_near_an_infinite_coefficient_converges_as_r(case):
    # R converges (iteration 18-19) with "beta may be infinite"; aftercar's risk sums
    # used to carry eps x exp(20) of rounding noise from a huge score that had entered
    # and left, so the log-likelihood wobbled and Newton-Raphson ran out of iterations.
    assert len(INFINITE) == 2
    with pytest.warns(StatisticalWarning, match="may be infinite"):
        fit = _cox(case)
    assert fit.loglik[1] == pytest.approx(case["loglik"][1], rel=1e-6)
    assert abs(fit.iter - case["iter"][0]) <= 1


def test_fractional_weights_with_late_entry_after_zero_survival_stay_silent():
    # the curve reaches 0 at t=2, then subjects enter late with fractional weights
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for conf_type in ("log", "log-log", "plain"):
            fit = kaplan_meier(
                [1, 2, 5, 6, 7],
                [1, 1, 1, 0, 1],
                weights=[0.5, 1.5, 0.25, 0.75, 0.5],
                entry=[0, 0, 3, 4, 4.5],
                conf_type=conf_type,
            )
            assert (fit.table["surv"].iloc[1:] == 0.0).all()
            if conf_type != "plain":
                assert fit.table["lower"].iloc[1:].isna().all()
