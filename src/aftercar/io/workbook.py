"""Read the ``patients`` and ``lines`` sheets of an ``.xlsx`` workbook, every cell as text.

Besides the cells, a sheet's :class:`~aftercar.io.raw_table.RawTable` notes which
cells were native numbers (Excel date serials in a date column), which formulas have
no saved result (they would read as empty) and the workbook's date system (1900 or
1904). Sheets with merged cells or a used range far beyond any cohort are refused.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from aftercar.errors import CohortError, Problem
from aftercar.io.dictionary import TABLES, normalize_name
from aftercar.io.raw_table import RawTable, _from_grid, _problem

#: Days from Excel's 1900 start to its 1904 one: serial n of a 1904 workbook is serial
#: n + 1462 of a 1900 one (fuzz round 7, session 26: read 4 years early).
SERIAL_SHIFT_1904 = 1462
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def _sheet_names(book, label: str) -> dict[str, str]:
    found = {normalize_name(n): n for n in book.sheetnames}
    _unique_sheets(book.sheetnames, label)
    missing = [t for t in TABLES if t not in found]
    if missing:
        raise CohortError(
            [
                _problem(
                    f"{label}:{t}",
                    f"the workbook has no sheet named '{t}' (sheets: {', '.join(book.sheetnames)})",
                    f"name the sheet holding the {t} table '{t}'",
                    "missing_sheet",
                )
                for t in missing
            ]
        )
    return {t: found[t] for t in TABLES}


def _unique_sheets(sheets: list[str], label: str) -> None:
    """Stop when two sheets' names both read as one table's (``patients`` and ``Patients_``):
    which one holds the cohort is not for the reader to guess."""
    clash = [
        (t, names) for t in TABLES
        if len(names := [n for n in sheets if normalize_name(n) == t]) > 1
    ]  # fmt: skip
    if clash:
        raise CohortError([
            _problem(f"{label}:{t}",
                     f"{len(names)} sheets are named as the {t} table: "
                     f"{', '.join(repr(n) for n in names)}",
                     f"keep one sheet named '{t}' and rename or delete the others",
                     "ambiguous_file")
            for t, names in clash
        ])  # fmt: skip


#: A formula element in a worksheet's XML (``<f>``, ``<f t="shared" .../>``, ``<x:f>``).
FORMULA_XML = re.compile(rb"<(?:\w+:)?f[ >/]")


def _formula_cells(path: Path, sheet: str) -> dict[tuple[int, int], tuple[str, str]]:
    """Formula cells of ``sheet`` as ``{(grid row, grid column): (cell reference, formula)}``.

    Read only when some worksheet of the file holds a formula (a byte scan of the
    XML), by a second pass that keeps formulas instead of their saved results.
    """
    with zipfile.ZipFile(path) as archive:
        parts = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        if not any(FORMULA_XML.search(archive.read(n)) for n in parts if n.endswith(".xml")):
            return {}
    import openpyxl

    formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        return {
            (cell.row - 1, cell.column - 1): (cell.coordinate, str(cell.value))
            for row in formulas[sheet].iter_rows(min_row=1)
            for cell in row
            if cell.data_type == "f"
        }
    finally:
        formulas.close()


#: Python types of a native number cell as openpyxl reads it (bool is not one).
NUMBER_TYPES = np.array([int, float], dtype=object)


#: Cells a sheet may span (rows x columns of its used range): a cohort of 100,000 lines
#: of 30 columns spans 3 million; one stray value at XFD1048576 makes 17 billion, which
#: would be read as that many empty cells.
MAX_SHEET_CELLS = 50_000_000


def _check_extent(path: Path, ws, sheet: str) -> None:
    """Stop on a sheet whose used range is far larger than any cohort (a stray cell)."""
    rows, cols = ws.max_row or 0, ws.max_column or 0
    if rows * cols > MAX_SHEET_CELLS:
        from openpyxl.utils import get_column_letter

        last = f"{get_column_letter(cols)}{rows}"
        raise CohortError([_problem(
            f"{path.name}:{sheet}",
            f"the sheet's used range reaches {last} ({rows:,} rows x {cols:,} columns), "
            f"more than {MAX_SHEET_CELLS:,} cells: a stray value or format far from the table",
            f"delete the rows below and the columns right of the table (or the cell {last}), "
            "then save", "unreadable_file")])  # fmt: skip


#: A merged range in a sheet's XML (ECMA-376 ``<mergeCell ref="B2:B10"/>``).
_MERGED = re.compile(rb'<mergeCell\s+ref="([A-Z]{1,3}[0-9]+:[A-Z]{1,3}[0-9]+)"')


def _check_merged(path: Path, ws, sheet: str) -> None:
    """Stop on merged cells: only a range's first cell holds its value, the others read as
    empty (fuzz round 7, session 26: a site merged down B2:B10 left eight patients without
    one, silently)."""
    where = getattr(ws, "_worksheet_path", None)  # openpyxl's read-only sheets keep no ranges
    if where is None:
        return
    with zipfile.ZipFile(path) as book, book.open(where) as f:
        ranges = [r.decode() for r in _MERGED.findall(f.read())]
    if ranges:
        raise CohortError([Problem(
            f"{path.name}:{sheet}", None, None, ref, f"cells {ref} are merged: only "
            f"{ref.split(':')[0]} holds the value, the others of the range read as empty",
            "unmerge the cells and write the value in each row (Excel: Merge & Center > "
            "Unmerge Cells, then fill down)", "error", "unreadable_file")
            for ref in ranges])  # fmt: skip


def _sheet_table(path: Path, book, sheet: str) -> RawTable:
    """One sheet as a :class:`RawTable`, noting number cells and formulas without a result."""
    _check_extent(path, book[sheet], sheet)
    _check_merged(path, book[sheet], sheet)
    grid = pd.DataFrame.from_records(
        list(book[sheet].iter_rows(min_row=1, values_only=True)), coerce_float=False
    ).astype(object)
    numbers = {}
    for j in range(grid.shape[1]):
        kinds = np.fromiter(map(type, grid[j].to_numpy()), dtype=object, count=grid.shape[0])
        mask = np.isin(kinds, NUMBER_TYPES)
        if mask.any():
            numbers[j] = mask
    uncached = tuple(
        (i, j, ref, formula)
        for (i, j), (ref, formula) in _formula_cells(path, sheet).items()
        # an empty cell is None, or NaN in a column of no other value (pandas' records)
        if i < grid.shape[0] and j < grid.shape[1] and pd.isna(grid.iat[i, j])
    )
    return _from_grid(f"{path.name}:{sheet}", grid, numbers, uncached)


def _read_workbook(path: Path) -> dict[str, RawTable]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    # openpyxl meets malformed parts with its own errors or plain ones (a chart sheet
    # without its drawing: AttributeError): all mean "not a readable workbook"
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, AttributeError,
            TypeError, ValueError, IndexError) as exc:  # fmt: skip
        raise CohortError(
            [
                _problem(
                    path.name,
                    f"the file cannot be read as an Excel workbook ({exc})",
                    "save it as .xlsx from Excel or LibreOffice",
                    "unreadable_file",
                )
            ]
        ) from None
    try:
        names = _sheet_names(book, path.name)
        shift = SERIAL_SHIFT_1904 if getattr(book, "epoch", None) == _EPOCH_1904 else 0
        return {table: replace(_sheet_table(path, book, sheet), serial_shift=shift)
                for table, sheet in names.items()}  # fmt: skip
    finally:
        book.close()
