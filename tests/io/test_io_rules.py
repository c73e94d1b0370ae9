"""Every validation rule: a bad micro-cohort and the exact problem it must produce."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from iokit import (
    LINE_COLUMNS,
    LINES,
    PATIENT_COLUMNS,
    PATIENTS,
    TODAY,
    edited,
    make_cohort,
    write_csv,
)

from aftercar.errors import Problem
from aftercar.io import RULES, validate_cohort

P, L = "patients.csv", "lines.csv"
AGE_HINT = (
    "check birth_date, car_t_date and age_at_cart (the year, the day/month order); ages "
    "outside 18 to 100 years are not plausible here (the limits are the age_range setting)"
)

# (id, table, spreadsheet row, column, new value, expected problem)
CELL_CASES = [
    (
        "date_unparseable",
        "patients",
        3,
        "car_t_date",
        "2020-02-30",
        Problem(
            P,
            3,
            "car_t_date",
            "2020-02-30",
            "car_t_date is not a date",
            "write the date as YYYY-MM-DD (e.g. 2021-04-03) or use an Excel date cell",
            "error",
            "date_unparseable",
        ),
    ),
    (
        "date_ambiguous",
        "lines",
        4,
        "start_date",
        "12/01/2020",
        Problem(
            L,
            4,
            "start_date",
            "12/01/2020",
            "start_date is an ambiguous date (day and month order unknown)",
            "write the date as YYYY-MM-DD (e.g. 2021-04-03), or pass --date-format to say "
            "how to read it (e.g. --date-format %d/%m/%Y)",
            "error",
            "date_ambiguous",
        ),
    ),
    (
        "number_unparseable",
        "patients",
        3,
        "prior_lines",
        "five",
        Problem(
            P,
            3,
            "prior_lines",
            "five",
            "prior_lines is not a number",
            "write a number, with '.' as decimal point",
            "error",
            "number_unparseable",
        ),
    ),
    (
        "number_not_integer",
        "patients",
        2,
        "ecog",
        "1.5",
        Problem(
            P,
            2,
            "ecog",
            "1.5",
            "ecog must be a whole number",
            "write a whole number, e.g. 2",
            "error",
            "number_not_integer",
        ),
    ),
    (
        "number_out_of_range",
        "patients",
        2,
        "ecog",
        "6",
        Problem(
            P,
            2,
            "ecog",
            "6",
            "ecog is outside the allowed range (0 to 5)",
            "correct the value",
            "error",
            "number_out_of_range",
        ),
    ),
    (
        "number_out_of_range_open",
        "patients",
        2,
        "prior_lines",
        "-1",
        Problem(
            P,
            2,
            "prior_lines",
            "-1",
            "prior_lines is outside the allowed range (at least 0)",
            "correct the value",
            "error",
            "number_out_of_range",
        ),
    ),
    (
        "bool_unparseable",
        "lines",
        2,
        "clinical_trial",
        "maybe",
        Problem(
            L,
            2,
            "clinical_trial",
            "maybe",
            "clinical_trial is not yes/no",
            "write yes or no (also accepted: true/false, y/n, 1/0), without a qualifier such as "
            "'?', '*' or brackets; leave empty if unknown",
            "error",
            "bool_unparseable",
        ),
    ),
    (
        "response_unparseable",
        "lines",
        3,
        "best_response",
        "good",
        Problem(
            L,
            3,
            "best_response",
            "good",
            "best_response is not an IMWG response category",
            "use sCR, CR, VGPR, PR, MR, SD, PD or NE (full names such as 'very good partial "
            "response' are accepted), without a qualifier such as '<', '?', '*' or a footnote "
            "mark; leave empty if not assessed",
            "error",
            "response_unparseable",
        ),
    ),
    (
        "stage_unparseable",
        "patients",
        2,
        "iss_stage",
        "IV",
        Problem(
            P,
            2,
            "iss_stage",
            "IV",
            "iss_stage is not an ISS stage",
            "write 1, 2 or 3 (I, II, III are also accepted), without a qualifier such as '<', "
            "'+' or '?'; leave empty if unknown",
            "error",
            "stage_unparseable",
        ),
    ),
    (
        "required_value",
        "lines",
        4,
        "regimen",
        "",
        Problem(
            L,
            4,
            "regimen",
            None,
            "regimen is empty",
            "fill in regimen (required) or delete the row",
            "error",
            "required_value",
        ),
    ),
    (
        "duplicate_patient",
        "patients",
        3,
        "patient_id",
        "P01",
        Problem(
            P,
            3,
            "patient_id",
            "P01",
            "patient_id 'P01' already appears in row 2",
            "give each patient exactly one row in the patients table; merge or renumber the "
            "duplicates",
            "error",
            "duplicate_patient",
        ),
    ),
    (
        "duplicate_line",
        "lines",
        3,
        "line",
        "1",
        Problem(
            L,
            3,
            "line",
            "1",
            "line 1 of patient 'P01' already appears in row 2",
            "number each patient's lines 1, 2, 3, ... once each",
            "error",
            "duplicate_line",
        ),
    ),
    (
        "unknown_patient",
        "lines",
        4,
        "patient_id",
        "P09",
        Problem(
            L,
            4,
            "patient_id",
            "P09",
            "patient_id 'P09' is not in the patients table",
            "add the patient to the patients table or correct the patient_id",
            "error",
            "unknown_patient",
        ),
    ),
    (
        "line_sequence_gap",
        "lines",
        3,
        "line",
        "3",
        Problem(
            L,
            3,
            "line",
            "3",
            "lines of patient 'P01' are numbered 1, 3; expected 1 to 2 without gaps",
            "number each patient's salvage lines consecutively from 1 "
            "(1 = first line after the CAR-T progression)",
            "error",
            "line_sequence",
        ),
    ),
    (
        "line_sequence_not_from_1",
        "lines",
        4,
        "line",
        "2",
        Problem(
            L,
            4,
            "line",
            "2",
            "lines of patient 'P02' are numbered 2; expected 1 to 1 without gaps",
            "number each patient's salvage lines consecutively from 1 "
            "(1 = first line after the CAR-T progression)",
            "error",
            "line_sequence",
        ),
    ),
    (
        "date_order_car_t_after_progression",
        "patients",
        2,
        "progression_date",
        "2019-12-01",
        Problem(
            P,
            2,
            "progression_date",
            "2019-12-01",
            "progression_date (2019-12-01) is before car_t_date (2020-01-10)",
            "check both dates: car_t_date cannot be after progression_date",
            "error",
            "date_order",
        ),
    ),
    (
        "date_order_line_end_before_start",
        "lines",
        2,
        "end_date",
        "2020-07-01",
        Problem(
            L,
            2,
            "end_date",
            "2020-07-01",
            "end_date (2020-07-01) is before start_date (2020-07-10)",
            "check both dates: start_date cannot be after end_date",
            "error",
            "date_order",
        ),
    ),
    (
        "date_order_line_progression_before_start",
        "lines",
        3,
        "progression_date",
        "2020-12-01",
        Problem(
            L,
            3,
            "progression_date",
            "2020-12-01",
            "progression_date (2020-12-01) is before start_date (2020-12-15)",
            "check both dates: start_date cannot be after progression_date",
            "error",
            "date_order",
        ),
    ),
    (
        "date_order_line_before_index",
        "lines",
        4,
        "start_date",
        "2020-11-01",
        Problem(
            L,
            4,
            "start_date",
            "2020-11-01",
            "start_date (2020-11-01) is before the "
            "patient's progression_date (2020-11-15, patients.csv row 3)",
            "check both dates: progression_date cannot be after the line's start_date",
            "error",
            "date_order",
        ),
    ),
    (
        "date_order_line_after_death",
        "lines",
        3,
        "end_date",
        "2021-07-01",
        Problem(
            L,
            3,
            "end_date",
            "2021-07-01",
            "end_date (2021-07-01) is after the patient's "
            "death_date (2021-06-01, patients.csv row 2)",
            "check both dates: the line's end_date cannot be after death_date",
            "error",
            "date_order",
        ),
    ),
    (
        "date_order_line_after_last_followup",
        "lines",
        4,
        "progression_date",
        "2022-03-01",
        Problem(
            L,
            4,
            "progression_date",
            "2022-03-01",
            "progression_date (2022-03-01) is after "
            "the patient's last_followup_date (2022-01-31, patients.csv row 3)",
            "check both dates: the line's progression_date cannot be after last_followup_date",
            "error",
            "date_order",
        ),
    ),
    (
        "date_order_followup_before_progression",
        "patients",
        4,
        "last_followup_date",
        "2020-11-30",
        Problem(
            P,
            4,
            "last_followup_date",
            "2020-11-30",
            "last_followup_date (2020-11-30) is before progression_date (2020-12-01)",
            "check both dates: progression_date cannot be after last_followup_date",
            "error",
            "date_order",
        ),
    ),
    (
        "date_order_birth_after_car_t",
        "patients",
        2,
        "birth_date",
        "2020-02-01",
        Problem(
            P,
            2,
            "car_t_date",
            "2020-01-10",
            "car_t_date (2020-01-10) is before birth_date (2020-02-01)",
            "check both dates: birth_date cannot be after car_t_date",
            "error",
            "date_order",
        ),
    ),
    (
        "date_future",
        "patients",
        3,
        "last_followup_date",
        "2025-01-02",
        Problem(
            P,
            3,
            "last_followup_date",
            "2025-01-02",
            "last_followup_date is in the future (after 2025-01-01)",
            "check the year and the day/month order",
            "error",
            "date_future",
        ),
    ),
    (
        "date_too_early",
        "patients",
        3,
        "car_t_date",
        "1989-12-31",
        Problem(
            P,
            3,
            "car_t_date",
            "1989-12-31",
            "car_t_date (1989-12-31) is before 1990-01-01",
            "check the year; dates before 1990-01-01 are not plausible here (the limit is the "
            "earliest_date setting)",
            "error",
            "date_too_early",
        ),
    ),
    (
        "date_too_early_excel_zero_date",
        "lines",
        4,
        "end_date",
        "1899-12-30",
        Problem(
            L,
            4,
            "end_date",
            "1899-12-30",
            "end_date (1899-12-30) is the date Excel shows for an empty or zero cell",
            "1899-12-30 / 1900-01-01 is what Excel shows for an empty or zero date cell (e.g. a "
            "formula or a link that returned 0): enter the real date or leave the cell empty",
            "error",
            "date_too_early",
        ),
    ),
    (
        "age_implausible_from_birth_date",
        "patients",
        2,
        "birth_date",
        "1850-01-01",
        Problem(
            P,
            2,
            "birth_date",
            "1850-01-01",
            "the age at CAR T from birth_date (1850-01-01) to car_t_date (2020-01-10) is 170.0 "
            "years, outside 18 to 100",
            AGE_HINT,
            "error",
            "age_implausible",
        ),
    ),
    (
        "age_implausible_typed",
        "patients",
        3,
        "age_at_cart",
        "15",
        Problem(
            P,
            3,
            "age_at_cart",
            "15",
            "age_at_cart is outside the plausible range 18 to 100 years",
            AGE_HINT,
            "error",
            "age_implausible",
        ),
    ),
    (
        "no_followup",
        "patients",
        3,
        "last_followup_date",
        "",
        Problem(
            P,
            3,
            "last_followup_date",
            None,
            "neither death_date nor last_followup_date is given",
            "enter the date of death, or the date the patient was last known alive "
            "in last_followup_date",
            "error",
            "no_followup",
        ),
    ),
    (
        "age_mismatch",
        "patients",
        2,
        "age_at_cart",
        "65",
        Problem(
            P,
            2,
            "age_at_cart",
            "65",
            "age_at_cart differs from the age computed from birth_date and car_t_date (59.7)",
            "check age_at_cart, birth_date and car_t_date",
            "warning",
            "age_mismatch",
        ),
    ),
    (
        "line_start_order",
        "lines",
        3,
        "start_date",
        "2020-07-05",
        Problem(
            L,
            3,
            "start_date",
            "2020-07-05",
            "start_date (2020-07-05) is before the start of the previous line (2020-07-10)",
            "check the line numbers and start dates: lines are numbered in the order they started",
            "warning",
            "line_start_order",
        ),
    ),
]


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "expected"),
    [c[1:] for c in CELL_CASES],
    ids=[c[0] for c in CELL_CASES],
)
def test_cell_rule_gives_exact_problem(tmp_path, table, row, column, value, expected):
    report = validate_cohort(
        make_cohort(tmp_path, **edited(table, row, column, value)), today=TODAY
    )
    assert expected in report.problems, "\n".join(map(str, report.problems))
    assert report.ok is (expected.severity == "warning")


def test_followup_after_death_is_a_date_order_error(tmp_path):
    folder = make_cohort(tmp_path, **edited("patients", 2, "last_followup_date", "2021-07-01"))
    report = validate_cohort(folder, today=TODAY)
    assert report.errors == (
        Problem(
            P,
            2,
            "death_date",
            "2021-06-01",
            "death_date (2021-06-01) is before last_followup_date (2021-07-01)",
            "check both dates: last_followup_date cannot be after death_date",
            "error",
            "date_order",
        ),
    )


def test_valid_cohort_has_only_the_no_lines_warning(valid_cohort):
    report = validate_cohort(valid_cohort, today=TODAY)
    assert report.problems == (
        Problem(
            P,
            4,
            "patient_id",
            "P03",
            "patient has no salvage line in the lines table",
            "nothing to do if no treatment followed the progression: the patient is kept "
            "and counts for overall survival",
            "warning",
            "no_lines",
        ),
    )


def _without(columns, rows, name):
    i = columns.index(name)
    return [c for c in columns if c != name], [r[:i] + r[i + 1 :] for r in rows]


@pytest.mark.parametrize("name", ["patient_id", "car_t_product", "car_t_date", "progression_date"])
def test_missing_required_patient_column(tmp_path, name):
    cols, rows = _without(PATIENT_COLUMNS, PATIENTS, name)
    report = validate_cohort(
        make_cohort(tmp_path, patients=rows, patient_columns=cols), today=TODAY
    )
    assert (
        Problem(
            P,
            None,
            name,
            None,
            f"required column '{name}' is missing",
            f"add a column headed {name} (case, spaces and punctuation are ignored)",
            "error",
            "missing_column",
        )
        in report.problems
    )


@pytest.mark.parametrize("name", ["patient_id", "line", "regimen", "start_date"])
def test_missing_required_line_column(tmp_path, name):
    cols, rows = _without(LINE_COLUMNS, LINES, name)
    report = validate_cohort(make_cohort(tmp_path, lines=rows, line_columns=cols), today=TODAY)
    assert [p.rule for p in report.errors] == ["missing_column"]
    assert report.errors[0].message == f"required column '{name}' is missing"
    assert report.errors[0].file == L


def test_missing_both_death_and_followup_columns(tmp_path):
    cols, rows = _without(PATIENT_COLUMNS, PATIENTS, "death_date")
    cols, rows = _without(cols, rows, "last_followup_date")
    report = validate_cohort(
        make_cohort(tmp_path, patients=rows, patient_columns=cols), today=TODAY
    )
    assert report.errors == (
        Problem(
            P,
            None,
            "last_followup_date",
            None,
            "required column 'last_followup_date' is "
            "missing (there is no death_date column either)",
            "add last_followup_date (date last known alive) and death_date columns",
            "error",
            "missing_column",
        ),
    )


def test_duplicate_column(tmp_path):
    cols = [*PATIENT_COLUMNS, "Patient ID"]
    rows = [[*r, r[0]] for r in PATIENTS]
    report = validate_cohort(
        make_cohort(tmp_path, patients=rows, patient_columns=cols), today=TODAY
    )
    assert report.errors == (
        Problem(
            P,
            None,
            "Patient ID",
            None,
            "columns 'patient_id' and 'Patient ID' both mean patient_id",
            "keep one of them or rename one",
            "error",
            "duplicate_column",
        ),
    )


def test_unnamed_column_with_values_is_a_warning(tmp_path):
    cols = [*PATIENT_COLUMNS, ""]
    rows = [[*r, "note"] for r in PATIENTS]
    report = validate_cohort(
        make_cohort(tmp_path, patients=rows, patient_columns=cols), today=TODAY
    )
    assert report.ok
    assert (
        Problem(
            P,
            None,
            "column 19",
            None,
            "the column has values but no header; it is ignored",
            "give the column a header",
            "warning",
            "unnamed_column",
        )
        in report.problems
    )


def test_missing_path(tmp_path):
    report = validate_cohort(tmp_path / "nope")
    assert report.problems == (
        Problem(
            str(tmp_path / "nope"),
            None,
            None,
            None,
            "no such file or folder",
            "check the path: give the folder holding patients.csv and lines.csv, or the "
            ".xlsx workbook",
            "error",
            "missing_path",
        ),
    )


def test_missing_file(tmp_path):
    make_cohort(tmp_path)
    (tmp_path / "lines.csv").unlink()
    report = validate_cohort(tmp_path)
    assert report.problems == (
        Problem(
            str(tmp_path),
            None,
            None,
            None,
            "no 'lines' table found (looked for lines.csv, lines.parquet or a file ending _lines)",
            f"put the lines table in {tmp_path} as lines.csv",
            "error",
            "missing_file",
        ),
    )


def test_ambiguous_file(tmp_path):
    make_cohort(tmp_path)
    write_csv(tmp_path / "old_patients.csv", PATIENT_COLUMNS, PATIENTS)
    report = validate_cohort(tmp_path)
    assert [(p.rule, p.message) for p in report.problems] == [
        (
            "ambiguous_file",
            "several files could be the 'patients' table: old_patients.csv, patients.csv",
        )
    ]


def test_missing_sheet(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "patients"
    book.save(tmp_path / "c.xlsx")
    report = validate_cohort(tmp_path / "c.xlsx")
    assert report.problems == (
        Problem(
            "c.xlsx:lines",
            None,
            None,
            None,
            "the workbook has no sheet named 'lines' (sheets: patients)",
            "name the sheet holding the lines table 'lines'",
            "error",
            "missing_sheet",
        ),
    )


def test_unreadable_workbook(tmp_path):
    (tmp_path / "c.xlsx").write_text("not a zip")
    report = validate_cohort(tmp_path / "c.xlsx")
    assert [(p.file, p.rule) for p in report.problems] == [("c.xlsx", "unreadable_file")]


def test_non_utf8_csv(tmp_path):
    make_cohort(tmp_path)
    (tmp_path / "lines.csv").write_bytes("patient_id,line\nP\xe9,1\n".encode("latin-1"))
    report = validate_cohort(tmp_path)
    assert [(p.file, p.rule) for p in report.problems] == [("lines.csv", "unreadable_file")]
    problem = report.problems[0]
    assert (problem.row, problem.column, problem.value) == (None, "patient_id", "P\\xe9,1")
    assert "on line 2" in problem.message
    assert "'CSV UTF-8'" in problem.hint


@pytest.mark.parametrize(
    ("head", "what"),
    [(b"PK\x03\x04", "Excel workbook (.xlsx)"), (b"\xd0\xcf\x11\xe0", "old Excel workbook"),
     (b"PAR1", "Parquet file"), ("patient_id,line\n".encode("utf-16"), "UTF-16 text")],
)  # fmt: skip
def test_a_csv_that_is_a_workbook_parquet_or_utf16_says_what_it_is(tmp_path, head, what):
    make_cohort(tmp_path)
    (tmp_path / "lines.csv").write_bytes(head + b"\x00" * 64)
    report = validate_cohort(tmp_path)
    assert [(p.file, p.rule) for p in report.problems] == [("lines.csv", "unreadable_file")]
    assert what in report.problems[0].message and "not CSV text" in report.problems[0].message


def test_ragged_csv(tmp_path):
    make_cohort(tmp_path)
    (tmp_path / "lines.csv").write_text("patient_id,line\nP01,1,extra,cells\n")
    report = validate_cohort(tmp_path)
    assert [(p.file, p.rule) for p in report.problems] == [("lines.csv", "unreadable_file")]


def test_empty_file(tmp_path):
    make_cohort(tmp_path)
    (tmp_path / "lines.csv").write_text("")
    report = validate_cohort(tmp_path)
    assert [(p.file, p.message, p.rule) for p in report.problems] == [
        ("lines.csv", "the table is empty (no header row)", "empty_file")
    ]


def test_empty_cohort(tmp_path):
    report = validate_cohort(make_cohort(tmp_path, patients=[], lines=[]))
    assert report.problems == (
        Problem(
            P,
            None,
            None,
            None,
            "the patients table has no data rows",
            "fill in one row per patient",
            "error",
            "empty_cohort",
        ),
    )


def test_unsupported_path(tmp_path):
    path = write_csv(tmp_path / "patients.csv", PATIENT_COLUMNS, PATIENTS)
    report = validate_cohort(path)
    assert [(p.rule, p.message) for p in report.problems] == [
        ("unsupported_path", "not a cohort folder or .xlsx workbook")
    ]


def test_every_rule_is_exercised_by_a_test():
    import pathlib

    text = pathlib.Path(__file__).read_text()
    assert [rule for rule in RULES if f'"{rule}"' not in text] == []


def test_blank_row_policy_error(tmp_path):
    rows = [PATIENTS[0], [""] * len(PATIENT_COLUMNS), *PATIENTS[1:]]
    report = validate_cohort(
        make_cohort(tmp_path, patients=rows), today=TODAY, policy={"blank_row": "error"}
    )
    assert report.errors == (Problem(P, 3, None, None, "blank row", "", "error", "blank_row"),)


def test_many_problems_are_all_listed_not_just_the_first(tmp_path):
    rows = [list(r) for r in PATIENTS]
    for r in rows:
        r[PATIENT_COLUMNS.index("ecog")] = "bad"
    lines = [list(r) for r in LINES]
    for r in lines:
        r[LINE_COLUMNS.index("best_response")] = "??"
    report = validate_cohort(make_cohort(tmp_path, patients=rows, lines=lines), today=TODAY)
    assert [(p.file, p.row) for p in report.errors] == [
        (P, 2),
        (P, 3),
        (P, 4),
        (L, 2),
        (L, 3),
        (L, 4),
    ]


def test_covariate_clashing_with_source_row_is_a_duplicate_column(tmp_path):
    cols = [*PATIENT_COLUMNS, "Source Row"]
    rows = [[*r, "7"] for r in PATIENTS]
    report = validate_cohort(
        make_cohort(tmp_path, patients=rows, patient_columns=cols), today=TODAY
    )
    assert [(p.column, p.message, p.rule) for p in report.errors] == [
        (
            "Source Row",
            "column 'Source Row' clashes with aftercar's own column source_row",
            "duplicate_column",
        )
    ]


def test_one_implausible_date_gives_one_problem(tmp_path):
    # 1900-01-01 is also before birth_date: only the plausibility problem is reported.
    folder = make_cohort(tmp_path, **edited("patients", 2, "car_t_date", "1900-01-01"))
    report = validate_cohort(folder, today=TODAY)
    assert [(p.rule, p.row, p.column) for p in report.errors] == [
        ("date_too_early", 2, "car_t_date")
    ]


def test_birth_date_before_1990_is_fine_and_excel_zero_birth_date_is_not(tmp_path):
    assert validate_cohort(make_cohort(tmp_path / "a"), today=TODAY).ok  # born 1960
    folder = make_cohort(tmp_path / "b", **edited("patients", 2, "birth_date", "1899-12-30"))
    report = validate_cohort(folder, today=TODAY)
    assert [(p.rule, p.row, p.column) for p in report.errors] == [
        ("date_too_early", 2, "birth_date")
    ]


def test_plausibility_bounds_are_parameters(tmp_path):
    folder = make_cohort(tmp_path, **edited("patients", 3, "car_t_date", "1989-12-31"))
    assert validate_cohort(folder, today=TODAY, earliest_date=dt.date(1980, 1, 1)).ok
    young = make_cohort(tmp_path / "y", **edited("patients", 3, "age_at_cart", "15"))
    assert validate_cohort(young, today=TODAY, age_range=(12, 100)).ok
    valid = make_cohort(tmp_path / "v")
    # Ages: P01 59.7 (from birth_date), P02 64.5 and P03 70 (typed).
    report = validate_cohort(valid, today=TODAY, age_range=(18, 60))
    assert [(p.rule, p.row, p.column) for p in report.errors] == [
        ("age_implausible", 3, "age_at_cart"),
        ("age_implausible", 4, "age_at_cart"),
    ]
    report = validate_cohort(valid, today=TODAY, age_range=(18, 59))
    assert (report.errors[0].row, report.errors[0].column) == (2, "birth_date")


def test_unparseable_follow_up_gives_one_problem_not_also_no_followup(tmp_path):
    folder = make_cohort(tmp_path, **edited("patients", 3, "last_followup_date", "31/31/2021"))
    report = validate_cohort(folder, today=TODAY)
    assert [(p.rule, p.row, p.column, p.value) for p in report.errors] == [
        ("date_unparseable", 3, "last_followup_date", "31/31/2021")
    ]


def _workbook(path, patients, lines=LINES, patient_columns=PATIENT_COLUMNS):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "patients"
    sheet.append(patient_columns)
    for r in patients:
        sheet.append(r)
    other = book.create_sheet("lines")
    other.append(LINE_COLUMNS)
    for r in lines:
        other.append(r)
    book.save(path)
    return path


def _native(rows, columns):
    """Rows with ISO dates as native dates and whole numbers as numbers, as Excel holds them."""
    out = []
    for row in rows:
        cells = []
        for col, value in zip(columns, row, strict=True):
            if value and col.endswith("date"):
                cells.append(dt.datetime.fromisoformat(value))
            elif value and col in ("line", "prior_lines", "ecog"):
                cells.append(int(value))
            else:
                cells.append(value or None)
        out.append(cells)
    return out


def test_formula_without_saved_result_is_reported_by_cell(tmp_path):
    rows = _native(PATIENTS, PATIENT_COLUMNS)
    rows[1][PATIENT_COLUMNS.index("last_followup_date")] = "=J3+30"  # openpyxl saves no result
    path = _workbook(tmp_path / "c.xlsx", rows, _native(LINES, LINE_COLUMNS))
    report = validate_cohort(path, today=TODAY)
    assert report.errors == (
        Problem(
            "c.xlsx:patients",
            3,
            "last_followup_date",
            "=J3+30",
            "cell K3 holds a formula with no saved result, so it reads as empty",
            "open the workbook in Excel or LibreOffice and save it again (so that the "
            "formula's result is stored), or type the value instead of the formula",
            "error",
            "formula_no_value",
        ),
    )


def test_formula_with_saved_result_reads_its_value(tmp_path):
    import openpyxl

    rows = _native(PATIENTS, PATIENT_COLUMNS)
    path = _workbook(tmp_path / "c.xlsx", rows, _native(LINES, LINE_COLUMNS))
    # Give cell K3 a formula *and* a cached result, as Excel saves it.
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    cached = '<c r="K3" t="n"><f>J3+30</f><v>44592</v></c>'  # 2022-01-31
    start = sheet.index('<c r="K3"')
    end = sheet.index("</c>", start) + len("</c>")
    parts["xl/worksheets/sheet1.xml"] = (sheet[:start] + cached + sheet[end:]).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    assert openpyxl.load_workbook(path)["patients"]["K3"].value == "=J3+30"
    report = validate_cohort(path, today=TODAY)
    assert [p.rule for p in report.problems] == ["date_excel_serial", "no_lines"]


def test_excel_serial_in_number_cell_is_read_with_a_warning(tmp_path):
    rows = _native(PATIENTS, PATIENT_COLUMNS)
    rows[1][PATIENT_COLUMNS.index("car_t_date")] = 43892  # = 2020-03-02
    path = _workbook(tmp_path / "c.xlsx", rows, _native(LINES, LINE_COLUMNS))
    report = validate_cohort(path, today=TODAY)
    assert report.ok
    assert report.warnings[0] == Problem(
        "c.xlsx:patients",
        3,
        "car_t_date",
        "43892",
        "car_t_date is an Excel date serial number in a number-formatted cell (43892 = 2020-03-02)",
        "format the column as dates in Excel (Format Cells > Date) so that dates are stored as "
        "dates",
        "warning",
        "date_excel_serial",
    )
    dates = report.cohort.patients.column("car_t_date").to_pylist()
    assert dates[1] == dt.date(2020, 3, 2)


def test_number_outside_the_plausible_dates_is_not_read_as_a_serial(tmp_path):
    rows = _native(PATIENTS, PATIENT_COLUMNS)
    rows[1][PATIENT_COLUMNS.index("car_t_date")] = 5
    path = _workbook(tmp_path / "c.xlsx", rows, _native(LINES, LINE_COLUMNS))
    report = validate_cohort(path, today=TODAY)
    assert [(p.row, p.column, p.value, p.message, p.rule) for p in report.errors] == [
        (
            3,
            "car_t_date",
            "5",
            "car_t_date is a number, not a date (as an Excel date serial it would be "
            "1900-01-05, outside 1990-01-01 to 2025-01-01)",
            "date_unparseable",
        )
    ]


def test_number_typed_as_text_in_a_csv_date_column_is_not_a_serial(tmp_path):
    folder = make_cohort(tmp_path, **edited("patients", 3, "car_t_date", "43892"))
    report = validate_cohort(folder, today=TODAY)
    assert [(p.row, p.message, p.rule, p.hint) for p in report.errors] == [
        (
            3,
            "car_t_date is not a date",
            "date_unparseable",
            "43892 looks like an Excel date serial number (= 2020-03-02): format the column as "
            "dates in Excel before saving it, or write YYYY-MM-DD",
        )
    ]


def test_day_month_order_inferred_from_the_column_is_a_column_warning(tmp_path):
    rows = [list(r) for r in PATIENTS]
    col = PATIENT_COLUMNS.index("progression_date")
    rows[0][col], rows[1][col], rows[2][col] = "07/01/2020", "11/15/2020", "12/01/2020"
    report = validate_cohort(make_cohort(tmp_path, patients=rows), today=TODAY)
    assert report.ok
    assert report.warnings[0] == Problem(
        P,
        None,
        "progression_date",
        None,
        "progression_date: 2 date(s) such as 07/01/2020 (row 2) could be read either way; they "
        "are read as month/day/year, as 11/15/2020 (row 3) can only be read that way",
        "check that the whole column is written month/day/year; if some dates are not, write "
        "them as YYYY-MM-DD",
        "warning",
        "date_order_inferred",
    )
    assert report.cohort.patients.column("progression_date").to_pylist() == [
        dt.date(2020, 7, 1),
        dt.date(2020, 11, 15),
        dt.date(2020, 12, 1),
    ]


def test_date_format_contradicting_the_column_is_an_error_for_the_column(tmp_path):
    rows = [list(r) for r in PATIENTS]
    col = PATIENT_COLUMNS.index("progression_date")
    rows[0][col], rows[1][col], rows[2][col] = "07/01/2020", "11/15/2020", "12/01/2020"
    folder = make_cohort(tmp_path, patients=rows)
    report = validate_cohort(folder, today=TODAY, date_format="%d/%m/%Y")
    assert report.errors == (
        Problem(
            P,
            None,
            "progression_date",
            None,
            "progression_date: 1 of 3 dates do not fit --date-format %d/%m/%Y, so none of the "
            "column's dates is read with it (they could have day and month swapped)",
            "the column's own dates are written %m/%d/%Y: pass --date-format %m/%d/%Y for it, "
            "or leave --date-format out and let aftercar infer the order",
            "error",
            "date_format_mismatch",
        ),
        Problem(
            P,
            3,
            "progression_date",
            "11/15/2020",
            "progression_date is not a date in the format %d/%m/%Y",
            "write the date as YYYY-MM-DD (e.g. 2021-04-03) or use an Excel date cell",
            "error",
            "date_unparseable",
        ),
    )


def test_column_rules_cannot_exclude_rows(valid_cohort):
    from aftercar.errors import ConfigError

    with pytest.raises(ConfigError, match="'date_order_inferred' is about a whole column"):
        validate_cohort(valid_cohort, policy={"date_order_inferred": "exclude"})
    report = validate_cohort(valid_cohort, today=TODAY, policy={"date_format_mismatch": "warning"})
    assert report.ok


def test_serials_do_not_count_against_a_date_format(tmp_path):
    rows = _native(PATIENTS, PATIENT_COLUMNS)
    col = PATIENT_COLUMNS.index("car_t_date")
    rows[0][col], rows[1][col], rows[2][col] = "10/01/2020", 43892, 43956  # text, serials
    path = _workbook(tmp_path / "c.xlsx", rows, _native(LINES, LINE_COLUMNS))
    report = validate_cohort(path, today=TODAY, date_format="%d/%m/%Y")
    assert report.ok, report.errors
    assert report.cohort.patients.column("car_t_date").to_pylist() == [
        dt.date(2020, 1, 10),
        dt.date(2020, 3, 2),
        dt.date(2020, 5, 5),
    ]
    assert [p.rule for p in report.warnings] == ["date_excel_serial"] * 2 + ["no_lines"]


# --- patient_id_variant: ids equal but for letter case or spaces (warning) ---


def _variant_cohort(tmp_path, ids):
    pats = pd.DataFrame(
        {
            "patient_id": ids,
            "car_t_date": "2021-01-04",
            "progression_date": "2021-06-01",
            "last_followup_date": "2022-01-01",
        }
    )
    lines = pd.DataFrame(
        {"patient_id": [ids[0]], "line": [1], "regimen": ["Tec"], "start_date": ["2021-06-10"]}
    )
    pats.to_csv(tmp_path / "patients.csv", index=False)
    lines.to_csv(tmp_path / "lines.csv", index=False)
    return tmp_path


def test_an_id_differing_only_in_case_or_spaces_is_named(tmp_path):
    report = validate_cohort(_variant_cohort(tmp_path, ["SYN-01", "P2", "syn-01 ", "s yn-01"]))
    found = [p for p in report.problems if p.rule == "patient_id_variant"]
    assert [p.row for p in found] == [4, 5]
    assert all(p.severity == "warning" and "'SYN-01' (row 2)" in p.message for p in found)


@pytest.mark.parametrize("copy", ["SYN-01\u200b", "SYN\u00ad-01", "SYN\u201001", "\ufeffSYN-01"])
def test_an_id_differing_by_an_invisible_character_or_a_dash_look_alike_is_named(tmp_path,
                                                                                copy):  # fmt: skip
    """Fuzzing round 3 (F08): a copy of a patient row whose id held a zero-width space, a
    soft hyphen or U+2010 became a 21st patient with no warning but "no_lines"."""
    report = validate_cohort(_variant_cohort(tmp_path, ["SYN-01", "P2", copy]))
    found = [p for p in report.problems if p.rule == "patient_id_variant"]
    assert [p.row for p in found] == [4] and "invisible characters" in found[0].message


def test_an_unknown_line_id_with_an_invisible_character_says_so(tmp_path):
    cohort = _variant_cohort(tmp_path, ["SYN-01", "P2"])
    lines = pd.read_csv(cohort / "lines.csv")
    lines.loc[0, "patient_id"] = "SYN-01\u200b"
    lines.to_csv(cohort / "lines.csv", index=False)
    report = validate_cohort(cohort)
    (hit,) = [p for p in report.problems if p.rule == "unknown_patient"]
    assert "invisible character, U+200B" in hit.message


def test_a_site_name_differing_only_in_case_or_spaces_is_named_once(tmp_path):
    # fuzz round 8 (session 27): "A" and "a" were two Table 1 groups with nothing said
    root = _variant_cohort(tmp_path, ["P1", "P2", "P3", "P4", "P5"])
    pats = pd.read_csv(root / "patients.csv")
    pats["site"] = ["Site A", "site a", "Site B", "site a", "SiteA"]
    pats.to_csv(root / "patients.csv", index=False)
    found = [p for p in validate_cohort(root).problems if p.rule == "site_variant"]
    assert [(p.row, p.value) for p in found] == [(3, "site a"), (6, "SiteA")]
    assert all(p.severity == "warning" and "'Site A'" in p.message for p in found)
    pats["site"] = ["Site A", "Site A", "Site B", None, "Site C"]
    pats.to_csv(root / "patients.csv", index=False)
    assert not [p for p in validate_cohort(root).problems if p.rule == "site_variant"]


def test_distinct_ids_give_no_variant_warning(tmp_path):
    report = validate_cohort(_variant_cohort(tmp_path, ["SYN-01", "SYN-02", "P3"]))
    assert not [p for p in report.problems if p.rule == "patient_id_variant"]


def test_formula_without_saved_result_in_a_covariate_column_is_reported(tmp_path):
    # a column of formulas only (no other value) read as NaN, not None: the check missed it
    rows = [[*r, f"=22+{i}"] for i, r in enumerate(_native(PATIENTS, PATIENT_COLUMNS))]
    path = _workbook(tmp_path / "c.xlsx", rows, _native(LINES, LINE_COLUMNS),
                     [*PATIENT_COLUMNS, "bmi"])  # fmt: skip
    report = validate_cohort(path, today=TODAY)
    hits = [(p.rule, p.column) for p in report.errors]
    assert hits == [("formula_no_value", "bmi")] * len(rows)


@pytest.mark.parametrize("text", ["<PR", "PR?", ">=CR", "\u2264SD", "-PR", "CR+", "~VGPR",
                                  "PR*", "CR\u2020", "PR#", "CR/", "/CR", "CR & ", "(PR)"])
def test_a_qualified_response_is_not_read_as_the_response(text):
    from aftercar.io.parse import parse_responses

    values, failures = parse_responses(pd.Series([text, "PR", "VGPR."]))
    assert pd.isna(values.iloc[0]) and list(values.iloc[1:]) == ["PR", "VGPR"]
    assert list(failures["response_unparseable"]) == [True, False, False]


def test_inner_punctuation_of_a_response_is_kept():
    from aftercar.io.parse import parse_responses

    values, failures = parse_responses(pd.Series(["N/E", "s-CR", "n.e.", "Partial response"]))
    assert list(values) == ["NE", "sCR", "NE", "PR"] and not failures["response_unparseable"].any()


@pytest.mark.parametrize("text", ["yes?", "~yes", "(yes)", "y/", "-1", "no?", ">0", "yes*"])
def test_a_qualified_yes_or_no_is_not_read_as_yes_or_no(text):
    """Fuzzing round 3 (F06): "yes?" was read as yes and ">0" (more than zero) as no."""
    from aftercar.io.parse import parse_bools

    values, failures = parse_bools(pd.Series([text, "yes", "No", "0"]))
    assert pd.isna(values.iloc[0]) and list(values.iloc[1:]) == [True, False, False]
    assert list(failures["bool_unparseable"]) == [True, False, False, False]


@pytest.mark.parametrize("text", ["<3", ">=2", "III?", "2+", "-2", "(3)", "Stage II?"])
def test_a_qualified_iss_stage_is_not_read_as_a_stage(text):
    """Fuzzing round 3 (F06): "<3" (stage 1 or 2) was read as stage 3."""
    from aftercar.io.parse import parse_stage

    values, failures = parse_stage(pd.Series([text, "Stage II", "ISS III", "1"]), None)
    assert pd.isna(values.iloc[0]) and list(values.iloc[1:]) == [2, 3, 1]
    assert list(failures["stage_unparseable"]) == [True, False, False, False]


def test_a_column_named_like_one_aftercar_computes_is_not_read_with_a_warning(tmp_path):
    """Fuzzing round 3 (2026-12-06): a covariate 'OS (months)' or a lines column
    'death_date' passed validate, then report stopped with a traceback."""
    header = [*PATIENT_COLUMNS, "OS (months)"]
    rows = [[*r, "12.5"] for r in PATIENTS]
    lheader = [*LINE_COLUMNS, "Death date"]
    lrows = [[*r, "2021-01-01"] for r in LINES]
    cohort = make_cohort(tmp_path, patients=rows, patient_columns=header, lines=lrows,
                         line_columns=lheader)  # fmt: skip
    report = validate_cohort(cohort, today=TODAY)
    assert report.ok, report.problems
    got = [(p.column, p.rule, p.severity) for p in report.problems if p.rule == "derived_column"]
    assert got == [("OS (months)", "derived_column", "warning"),
                   ("Death date", "derived_column", "warning")]  # fmt: skip
    assert "os_months" not in report.cohort.patients.column_names
    assert "death_date" not in report.cohort.lines.column_names


def test_repeated_header_row_is_one_problem(tmp_path):
    # two exports pasted into one file (fuzzing, round 3 F13): one problem, not a cell
    # error per column of the pasted row
    rows = [list(r) for r in PATIENTS]
    rows.insert(2, [c.upper() for c in PATIENT_COLUMNS])
    report = validate_cohort(make_cohort(tmp_path / "c", patients=rows))
    assert [(p.file, p.row, p.rule) for p in report.problems] == [(P, 4, "repeated_header")]


def test_one_cell_equal_to_its_header_is_not_a_header_row(tmp_path):
    rows = [list(r) for r in PATIENTS]
    rows[0][-1] = PATIENT_COLUMNS[-1]
    report = validate_cohort(make_cohort(tmp_path / "c", patients=rows))
    assert "repeated_header" not in {p.rule for p in report.problems}


def test_tab_header_over_comma_rows_is_one_problem(tmp_path):
    folder = make_cohort(tmp_path / "c")
    f = folder / "lines.csv"
    head, *body = f.read_text(encoding="utf-8").splitlines()
    f.write_text("\n".join([head.replace(",", "\t"), *body]) + "\n", encoding="utf-8")
    report = validate_cohort(folder)
    assert [(p.file, p.rule) for p in report.problems] == [(L, "mixed_separators")]
    assert "separated by tabs but the rows by commas" in report.problems[0].message


@pytest.mark.parametrize("copy", ["Jose\u0301-01", "\uff2a\uff4f\uff53\u00e9-01"])
def test_an_id_differing_only_in_its_unicode_form_is_named(tmp_path, copy):
    # 'José' as one character and as 'e' + combining accent, or in full-width letters:
    # one patient written twice (two systems exporting the same id)
    report = validate_cohort(_variant_cohort(tmp_path, ["Jos\u00e9-01", "P2", copy]))
    found = [p for p in report.problems if p.rule == "patient_id_variant"]
    assert [p.row for p in found] == [4] and "Unicode form" in found[0].message


@pytest.mark.parametrize(("patient", "line"), [("Jos\u00e9-01", "Jose\u0301-01"),
                                               ("Jose\u0301-01", "Jos\u00e9-01")])  # fmt: skip
def test_an_unknown_line_id_in_another_unicode_form_says_so(tmp_path, patient, line):
    cohort = _variant_cohort(tmp_path, [patient, "P2"])
    lines = pd.read_csv(cohort / "lines.csv")
    lines.loc[0, "patient_id"] = line
    lines.to_csv(cohort / "lines.csv", index=False)
    report = validate_cohort(cohort)
    (hit,) = [p for p in report.problems if p.rule == "unknown_patient"]
    assert "Unicode NFC/NFKC form" in hit.message
