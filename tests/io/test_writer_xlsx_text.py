"""Text an xlsx file cannot store (XML 1.0 control characters) is named, not a crash.

Found by a hypothesis sweep of ``tests/fuzz`` with more examples: a BEL character
(U+0007) in ``car_t_product`` of a CSV cohort read fine, then made ``write_cohort(...,
format="xlsx")`` raise openpyxl's ``IllegalCharacterError`` (a traceback).
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from openpyxl import load_workbook

from aftercar.errors import CohortError
from aftercar.io.writer import write_cohort
from aftercar.simulate import simulate_cohort


def _with_product(values: dict[int, str]) -> tuple[pa.Table, pa.Table]:
    c = simulate_cohort(5, seed=1)
    products = c.patients["car_t_product"].to_pylist()
    for i, v in values.items():
        products[i] = v
    i = c.patients.column_names.index("car_t_product")
    return c.patients.set_column(i, "car_t_product", pa.array(products)), c.lines


def test_a_control_character_is_named_by_sheet_row_and_column(tmp_path):
    patients, lines = _with_product({2: "cilta\x07cel", 3: "ide\x00cel"})
    with pytest.raises(CohortError) as err:
        write_cohort(patients, lines, tmp_path, format="xlsx")
    found = [(p.file, p.row, p.column, p.value) for p in err.value.problems]
    assert found == [("cohort.xlsx:patients", 4, "car_t_product", "cilta\\x07cel"),
                     ("cohort.xlsx:patients", 5, "car_t_product", "ide\\x00cel")]  # fmt: skip
    assert "U+0007" in err.value.problems[0].message and "csv or parquet" in str(err.value)
    assert not (tmp_path / "cohort.xlsx").exists()


def test_tabs_and_line_breaks_are_stored(tmp_path):
    patients, lines = _with_product({2: "cilta\tcel\nline two"})
    (path,) = write_cohort(patients, lines, tmp_path, format="xlsx")
    sheet = load_workbook(path)["patients"]
    column = [c.value for c in sheet[1]].index("car_t_product") + 1
    assert sheet.cell(row=4, column=column).value == "cilta\tcel\nline two"


def test_a_text_longer_than_an_excel_cell_is_named_not_cut(tmp_path):
    # found by fuzzing (2026-12-06): openpyxl cut 40,000 characters to 32,767 with a warning
    patients, lines = _with_product({1: "x" * 40_000, 2: "y" * 32_767})
    with pytest.raises(CohortError) as err:
        write_cohort(patients, lines, tmp_path, format="xlsx")
    found = [(p.file, p.row, p.column) for p in err.value.problems]
    assert found == [("cohort.xlsx:patients", 3, "car_t_product")]
    assert "40,000 characters" in err.value.problems[0].message
    assert not (tmp_path / "cohort.xlsx").exists()
