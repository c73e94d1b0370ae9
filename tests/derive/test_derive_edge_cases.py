"""hand-worked edge cases a real cohort contains (all found correct).

Index date 2021-01-01 for every patient; months = days / 30.4375.
A dies on the index day (OS 0, no line). B: line 1 teclistamab on the index day
(CR, progression 2021-02-20), line 2 ongoing (no end date) with a progression
2021-06-01, alive 2021-12-31. C: line 1 KPd (not assessed, no progression), line 2
teclistamab from 2021-04-01 (PR, no progression), dies 2021-06-01. D: one ongoing
line with progression, alive. E: no line, dies 2021-03-01 without a follow-up date.
"""

from __future__ import annotations

import pandas as pd
import pytest

M = 30.4375
D, N = pd.Timestamp, pd.NaT


@pytest.fixture
def derived(backend):
    pts = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C", "D", "E"],
            "car_t_date": [D("2020-06-01")] * 5,
            "progression_date": [D("2021-01-01")] * 5,
            "death_date": [D("2021-01-01"), N, D("2021-06-01"), N, D("2021-03-01")],
            "last_followup_date": [
                D("2021-01-01"),
                D("2021-12-31"),
                D("2021-06-01"),
                D("2021-12-31"),
                N,
            ],
        }
    )
    lines = pd.DataFrame(
        {
            "patient_id": ["B", "B", "C", "C", "D"],
            "line": [1, 2, 1, 2, 1],
            "regimen": ["tec", "KPd", "KPd", "tec", "KPd"],
            "start_date": [
                D("2021-01-01"),
                D("2021-03-01"),
                D("2021-01-10"),
                D("2021-04-01"),
                D("2021-02-01"),
            ],
            "end_date": [D("2021-02-20"), N, D("2021-03-31"), N, N],
            "best_response": ["CR", "NE", None, "PR", "SD"],
            "progression_date": [D("2021-02-20"), D("2021-06-01"), N, N, D("2021-05-01")],
        }
    )
    cls = pd.DataFrame(
        {
            "text": ["tec", "KPd"],
            "drugs": ["teclistamab", "carfilzomib;dexamethasone;pomalidomide"],
            "category": ["bispecific", "imid_pi"],
            "tce": [True, False],
            "bcma_directed": [True, False],
        }
    )
    lines_out = backend.lines(pts, lines, cls)
    return backend.patients(pts, lines_out), lines_out


def test_death_on_index_day_is_os_zero_event_and_valid(derived):
    pts, _ = derived
    a = pts.set_index("patient_id").loc["A"]
    assert (a["os_months"], bool(a["os_event"]), bool(a["os_valid"])) == (0.0, True, True)


def test_death_without_followup_date_ends_os_at_death(derived):
    pts, _ = derived
    e = pts.set_index("patient_id").loc["E"]
    assert e["os_months"] == pytest.approx(59 / M) and bool(e["os_event"])


def test_ongoing_last_line_with_progression_is_pfs_event(derived):
    _, lines = derived
    b2 = lines.set_index(["patient_id", "line"]).loc[("B", 2)]
    assert b2["pfs_months"] == pytest.approx(92 / M) and bool(b2["pfs_event"])
    assert pd.isna(b2["end_months"])
    assert b2["ttnt_months"] == pytest.approx(305 / M) and not bool(b2["ttnt_event"])


def test_death_after_next_line_start_censors_pfs_at_next_start(derived):
    _, lines = derived
    c1 = lines.set_index(["patient_id", "line"]).loc[("C", 1)]
    assert c1["pfs_months"] == pytest.approx(81 / M) and not bool(c1["pfs_event"])
    c2 = lines.set_index(["patient_id", "line"]).loc[("C", 2)]
    assert c2["pfs_months"] == pytest.approx(61 / M) and bool(c2["pfs_event"])


def test_line_on_index_day_starts_at_zero_and_tce_exposes_whole_follow_up(derived, backend):
    pts, lines = derived
    assert lines.iloc[0]["start_months"] == 0.0
    cp = backend.counting_process(pts)
    b = cp.loc[cp["patient_id"] == "B"]
    assert len(b) == 1 and bool(b["tce"].iloc[0]) and b["start"].iloc[0] == 0.0
    assert "A" not in set(cp["patient_id"])  # zero follow-up: no (start, stop] interval
    lm = backend.landmark(pts, 1.0).set_index("patient_id")
    assert bool(lm.loc["B", "tce_by_landmark"]) and "A" not in lm.index


def test_first_tce_at_line_two_splits_follow_up(derived, backend):
    pts, _ = derived
    cp = backend.counting_process(pts)
    c = cp.loc[cp["patient_id"] == "C"]
    assert c["stop"].iloc[0] == pytest.approx(90 / M) and not c["event"].iloc[0]
    assert bool(c["tce"].iloc[1]) and bool(c["event"].iloc[1])
    assert c["stop"].iloc[1] == pytest.approx(151 / M)
