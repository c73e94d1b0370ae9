"""Cases where aftercar differed from R in a second probe (R 4.2.2, survival 3.5-3,
cmprsk 2.2-11; fuzzed cohorts and edge cases): reference values in
``probe2_cases.json``, written by ``make_probe2_cases.R`` (next to this file), which
also holds the data."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aftercar.errors import InputError, StatisticalWarning
from aftercar.stats import (
    concordance,
    cox_ph,
    cox_zph,
    cumulative_incidence,
    fine_gray,
    gray_test,
    kaplan_meier,
    logrank_test,
)

CASES = json.loads(Path(__file__).with_name("probe2_cases.json").read_text())
KM_COLUMNS = ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper")


def _arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _close(got, expected, atol: float = 1e-9) -> None:
    # NaN (aftercar) where R has NA (null in the JSON), numbers equal to 1e-6
    np.testing.assert_allclose(np.asarray(got, dtype=float), _arr(expected), rtol=1e-6, atol=atol)


def _km(case, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # few clusters
        return kaplan_meier(
            case["time"], case["status"], entry=case["entry"], weights=case["weights"],
            conf_type=case["conf_type"], **kw,
        ).table  # fmt: skip


def _check_km(tab, case) -> None:
    _close(tab["time"], case["r_time"])
    for col in KM_COLUMNS[1:]:
        _close(tab[col], case[col])


@pytest.mark.parametrize("case", CASES["km_late_entry"], ids=lambda c: f"n{len(c['time'])}")
def test_km_fractional_weights_with_entry_after_zero_survival_equal_r(case):
    # survfit(Surv(entry, time, status) ~ 1, weights=): subjects entering after S
    # reached 0 have no influence while S > 0; aftercar's std_err was NaN (inf - inf)
    _check_km(_km(case), case)


@pytest.mark.parametrize("case", CASES["km_cluster_runs"], ids=lambda c: f"n{len(c['time'])}")
def test_km_split_rows_count_censorings_as_r_survflag(case):
    # survfit(..., id=, robust=TRUE): a row followed by a row of its id starting at or
    # before its stop is no censoring (overlaps too; myeloma by year, fuzzed splits)
    _check_km(_km(case, cluster=case["id"]), case)


@pytest.mark.parametrize("case", CASES["km_exhausted_risk_set"], ids=["three", "fz3_cif_045"])
def test_km_risk_set_exhausted_under_entry_is_exact(case):
    # weights and entry: where everyone at risk has the event S is exactly 0 (a
    # residue of the risk-set subtraction made it -6.7e-16 and flipped quantiles)
    tab = _km(case)
    _close(tab["time"], case["r_time"])
    for col in ("n_risk", "n_event", "surv", "std_err"):
        _close(tab[col], case[col])
    assert (tab["surv"] >= 0).all()


@pytest.mark.parametrize(
    "case",
    CASES["cif_exhausted_risk_set"],
    ids=["three", "fz3_cif_037", "fz3_cif_045", "fz_cif_08"],
)
def test_cumulative_incidence_risk_set_exhausted_under_entry_equals_r(case):
    # survfit multi-state with weights and entry; aftercar's std_err was 2e7 where
    # R's is 0 (the all-cause risk set minus the events left 1e-16, and 1 / 1e-16).
    # The variance's quadratic form leaves up to 1e-7 of cancellation noise: atol 1e-6
    tab = cumulative_incidence(
        case["time"], case["status"], entry=case["entry"], weights=case["weights"]
    ).table
    for j, cause in enumerate(case["causes"]):
        t = tab[tab["cause"] == cause]
        _close(t["time"], case["r_time"])
        _close(t["n_risk"], case["n_risk"])
        _close(t["estimate"], case["estimate"][j])
        for col in ("std_err", "lower", "upper"):
            _close(t[col], case[col][j], atol=1e-6)


@pytest.mark.parametrize(
    "case", CASES["gray_singular"], ids=["strata", "fz_gray_09", "fz_gray_14", "fz_gray_28"]
)
def test_gray_test_with_a_singular_variance_reports_minus_one_as_cuminc(case):
    # cuminc(...)$Tests: stat -1, p 1 for a cause whose variance has lost rank (qr);
    # aftercar raised numpy's LinAlgError
    res = gray_test(case["time"], case["status"], case["group"], strata=case["strata"],
                    rho=case["rho"][0]).table  # fmt: skip
    _close(res["cause"], case["cause"])
    _close(res["stat"], case["stat"])
    _close(res["p"], case["p"])
    _close(res["df"], case["df"])
    assert (res["stat"] == -1).any()


@pytest.mark.parametrize("case", CASES["finegray_lone_entrant"], ids=["six", "fz_fg_09", "inf"])
def test_fine_gray_drops_nan_weight_rows_as_r(case):
    # finegray() gives NaN weights (H = 0) when someone enters after the risk set has
    # emptied; coxph drops those rows (na.omit) and stops on an Inf weight
    x = pd.DataFrame(case["x"])
    args = (case["time"], case["status"], x)
    kw = {"cause": case["cause"][0], "entry": case["entry"]}
    if case["error"]:
        assert "finite" in case["error"]
        with pytest.raises(InputError, match="infinite"):
            fine_gray(*args, **kw)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        fit = fine_gray(*args, **kw)
    messages = " ".join(str(w.message) for w in caught)
    assert f"{case['n_nan'][0]} expanded row(s)" in messages
    assert fit.cox.n == case["n"][0]
    _close(fit.coef, case["coef"])
    _close(fit.se, case["se"])
    _close(fit.robust_se, case["robust_se"])


@pytest.mark.parametrize(
    "case", CASES["logrank_nothing_to_test"], ids=["one_a", "one_b", "censored", "censored3"]
)
def test_logrank_with_nothing_to_test_gives_r_df_and_p(case):
    # survdiff: one group with expected events -> df 0, p 1; no events -> df -1, p NA
    res = logrank_test(case["time"], case["status"], case["group"])
    assert res.chisq == case["chisq"][0]
    assert res.df == case["df"][0]
    _close([res.p_value], case["pvalue"])
    _close(res.expected, case["expected"])


@pytest.mark.parametrize(
    "case", CASES["concordance_no_pairs"],
    ids=["entry", "last_event", "censored", "fz_conc_20", "fz3_conc_046"],
)  # fmt: skip
def test_concordance_without_comparable_pairs_is_nan_as_r(case):
    # R: concordance NaN, var NaN, counts 0; aftercar raised (no entry) or gave -0.0
    # from a -7e-16 discordant count (entry)
    res = concordance(
        case["time"], case["status"], case["x"], entry=case["entry"], weights=case["weights"],
        strata=case["strata"], reverse=case["reverse"],
    )  # fmt: skip
    assert case["concordance"] == [None] and np.isnan(res.concordance)
    assert np.isnan(res.std_err) and np.isnan(res.lower) and np.isnan(res.upper)
    counts = [res.concordant, res.discordant, res.tied_x, res.tied_y, res.tied_xy]
    assert counts[:3] == [0.0, 0.0, 0.0]
    _close(counts, case["count"])


@pytest.mark.parametrize("case", CASES["zph_singular"], ids=["fz_cox_08", "fz_cox_22", "fz_cox_23"])
def test_cox_zph_refuses_a_computationally_singular_system_as_r(case):
    # R's cox.zph stops ("system is computationally singular"); aftercar returned
    # rounding noise, even a negative chi-square
    assert "singular" in case["error"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        fit = cox_ph(
            case["time"], case["status"], pd.DataFrame(case["x"]), entry=case["entry"],
            weights=case["weights"], cluster=case["cluster"], ties=case["ties"],
        )  # fmt: skip
    _close(fit.loglik, case["loglik"], atol=1e-6)
    with pytest.raises(InputError, match="computationally singular"):
        cox_zph(fit)
