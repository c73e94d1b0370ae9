"""Guyot et al. (2012) KM reconstruction: round trip on simulated data and input checks."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercar.benchmark import guyot_reconstruct
from aftercar.benchmark.reconstruct import read_at_risk_csv, read_curve_csv
from aftercar.errors import InputError
from aftercar.stats import cox_ph, kaplan_meier


def _simulated_trial(seed: int, n: int = 200):
    """Weibull survival (shape 1.3, scale 20 months), uniform censoring 5-40 months."""
    rng = np.random.default_rng(seed)
    t_event = rng.weibull(1.3, n) * 20.0
    t_cens = rng.uniform(5.0, 40.0, n)
    time = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(int)
    return time, event


def _digitise(time, event, every: float = 5.0):
    """What a reader of the published plot has: the KM steps, the flat tail, at-risk table."""
    tab = kaplan_meier(time, event).table
    steps = tab[tab["n_event"] > 0]
    curve = pd.DataFrame({
        "time": np.r_[steps["time"].to_numpy(), time.max()],
        "survival": np.r_[steps["surv"].to_numpy(), steps["surv"].to_numpy()[-1]],
    })  # fmt: skip
    grid = np.arange(0.0, time.max(), every)
    at_risk = pd.DataFrame({"time": grid, "n_risk": [(time >= g).sum() for g in grid]})
    return curve, at_risk


def _step_at(table: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    t = table["time"].to_numpy(float)
    s = np.r_[1.0, table["surv"].to_numpy(float)]
    return s[np.searchsorted(t, grid, side="right")]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_round_trip_on_simulated_data(seed):
    time, event = _simulated_trial(seed)
    curve, at_risk = _digitise(time, event)
    rec = guyot_reconstruct(curve, at_risk, total_events=int(event.sum()))
    ipd = rec.ipd
    assert len(ipd) == len(time)
    original = kaplan_meier(time, event)
    rebuilt = kaplan_meier(ipd["time"].to_numpy(), ipd["event"].to_numpy())
    grid = np.linspace(0.0, time.max(), 2000)
    gap = np.abs(_step_at(original.table, grid) - _step_at(rebuilt.table, grid))
    assert gap.max() < 0.02  # at every time
    m0, m1 = original.median().estimate, rebuilt.median().estimate
    assert abs(m1 - m0) / m0 < 0.05
    both_t = np.r_[time, ipd["time"].to_numpy()]
    both_e = np.r_[event, ipd["event"].to_numpy()]
    arm = pd.DataFrame({"reconstructed": np.r_[np.zeros(len(time)), np.ones(len(ipd))]})
    hr = cox_ph(both_t, both_e, arm).hazard_ratio[0]
    assert 0.9 < hr < 1.1
    acc = rec.accuracy
    assert acc.max_abs_diff < 0.02 and acc.mean_abs_diff < 0.005
    assert acc.rmst_reconstructed == pytest.approx(acc.rmst_input, rel=0.02)


def test_hand_worked_no_censoring_case_is_exact():
    # 10 patients, no censoring: S drops by 0.1 at months 1..10, all at risk at 0
    curve = pd.DataFrame({"time": np.arange(1.0, 11.0), "survival": np.arange(9, -1, -1) / 10})
    at_risk = pd.DataFrame({"time": [0.0, 5.0], "n_risk": [10, 6]})
    rec = guyot_reconstruct(curve, at_risk, total_events=10)
    assert rec.ipd["event"].tolist() == [1] * 10
    assert rec.ipd["time"].tolist() == list(np.arange(1.0, 11.0))
    assert rec.accuracy.max_abs_diff == pytest.approx(0.0, abs=1e-12)
    assert rec.accuracy.median_reconstructed == 5.0


def test_censoring_inferred_from_at_risk_counts():
    # 10 at risk; 1 event at month 2 (S=0.9); at month 4 only 7 at risk -> 2 censored
    curve = pd.DataFrame({"time": [2.0, 6.0, 8.0], "survival": [0.9, 0.7714, 0.7714]})
    at_risk = pd.DataFrame({"time": [0.0, 4.0], "n_risk": [10, 7]})
    rec = guyot_reconstruct(curve, at_risk)
    ipd = rec.ipd
    assert int(((ipd["time"] < 4.0) & (ipd["event"] == 0)).sum()) == 2
    assert int(((ipd["time"] == 6.0) & (ipd["event"] == 1)).sum()) == 1  # 7 * (1 - 0.857)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_percentage_survival_is_detected(tmp_path):
    df = read_curve_csv(_write(tmp_path, "c.csv", "time,survival\n0,100\n1,90\n2,80\n"))
    assert df["survival"].tolist() == [1.0, 0.9, 0.8]


@pytest.mark.parametrize(
    ("text", "row", "column", "message"),
    [
        ("time,survival\n0,1\n1,0.8\n2,0.9\n", 4, "survival", "never increases"),
        ("time,survival\n0,1\n2,0.8\n1,0.7\n", 4, "time", "out of order"),
        ("time,surv_pct\n0,1\n", 1, "survival", "missing column"),
        ("time,survival\n0,1\n1,abc\n", 3, "survival", "not a finite number"),
    ],
)
def test_bad_curve_files_name_file_row_column_and_value(tmp_path, text, row, column, message):
    path = _write(tmp_path, "curve.csv", text)
    with pytest.raises(InputError, match=message) as err:
        read_curve_csv(path)
    prob = err.value.problems[0]
    assert (prob.file, prob.row, prob.column) == (str(path), row, column)
    assert "Fix:" in str(err.value)


def test_increasing_at_risk_counts_are_refused(tmp_path):
    path = _write(tmp_path, "risk.csv", "time,n_risk\n0,50\n6,40\n12,45\n")
    with pytest.raises(InputError, match="never increase") as err:
        read_at_risk_csv(path)
    assert err.value.problems[0].row == 4 and err.value.problems[0].value == "45.0"


def test_at_risk_table_must_start_at_zero():
    curve = pd.DataFrame({"time": [1.0, 2.0], "survival": [0.9, 0.8]})
    with pytest.raises(InputError, match="start at time 0"):
        guyot_reconstruct(curve, pd.DataFrame({"time": [1.0], "n_risk": [10]}))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(20, 150), every=st.sampled_from([3.0, 6.0]))
def test_reconstruction_properties(seed, n, every):
    """Any simulated trial: n preserved, events <= n, reconstructed KM within [0, 1] and
    non-increasing, all times >= 0."""
    time, event = _simulated_trial(seed, n)
    curve, at_risk = _digitise(time, event, every)
    rec = guyot_reconstruct(curve, at_risk)
    assert len(rec.ipd) == n and 0 <= rec.ipd["event"].sum() <= n
    s = rec.km["survival_reconstructed"].to_numpy()
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.diff(s) <= 1e-12)
    assert (rec.ipd["time"] >= 0).all()


def test_unused_at_risk_rows_and_event_mismatch_are_reported():
    curve = pd.DataFrame({"time": np.arange(1.0, 11.0), "survival": np.arange(9, -1, -1) / 10})
    at_risk = pd.DataFrame({"time": [0.0, 5.2, 5.6, 12.0], "n_risk": [10, 5, 5, 0]})
    rec = guyot_reconstruct(curve, at_risk, total_events=12)  # more events than patients
    notes = " | ".join(rec.accuracy.notes)
    assert "at-risk row 4 (time 5.6" in notes and "merged" in notes
    assert "at-risk row 5 (time 12" in notes and "flat tail" in notes
    assert "reconstructed events (10) differ from the published total (12)" in notes


def test_every_bad_row_is_listed_at_once(tmp_path):
    # Two rows out of order and one increase: all three named in one error.
    path = _write(tmp_path, "curve.csv", "time,survival\n0,1\n2,0.8\n1,0.7\n3,0.75\n2.5,0.6\n")
    with pytest.raises(InputError, match="3 problems") as err:
        read_curve_csv(path)
    got = [(p.row, p.column) for p in err.value.problems]
    assert got == [(4, "time"), (5, "survival"), (6, "time")]


def test_a_proportion_a_pixel_above_one_is_not_a_percentage(tmp_path):
    """Fuzzing round 3 (2026-12-06): one value of 1.004 made the whole curve percent."""
    df = read_curve_csv(_write(tmp_path, "c.csv", "time,survival\n0,1.004\n1,0.9\n2,0.8\n"))
    assert df["survival"].tolist() == [1.0, 0.9, 0.8]


def test_ipd_with_both_event_and_status_is_refused(tmp_path):
    """Fuzzing round 4 (G07): 'status' renamed onto an existing 'event' gave a TypeError."""
    from aftercar.benchmark.reconstruct import read_ipd_csv

    path = tmp_path / "ipd.csv"
    path.write_text("time,event,status\n1,1,1\n2,0,0\n")
    with pytest.raises(InputError, match="both 'event' and 'status'"):
        read_ipd_csv(path)
