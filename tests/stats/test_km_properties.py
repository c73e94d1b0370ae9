"""Hypothesis properties of Kaplan-Meier curves and the log-rank test."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aftercar.stats import kaplan_meier, logrank_test

_rows = st.lists(
    st.tuples(st.integers(0, 30), st.booleans(), st.integers(1, 4), st.integers(0, 2)),
    min_size=1,
    max_size=60,
)


def _arrays(rows):
    t, e, w, g = (np.array(col) for col in zip(*rows, strict=True))
    return t.astype(float), e, w.astype(float), g


@settings(max_examples=60, deadline=None)
@given(_rows, st.sampled_from(["log-log", "log", "plain"]))
def test_curve_is_a_survival_function(rows, conf_type):
    t, e, _, _ = _arrays(rows)
    tab = kaplan_meier(t, e, conf_type=conf_type).table
    s = tab["surv"].to_numpy()
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) <= 1e-15)
    assert np.all(np.diff(tab["n_risk"].to_numpy()) <= 0)
    assert tab["n_event"].sum() == e.sum()
    assert tab["n_event"].sum() + tab["n_censor"].sum() == t.size
    assert np.all(np.diff(tab["time"].to_numpy()) > 0)
    ok = tab["lower"].notna()
    eps = 1e-12
    assert np.all(tab["lower"][ok] <= s[ok] + eps) and np.all(s[ok] <= tab["upper"][ok] + eps)


@settings(max_examples=40, deadline=None)
@given(_rows)
def test_integer_weights_equal_replicated_rows(rows):
    t, e, w, _ = _arrays(rows)
    weighted = kaplan_meier(t, e, weights=w).table
    rep = np.repeat(np.arange(t.size), w.astype(int))
    replicated = kaplan_meier(t[rep], e[rep]).table
    np.testing.assert_allclose(
        weighted.to_numpy(float), replicated.to_numpy(float), rtol=1e-12, atol=1e-14, equal_nan=True
    )


@settings(max_examples=40, deadline=None)
@given(_rows)
def test_entry_at_minus_one_changes_nothing(rows):
    t, e, _, _ = _arrays(rows)
    plain = kaplan_meier(t, e).table
    entered = kaplan_meier(t, e, entry=np.full(t.size, -1.0)).table
    np.testing.assert_allclose(plain.to_numpy(float), entered.to_numpy(float), equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(_rows)
def test_logrank_observed_minus_expected_sums_to_zero(rows):
    t, e, _, g = _arrays(rows)
    assume(t.size >= 2)
    if np.unique(g).size < 2:
        g = np.arange(g.size) % 2
    res = logrank_test(t, e, g)
    assert abs((res.observed - res.expected).sum()) < 1e-9
    assert res.observed.sum() == e.sum()
    assert res.chisq >= -1e-12
    if res.df > 0:
        assert 0.0 <= res.p_value <= 1.0
    elif (res.expected > 0).sum() == 1:  # R: df 0, p 1 (nothing to test)
        assert res.df == 0 and res.p_value == 1.0
    else:  # no events (R: df -1) or a variance of rank 0: p NA
        assert np.isnan(res.p_value)
    np.testing.assert_allclose(res.variance.sum(axis=1), 0.0, atol=1e-9)
