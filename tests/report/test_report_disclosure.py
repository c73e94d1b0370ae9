"""Small-cell suppression: hand-worked cases and a property over random results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercar.report.disclosure import (
    SUPPRESSED,
    is_count_key,
    is_proportion_key,
    suppress_small_counts,
    suppress_table,
    suppress_value,
)


def test_counts_one_to_k_minus_one_become_marker_zero_and_k_kept():
    out = suppress_small_counts({"n": 1, "events": 4, "responders": 0, "patients": 5}, 5)
    assert out == {"n": "<5", "events": "<5", "responders": 0, "patients": 5}


def test_none_threshold_returns_input_unchanged():
    obj = {"n": 1}
    assert suppress_small_counts(obj, None) is obj


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "5"])
def test_invalid_threshold_is_rejected(bad):
    with pytest.raises(ValueError, match="positive integer"):
        suppress_small_counts({"n": 1}, bad)


def test_non_count_keys_keep_small_numbers():
    obj = {"median_months": 3.0, "row": 2, "line": 1, "min": 1, "hazard_ratio": 2.0}
    assert suppress_small_counts(obj, 5) == obj


def test_proportion_beside_suppressed_numerator_is_suppressed():
    orr = {"responders": 2, "n": 40, "estimate": 0.05, "ci95": [0.006, 0.169]}
    out = suppress_small_counts({"first_salvage": {"orr": orr}}, 5)["first_salvage"]["orr"]
    assert out == {"responders": "<5", "n": 40, "estimate": SUPPRESSED, "ci95": SUPPRESSED}


def test_proportion_kept_when_no_count_suppressed():
    orr = {"responders": 12, "n": 40, "estimate": 0.3, "ci95": [0.17, 0.47]}
    assert suppress_small_counts(orr, 5) == orr


def test_median_and_its_ci_survive_small_events():
    # a median is not a proportion: it does not give the event count back
    pfs = {"n": 30, "events": 3, "median_months": None, "ci95": [2.0, None]}
    assert suppress_small_counts(pfs, 5) == {**pfs, "events": "<5"}


def test_lists_under_count_keys_are_counts_and_lists_of_dicts_recurse():
    obj = {"observed": [3, 12], "excluded": [{"table": "lines", "row": 3, "n": 2}]}
    out = suppress_small_counts(obj, 5)
    assert out["observed"] == ["<5", 12]
    assert out["excluded"] == [{"table": "lines", "row": 3, "n": "<5"}]


def test_name_patterns():
    for name in ("n", "N_Risk", "n_event", "tce_patients", "pd_count", "early_n", "lines"):
        assert is_count_key(name), name
    for name in ("median", "row", "line", "min", "max", "estimate", "hazard_ratio", 3):
        assert not is_count_key(name), name
    assert is_proportion_key("orr_upper") and is_proportion_key("ORR (%)")


def test_suppress_value_floats_and_bools():
    assert suppress_value(2.0, 5) == "<5"
    assert suppress_value(0.5, 5) == "<5"  # a weighted count below K is still small
    assert suppress_value(True, 5) is True
    assert suppress_value(float("nan"), 5) != "<5"


def test_table_count_columns_text_cells_and_row_proportions():
    df = pd.DataFrame(
        {
            "category": ["adc", "bispecific", "other"],
            "lines": [3, 20, 0],
            "responders": [1, 15, 0],
            "orr": [1 / 3, 0.75, np.nan],
            "orr_lower": [0.01, 0.51, np.nan],
            "summary": ["1/3 (33.3%)", "15/20 (75.0%)", "0/0"],
            "female": ["2 (66.7%)", "12 (60.0%)", "0 (0%)"],
            "age": ["64 (58–70)", "61 (55–66)", "–"],
        }
    )
    out = suppress_table(df, 5)
    assert out["lines"].tolist() == ["<5", 20, 0]
    assert out["responders"].tolist() == ["<5", 15, 0]
    assert out["orr"].tolist()[0] == SUPPRESSED and out["orr"].tolist()[1] == 0.75
    assert out["orr_lower"].tolist()[0] == SUPPRESSED
    assert out["summary"].tolist() == ["<5/<5", "15/20 (75.0%)", "0/0"]
    assert out["female"].tolist() == ["<5", "12 (60.0%)", "0 (0%)"]
    assert out["age"].tolist() == df["age"].tolist()
    assert df["lines"].tolist() == [3, 20, 0]  # input untouched


def test_km_at_risk_table_columns_are_suppressed():
    km = pd.DataFrame(
        {
            "time": [1.0, 2.0],
            "n_risk": [10, 4],
            "n_event": [1, 0],
            "n_censor": [5, 4],
            "surv": [0.9, 0.9],
        }
    )
    out = suppress_table(km, 5)
    assert out["n_risk"].tolist() == [10, "<5"]
    assert out["n_event"].tolist() == ["<5", 0]
    assert out["n_censor"].tolist() == [5, "<5"]
    assert out["time"].tolist() == [1.0, 2.0] and out["surv"].tolist() == [0.9, 0.9]


# --- property: no count from 1 to K-1 survives anywhere under a count key -------------

COUNT_NAMES = ["n", "events", "responders", "patients", "lines", "n_risk", "count", "tce_n"]
OTHER_NAMES = ["median", "estimate", "row", "label", "ci95", "min", "by_category", "x"]
scalars = st.one_of(
    st.integers(-3, 30),
    st.floats(-1, 30),
    st.just(float("nan")),
    st.none(),
    st.booleans(),
    st.text(max_size=3),
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(COUNT_NAMES + OTHER_NAMES), inner, max_size=5),
    ),
    max_leaves=30,
)


def _leaks(obj, k, under_count=False):
    """Numbers in (0, K) found under a count key."""
    if isinstance(obj, dict):
        return [
            x
            for key, v in obj.items()
            for x in _leaks(v, k, is_count_key(key) and not isinstance(v, dict))
        ]
    if isinstance(obj, list):
        return [x for v in obj for x in _leaks(v, k, under_count and not isinstance(v, dict))]
    is_num = isinstance(obj, int | float) and not isinstance(obj, bool)
    return [obj] if under_count and is_num and 0 < obj < k else []


@settings(max_examples=100, deadline=None)
@given(obj=json_like, k=st.integers(2, 11))
def test_property_no_small_count_survives(obj, k):
    out = suppress_small_counts(obj, k)
    assert _leaks(out, k) == []


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 40), min_size=1, max_size=20),
    k=st.integers(2, 11),
)
def test_property_table_count_column_has_no_small_integer(counts, k):
    df = pd.DataFrame({"n_risk": counts, "time": np.arange(len(counts), dtype=float)})
    out = suppress_table(df, k)
    kept = [v for v in out["n_risk"] if not isinstance(v, str)]
    assert all(v == 0 or v >= k for v in kept)
    assert sum(isinstance(v, str) for v in out["n_risk"]) == sum(0 < c < k for c in counts)


def test_unrelated_small_count_does_not_suppress_the_proportion():
    # 1 non-evaluable line says nothing about 12 of 18 responders (no total of lines here)
    orr = {"responders": 12, "n": 18, "estimate": 12 / 18, "ci95": [0.41, 0.87], "not_evaluable": 1}
    out = suppress_small_counts(orr, 5)
    assert out == {**orr, "not_evaluable": "<5"}


def test_few_non_responders_hide_the_responders_and_the_rate():
    # 17 of 18 responders: 18 - 17 = 1 non-responder, so the responders are suppressed too
    orr = {"responders": 17, "n": 18, "estimate": 17 / 18, "ci95": [0.73, 1.0]}
    out = suppress_small_counts(orr, 5)
    assert out == {"responders": SUPPRESSED, "n": 18, "estimate": SUPPRESSED, "ci95": SUPPRESSED}


def test_count_named_after_a_proportion_suppresses_only_that_proportion():
    df = pd.DataFrame(
        {
            "category": ["adc"],
            "n": [20],
            "responders": [9],
            "orr": [0.45],
            "vgpr_or_better_n": [2],
            "vgpr_or_better": [0.1],
            "vgpr_or_better_ci95": ["[0.01, 0.3]"],
        }
    )
    out = suppress_table(df, 5)
    assert out.loc[0, "orr"] == 0.45
    assert out.loc[0, "vgpr_or_better_n"] == "<5"
    assert out.loc[0, "vgpr_or_better"] == SUPPRESSED
    assert out.loc[0, "vgpr_or_better_ci95"] == SUPPRESSED


def test_fraction_bounds_follow_the_fraction():
    tce = {"patients": 3, "n": 79, "fraction": 3 / 79, "fraction_ci95": [0.008, 0.1]}
    out = suppress_small_counts(tce, 5)
    assert out["fraction"] == SUPPRESSED and out["fraction_ci95"] == SUPPRESSED


def test_patient_identifiers_are_withheld_under_suppression():
    obj = {"excluded": [{"table": "lines", "row": 7, "patient_id": "P07", "reason": "x"}]}
    assert suppress_small_counts(obj, 5)["excluded"][0]["patient_id"] == SUPPRESSED
    df = pd.DataFrame({"table": ["lines", "lines"], "row": [7, 9], "patient_id": ["P07", None]})
    out = suppress_table(df, 5)
    assert out["patient_id"].tolist()[0] == SUPPRESSED and pd.isna(out["patient_id"].tolist()[1])
    assert out["row"].tolist() == [7, 9]
    assert suppress_table(df, None) is df


def test_an_id_cited_in_another_case_or_punctuation_is_withheld():
    """Free text withholds a cohort id written in another case or without its punctuation
    ("syn-0000002", "SYN0000002" for SYN-0000002; fuzz round 9, session 28), not a dose or
    a cycle number."""
    from aftercar.report.disclosure import without_identifiers

    ids = frozenset({"SYN-0000002", "12"})
    assert without_identifiers("KPd (syn-0000002)", ids) == "KPd ([withheld])"
    assert without_identifiers("Dara SYN0000002", ids) == "Dara [withheld]"
    assert without_identifiers("KRd x 12 cycles", ids) == "KRd x 12 cycles"
