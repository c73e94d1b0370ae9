"""MAIC (Signorovitch 2010; NICE DSU TSD 18): exact moment matching, ESS, bootstrap."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercar.benchmark import maic_bootstrap, maic_weights, weighted_km, weighted_rate
from aftercar.errors import InputError


def _cohort(seed=3, n=79):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.normal(63, 8, n),
        "high_risk_cytogenetics": rng.random(n) < 0.4,
        "extramedullary_disease": rng.random(n) < 0.3,
    })  # fmt: skip


TARGETS = {"age": 67.0, "high_risk_cytogenetics": 0.55, "extramedullary_disease": 0.20}


def test_weights_reproduce_target_means_to_1e8_and_report_ess():
    ipd = _cohort()
    res = maic_weights(ipd, TARGETS)
    x = ipd[list(TARGETS)].astype(float).to_numpy()
    achieved = (res.weights[:, None] * x).sum(axis=0) / res.weights.sum()
    np.testing.assert_allclose(achieved, list(TARGETS.values()), rtol=0, atol=1e-8)
    w = res.weights
    assert res.ess == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert 1 <= res.ess < len(ipd)
    assert res.rescaled_weights.sum() == pytest.approx(len(ipd))
    diag = res.diagnostics().set_index("statistic")["value"]
    assert diag["ess"] == pytest.approx(res.ess) and diag["n"] == len(ipd)


def test_targets_equal_to_cohort_means_give_equal_weights_and_full_ess():
    ipd = _cohort()
    means = ipd[list(TARGETS)].astype(float).mean().to_dict()
    res = maic_weights(ipd, means)
    np.testing.assert_allclose(res.rescaled_weights, 1.0, atol=1e-8)
    assert res.ess == pytest.approx(len(ipd))


@settings(max_examples=25, deadline=None)
@given(
    age=st.floats(58.0, 68.0),
    hr=st.floats(0.2, 0.6),
    emd=st.floats(0.15, 0.45),
)
def test_any_reachable_targets_are_matched_exactly(age, hr, emd):
    ipd = _cohort()
    targets = {"age": age, "high_risk_cytogenetics": hr, "extramedullary_disease": emd}
    res = maic_weights(ipd, targets)
    assert res.max_abs_diff < 1e-8
    assert np.all(res.weights > 0)


def test_unreachable_target_is_an_input_error():
    with pytest.raises(InputError, match="outside the cohort's range"):
        maic_weights(_cohort(), {"high_risk_cytogenetics": 78})  # a percentage


def test_missing_covariate_value_names_the_row():
    ipd = _cohort()
    ipd.loc[4, "age"] = np.nan
    with pytest.raises(InputError, match="patient row 5"):
        maic_weights(ipd, TARGETS)


def test_weighted_rate_and_km_use_the_weights():
    assert weighted_rate([1, 0, 0], [2.0, 1.0, 1.0]) == pytest.approx(0.5)
    km = weighted_km([1.0, 2.0, 3.0], [1, 1, 1], [2.0, 1.0, 1.0])
    assert km.table["surv"].iloc[0] == pytest.approx(0.5)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    ipd = _cohort()
    rng = np.random.default_rng(9)
    resp = rng.random(len(ipd)) < 0.43
    time = rng.exponential(18.0, len(ipd))
    event = (rng.random(len(ipd)) < 0.7).astype(int)
    kw = dict(responded=resp, time=time, event=event, n_boot=200, seed=11)
    a = maic_bootstrap(ipd, TARGETS, **kw)
    b = maic_bootstrap(ipd, TARGETS, **kw)
    assert a == b
    for key in ("orr", "ess", "median"):
        assert a[key]["lower"] <= a[key]["upper"]
        assert a[key]["n_boot_used"] > 150
    assert a["orr"]["lower"] <= a["orr"]["estimate"] <= a["orr"]["upper"]
