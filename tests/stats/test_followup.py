"""Reverse Kaplan-Meier median follow-up against R (values from make_cases.R)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aftercar.stats import kaplan_meier, median_followup

CASE = json.loads((Path(__file__).with_name("r_cases.json")).read_text())["followup"]


@pytest.mark.parametrize(("conf_type", "key"), [("log-log", "loglog"), ("log", "log")])
def test_median_followup_matches_r_reverse_survfit(conf_type, key):
    got = median_followup(CASE["time"], CASE["event"], conf_type=conf_type)
    expected = [None if v is None else pytest.approx(v, rel=1e-9) for v in CASE[key]]
    assert list(got) == expected


def test_reverse_km_swaps_event_and_censoring():
    # deaths at 2 and 7 are censorings of follow-up; censored patients are its events
    time, event = [2, 5, 7, 9, 12, 14], [1, 0, 1, 0, 0, 1]
    direct = kaplan_meier(time, [1 - e for e in event]).median()
    assert median_followup(time, event) == direct
    assert median_followup(time, event).estimate == 12.0


def test_no_censoring_means_follow_up_not_estimable():
    assert median_followup([1, 2, 3], [1, 1, 1]) == (None, None, None)
