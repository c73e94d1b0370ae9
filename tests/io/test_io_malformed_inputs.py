"""Malformed inputs a fuzzing probe found (2026-12-05): each gives exit-2 problems that
name the file and a fix, never a traceback, a 128 GiB allocation or hours of work."""

from __future__ import annotations

import openpyxl
from iokit import LINE_COLUMNS, LINES, PATIENT_COLUMNS, PATIENTS, TODAY, make_cohort

from aftercar.io import read_cohort, validate_cohort


def _book(path, extra=None):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "patients"
    sheet.append(PATIENT_COLUMNS)
    for r in PATIENTS:
        sheet.append([v or None for v in r])
    lines = book.create_sheet("lines")
    lines.append(LINE_COLUMNS)
    for r in LINES:
        lines.append([v or None for v in r])
    if extra is not None:
        extra(book)
    book.save(path)
    return path


def _rules(report) -> list[tuple[str, str]]:
    return [(p.file, p.rule) for p in report.errors]


def test_two_sheets_named_as_one_table_are_refused_not_one_picked(tmp_path):
    def copy(book):
        other = book.copy_worksheet(book["patients"])
        other.title = "Patients_"

    report = validate_cohort(_book(tmp_path / "c.xlsx", copy), today=TODAY)
    assert _rules(report) == [("c.xlsx:patients", "ambiguous_file")]
    assert "'patients', 'Patients_'" in report.errors[0].message


def test_a_stray_cell_at_the_sheet_end_is_named_not_read_as_17_billion_cells(tmp_path):
    def stray(book):
        book["patients"]["XFD1048576"] = "x"

    report = validate_cohort(_book(tmp_path / "c.xlsx", stray), today=TODAY)
    assert _rules(report) == [("c.xlsx:patients", "unreadable_file")]
    assert "XFD1048576" in report.errors[0].message and "XFD1048576" in report.errors[0].hint


def test_a_chart_sheet_without_a_chart_is_an_unreadable_workbook(tmp_path):
    report = validate_cohort(_book(tmp_path / "c.xlsx", lambda b: b.create_chartsheet("chart")),
                             today=TODAY)  # fmt: skip
    assert _rules(report) == [("c.xlsx", "unreadable_file")]


def test_many_blank_rows_are_excluded_and_counted(tmp_path):
    # 20,000 blank rows before the last patients: their positions were matched with
    # np.isin on objects, every pair (8 s here, hours for a stray cell in row 1,048,576);
    # now a boolean index (the speed is a benchmark's matter, not this test's)
    blank = [[""] * len(PATIENT_COLUMNS)] * 20_000
    folder = make_cohort(tmp_path, patients=[PATIENTS[0], *blank, PATIENTS[1], PATIENTS[2]])
    cohort = read_cohort(folder, today=TODAY)
    assert cohort.patients.column("source_row").to_pylist() == [2, 20_003, 20_004]


def test_a_csv_row_with_extra_cells_is_named_by_its_row(tmp_path):
    # the problem had no row and quoted pandas ("C error: Expected 18 fields in line 3,
    # saw 20"; fuzzing, 2026-12-05)
    folder = make_cohort(tmp_path)
    f = folder / "patients.csv"
    lines = f.read_text().splitlines()
    lines[2] += ",x,y"
    f.write_text("\n".join(lines) + "\n")
    report = validate_cohort(folder, today=TODAY)
    p = report.errors[0]
    n = len(PATIENT_COLUMNS)
    assert (p.file, p.row, p.rule) == ("patients.csv", 3, "unreadable_file")
    assert p.message == f"the row has {n + 2} cells where the header has {n}"


def test_parquet_columns_a_cohort_cannot_hold_are_named(tmp_path):
    # Arrow's internals were quoted without the column (fuzzing, 2026-12-05)
    import pyarrow as pa
    import pyarrow.parquet as pq

    from aftercar.io import readers

    twice = tmp_path / "twice.parquet"
    pq.write_table(pa.table([pa.array(["P1"]), pa.array(["F"]), pa.array(["M"])],
                            names=["patient_id", "sex", "sex"]), twice)  # fmt: skip
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"patient_id": ["P1"], "labs": pa.array([[1, 2]])}), nested)
    for path, column, rule in ((twice, "sex", "duplicate_column"),
                               (nested, "labs", "unreadable_file")):  # fmt: skip
        try:
            readers._read_parquet(path)
        except readers.CohortError as err:
            p = err.problems[0]
            assert (p.file, p.column, p.rule) == (path.name, column, rule)
        else:
            raise AssertionError(f"{path.name} was read")
