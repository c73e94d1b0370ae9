"""TCE exposure as a time-varying covariate and landmark cohorts, hand-worked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

M = 30.4375


def _pts(micro, backend) -> pd.DataFrame:
    return backend.patients(micro[0], backend.lines(*micro))


def test_tce_split_at_first_tce_start(micro, backend):
    rows = backend.counting_process(_pts(micro, backend))
    p3 = rows.loc[rows["patient_id"] == "P3"].reset_index(drop=True)
    assert len(p3) == 2
    assert p3.loc[0, ["start", "stop"]].tolist() == pytest.approx([0.0, 31 / M])
    assert not p3.loc[0, "tce"] and not p3.loc[0, "event"]
    assert p3.loc[1, ["start", "stop"]].tolist() == pytest.approx([31 / M, 334 / M])
    assert p3.loc[1, "tce"] and not p3.loc[1, "event"]


def test_tce_on_index_day_exposes_whole_follow_up(micro, backend):
    rows = backend.counting_process(_pts(micro, backend))
    p4 = rows.loc[rows["patient_id"] == "P4"]
    assert len(p4) == 1
    assert p4.iloc[0]["tce"] and p4.iloc[0]["event"]
    assert p4.iloc[0]["stop"] == pytest.approx(90 / M)


def test_never_tce_single_unexposed_row_keeps_death(micro, backend):
    rows = backend.counting_process(_pts(micro, backend))
    p1 = rows.loc[rows["patient_id"] == "P1"]
    assert len(p1) == 1
    assert not p1.iloc[0]["tce"] and p1.iloc[0]["event"]
    assert len(rows) == 5  # P1, P2, P3 x2, P4


def _random_patients(os_t, tce_t, events) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(len(os_t))],
            "os_months": os_t,
            "os_event": events,
            "first_tce_months": tce_t,
            "os_valid": True,
        }
    )


RANDOM_ROWS = st.lists(
    st.tuples(
        st.floats(0.01, 60),
        st.one_of(st.just(np.nan), st.floats(0, 70)),
        st.booleans(),
    ),
    min_size=1,
    max_size=30,
)


def test_counting_process_preserves_time_and_events(backend):
    @settings(max_examples=backend.examples(30), deadline=None)
    @given(RANDOM_ROWS)
    def check(rows):
        _counting_process_preserves_time_and_events(backend, rows)

    check()


def _counting_process_preserves_time_and_events(backend, rows):
    os_t, tce_t, events = (np.array(x) for x in zip(*rows, strict=True))
    pts = _random_patients(os_t, tce_t, events)
    cp = backend.counting_process(pts)
    assert (cp["stop"] > cp["start"]).all()
    per = cp.groupby("patient_id").agg(
        total=("stop", "max"),
        first=("start", "min"),
        events=("event", "sum"),
        length=("stop", "size"),
    )
    per = per.loc[pts["patient_id"]]
    np.testing.assert_allclose(per["total"], os_t)
    assert (per["first"] == 0).all()
    np.testing.assert_array_equal(per["events"], events.astype(int))
    exposed_time = (cp["stop"] - cp["start"])[cp["tce"]].groupby(cp["patient_id"]).sum()
    expected = np.where(np.isfinite(tce_t), np.clip(os_t - np.nan_to_num(tce_t), 0, None), 0)
    got = exposed_time.reindex(pts["patient_id"]).fillna(0).to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_landmark_excludes_patients_not_alive_beyond_landmark(micro, backend):
    pts = _pts(micro, backend)
    lm = backend.landmark(pts, 6.0)  # 6 mo = 182.6 d: P1 (181 d) and P4 (90 d) drop out
    assert sorted(lm["patient_id"]) == ["P2", "P3"]
    row = lm.set_index("patient_id").loc["P3"]
    assert row["tce_by_landmark"]
    assert row["time"] == pytest.approx(334 / M - 6.0)
    assert not lm.set_index("patient_id").loc["P2", "tce_by_landmark"]


def test_landmark_counts_tce_only_by_landmark(micro, backend):
    pts = _pts(micro, backend)
    lm = backend.landmark(pts, 0.5)  # 15.2 d: P3's TCE at day 31 is after the landmark
    assert not lm.set_index("patient_id").loc["P3", "tce_by_landmark"]
    assert lm.set_index("patient_id").loc["P4", "tce_by_landmark"]
