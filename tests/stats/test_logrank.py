"""Log-rank micro cases against R ``survdiff`` (values in r_cases.json, from make_cases.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rparity import assert_r_close

from aftercar.errors import InputError
from aftercar.stats import logrank_test

CASES = json.loads((Path(__file__).with_name("r_cases.json")).read_text())["logrank"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_logrank_case_matches_survdiff(name):
    case = CASES[name]
    res = logrank_test(case["time"], case["event"], case["group"], strata=case["strata"])
    assert list(res.levels) == case["levels"]
    assert_r_close(res.observed, case["observed"])
    assert_r_close(res.expected, case["expected"])
    assert_r_close(res.variance.ravel(), case["var"])
    assert_r_close([res.chisq], case["chisq"])
    assert_r_close([res.p_value], case["p"])
    assert res.df == case["df"][0]


def test_two_groups_hand_worked():
    # a: 1,2,3 events; b: 4,5 events, 6 censored. Times 1..3 have 6,5,4 at risk with
    # 3,2,1 from b: E_a = 3/6 + 2/5 + 1/4 + 0 + 0 = 1.15, O_a = 3.
    res = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0], ["a", "a", "a", "b", "b", "b"])
    assert res.expected[0] == pytest.approx(1.15, abs=1e-12)
    assert res.observed.tolist() == [3.0, 2.0]
    var = sum(
        d * (n - d) / (n * n * (n - 1)) * na * (n - na)
        for d, n, na in [(1, 6, 3), (1, 5, 2), (1, 4, 1), (1, 3, 0), (1, 2, 0)]
    )
    assert res.chisq == pytest.approx((3 - 1.15) ** 2 / var, rel=1e-12)


def test_all_censored_group_keeps_expected_and_df():
    case = CASES["all_censored_group"]
    res = logrank_test(case["time"], case["event"], case["group"])
    assert res.observed[2] == 0 and res.expected[2] > 0 and res.df == 2


def test_group_with_zero_expected_is_dropped_from_df():
    case = CASES["zero_expected_group"]
    res = logrank_test(case["time"], case["event"], case["group"])
    assert res.expected[2] == 0 and res.df == 1


def test_stratified_equals_sum_over_strata_of_o_minus_e():
    case = CASES["three_groups_stratified"]
    t, e, g, s = (np.asarray(case[k]) for k in ("time", "event", "group", "strata"))
    res = logrank_test(t, e, g, strata=s)
    o_minus_e = sum(
        logrank_test(t[s == k], e[s == k], g[s == k]).observed
        - logrank_test(t[s == k], e[s == k], g[s == k]).expected
        for k in np.unique(s)
    )
    np.testing.assert_allclose(res.observed - res.expected, o_minus_e, atol=1e-12)


def test_to_frame_and_repr():
    res = logrank_test([1, 2, 3, 4], [1, 1, 1, 0], [0, 0, 1, 1])
    frame = res.to_frame()
    assert list(frame.columns) == ["group", "n", "observed", "expected", "o_minus_e"]
    assert "LogRankResult(chisq=" in repr(res)


def test_single_group_is_an_error():
    with pytest.raises(InputError, match="at least two groups"):
        logrank_test([1, 2], [1, 0], ["a", "a"])


def test_to_dict_is_strict_json():
    res = logrank_test([1, 2, 3, 4], [1, 1, 1, 0], [0, 0, 1, 1])
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["levels"] == ["0", "1"] and d["df"] == 1
