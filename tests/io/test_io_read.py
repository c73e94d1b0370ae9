"""Reading the curated format: types, file layouts, cell syntaxes and accounting."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from iokit import LINE_COLUMNS, LINES, PATIENT_COLUMNS, PATIENTS, TODAY, make_cohort

from aftercar.errors import CohortError
from aftercar.io import read_cohort, validate_cohort, write_cohort
from aftercar.io.dictionary import columns, schema


def test_valid_micro_cohort_loads_with_canonical_types(valid_cohort):
    cohort = read_cohort(valid_cohort, today=TODAY)
    for name, table in (("patients", cohort.patients), ("lines", cohort.lines)):
        expected = schema(name)
        assert table.schema.names[: len(expected)] == expected.names
        for field in expected:
            assert table.schema.field(field.name).type == field.type, field.name
    p = cohort.patients.to_pylist()
    assert [r["patient_id"] for r in p] == ["P01", "P02", "P03"]
    assert p[0]["car_t_date"] == dt.date(2020, 1, 10)
    assert p[0]["iss_stage"] == 2 and p[0]["ecog"] == 1 and p[0]["prior_lines"] == 6
    assert p[0]["high_risk_cytogenetics"] is True and p[0]["extramedullary_disease"] is False
    assert p[2]["high_risk_cytogenetics"] is None
    assert [r["source_row"] for r in p] == [2, 3, 4]
    lines = cohort.lines.to_pylist()
    assert [r["best_response"] for r in lines] == ["VGPR", "PD", "sCR"]
    assert lines[2]["end_date"] is None and lines[0]["clinical_trial"] is True
    assert cohort.excluded.num_rows == 0
    assert cohort.source == str(valid_cohort)


def test_age_at_cart_derived_from_birth_date_when_empty(valid_cohort):
    p = read_cohort(valid_cohort, today=TODAY).patients.to_pylist()
    days = (dt.date(2020, 1, 10) - dt.date(1960, 5, 1)).days
    assert p[0]["age_at_cart"] == pytest.approx(days / 365.25, abs=1e-12)
    assert p[1]["age_at_cart"] == 64.5  # given, kept


def test_optional_columns_absent_are_all_null(tmp_path):
    keep = [
        "patient_id",
        "car_t_product",
        "car_t_date",
        "progression_date",
        "death_date",
        "last_followup_date",
    ]
    idx = [PATIENT_COLUMNS.index(c) for c in keep]
    rows = [[r[i] for i in idx] for r in PATIENTS]
    lkeep = ["patient_id", "line", "regimen", "start_date"]
    lrows = [[r[LINE_COLUMNS.index(c)] for c in lkeep] for r in LINES]
    folder = make_cohort(
        tmp_path, patients=rows, lines=lrows, patient_columns=keep, line_columns=lkeep
    )
    cohort = read_cohort(folder, today=TODAY)
    assert cohort.patients.column("ecog").null_count == 3
    assert cohort.patients.column("ecog").type == pa.int64()
    assert cohort.lines.column("best_response").null_count == 3
    assert cohort.patients.schema.names[:-1] == [s.name for s in columns("patients")]


def test_column_names_match_ignoring_case_spaces_and_punctuation(tmp_path):
    header = [c.upper().replace("_", " ") for c in PATIENT_COLUMNS]
    header[0] = "Patient-ID"
    lheader = [c.title().replace("_", ".") for c in LINE_COLUMNS]
    folder = make_cohort(tmp_path, patient_columns=header, line_columns=lheader)
    report = validate_cohort(folder, today=TODAY)
    assert report.ok, report.problems
    assert report.cohort.patients.column("patient_id").to_pylist() == ["P01", "P02", "P03"]


def test_problems_name_the_column_as_the_user_wrote_it(tmp_path):
    header = list(PATIENT_COLUMNS)
    header[PATIENT_COLUMNS.index("ecog")] = "E.C.O.G."
    rows = [list(r) for r in PATIENTS]
    rows[0][-1] = "x"
    report = validate_cohort(
        make_cohort(tmp_path, patients=rows, patient_columns=header), today=TODAY
    )
    assert [(p.column, p.message) for p in report.errors] == [("E.C.O.G.", "ecog is not a number")]


def test_user_covariates_are_kept_and_typed(tmp_path):
    header = [*PATIENT_COLUMNS, "LDH (U/L)", "Prior ASCT", "Race"]
    rows = [
        [*r, v1, v2, v3]
        for r, v1, v2, v3 in zip(
            PATIENTS, ["250", "300.5", ""], ["yes", "no", "Y"], ["white", "", "black"], strict=True
        )
    ]
    cohort = read_cohort(make_cohort(tmp_path, patients=rows, patient_columns=header), today=TODAY)
    t = cohort.patients
    assert t.column("ldh_u_l").to_pylist() == [250.0, 300.5, None]
    assert t.column("prior_asct").to_pylist() == [True, False, True]
    assert t.column("race").to_pylist() == ["white", None, "black"]
    assert t.schema.names[-4:] == ["source_row", "ldh_u_l", "prior_asct", "race"]


def test_zero_padded_covariate_stays_text(tmp_path):
    header = [*PATIENT_COLUMNS, "Sample"]
    rows = [[*r, v] for r, v in zip(PATIENTS, ["007", "12", ""], strict=True)]
    cohort = read_cohort(make_cohort(tmp_path, patients=rows, patient_columns=header), today=TODAY)
    assert cohort.patients.column("sample").to_pylist() == ["007", "12", None]


def test_response_codes_accept_abbreviations_and_full_names_in_any_case(tmp_path):
    texts = [
        "very good partial response",
        "vgpr",
        "sCR",
        "Stringent Complete Response",
        "complete response",
        "PARTIAL RESPONSE",
        "minimal response",
        "stable disease",
        "progressive disease",
        "not evaluable",
        "N/E",
        "",
        "Minor Response",
        "cr",
    ]
    expected = [
        "VGPR",
        "VGPR",
        "sCR",
        "sCR",
        "CR",
        "PR",
        "MR",
        "SD",
        "PD",
        "NE",
        "NE",
        None,
        "MR",
        "CR",
    ]
    lines = [["P01", str(i + 1), "x", "2020-07-10", "", t, "", "", ""] for i, t in enumerate(texts)]
    cohort = read_cohort(make_cohort(tmp_path, lines=lines), today=TODAY)
    assert cohort.lines.column("best_response").to_pylist() == expected


def test_booleans_accept_yes_no_true_false_1_0_y_n(tmp_path):
    words = ["yes", "No", "TRUE", "false", "1", "0", "Y", "n", ""]
    lines = [["P01", str(i + 1), "x", "2020-07-10", "", "", "", w, ""] for i, w in enumerate(words)]
    cohort = read_cohort(make_cohort(tmp_path, lines=lines), today=TODAY)
    assert cohort.lines.column("clinical_trial").to_pylist() == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        None,
    ]


def test_iss_stage_accepts_roman_numerals(tmp_path):
    rows = [list(r) for r in PATIENTS]
    for r, v in zip(rows, ["I", "iii", "Stage II"], strict=True):
        r[PATIENT_COLUMNS.index("iss_stage")] = v
    cohort = read_cohort(make_cohort(tmp_path, patients=rows), today=TODAY)
    assert cohort.patients.column("iss_stage").to_pylist() == [1, 3, 2]


def test_ambiguous_dates_refused_without_date_format(tmp_path):
    rows = [list(r) for r in PATIENTS]
    rows[1][PATIENT_COLUMNS.index("car_t_date")] = "03/04/2020"
    folder = make_cohort(tmp_path, patients=rows)
    report = validate_cohort(folder, today=TODAY)
    assert [(p.row, p.column, p.value, p.rule) for p in report.errors] == [
        (3, "car_t_date", "03/04/2020", "date_ambiguous")
    ]


@pytest.mark.parametrize(
    ("fmt", "expected"), [("%d/%m/%Y", dt.date(2020, 4, 3)), ("%m/%d/%Y", dt.date(2020, 3, 4))]
)
def test_ambiguous_dates_accepted_with_a_date_format(tmp_path, fmt, expected):
    rows = [list(r) for r in PATIENTS]
    rows[1][PATIENT_COLUMNS.index("car_t_date")] = "03/04/2020"
    cohort = read_cohort(make_cohort(tmp_path, patients=rows), date_format=fmt, today=TODAY)
    # ISO dates elsewhere in the file are still read.
    assert cohort.patients.column("car_t_date").to_pylist()[:2] == [dt.date(2020, 1, 10), expected]


def test_date_format_that_does_not_match_names_the_format(tmp_path):
    rows = [list(r) for r in PATIENTS]
    rows[1][PATIENT_COLUMNS.index("car_t_date")] = "2020/03/02"
    report = validate_cohort(
        make_cohort(tmp_path, patients=rows), date_format="%d/%m/%Y", today=TODAY
    )
    assert [p.message for p in report.errors] == ["car_t_date is not a date in the format %d/%m/%Y"]


def test_prefixed_file_stems_are_found(tmp_path):
    make_cohort(tmp_path)
    (tmp_path / "patients.csv").rename(tmp_path / "synthetic_demo_patients.csv")
    (tmp_path / "lines.csv").rename(tmp_path / "synthetic_demo_lines.csv")
    assert read_cohort(tmp_path, today=TODAY).patients.num_rows == 3


def test_parquet_folder_reads_like_csv(tmp_path, valid_cohort):
    ref = read_cohort(valid_cohort, today=TODAY)
    folder = tmp_path / "pq"
    folder.mkdir()
    as_str = {c: pa.array([r[i] or None for r in PATIENTS]) for i, c in enumerate(PATIENT_COLUMNS)}
    # Typed Parquet columns: native dates, timestamps and booleans.
    as_str["car_t_date"] = pa.array(
        [dt.date(2020, 1, 10), dt.date(2020, 3, 2), dt.date(2020, 5, 5)]
    )
    as_str["progression_date"] = pa.array(
        pd.to_datetime(["2020-07-01", "2020-11-15", "2020-12-01"])
    )
    as_str["extramedullary_disease"] = pa.array([False, True, None])
    pq.write_table(pa.table(as_str), folder / "patients.parquet")
    pq.write_table(
        pa.table({c: pa.array([r[i] or None for r in LINES]) for i, c in enumerate(LINE_COLUMNS)}),
        folder / "lines.parquet",
    )
    got = read_cohort(folder, today=TODAY)
    assert got.patients.equals(ref.patients)
    assert got.lines.equals(ref.lines)


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York", "+09:00", "-05:00", "UTC"])
def test_parquet_zoned_timestamps_keep_the_date_of_their_zone(tmp_path, valid_cohort, zone):
    """A date stored as local midnight with its zone (pandas' ``tz_localize``) is that
    calendar date on its zone's clock, not the UTC date (one day early east of UTC)."""
    ref = read_cohort(valid_cohort, today=TODAY)
    folder = tmp_path / "pq"
    folder.mkdir()
    cols = {c: pa.array([r[i] or None for r in PATIENTS]) for i, c in enumerate(PATIENT_COLUMNS)}
    local = pd.to_datetime(["2020-07-01", "2020-11-15", "2020-12-01"])
    local = local.tz_localize(zone) if "/" in zone or zone == "UTC" else local
    stored = pa.array(local)
    if zone[0] in "+-":  # a fixed offset: local midnight at that offset
        hours = int(zone[:3])
        stored = pa.array(local - pd.Timedelta(hours=hours)).cast(pa.timestamp("ns", tz=zone))
    cols["progression_date"] = stored
    pq.write_table(pa.table(cols), folder / "patients.parquet")
    pq.write_table(
        pa.table({c: pa.array([r[i] or None for r in LINES]) for i, c in enumerate(LINE_COLUMNS)}),
        folder / "lines.parquet",
    )
    got = read_cohort(folder, today=TODAY)
    assert got.patients.column("progression_date").equals(ref.patients.column("progression_date"))


def _workbook(path, patients, lines):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "patients"
    sheet.append(PATIENT_COLUMNS)
    for r in patients:
        sheet.append(r)
    other = book.create_sheet("Lines")
    other.append(LINE_COLUMNS)
    for r in lines:
        other.append(r)
    book.save(path)
    return path


def _native(row, columns_):
    out = []
    for col, value in zip(columns_, row, strict=True):
        if value and col.endswith("date"):
            out.append(dt.datetime.fromisoformat(value))
        elif value and col in ("line", "prior_lines", "ecog"):
            out.append(int(value))
        else:
            out.append(value or None)
    return out


def test_xlsx_with_native_excel_dates_reads_like_csv(tmp_path, valid_cohort):
    ref = read_cohort(valid_cohort, today=TODAY)
    path = _workbook(
        tmp_path / "cohort.xlsx",
        [_native(r, PATIENT_COLUMNS) for r in PATIENTS],
        [_native(r, LINE_COLUMNS) for r in LINES],
    )
    got = read_cohort(path, today=TODAY)
    assert got.patients.equals(ref.patients)
    assert got.lines.equals(ref.lines)


def test_xlsx_problems_name_the_sheet(tmp_path):
    rows = [_native(r, PATIENT_COLUMNS) for r in PATIENTS]
    rows[2][PATIENT_COLUMNS.index("car_t_date")] = "soon"
    path = _workbook(tmp_path / "cohort.xlsx", rows, [_native(r, LINE_COLUMNS) for r in LINES])
    report = validate_cohort(path, today=TODAY)
    assert [(p.file, p.row, p.column, p.value) for p in report.errors] == [
        ("cohort.xlsx:patients", 4, "car_t_date", "soon")
    ]


def test_blank_rows_are_excluded_and_listed_with_row_numbers(tmp_path):
    rows = [PATIENTS[0], [""] * len(PATIENT_COLUMNS), PATIENTS[1], PATIENTS[2]]
    lines = [LINES[0], [""] * len(LINE_COLUMNS), LINES[1], LINES[2]]
    cohort = read_cohort(make_cohort(tmp_path, patients=rows, lines=lines), today=TODAY)
    assert cohort.patients.column("source_row").to_pylist() == [2, 4, 5]
    assert cohort.excluded.to_pylist() == [
        {"table": "patients", "row": 3, "patient_id": None, "reason": "blank row"},
        {"table": "lines", "row": 3, "patient_id": None, "reason": "blank row"},
    ]


def test_every_input_row_is_analysed_or_excluded(tmp_path):
    rows = [PATIENTS[0], [""] * len(PATIENT_COLUMNS), PATIENTS[1], PATIENTS[2]]
    cohort = read_cohort(make_cohort(tmp_path, patients=rows), today=TODAY)
    used = cohort.patients.column("source_row").to_pylist()
    left = cohort.excluded.filter(pa.compute.equal(cohort.excluded["table"], "patients"))
    assert sorted(used + left.column("row").to_pylist()) == [2, 3, 4, 5]


def test_patient_without_lines_is_kept_and_reported(valid_cohort):
    report = validate_cohort(valid_cohort, today=TODAY)
    assert report.ok
    assert report.summary["patients_without_lines"] == 1
    assert "P03" in report.cohort.patients.column("patient_id").to_pylist()
    assert [(w.rule, w.row, w.severity) for w in report.cohort.warnings] == [
        ("no_lines", 4, "warning")
    ]


def test_summary_counts_and_date_range(valid_cohort):
    s = validate_cohort(valid_cohort, today=TODAY).summary
    assert s == {
        "source": str(valid_cohort),
        "patients": 3,
        "lines": 3,
        "patients_without_lines": 1,
        "deaths": 1,
        "first_date": "2020-01-10",
        "last_date": "2022-01-31",
        "excluded_rows": 0,
        "errors": 0,
        "warnings": 1,
    }


def test_policy_exclude_drops_the_patient_and_its_lines(tmp_path):
    folder = make_cohort(tmp_path, **_edit_p01_future())
    cohort = read_cohort(folder, today=TODAY, policy={"date_future": "exclude"})
    assert cohort.patients.column("patient_id").to_pylist() == ["P02", "P03"]
    assert cohort.lines.column("patient_id").to_pylist() == ["P02"]
    reason = "last_followup_date is in the future (after 2025-01-01)"
    assert cohort.excluded.to_pylist() == [
        {"table": "patients", "row": 2, "patient_id": "P01", "reason": reason},
        {"table": "lines", "row": 2, "patient_id": "P01", "reason": "patient excluded: " + reason},
        {"table": "lines", "row": 3, "patient_id": "P01", "reason": "patient excluded: " + reason},
    ]


def _edit_p01_future():
    rows = [list(r) for r in PATIENTS]
    rows[0][PATIENT_COLUMNS.index("death_date")] = ""
    rows[0][PATIENT_COLUMNS.index("last_followup_date")] = "2026-01-01"
    return {"patients": rows}


def test_policy_warning_keeps_the_row_and_the_warning(tmp_path):
    folder = make_cohort(tmp_path, **_edit_p01_future())
    cohort = read_cohort(folder, today=TODAY, policy={"date_future": "warning"})
    assert cohort.patients.num_rows == 3
    assert ("date_future", 2) in [(w.rule, w.row) for w in cohort.warnings]


def test_invalid_policy_is_a_config_error(valid_cohort):
    from aftercar.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown rule 'no_such_rule'"):
        read_cohort(valid_cohort, policy={"no_such_rule": "warning"})
    with pytest.raises(ConfigError, match="'missing_column' is always an error"):
        read_cohort(valid_cohort, policy={"missing_column": "warning"})


def test_read_cohort_raises_cohort_error_with_every_error(tmp_path):
    rows = [list(r) for r in PATIENTS]
    rows[0][PATIENT_COLUMNS.index("ecog")] = "x"
    rows[1][PATIENT_COLUMNS.index("prior_lines")] = "many"
    with pytest.raises(CohortError) as info:
        read_cohort(make_cohort(tmp_path, patients=rows), today=TODAY)
    assert [(p.row, p.column) for p in info.value.problems] == [(2, "ecog"), (3, "prior_lines")]
    assert "2 error(s)" in str(info.value)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_write_cohort_round_trips(tmp_path, valid_cohort, fmt):
    ref = read_cohort(valid_cohort, today=TODAY)
    written = write_cohort(ref.patients, ref.lines, tmp_path / "out", format=fmt, prefix="demo_")
    assert [p.name for p in written] == (
        ["demo_cohort.xlsx"] if fmt == "xlsx" else [f"demo_patients.{fmt}", f"demo_lines.{fmt}"]
    )
    got = read_cohort(written[0] if fmt == "xlsx" else tmp_path / "out", today=TODAY)
    for a, b in ((got.patients, ref.patients), (got.lines, ref.lines)):
        assert a.drop_columns(["source_row"]).equals(b.drop_columns(["source_row"]))


def test_write_cohort_accepts_pandas_frames(tmp_path, valid_cohort):
    ref = read_cohort(valid_cohort, today=TODAY)
    patients = ref.patients.to_pandas()
    patients["car_t_date"] = pd.to_datetime(patients["car_t_date"])  # datetime64 -> date
    write_cohort(patients, ref.lines.to_pandas(), tmp_path / "out")
    got = read_cohort(tmp_path / "out", today=TODAY)
    assert got.patients.column("car_t_date").equals(ref.patients.column("car_t_date"))


def test_to_ibis_gives_duckdb_tables(valid_cohort):
    from aftercar.backends.duckdb import connect

    cohort = read_cohort(valid_cohort, today=TODAY)
    con = connect()
    patients, lines = cohort.to_ibis(con)
    assert patients.count().execute() == 3
    first = lines.filter(lines.line == 1).select("patient_id").execute()
    assert sorted(first["patient_id"]) == ["P01", "P02"]
    joined = lines.join(patients, lines.patient_id == patients.patient_id).filter(
        lines.start_date >= patients.progression_date
    )
    assert joined.count().execute() == 3
    assert con.table("patients").count().execute() == 3  # created on the given connection
    again, _ = cohort.to_ibis()  # own connection by default
    assert again.count().execute() == 3


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_separated_files_are_read(tmp_path, valid_cohort, sep):
    ref = read_cohort(valid_cohort, today=TODAY)
    for name in ("patients.csv", "lines.csv"):
        text = (valid_cohort / name).read_text()
        (tmp_path / name).write_text(text.replace(",", sep))
    got = read_cohort(tmp_path, today=TODAY)
    assert got.patients.equals(ref.patients) and got.lines.equals(ref.lines)


def test_tables_carry_their_file_label(tmp_path, valid_cohort):
    from aftercar.io.cohort import file_label

    cohort = read_cohort(valid_cohort, today=TODAY)
    assert cohort.file("lines") == "lines.csv"
    assert file_label(cohort.patients, "?") == "patients.csv"
    path = write_cohort(cohort.patients, cohort.lines, tmp_path / "c.xlsx", format="xlsx")[0]
    report = validate_cohort(path, today=TODAY)
    assert file_label(report.lines, "?") == "c.xlsx:lines"


def test_iso_dates_with_time_or_without_zero_padding(tmp_path):
    rows = [list(r) for r in PATIENTS]
    col = PATIENT_COLUMNS.index("car_t_date")
    rows[0][col], rows[1][col], rows[2][col] = (
        "2020-1-10",
        "2020-03-02T08:30:00Z",
        "2020-05-05 00:00:00",
    )
    got = read_cohort(make_cohort(tmp_path, patients=rows), today=TODAY)
    assert got.patients.column("car_t_date").to_pylist() == [
        dt.date(2020, 1, 10),
        dt.date(2020, 3, 2),
        dt.date(2020, 5, 5),
    ]


def test_report_to_frame_and_repr(tmp_path):
    rows = [list(r) for r in PATIENTS]
    rows[0][PATIENT_COLUMNS.index("ecog")] = "x"
    report = validate_cohort(make_cohort(tmp_path, patients=rows), today=TODAY)
    frame = report.to_frame()
    assert list(frame["rule"]) == ["number_unparseable", "no_lines"]
    assert list(frame["row"]) == [2, 4]
    assert repr(report) == ("ValidationReport(ok=False, errors=1, warnings=1, patients=3, lines=3)")


@pytest.mark.parametrize("text", ["2021-06-07T25:00:00", "2021-06-07 12:61", "2021-06-07T08:30:75"])
def test_a_date_with_an_impossible_time_is_not_a_date(tmp_path, text):
    rows = [list(r) for r in PATIENTS]
    rows[0][PATIENT_COLUMNS.index("car_t_date")] = text
    report = validate_cohort(make_cohort(tmp_path, patients=rows), today=TODAY)
    bad = [p for p in report.errors if p.column == "car_t_date"]
    assert [(p.row, p.value) for p in bad] == [(2, text)]



def test_a_1904_workbook_reads_its_date_serials_from_1904(tmp_path, valid_cohort):
    # fuzz round 7 (session 26): a Mac 1904-system workbook's serial in a number-formatted
    # cell was read from Excel's 1900 start, four years and a day early
    rows = [_native(r, PATIENT_COLUMNS) for r in PATIENTS]
    at = PATIENT_COLUMNS.index("birth_date")
    birth = rows[0][at].date()
    rows[0][at] = (birth - dt.date(1904, 1, 1)).days  # the 1904 serial, a plain number
    path = tmp_path / "cohort.xlsx"
    _workbook(path, rows, [_native(r, LINE_COLUMNS) for r in LINES])
    book = openpyxl.load_workbook(path)
    book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    book.save(path)  # the native date cells are written in the 1904 system too
    ref = read_cohort(valid_cohort, today=TODAY)
    got = read_cohort(path, today=TODAY)
    assert got.patients.column("birth_date").equals(ref.patients.column("birth_date"))
    assert got.lines.equals(ref.lines)


def test_merged_cells_are_named_not_read_as_empty(tmp_path):
    # fuzz round 7 (session 26): a site merged down B2:B4 left the patients of rows 3-4
    # without one, and validate said the cohort was valid
    path = _workbook(tmp_path / "cohort.xlsx", [_native(r, PATIENT_COLUMNS) for r in PATIENTS],
                     [_native(r, LINE_COLUMNS) for r in LINES])  # fmt: skip
    book = openpyxl.load_workbook(path)
    book["patients"].merge_cells("B2:B4")
    book.save(path)
    report = validate_cohort(path, today=TODAY)
    assert [(p.file, p.value, p.rule) for p in report.errors] == [
        ("cohort.xlsx:patients", "B2:B4", "unreadable_file")]
    assert "only B2 holds the value" in report.errors[0].message
