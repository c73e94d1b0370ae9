"""Structure and date rules of simulated cohorts (the curated contract of issue 2)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from aftercar.errors import ConfigError, InputError
from aftercar.io.dictionary import schema
from aftercar.simulate import load_params, simulate_cohort
from aftercar.simulate.cohort import LINE_COLUMNS, PATIENT_COLUMNS

RESPONSES = {"sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"}


def _days(col):
    return np.asarray(pc.cast(col, pa.int32()).to_numpy(zero_copy_only=False), dtype=float)


def test_tables_have_the_contract_columns_and_types(cohort_5k):
    assert tuple(cohort_5k.patients.column_names) == PATIENT_COLUMNS
    assert tuple(cohort_5k.lines.column_names) == LINE_COLUMNS
    for name, table in (("patients", cohort_5k.patients), ("lines", cohort_5k.lines)):
        want = schema(name)
        for field in table.schema:
            assert field.type == want.field(field.name).type, (name, field.name)


def test_line_numbers_are_consecutive_from_one_and_at_most_ten(cohort_5k):
    lines = cohort_5k.lines.to_pandas()
    g = lines.groupby("patient_id")["line"]
    assert (g.min() == 1).all()
    assert (g.max() == g.count()).all()
    assert lines["line"].max() <= 10
    # every patient has >= 1 salvage line by default (index-study inclusion)
    assert lines["patient_id"].nunique() == cohort_5k.patients.num_rows


def test_dates_follow_every_validation_order_rule(cohort_5k):
    p, ln = cohort_5k.patients, cohort_5k.lines
    car_t, prog = _days(p["car_t_date"]), _days(p["progression_date"])
    death, last = _days(p["death_date"]), _days(p["last_followup_date"])
    assert (car_t <= prog).all()
    assert (np.isnan(death) ^ np.isnan(last)).all()  # exactly one of the two
    pos = pc.index_in(ln["patient_id"], value_set=p["patient_id"]).to_numpy()
    start, end, lprog = (
        _days(ln["start_date"]),
        _days(ln["end_date"]),
        _days(ln["progression_date"]),
    )
    assert (prog[pos] <= start).all()
    assert (np.isnan(end) | (start <= end)).all()
    assert (np.isnan(lprog) | (lprog >= start)).all()
    final = np.where(np.isnan(death), last, death)[pos]
    for col in (start, end, lprog):
        assert (np.isnan(col) | (col <= final)).all()
    # next line starts after the previous one ended / progressed
    same = ln["patient_id"].to_numpy(zero_copy_only=False)
    nxt = np.flatnonzero(same[1:] == same[:-1])
    assert (start[nxt + 1] >= np.fmax(end[nxt], lprog[nxt])).all()


def test_no_date_after_the_cutoff_so_none_in_the_future(cohort_5k):
    cutoff = (dt.date.fromisoformat(load_params().section("cohort")["cutoff_date"])
              - dt.date(1970, 1, 1)).days  # fmt: skip
    assert cutoff < (dt.date.today() - dt.date(1970, 1, 1)).days
    for table in (cohort_5k.patients, cohort_5k.lines):
        for name in table.column_names:
            if pa.types.is_date(table.schema.field(name).type) and table[name].null_count < len(
                table
            ):
                assert np.nanmax(_days(table[name])) <= cutoff, name


def test_open_lines_are_only_ongoing_or_lost(cohort_5k):
    ln = cohort_5k.lines.to_pandas()
    open_reasons = set(ln.loc[ln["end_date"].isna(), "end_reason"])
    assert open_reasons <= {"ongoing", "lost to follow-up"}
    assert set(ln["best_response"].dropna()) <= RESPONSES
    assert ln["best_response"].isna().any() and (ln["best_response"] == "NE").any()


def test_progression_on_a_line_with_pd_best_response_is_early(cohort_5k):
    ln = cohort_5k.lines.to_pandas()
    pd_lines = ln[(ln["best_response"] == "PD") & ln["progression_date"].notna()]
    days = pd.to_datetime(pd_lines["progression_date"]) - pd.to_datetime(pd_lines["start_date"])
    assert days.dt.days.median() < 45


def test_same_seed_same_cohort_and_different_seed_differs():
    a, b, c = (simulate_cohort(300, seed=s) for s in (4, 4, 5))
    assert a.patients.equals(b.patients) and a.lines.equals(b.lines)
    assert not a.lines.equals(c.lines)


def test_chunking_makes_full_chunks_independent_of_cohort_size():
    params = {"cohort": {"chunk_size": 200}}
    small = simulate_cohort(450, seed=3, params=params)
    large = simulate_cohort(1000, seed=3, params=params)
    # patients 1-400 lie in two full chunks: identical in both cohorts
    first = pc.is_in(large.patients["patient_id"], value_set=small.patients["patient_id"][:400])
    assert large.patients.filter(first).equals(small.patients.slice(0, 400))
    ids = small.patients["patient_id"]
    assert pc.count_distinct(large.patients["patient_id"]).as_py() == 1000
    assert ids[0].as_py() == "SYN-0000001" and ids[449].as_py() == "SYN-0000450"


def test_truth_table_is_aligned_with_lines(cohort_5k):
    t = cohort_5k.truth
    assert t.num_rows == cohort_5k.lines.num_rows
    assert t["patient_id"].equals(cohort_5k.lines["patient_id"])
    assert t["line"].equals(cohort_5k.lines["line"])


def test_regimen_texts_vary_and_tce_availability_rises_after_2022(cohort_5k):
    ln = cohort_5k.lines.to_pandas()
    assert ln["regimen"].nunique() >= 50
    tce = cohort_5k.truth["tce"].to_numpy(zero_copy_only=False)
    year = pd.to_datetime(ln["start_date"]).dt.year.to_numpy()
    assert tce[year >= 2023].mean() > tce[year <= 2020].mean() + 0.05


def test_unknown_parameter_is_a_config_error():
    with pytest.raises(ConfigError, match=r"unknown simulation parameter 'course\.continue_prb'"):
        load_params({"course": {"continue_prb": 0.5}})


def test_zero_patients_is_an_input_error():
    with pytest.raises(InputError, match="n_patients must be >= 1"):
        simulate_cohort(0, seed=1)


def test_no_salvage_option_gives_patients_without_lines():
    c = simulate_cohort(500, seed=2, params={"cohort": {"no_salvage_prob": 0.2}})
    with_lines = pc.count_distinct(c.lines["patient_id"]).as_py()
    assert 330 < with_lines < 470
    assert c.patients.num_rows == 500


def test_alive_patients_were_last_seen_within_60_days_before_the_cutoff(cohort_5k):
    p = cohort_5k.patients
    cutoff = (dt.date.fromisoformat(load_params().section("cohort")["cutoff_date"])
              - dt.date(1970, 1, 1)).days  # fmt: skip
    death, last = _days(p["death_date"]), _days(p["last_followup_date"])
    lost = pc.is_in(
        p["patient_id"],
        value_set=cohort_5k.lines.filter(
            pc.equal(cohort_5k.lines["end_reason"], "lost to follow-up")
        )["patient_id"],
    ).to_numpy(zero_copy_only=False)
    alive_at_cutoff = np.isnan(death) & ~lost & (last > cutoff - 400)
    recent = last[alive_at_cutoff]
    assert (recent <= cutoff).all()
    assert (recent >= cutoff - 60).mean() > 0.95  # the rest: lost to follow-up off therapy
    assert (recent < cutoff).mean() > 0.9  # not all piled on the cut-off day


def test_repr_is_short_and_says_synthetic():
    assert repr(simulate_cohort(12, seed=1)).startswith("SimulatedCohort(seed=1, patients=12, ")
    assert "SYNTHETIC" in repr(simulate_cohort(3, seed=2))
