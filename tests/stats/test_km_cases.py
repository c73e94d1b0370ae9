"""Hand-worked Kaplan-Meier micro cases, each checked against R survival 3.5-3.

Expected values: ``r_cases.json`` written by ``make_cases.R`` in this folder
(``summary(survfit(...), censored=TRUE)``, ``quantile()``, ``summary(fit, times=)``).
A few values are also worked by hand in the test bodies.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rparity import assert_r_close

from aftercar.errors import InputError
from aftercar.stats import kaplan_meier

CASES = json.loads((Path(__file__).with_name("r_cases.json")).read_text())["km"]
COLUMNS = ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper")


def _fit(case, conf_type):
    return kaplan_meier(
        case["time"],
        case["event"],
        conf_type=conf_type,
        weights=case.get("weights"),
        entry=case.get("entry"),
    )


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_case_matches_r(name, conf_type):
    case = CASES[name]
    ref = case[conf_type]
    fit = _fit(case, conf_type)
    for col in COLUMNS:
        assert_r_close(fit.table[col], ref[col])
    for i, p in enumerate((0.25, 0.5, 0.75)):
        got = fit.quantile(p)
        for field, key in (("estimate", "q_estimate"), ("lower", "q_lower"), ("upper", "q_upper")):
            expected = ref[key][i]
            value = getattr(got, field)
            assert (value is None) == (expected is None), (p, field, value, expected)
            if expected is not None:
                assert value == pytest.approx(expected, rel=1e-6, abs=1e-9)
    if "at_time" in ref:
        at = fit.at(ref["at_time"])
        for col in ("time", "surv", "lower", "upper"):
            assert_r_close(at[col], ref[f"at_{col}"])


def test_censored_at_event_time_counts_as_at_risk():
    # t=2: one event and one censoring; 7 at risk (the censored one included),
    # S(2) = 1 - 1/7, S(3) = (6/7) (1 - 1/5) (one left at 2 by censoring).
    fit = kaplan_meier([1, 2, 2, 3, 4, 4, 5, 6], [0, 1, 0, 1, 1, 1, 0, 1])
    tab = fit.table.set_index("time")
    assert tab.loc[2.0, "n_risk"] == 7 and tab.loc[2.0, "n_censor"] == 1
    assert tab.loc[3.0, "surv"] == pytest.approx(6 / 7 * 4 / 5, abs=1e-15)
    # Greenwood: se(S(3)) = S(3) sqrt(1/(7*6) + 1/(5*4))
    se = 6 / 7 * 4 / 5 * np.sqrt(1 / 42 + 1 / 20)
    assert tab.loc[3.0, "std_err"] == pytest.approx(se, rel=1e-12)


def test_flat_segment_at_half_gives_midpoint_median():
    # S = 0.5 exactly on [2, 3): R's rule returns the midpoint 2.5
    assert kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1]).median().estimate == 2.5


def test_surv_zero_has_missing_limits_and_se():
    tab = kaplan_meier([1, 2, 3], [1, 1, 1], conf_type="plain").table
    last = tab.iloc[-1]
    assert last["surv"] == 0.0
    assert np.isnan(last["std_err"]) and np.isnan(last["lower"]) and np.isnan(last["upper"])


def test_all_censored_curve_stays_at_one_and_median_not_estimable():
    fit = kaplan_meier([1, 2, 3], [0, 0, 0])
    assert (fit.table["surv"] == 1).all()
    assert fit.median() == (None, None, None)


def test_landmark_after_last_time_is_nan_not_dropped():
    at = kaplan_meier([1, 2, 3], [1, 0, 1]).at([2.5, 10.0])
    assert len(at) == 2
    assert at["surv"].iloc[0] == pytest.approx(2 / 3)
    assert np.isnan(at["surv"].iloc[1])


def test_entry_risk_set_excludes_not_yet_entered():
    # subject entering at 3 is not at risk at t = 2 nor at t = 3 (entry < t required)
    fit = kaplan_meier([2, 4, 5], [1, 1, 0], entry=[0, 3, 0])
    assert fit.table["n_risk"].tolist() == [2.0, 2.0, 1.0]


def test_repr_and_to_frame():
    fit = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 1])
    assert "KaplanMeier(n=4" in repr(fit)
    frame = fit.to_frame()
    frame.loc[0, "surv"] = -1
    assert fit.table.loc[0, "surv"] != -1  # a copy


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"time": [1, np.nan], "event": [1, 0]}, "missing or non-finite"),
        ({"time": [1, 2], "event": [1, 2]}, "0/1"),
        ({"time": [1, 2], "event": [1]}, "equal length"),
        ({"time": [], "event": []}, "at least one"),
        ({"time": [1, 2], "event": [1, 0], "weights": [1, -1]}, ">= 0"),
        ({"time": [1, 2], "event": [1, 0], "entry": [0, 2]}, "earlier than"),
        ({"time": [1, 2], "event": [1, 0], "conf_type": "logit"}, "conf_type"),
        ({"time": [1, 2], "event": [1, 0], "by": ["a", None]}, "missing"),
    ],
)
def test_bad_input_raises_input_error(kwargs, fragment):
    time, event = kwargs.pop("time"), kwargs.pop("event")
    with pytest.raises(InputError, match=fragment):
        kaplan_meier(time, event, **kwargs)


def test_to_dict_is_strict_json():
    import json as _json

    fit = kaplan_meier([1, 2, 3], [1, 1, 1])
    text = _json.dumps(fit.to_dict(), allow_nan=False)
    assert '"std_err": [' in text and "null" in text  # NaN at S = 0 became null
    groups = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 1], by=["a", "b", "a", "b"])
    assert list(groups.to_dict()["groups"]) == ["a", "b"]


def test_timefix_false_keeps_near_ties_apart():
    t = [1, 1 + 1e-10, 2, 3]
    assert len(kaplan_meier(t, [1, 1, 0, 1]).table) == 3  # R's aeqSurv merges 1 and 1+1e-10
    assert len(kaplan_meier(t, [1, 1, 0, 1], timefix=False).table) == 4


def test_html_repr_has_table():
    html = kaplan_meier([1, 2, 3], [1, 0, 1])._repr_html_()
    assert html.startswith("<p>KaplanMeier(n=3") and "<table" in html and "n_risk" in html


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_conf_level_90_matches_r(conf_type):
    ref = json.loads((Path(__file__).with_name("r_cases.json")).read_text())["km90"][conf_type]
    fit = kaplan_meier(
        [1, 2, 2, 3, 4, 4, 5, 6, 7, 9],
        [0, 1, 0, 1, 1, 1, 0, 1, 1, 0],
        conf_type=conf_type,
        conf_level=0.9,
    )
    assert_r_close(fit.table["lower"], ref["lower"])
    assert_r_close(fit.table["upper"], ref["upper"])
    for i, p in enumerate((0.25, 0.5, 0.75)):
        q = fit.quantile(p)
        for value, expected in ((q.lower, ref["q_lower"][i]), (q.upper, ref["q_upper"][i])):
            assert (value is None) == (expected is None)
            if expected is not None:
                assert value == pytest.approx(expected, rel=1e-9)


def test_grouped_median_frame_is_float_with_nan_where_not_estimable():
    groups = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 1], by=["a", "b", "a", "b"])
    med = groups.medians()
    assert med["upper"].dtype == float and med["upper"].isna().all()
    assert med["estimate"].tolist() == [2.0, 4.0]
