"""One Kaplan-Meier result type whether or not ``by=`` is given; CoxControl."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from aftercar.errors import ConvergenceError, InputError, StatisticalWarning
from aftercar.stats import CoxControl, KaplanMeier, cox_ph, kaplan_meier

matplotlib.use("Agg")

T = [1, 2, 2, 3, 4, 4, 5, 6, 7, 9]
E = [0, 1, 0, 1, 1, 1, 0, 1, 1, 0]
G = ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"]


def test_grouped_and_single_fits_are_one_type_with_the_same_methods():
    single, by = kaplan_meier(T, E), kaplan_meier(T, E, by=G)
    assert type(single) is type(by) is KaplanMeier
    assert single.groups == () and by.groups == ("a", "b")
    for method in ("medians", "to_frame"):
        assert isinstance(getattr(single, method)(), pd.DataFrame)
        assert isinstance(getattr(by, method)(), pd.DataFrame)
    assert isinstance(single.at([2, 5]), pd.DataFrame) and isinstance(by.at([2, 5]), pd.DataFrame)
    assert list(by.at([2, 5])["group"]) == ["a", "a", "b", "b"]
    assert list(single.medians()["group"]) == [None]
    assert single.medians()["estimate"].iloc[0] == single.median().estimate


def test_group_curves_equal_separate_fits_and_single_quantile_refuses_on_groups():
    by = kaplan_meier(T, E, by=G)
    sub = np.array(G) == "b"
    alone = kaplan_meier(np.array(T)[sub], np.array(E)[sub])
    pd.testing.assert_frame_equal(by["b"].table, alone.table)
    assert by.curve("b").median() == alone.median()
    assert [label for label, _ in by.items()] == ["a", "b"]
    assert by.quantiles(0.5)["estimate"].tolist() == [c.median().estimate for _, c in by.items()]
    with pytest.raises(InputError, match="quantiles"):
        by.median()
    with pytest.raises(KeyError):
        by["c"]
    assert kaplan_meier(T, E).curve() is not None


def test_existing_callers_unpack_median_and_read_landmarks():
    est, lo, hi = kaplan_meier(T, E, conf_type="log").median()
    assert (est, lo, hi) == (6.0, 4.0, None)
    at = kaplan_meier(T, E).at([0, 2])
    assert list(at.columns) == ["time", "surv", "lower", "upper"]


def test_kaplan_meier_groups_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="KaplanMeierGroups"):
        from aftercar.stats import KaplanMeierGroups
    assert KaplanMeierGroups is KaplanMeier


def test_lifelines_style_accessors():
    fit = kaplan_meier(T, E)
    sf, ci = fit.survival_function_, fit.confidence_interval_
    assert sf.index.name == "timeline" and list(sf.columns) == ["KM_estimate"]
    assert sf["KM_estimate"].iloc[0] == 1.0
    np.testing.assert_array_equal(sf["KM_estimate"].to_numpy()[1:], fit.table["surv"])
    assert list(ci.columns) == ["KM_estimate_lower_0.95", "KM_estimate_upper_0.95"]
    np.testing.assert_array_equal(ci.iloc[1:, 0].to_numpy(), fit.table["lower"])
    by = kaplan_meier(T, E, by=G).survival_function_
    assert list(by.columns) == ["a", "b"] and by.index.is_monotonic_increasing


def test_plot_draws_one_step_line_per_curve():
    import matplotlib.pyplot as plt

    ax = kaplan_meier(T, E, by=G).plot()
    assert len(ax.get_lines()) == 4  # two curves + two censor-mark series
    assert ax.get_legend() is not None
    plt.close("all")
    fig, ax2 = plt.subplots()
    assert kaplan_meier(T, E).plot(ax=ax2, ci=False, censor_marks=False) is ax2
    assert len(ax2.get_lines()) == 1
    plt.close(fig)


def test_cox_control_equals_the_deprecated_keywords():
    x = pd.DataFrame({"x": [0.2, 1.1, -0.3, 0.8, 0.0, 1.5, -1.0, 0.5, 0.3, -0.4]})
    ref = cox_ph(T, E, x)
    fit = cox_ph(T, E, x, control=CoxControl(eps=1e-12, iter_max=30))
    assert fit.coef[0] == pytest.approx(ref.coef[0], rel=1e-8)
    with pytest.warns(DeprecationWarning, match="CoxControl"):
        old = cox_ph(T, E, x, eps=1e-12, iter_max=30)
    assert old.coef[0] == fit.coef[0] and old.iter == fit.iter
    with pytest.raises(TypeError, match="unexpected"):
        cox_ph(T, E, x, tolerance=1)
    with pytest.raises(InputError, match="CoxControl"):
        CoxControl(eps=-1)
    assert CoxControl().inf_tolerance == pytest.approx(np.sqrt(1e-9))
    with pytest.raises(ConvergenceError, match="in 2 Newton"):
        cox_ph(T, E, x, control=CoxControl(iter_max=2, eps=1e-15))


def test_few_clusters_warn_for_km_and_cox():
    x = pd.DataFrame({"x": [0.2, 1.1, -0.3, 0.8, 0.0, 1.5, -1.0, 0.5, 0.3, -0.4]})
    cl = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    with pytest.warns(StatisticalWarning, match="5 cluster"):
        cox_ph(T, E, x, cluster=cl)
    with pytest.warns(StatisticalWarning, match="5 cluster"):
        kaplan_meier(T, E, cluster=cl)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kaplan_meier(T, E, cluster=np.arange(10))  # 10 clusters: no warning


def test_clustered_km_does_not_depend_on_how_clusters_are_coded():
    # small integer ids are used as codes, large sparse ids and strings are hashed
    # to codes in another order: the SEs must not change
    rng = np.random.default_rng(3)
    n = 400
    t = rng.integers(1, 60, n).astype(float)
    e = rng.random(n) < 0.7
    small = rng.integers(0, 90, n)
    big = small * 1_000_003 + 70_000
    text = np.array([f"patient-{c}" for c in small], dtype=object)
    ref = kaplan_meier(t, e, cluster=small).table["std_err"].to_numpy()
    for other in (big, text):
        got = kaplan_meier(t, e, cluster=other).table["std_err"].to_numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    entry = np.where(rng.random(n) < 0.3, t * rng.random(n) * 0.9, 0.0)
    ref_e = kaplan_meier(t, e, cluster=small, entry=entry).table["std_err"].to_numpy()
    got_e = kaplan_meier(t, e, cluster=big, entry=entry).table["std_err"].to_numpy()
    np.testing.assert_allclose(got_e, ref_e, rtol=1e-12, atol=1e-15)
    assert not np.allclose(ref, kaplan_meier(t, e).table["std_err"].to_numpy())


def test_radix_order_by_cluster_then_time_equals_lexsort():
    # codes above 16 bits take two radix passes; the order must be (cluster, time),
    # stable, exactly as np.lexsort
    from aftercar.stats.km import _cluster_time_order

    rng = np.random.default_rng(5)
    n, k = 50_000, 700
    when = rng.integers(0, k + 1, n)
    cl = rng.integers(0, 1 << 20, n)
    order, codes = _cluster_time_order(when, cl, k, pre=None)
    np.testing.assert_array_equal(order, np.lexsort((when, cl)))
    np.testing.assert_array_equal(codes, cl[order])
    pre = np.argsort(when, kind="stable")
    np.testing.assert_array_equal(_cluster_time_order(when, cl, k, pre=pre)[0], order)
