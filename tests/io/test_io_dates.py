"""Dates as people type them: month names, day/month order per column, --date-format.

The promise under test: a date is read as the day it means or reported, never
silently read with day and month swapped, and one bad cell gives one problem.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iokit import PATIENT_COLUMNS, PATIENTS, TODAY, edited, make_cohort

from aftercar.cli import main
from aftercar.io import read_cohort, validate_cohort
from aftercar.io.dates import parse_dates
from aftercar.io.dictionary import columns

CAR_T = PATIENT_COLUMNS.index("car_t_date")
SPEC = next(s for s in columns("lines") if s.name == "start_date")


def _car_t(tmp_path, values, **kwargs):
    rows = [list(r) for r in PATIENTS]
    for r, v in zip(rows, values, strict=True):
        r[CAR_T] = v
    return validate_cohort(make_cohort(tmp_path, patients=rows), today=TODAY, **kwargs)


def _dates(report):
    return report.cohort.patients.column("car_t_date").to_pylist()


TRUTH = [dt.date(2020, 1, 10), dt.date(2020, 3, 2), dt.date(2020, 5, 5)]


@pytest.mark.parametrize(
    "values",
    [
        ["10-Jan-2020", "02-Mar-2020", "5-may-2020"],
        ["Jan 10 2020", "March 2, 2020", "MAY 5 2020"],
        ["10 January 2020", "2nd Mar 2020", "5th May, 2020"],
        ["2020-Jan-10", "2020-Mar-02", "2020-May-05"],
        ["10-Jan-2020 00:00", "2020-03-02", "Mar. 2 2020".replace("Mar. 2", "May 5")],
        ["01/10/2020", "3/2/2020", "5/25/2020"],  # 5/25 settles month first
        ["10.01.2020", "02.03.2020", "25.05.2020"],  # 25.05 settles day first
    ],
)
def test_dates_as_people_type_them(tmp_path, values):
    report = _car_t(tmp_path, values)
    assert report.ok, report.errors
    expected = list(TRUTH)
    if values[2].startswith("25") or values[2].startswith("5/25"):
        expected[2] = dt.date(2020, 5, 25)
    assert _dates(report) == expected


def test_a_value_over_12_settles_the_order_for_the_column(tmp_path):
    report = _car_t(tmp_path, ["10/01/2020", "02/03/2020", "25/05/2020"])
    assert report.ok
    assert _dates(report) == [dt.date(2020, 1, 10), dt.date(2020, 3, 2), dt.date(2020, 5, 25)]
    assert [p.rule for p in report.warnings] == ["date_order_inferred", "no_lines"]


def test_a_truly_ambiguous_column_is_refused_cell_by_cell(tmp_path):
    report = _car_t(tmp_path, ["10/01/2020", "02/03/2020", "05/05/2020"])
    # 05/05/2020 reads the same either way: accepted; the other two are refused.
    assert [(p.row, p.rule) for p in report.errors] == [
        (2, "date_ambiguous"),
        (3, "date_ambiguous"),
    ]


def test_a_column_mixing_both_orders_refuses_what_it_cannot_decide(tmp_path):
    report = _car_t(tmp_path, ["25/01/2020", "02/03/2020", "05/25/2020"])
    assert [(p.row, p.rule, p.value) for p in report.errors] == [
        (3, "date_ambiguous", "02/03/2020")
    ]
    assert report.errors[0].message == (
        "car_t_date is an ambiguous date (day and month order unknown; this column has both "
        "day-first dates (e.g. 25/01/2020 in row 2) and month-first dates (e.g. 05/25/2020 in "
        "row 4))"
    )


def test_the_order_is_inferred_per_column_not_per_file(tmp_path):
    rows = [list(r) for r in PATIENTS]
    prog = PATIENT_COLUMNS.index("progression_date")
    rows[0][CAR_T], rows[0][prog] = "13/01/2020", "07/01/2020"  # day first; unsettled
    report = validate_cohort(make_cohort(tmp_path, patients=rows), today=TODAY)
    assert [(p.column, p.rule) for p in report.errors] == [("progression_date", "date_ambiguous")]


def test_two_digit_years_need_a_format(tmp_path):
    report = _car_t(tmp_path, ["10/01/20", "2020-03-02", "2020-05-05"])
    assert [(p.row, p.message) for p in report.errors] == [
        (2, "car_t_date has a two-digit year (the century is unknown)")
    ]
    report = _car_t(
        tmp_path / "b", ["10/01/20", "2020-03-02", "2020-05-05"], date_format="%d/%m/%y"
    )
    assert report.ok and _dates(report) == TRUTH


def test_impossible_dates_are_not_dates(tmp_path):
    report = _car_t(tmp_path, ["31/31/2020", "30-Feb-2020", "2020-02-30"])
    assert [(p.row, p.rule) for p in report.errors] == [
        (2, "date_unparseable"),
        (3, "date_unparseable"),
        (4, "date_unparseable"),
    ]


def test_several_formats_are_tried_in_order_per_column(tmp_path):
    rows = [list(r) for r in PATIENTS]
    prog = PATIENT_COLUMNS.index("progression_date")
    for r, car_t, progression in zip(
        rows,
        ["01/10/2020", "03/02/2020", "05/05/2020"],
        ["01.07.2020", "15.11.2020", "1.12.2020"],
        strict=True,
    ):
        r[CAR_T], r[prog] = car_t, progression
    folder = make_cohort(tmp_path, patients=rows)
    cohort = read_cohort(folder, today=TODAY, date_format=("%m/%d/%Y", "%d.%m.%Y"))
    assert cohort.patients.column("car_t_date").to_pylist() == TRUTH
    assert cohort.patients.column("progression_date").to_pylist() == [
        dt.date(2020, 7, 1),
        dt.date(2020, 11, 15),
        dt.date(2020, 12, 1),
    ]
    # One format string keeps working, and so does a list.
    assert read_cohort(folder, today=TODAY, date_format=["%m/%d/%Y", "%d.%m.%Y"]).patients.equals(
        cohort.patients
    )


def test_cli_accepts_repeated_date_format(capsys, tmp_path):
    rows = [list(r) for r in PATIENTS]
    prog = PATIENT_COLUMNS.index("progression_date")
    rows[0][CAR_T], rows[0][prog] = "01/10/2020", "01.07.2020"
    folder = make_cohort(tmp_path, patients=rows)
    args = ["validate", str(folder), "--json", "--date-format", "%m/%d/%Y"]
    assert main([*args, "--date-format", "%d.%m.%Y"]) == 0
    capsys.readouterr()
    # With the first format only, progression_date does not fit it: an error, exit 2.
    assert main(args) == 2
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [(p["column"], p["rule"]) for p in problems if p["severity"] == "error"] == [
        ("progression_date", "date_unparseable")
    ]


def test_cli_plausibility_options(capsys, tmp_path):
    folder = make_cohort(tmp_path, **edited("patients", 3, "age_at_cart", "15"))
    assert main(["validate", str(folder), "--json"]) == 2
    assert main(["validate", str(folder), "--json", "--age-range", "12-100"]) == 0
    folder = make_cohort(tmp_path / "b", **edited("patients", 3, "car_t_date", "1989-05-01"))
    assert main(["validate", str(folder), "--json", "--earliest-date", "1985-01-01"]) == 0
    capsys.readouterr()
    assert main(["validate", str(folder), "--age-range", "old"]) == 2
    assert "--age-range 'old' is not an age range" in capsys.readouterr().err


def _us_workbook_rows():
    """The clinician workbook of issue 11: US dates, some only readable month first."""
    rows = [list(r) for r in PATIENTS]
    cols = ["car_t_date", "progression_date", "death_date", "last_followup_date"]
    for r in rows:
        for c in cols:
            j = PATIENT_COLUMNS.index(c)
            if r[j]:
                d = dt.date.fromisoformat(r[j])
                r[j] = f"{d.month}/{d.day}/{d.year}"
    return rows


def test_us_dates_are_read_month_first_where_the_column_settles_it(tmp_path):
    folder = make_cohort(tmp_path, patients=_us_workbook_rows())
    report = validate_cohort(folder, today=TODAY)
    # progression_date (11/15/2020) and last_followup_date (1/31/2022) settle month first;
    # car_t_date and death_date hold only dates that read both ways: refused, and the hint
    # names the order the rest of the file shows.
    assert {(p.column, p.rule) for p in report.errors} == {
        ("car_t_date", "date_ambiguous"),
        ("death_date", "date_ambiguous"),
    }
    assert {p.hint for p in report.errors} == {
        "write the date as YYYY-MM-DD (e.g. 2021-04-03), or pass --date-format to say how to "
        "read it (e.g. --date-format %m/%d/%Y)"
    }
    got = read_cohort(folder, today=TODAY, date_format="%m/%d/%Y")
    ref = read_cohort(make_cohort(tmp_path / "iso"), today=TODAY)
    for c in ("car_t_date", "progression_date", "death_date", "last_followup_date"):
        assert got.patients.column(c).equals(ref.patients.column(c)), c


def test_a_day_first_format_on_us_dates_never_swaps_silently(tmp_path):
    folder = make_cohort(tmp_path, patients=_us_workbook_rows())
    report = validate_cohort(folder, today=TODAY, date_format="%d/%m/%Y")
    assert report.cohort is None
    # Every column with a month-first-only value is refused as a whole ...
    refused = {p.column for p in report.errors if p.rule == "date_format_mismatch"}
    assert refused == {"progression_date", "last_followup_date"}
    # ... with the format their own dates show in the fix.
    hints = {p.hint for p in report.errors if p.rule == "date_format_mismatch"}
    assert hints == {
        "the column's own dates are written %m/%d/%Y: pass --date-format %m/%d/%Y for it, "
        "or leave --date-format out and let aftercar infer the order"
    }


def test_formats_that_read_nothing_of_a_column_name_the_format(tmp_path):
    report = _car_t(tmp_path, ["2020/01/10", "2020-03-02", "2020-05-05"], date_format="%d/%m/%Y")
    assert [p.message for p in report.errors] == ["car_t_date is not a date in the format %d/%m/%Y"]


DAY = st.dates(dt.date(1995, 1, 1), dt.date(2024, 12, 31))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(DAY, min_size=1, max_size=12),
    st.sampled_from(["day", "month"]),
    st.sampled_from(["/", ".", "-"]),
    st.booleans(),
)
def test_a_day_month_column_is_read_right_or_refused_never_swapped(days, first, sep, pad):
    def show(d):
        a, b = (d.day, d.month) if first == "day" else (d.month, d.day)
        fmt = "{:02d}" if pad else "{}"
        return sep.join([fmt.format(a), fmt.format(b), str(d.year)])

    text = pd.Series([show(d) for d in days], dtype="string")
    values, findings = parse_dates(text, SPEC)
    read = [None if pd.isna(v) else v.date() for v in values]
    for got, want in zip(read, days, strict=True):
        assert got is None or got == want
    settled = any(max(d.day, d.month) > 12 and d.day != d.month for d in days)
    unclear = [d.day != d.month and max(d.day, d.month) <= 12 for d in days]
    refused = {i for f in findings if f.mask is not None for i in f.mask.nonzero()[0]}
    if settled:
        assert read == days
    else:
        assert refused == {i for i, u in enumerate(unclear) if u}


def test_a_year_day_month_format_reads_the_iso_shaped_values_too():
    # --date-format %Y-%d-%m (fuzzing, round 3 F13): '2025-02-05' is 2 May, as the user
    # said, not ISO's 5 February; '2025-24-05' fits the format
    text = pd.Series(["2025-24-05", "2025-02-05", "12 May 2025"], dtype="string")
    values, findings = parse_dates(text, SPEC, formats=["%Y-%d-%m"])
    assert [v.date() for v in values] == [
        dt.date(2025, 5, 24),
        dt.date(2025, 5, 2),
        dt.date(2025, 5, 12),
    ]
    assert findings == []


def test_an_iso_format_leaves_iso_text_to_the_iso_reader():
    text = pd.Series(["2025-02-05", "05/02/2025"], dtype="string")
    values, _ = parse_dates(text, SPEC, formats=["%d/%m/%Y"])
    assert [v.date() for v in values] == [dt.date(2025, 2, 5), dt.date(2025, 2, 5)]


def test_a_year_day_month_format_leaves_an_iso_column_iso():
    # one --date-format serves every column (reviews, 2026-12-06): a column that shows ISO
    # (a day over 12 in last place) stays ISO; one that shows nothing is read as the user
    # said, with a warning
    text = pd.Series(["2025-02-05", "2025-03-28"], dtype="string")
    values, findings = parse_dates(text, SPEC, formats=["%Y-%d-%m"])
    assert [v.date() for v in values] == [dt.date(2025, 2, 5), dt.date(2025, 3, 28)]
    assert findings == []
    values, findings = parse_dates(pd.Series(["2025-02-05", "2025-04-04"], dtype="string"),
                                   SPEC, formats=["%Y-%d-%m"])  # fmt: skip
    assert [v.date() for v in values] == [dt.date(2025, 5, 2), dt.date(2025, 4, 4)]
    (note,) = findings
    assert note.rule == "date_order_inferred" and "2025-02-05 (row 2)" in note.message
