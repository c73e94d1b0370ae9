"""Clustered KM, G-rho log-rank, RMST and Aalen-Johansen incidence against R survival 3.5-3.

Reference values: ``new_cases.json`` from ``make_new_cases.R`` (next to this file),
on R's own data sets written to ``data/`` (veteran: ties; aml: ties, small; heart:
delayed entry with several rows per patient; mgus2: competing risks, ties, and a
delayed-entry / fractional-weight variant made by the script).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rparity import assert_r_close

from aftercar.errors import InputError, StatisticalWarning
from aftercar.stats import cumulative_incidence, kaplan_meier, logrank_test, rmst

HERE = Path(__file__).parent
CASES = json.loads((HERE / "new_cases.json").read_text())


def data(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"{name}.csv")


def _named(key):
    return {c["name"]: c for c in CASES[key]}


# --------------------------------------------------------------------------
# kaplan_meier(cluster=) = survfit(id=, robust=TRUE)


def _km_cluster(name):
    if name == "heart":
        d = data("heart")
        return kaplan_meier(d["stop"], d["event"], entry=d["start"], cluster=d["id"])
    d = data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # aml has 12 clusters of 2: fine
        return kaplan_meier(d["time"], d["status"], cluster=d["cl"])


@pytest.mark.parametrize("name", ["veteran", "aml", "heart"])
def test_clustered_km_matches_survfit_robust(name):
    ref = _named("km_cluster")[name]
    fit = _km_cluster(name)
    assert fit.variance == "cluster"
    for col in ("time", "n_risk", "surv", "std_err", "lower", "upper"):
        assert_r_close(fit.table[col], ref[col])


def test_one_row_per_cluster_equals_the_robust_variance_of_fractional_weights():
    d = data("veteran")
    w = np.linspace(0.5, 1.5, len(d))
    by_row = kaplan_meier(d["time"], d["status"], weights=w, cluster=np.arange(len(d)))
    robust = kaplan_meier(d["time"], d["status"], weights=w)
    np.testing.assert_allclose(by_row.table["std_err"], robust.table["std_err"], rtol=1e-9)
    plain = kaplan_meier(d["time"], d["status"]).table["std_err"]
    clustered = _km_cluster("veteran").table["std_err"]
    assert not np.allclose(plain, clustered)  # clustering changes the SE


# --------------------------------------------------------------------------
# logrank_test(rho=) = survdiff(rho=)


def test_g_rho_logrank_matches_survdiff():
    vet, aml, mg = data("veteran"), data("aml"), data("mgus2")
    runs = [
        (logrank_test(vet["time"], vet["status"], vet["trt"], rho=1), CASES["logrank_rho"][0]),
        (
            logrank_test(vet["time"], vet["status"], vet["celltype"], rho=0.5),
            CASES["logrank_rho"][1],
        ),
        (logrank_test(aml["time"], aml["status"], aml["x"], rho=1), CASES["logrank_rho"][2]),
        (logrank_test(mg["etime"], mg["cause"] > 0, mg["sex"], rho=2), CASES["logrank_rho"][3]),
    ]
    for res, ref in runs:
        assert_r_close([res.chisq], ref["chisq"])
        assert_r_close([res.p_value], ref["p"])
        assert_r_close(np.sort(res.observed), np.sort(ref["observed"]))  # R orders factor levels
        assert_r_close(np.sort(res.expected), np.sort(ref["expected"]))
    strat = logrank_test(vet["time"], vet["status"], vet["trt"], strata=vet["celltype"], rho=1)
    assert_r_close([strat.chisq], CASES["logrank_rho_strata"]["chisq"])
    assert strat.rho == 1.0


def test_rho_zero_is_the_logrank_test():
    vet = data("veteran")
    a = logrank_test(vet["time"], vet["status"], vet["trt"])
    b = logrank_test(vet["time"], vet["status"], vet["trt"], rho=0.0)
    assert a.chisq == b.chisq


# --------------------------------------------------------------------------
# rmst = print(survfit, rmean = tau)


def test_rmst_matches_r_rmean():
    vet, aml, mg = data("veteran"), data("aml"), data("mgus2")
    ev = mg["cause"] > 0
    runs = {
        "veteran": rmst(vet["time"], vet["status"], tau=200),
        "veteran_by_trt": rmst(vet["time"], vet["status"], tau=365, by=vet["trt"]),
        "aml_by_x": rmst(aml["time"], aml["status"], tau=40, by=aml["x"]),
        "mgus2_entry": rmst(mg["etime"], ev, tau=240, entry=mg["entry"]),
        "mgus2_entry_by_sex": rmst(mg["etime"], ev, tau=300, entry=mg["entry"], by=mg["sex"]),
    }
    refs = _named("rmst")
    for name, res in runs.items():
        assert_r_close(res.table["estimate"], refs[name]["rmean"])
        assert_r_close(res.table["se"], refs[name]["se"])


def test_rmst_difference_and_hand_worked_area():
    r = rmst([2, 4, 6, 8], [1, 1, 1, 1], tau=5)
    assert r.table["estimate"].iloc[0] == pytest.approx(2 + 2 * 0.75 + 0.5)
    aml = data("aml")
    res = rmst(aml["time"], aml["status"], tau=40, by=aml["x"])
    diff = res.differences.iloc[0]
    est, se = res.table["estimate"].to_numpy(), res.table["se"].to_numpy()
    assert diff["difference"] == pytest.approx(est[1] - est[0])
    assert diff["se"] == pytest.approx(np.hypot(*se))
    assert diff["lower"] < diff["difference"] < diff["upper"] and 0 < diff["p"] < 1
    assert res.to_frame()["group"].tolist() == ["Maintained", "Nonmaintained"]
    json.dumps(res.to_dict(), allow_nan=False)
    with pytest.raises(InputError, match="tau"):
        rmst([1, 2], [1, 0], tau=0)


# --------------------------------------------------------------------------
# cumulative_incidence = survfit(Surv(t, factor(status)) ~ g)


def _cif_runs():
    mg, vet = data("mgus2"), data("veteran")
    cause_v = np.where(
        vet["status"] == 0, 0, np.where(vet["celltype"].isin(["squamous", "large"]), 1, 2)
    )
    return {
        "mgus2": cumulative_incidence(mg["etime"], mg["cause"]),
        "mgus2_by_sex": cumulative_incidence(mg["etime"], mg["cause"], by=mg["sex"]),
        "mgus2_entry": cumulative_incidence(mg["etime"], mg["cause"], entry=mg["entry"]),
        "mgus2_weights": cumulative_incidence(mg["etime"], mg["cause"], weights=mg["w"]),
        "veteran_by_trt": cumulative_incidence(vet["time"], cause_v, by=vet["trt"]),
    }


@pytest.mark.parametrize("name", sorted(_named("cuminc")))
def test_cumulative_incidence_matches_survfit_multistate(name):
    ref = _named("cuminc")[name]
    fit = _cif_runs()[name]
    nt, ns = len(ref["time"]), len(ref["states"])

    def state(key, j):
        return np.array(ref[key], dtype=object).reshape(ns, nt).T[:, j].tolist()

    for j, cause in enumerate(fit.causes, start=1):
        block = fit.table[fit.table["cause"] == cause]
        assert len(block) == nt
        assert_r_close(block["time"], ref["time"])
        for col, key in (
            ("estimate", "pstate"),
            ("std_err", "std_err"),
            ("lower", "lower"),
            ("upper", "upper"),
        ):
            assert_r_close(block[col], state(key, j))


def test_incidences_and_event_free_survival_add_up_to_one():
    mg = data("mgus2")
    fit = cumulative_incidence(mg["etime"], mg["cause"], entry=mg["entry"])
    km = kaplan_meier(mg["etime"], mg["cause"] > 0, entry=mg["entry"]).table
    total = fit.table.groupby("time")["estimate"].sum().to_numpy()
    np.testing.assert_allclose(total + km["surv"].to_numpy(), 1.0, atol=1e-12)


def test_cumulative_incidence_landmarks_and_bad_status():
    fit = cumulative_incidence([1, 2, 3, 4], [1, 2, 1, 0])
    at = fit.at([0.5, 2.5, 9])
    first = at[at["cause"] == 1]
    assert first["estimate"].tolist()[:2] == [0.0, 0.25] and np.isnan(first["estimate"].iloc[2])
    # before the first time: R summary(survfit, times = 0.5) gives se 0 and limits (0, 0)
    # (fifth R probe, 2026-12-06: they were NaN)
    assert first[["std_err", "lower", "upper"]].iloc[0].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(InputError, match="status"):
        cumulative_incidence([1, 2], [1, 0.5])
    with pytest.raises(InputError, match="no events"):
        cumulative_incidence([1, 2], [0, 0])
