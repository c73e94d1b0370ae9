"""Cases where aftercar differed from R in a third probe (R 4.2.2, survival 3.5-3):
reference values in ``probe3_cases.json``, written by ``make_probe3_cases.R`` (next to
this file), which also holds the data."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aftercar.errors import StatisticalWarning
from aftercar.stats import cox_ph, fine_gray, kaplan_meier

CASES = json.loads(Path(__file__).with_name("probe3_cases.json").read_text())


def _close(got, expected) -> None:
    # NaN (aftercar None) where R has NA (null in the JSON)
    want = np.array([np.nan if v is None else v for v in expected], dtype=float)
    got = np.array([np.nan if v is None else v for v in np.atleast_1d(got)], dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("case", CASES["km_median_at_half"], ids=lambda c: str(c["weights"][0]))
def test_km_quantile_when_curve_ends_within_rounding_of_p_equals_r(case):
    # quantile(survfit(Surv(time, status) ~ 1, weights=)): S ends at 0.5 + 1 ulp on a flat
    # segment; R's median is the midpoint of that segment, aftercar's was None
    fit = kaplan_meier(case["time"], case["status"], weights=case["weights"], conf_type="log")
    assert fit.table["surv"].iloc[-1] == case["last_surv"][0]
    got = [fit.quantile(p) for p in case["probs"]]
    _close([q.estimate for q in got], case["estimate"])
    _close([q.lower for q in got], case["lower"])
    _close([q.upper for q in got], case["upper"])


def test_fine_gray_robust_se_near_infinite_coefficient_with_entry_equals_r():
    # finegray(Surv(entry, time, st) ~ ., etype="2", id=) + coxph(weights=fgwt, cluster=id):
    # x_b's coefficient runs to infinity; its robust SE was 9.078 against R's 2.088
    case = CASES["finegray_infinite_coef"]
    x = pd.DataFrame({"x_a": case["x_a"], "x_b": case["x_b"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # infinite beta, few clusters
        fit = fine_gray(case["time"], case["status"], x, cause=2, entry=case["entry"])
    _close(fit.coef, case["coef"])
    _close(fit.se, case["se"])
    _close(fit.robust_se, case["robust_se"])


def test_cox_robust_se_with_entry_and_huge_risk_score_equals_r():
    # coxph(Surv(start, stop, event) ~ x_a + x_b, weights=, cluster=): a row with
    # exp(x beta) = 6e9 is at risk only where the hazard is tiny; its score residual
    # must not take the rounding residue of hazards outside its (entry, stop] window
    case = CASES["cox_infinite_coef_entry"]
    x = pd.DataFrame({"x_a": case["x_a"], "x_b": case["x_b"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        fit = cox_ph(
            case["time"], case["status"], x, entry=case["entry"], weights=case["weights"],
            cluster=case["cluster"],
        )  # fmt: skip
    _close(fit.coef, case["coef"])
    _close(fit.se, case["se"])
    _close(fit.robust_se, case["robust_se"])
