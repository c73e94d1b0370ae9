"""Endpoint rules of the calibration metrics on a hand-worked micro cohort."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from aftercar.simulate.metrics import _km_median_numpy, km_median, line_pfs, os_from_relapse

D = dt.date


def _patients():
    return pa.table({
        "patient_id": ["a", "b"],
        "progression_date": pa.array([D(2020, 1, 1), D(2020, 1, 1)], pa.date32()),
        "death_date": pa.array([D(2020, 7, 1), None], pa.date32()),
        "last_followup_date": pa.array([None, D(2021, 1, 1)], pa.date32()),
    })  # fmt: skip


def test_os_runs_from_relapse_to_death_or_last_followup():
    t, e = os_from_relapse(_patients())
    assert np.allclose(t * 30.4375, [182, 366])
    assert e.tolist() == [True, False]


def test_pfs_progression_switch_censoring_and_death():
    lines = pa.table({
        "patient_id": ["a", "a", "b"],
        "start_date": pa.array([D(2020, 1, 10), D(2020, 3, 1), D(2020, 1, 5)], pa.date32()),
        "progression_date": pa.array([None, None, D(2020, 2, 4)], pa.date32()),
    })  # fmt: skip
    t, e = line_pfs(_patients(), lines)
    # a1: switched without progression -> censored at a2's start (51 days)
    # a2: last line, no progression, patient died -> event at death (122 days)
    # b1: progression after 30 days -> event
    assert np.allclose(t * 30.4375, [51, 122, 30])
    assert e.tolist() == [False, True, True]


def test_km_median_matches_r_convention_on_a_flat_half():
    # S drops to exactly 0.5 at t=2 and stays until t=4: R takes the midpoint 3
    time = np.array([1.0, 2.0, 4.0, 5.0])
    event = np.array([True, True, True, True])
    assert _km_median_numpy(time, event) == 3.0
    assert km_median(time, event) == 3.0


def test_km_median_not_reached_is_nan():
    assert np.isnan(km_median(np.array([1.0, 2.0, 3.0]), np.array([True, False, False])))
