"""Locate and read the raw ``patients`` and ``lines`` tables, every cell as text.

A cohort is a folder holding ``patients`` and ``lines`` as CSV or Parquet (file
stems ``patients``/``lines`` or ending ``_patients``/``_lines``), or one ``.xlsx``
workbook with sheets ``patients`` and ``lines``. Reading turns every cell into
text (native Excel dates become ISO ``YYYY-MM-DD HH:MM:SS``, Parquet dates ISO,
numbers their decimal form) so that one set of vectorised parsers checks them
all, and keeps each row's number as a spreadsheet shows it (header = row 1).

CSV files are read by Arrow's multi-threaded reader straight into Arrow-backed
text columns (stripping and empty-cell handling are Arrow kernels); a file Arrow
refuses (ragged rows, bad UTF-8) goes to pandas, which reads it or says why not.
Workbooks also note which cells were native numbers (Excel date serials in a date
column) and which formulas have no saved result (they would read as empty).

Nothing here raises anything but :class:`~aftercar.errors.CohortError`: missing,
ambiguous or unreadable files become :class:`~aftercar.errors.Problem` records.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aftercar.errors import CohortError, Problem
from aftercar.io.cells import string_array
from aftercar.io.dates import arrow_day
from aftercar.io.dictionary import TABLES, normalize_name
from aftercar.io.encoding import utf8_problem
from aftercar.io.safe_text import restore_formula_text
from aftercar.schema import WRITING_FILE

TABULAR_SUFFIXES = (".csv", ".parquet", ".pq")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class RawTable:
    """One input table with every cell as text.

    Attributes
    ----------
    label
        The file as the user sees it: ``lines.csv`` or ``cohort.xlsx:lines``.
    headers
        Header cells as written, one per column (position = column index).
    data
        Cells as a string DataFrame (columns ``0..n-1``, Arrow-backed), ``<NA>``
        for empty cells.
    rows
        Spreadsheet row number of each data row (header = row 1), int64.
    numbers
        Workbooks only: column position -> mask of the cells that were native
        numbers (a number-formatted cell, e.g. an Excel date serial ``44399``).
    formulas
        Workbooks only: formula cells without a saved (cached) result, which read
        as empty, as ``(data row position, column position, cell reference, formula)``.
    serial_shift
        Workbooks only: days to add to a number cell read as a date serial so that it
        counts from Excel's 1900 start (1,462 in a workbook using the 1904 date system,
        Excel for Mac's old default; 0 otherwise).
    """

    label: str
    headers: tuple[str, ...]
    data: pd.DataFrame
    rows: np.ndarray
    numbers: Mapping[int, np.ndarray] = field(default_factory=dict)
    formulas: tuple[tuple[int, int, str, str], ...] = ()
    serial_shift: int = 0


#: Days from Excel's 1900 start to its 1904 one: serial n of a 1904 workbook is serial
#: n + 1462 of a 1900 one (fuzz round 7, session 26: read 4 years early).
SERIAL_SHIFT_1904 = 1462
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def _problem(file: str | None, message: str, hint: str, rule: str) -> Problem:
    return Problem(file, None, None, None, message, hint, "error", rule)


def _edges(col: pa.LargeStringArray) -> tuple[bool, bool]:
    """Whether some cell may start or end with white space, and whether one starts with ``'``.

    Read from the first and last bytes of the cells (numpy on the Arrow buffers): a
    byte <= 32 (space, tab, line breaks, controls) or >= 128 (a non-ASCII
    character, which may be Unicode white space such as U+00A0) counts as space.
    """
    if col.null_count == len(col) or col.buffers()[2] is None:
        return False, False
    data = np.frombuffer(col.buffers()[2], np.uint8)
    if not ((data <= 32) | (data >= 128) | (data == ord("'"))).any():
        return False, False  # no such byte anywhere (dates, codes, ids): nothing to look at
    offsets = np.frombuffer(col.buffers()[1], np.int64, len(col) + 1, col.offset * 8)
    nonempty = offsets[1:] > offsets[:-1]
    first = data[offsets[:-1][nonempty]]
    edges = np.concatenate([first, data[offsets[1:][nonempty] - 1]])
    return bool(((edges <= 32) | (edges >= 128)).any()), bool((first == ord("'")).any())


def _clean(col: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """Strip every cell; empty or whitespace-only cells become null (Arrow kernels).

    A quote that neutralised a formula (``'=x``, see :mod:`aftercar.io.safe_text`)
    is removed, as a spreadsheet does with a typed ``'``. The result is one
    contiguous chunk (hash kernels on many small chunks are slow).
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks else pa.array([], pa.large_string())
    if not pa.types.is_large_string(col.type):
        col = col.cast(pa.large_string())
    spaces, quote = _edges(col)
    if spaces:
        col = pc.utf8_trim_whitespace(col)
    if spaces or quote:
        col = restore_formula_text(col)
    empty = pc.equal(pc.binary_length(col), 0)
    if not pc.any(empty).as_py():
        return pa.chunked_array([col])
    return pa.chunked_array([pc.if_else(empty, pa.scalar(None, pa.large_string()), col)])


def _empty_table(label: str) -> CohortError:
    return CohortError(
        [
            _problem(
                label,
                "the table is empty (no header row)",
                "add a header row with the column names",
                "empty_file",
            )
        ]
    )


def _from_columns(
    label: str,
    headers: list[str],
    cols: list[pa.ChunkedArray],
    numbers: Mapping[int, np.ndarray] | None = None,
    formulas: tuple[tuple[int, int, str, str], ...] = (),
) -> RawTable:
    """Build a :class:`RawTable` from cleaned header text and body columns.

    Columns with neither a header nor a value are dropped, as are blank rows after
    the last row holding a value (or a formula without a saved result).
    """
    n = len(cols[0]) if cols else 0
    fcols = {j for _, j, _, _ in formulas}
    keep = [j for j, c in enumerate(cols) if headers[j] or c.null_count < n or j in fcols]
    nonblank = np.zeros(n, dtype=bool)
    for j in keep:
        nonblank |= pc.is_valid(cols[j]).to_numpy(zero_copy_only=False)
    nonblank[[i for i, _, _, _ in formulas]] = True
    last = int(np.flatnonzero(nonblank)[-1]) + 1 if nonblank.any() else 0
    position = {j: k for k, j in enumerate(keep)}
    body = pd.DataFrame(
        {k: pd.Series(string_array(cols[j].slice(0, last))) for k, j in enumerate(keep)},
        index=pd.RangeIndex(last),
        columns=range(len(keep)),
    )
    return RawTable(
        label,
        tuple(headers[j] for j in keep),
        body,
        np.arange(2, 2 + last, dtype=np.int64),
        {position[j]: m[:last] for j, m in (numbers or {}).items() if j in position},
        tuple((i, position[j], ref, f) for i, j, ref, f in formulas),
    )


def _grid_text(grid: pd.DataFrame) -> list[pa.ChunkedArray]:
    """Every cell of an object grid as cleaned Arrow text (one conversion for the grid)."""
    n = grid.shape[0]
    flat = pd.Series(grid.to_numpy(dtype=object).ravel(order="F"), dtype=object)
    text = flat.astype("str").where(flat.notna())
    arr = _clean(pa.array(text.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True))
    return [arr.slice(k * n, n) for k in range(grid.shape[1])]


def _from_grid(
    label: str,
    grid: pd.DataFrame,
    numbers: Mapping[int, np.ndarray] | None = None,
    formulas: tuple[tuple[int, int, str, str], ...] = (),
) -> RawTable:
    """Split a header-less grid (first row = header) into a :class:`RawTable`.

    ``numbers`` and ``formulas`` index the grid itself (row 0 = header).
    """
    if grid.shape[0] == 0:
        raise _empty_table(label)
    cols = _grid_text(grid)
    headers = [c[0].as_py() or "" for c in cols]
    body = [c.slice(1) for c in cols]
    nums = {j: m[1:] for j, m in (numbers or {}).items()}
    cells = tuple((i - 1, j, ref, f) for i, j, ref, f in formulas if i >= 1)
    return _from_columns(label, headers, body, nums, cells)


def _separator(path: Path) -> tuple[str, int]:
    """The separator and the number of columns the header line shows.

    ``,`` unless the header holds more ``;`` or tabs (European Excel, TSV exports).
    """
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return ",", 1
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    sep = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return sep, counts[sep] + 1


def _read_csv_arrow(path: Path, sep: str, width: int) -> RawTable | None:
    """Read a regular CSV with Arrow's multi-threaded reader, every cell as text.

    Returns ``None`` when Arrow refuses the file (ragged rows, bad UTF-8, empty
    file...): the pandas reader then reads it or explains what is wrong. Arrow names
    the columns f0, f1, ...; the ``width`` the header shows are read as text (a
    column beyond them, e.g. after a quoted separator, sends the file to pandas).
    """
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, ignore_empty_lines=False, newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{j}": pa.string() for j in range(width)},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, OSError):
        return None
    if table.num_rows == 0 or any(not pa.types.is_string(t) for t in table.schema.types):
        return None
    cols = [_clean(table.column(j)) for j in range(table.num_columns)]
    headers = [c[0].as_py() or "" for c in cols]
    return _from_columns(path.name, headers, [c.slice(1) for c in cols])


#: First bytes of files that are not CSV text -> (what the file is, how to fix it).
_NOT_TEXT = {
    b"PK\x03\x04": ("an Excel workbook (.xlsx) or another zip file",
                     "give it the .xlsx extension (aftercar reads workbooks), or save it as "
                     "'CSV UTF-8' from your spreadsheet program"),
    b"\xd0\xcf\x11\xe0": ("an old Excel workbook (.xls)",
                          "save it as .xlsx or as 'CSV UTF-8' from your spreadsheet program"),
    b"PAR1": ("a Parquet file", "give it the .parquet extension"),
    b"\xff\xfe": ("UTF-16 text", "save it as 'CSV UTF-8' from your spreadsheet program"),
    b"\xfe\xff": ("UTF-16 text", "save it as 'CSV UTF-8' from your spreadsheet program"),
}  # fmt: skip


def _stray_nul(path: Path, chunk: int = 1 << 20) -> None:
    """Stop on the first NUL byte of a UTF-8 file, naming its line and byte (the whole file is
    scanned in chunks: a review of session 26 found one past the first kilobyte let through)."""
    line = 1
    with path.open("rb") as f:
        while block := f.read(chunk):
            at = block.find(b"\x00")
            if at < 0:
                line += block.count(b"\n")
                continue
            line += block.count(b"\n", 0, at)
            byte = at - block.rfind(b"\n", 0, at)  # within the line (1-based; from its chunk)
            raise CohortError([Problem(
                path.name, line, None, "\\x00", f"line {line} holds a NUL character (byte 0) "
                f"at byte {byte} of the line, which no cell can hold",
                "remove it (a paste from another program can leave one)", "error",
                "unreadable_file")])  # fmt: skip


def _not_text(path: Path) -> None:
    """Stop on a ``.csv`` file that is a workbook, Parquet or UTF-16 (by its first bytes)."""
    with path.open("rb") as f:
        head = f.read(1024)
    for magic, (what, hint) in _NOT_TEXT.items():
        if head.startswith(magic):
            problem = _problem(path.name, f"the file is {what}, not CSV text", hint,
                               "unreadable_file")  # fmt: skip
            raise CohortError([problem])
    if head.count(b"\x00") * 10 < len(head):  # a stray NUL in UTF-8 text (fuzz round 7)
        _stray_nul(path)
    if b"\x00" in head:  # UTF-16 / UTF-32 without a byte-order mark (found by fuzzing)
        raise CohortError([_problem(
            path.name, "the file holds NUL bytes: it is UTF-16 or UTF-32 text without a "
            "byte-order mark, not UTF-8", "save it as 'CSV UTF-8' from your spreadsheet program",
            "unreadable_file")])  # fmt: skip


_SEP_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}


def _mixed_separators(path: Path, sep: str, width: int) -> None:
    """Stop when the header's separator is absent from the first data line while another
    fills it (a tab-separated header pasted over comma rows): one problem instead of a
    missing value in every column of every row (found by fuzzing, 2026-12-06)."""
    if width < 3:
        return
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            fh.readline()
            line = fh.readline()
    except OSError:
        return
    line = re.sub(r'"[^"]*"', "", line)  # separators inside quoted cells are text
    if not line.strip() or line.count(sep):
        return
    other = max((s for s in _SEP_NAMES if s != sep), key=line.count)
    if line.count(other) >= width - 1:
        raise CohortError([Problem(
            path.name, 2, None, None,
            f"the header row is separated by {_SEP_NAMES[sep]} but the rows by "
            f"{_SEP_NAMES[other]}",
            f"use one separator in the whole file: save it again as 'CSV UTF-8', or replace "
            f"the {_SEP_NAMES[sep]} of the header row with {_SEP_NAMES[other]}",
            "error", "mixed_separators")])  # fmt: skip


def _read_csv(path: Path) -> RawTable:
    label = path.name
    _not_text(path)
    sep, width = _separator(path)
    _mixed_separators(path, sep, width)
    fast = _read_csv_arrow(path, sep, width)
    if fast is not None:
        return fast
    try:
        grid = pd.read_csv(
            path,
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        grid = pd.DataFrame()
    except UnicodeDecodeError as exc:
        where = utf8_problem(path, label, "unreadable_file")  # line, column and text
        raise CohortError(
            [
                where
                or _problem(
                    label,
                    f"the file is not UTF-8 text ({exc.reason})",
                    "save it as 'CSV UTF-8' from your spreadsheet program",
                    "unreadable_file",
                )
            ]
        ) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise CohortError([_csv_parse_problem(label, exc)]) from None
    return _from_grid(label, grid)


#: pandas' C parser on a row with more cells than the first: "Error tokenizing data. C
#: error: Expected 18 fields in line 3, saw 20".
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _csv_parse_problem(label: str, exc: Exception) -> Problem:
    """A CSV file pandas cannot parse: a row with too many cells (named by its row and
    counts), else pandas' last line of error."""
    msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    hint = "check that every row has as many cells as the header and that quotes are balanced"
    m = _RAGGED.search(msg)
    if m is None:
        return _problem(label, f"the file cannot be read as CSV ({msg})", hint, "unreadable_file")
    expected, line, saw = (int(g) for g in m.groups())
    return Problem(label, line, None, None,
                   f"the row has {saw} cells where the header has {expected}",
                   "quote the cells that hold the separator, or remove the extra cells of "
                   "that row", "error", "unreadable_file")  # fmt: skip


def _arrow_to_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if pa.types.is_timestamp(col.type):
        col = arrow_day(col)  # a zoned timestamp: the date on its zone's clock
    return col.cast(pa.string())


def _schema_problems(label: str, schema: pa.Schema) -> list[Problem]:
    """Columns a cohort table cannot hold: one name given twice (Arrow refuses to select
    it, with a message about its internals), a list, struct or map column (no cell text)."""
    names = [f.name for f in schema]
    twice = sorted({n for n in names if names.count(n) > 1})
    out = [Problem(label, None, n, None, f"the column '{n}' is given {names.count(n)} times",
                   "keep one of them or rename one", "error", "duplicate_column")
           for n in twice]  # fmt: skip
    out += [Problem(label, None, f.name, None,
                    f"the column '{f.name}' holds {f.type} values, not one value per cell",
                    "store one value per cell (text, number, date or true/false), or drop "
                    "the column", "error", "unreadable_file")
            for f in schema if pa.types.is_nested(f.type)]  # fmt: skip
    return out


def _read_parquet(path: Path) -> RawTable:
    label = path.name
    try:
        problems = _schema_problems(label, pq.read_schema(path))
    except (pa.ArrowException, OSError):
        problems = []  # not Parquet: read_table names it below
    if problems:
        raise CohortError(problems)
    try:
        table = pq.read_table(path)
        cols = [_clean(_arrow_to_text(table.column(i))) for i in range(table.num_columns)]
    except (pa.ArrowException, OSError) as exc:
        raise CohortError(
            [
                _problem(
                    label,
                    f"the file cannot be read as Parquet ({exc})",
                    "re-export the table as Parquet or CSV",
                    "unreadable_file",
                )
            ]
        ) from None
    return _from_columns(label, [str(n).strip() for n in table.column_names], cols)


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


def _candidates(folder: Path, table: str) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in TABULAR_SUFFIXES
        and (p.stem.lower() == table or p.stem.lower().endswith(f"_{table}"))
    )


def _locate_folder(folder: Path) -> dict[str, Path] | Path:
    if (folder / WRITING_FILE).is_file():  # fuzzing round 6 (I03): a mix of two runs
        raise CohortError([_problem(
            str(folder), f"an aftercar derive was interrupted while writing this folder "
            f"({WRITING_FILE} is still there): its files may be a mix of two runs",
            "run the same aftercar derive again (it replaces them), or derive into a new "
            "folder", "unreadable_file")])  # fmt: skip
    found = {t: _candidates(folder, t) for t in TABLES}
    if not any(found.values()):
        books = sorted(
            p
            for p in folder.iterdir()
            if p.suffix.lower() in WORKBOOK_SUFFIXES and not p.name.startswith("~$")
        )
        if len(books) == 1:
            return books[0]
    problems = []
    for table, paths in found.items():
        if not paths:
            problems.append(
                _problem(
                    str(folder),
                    f"no '{table}' table found (looked for {table}.csv, "
                    f"{table}.parquet or a file ending _{table})",
                    f"put the {table} table in {folder} as {table}.csv",
                    "missing_file",
                )
            )
        elif len(paths) > 1:
            problems.append(
                _problem(
                    str(folder),
                    f"several files could be the '{table}' table: "
                    f"{', '.join(p.name for p in paths)}",
                    "keep exactly one of them in the folder",
                    "ambiguous_file",
                )
            )
    if problems:
        raise CohortError(problems)
    return {t: paths[0] for t, paths in found.items()}


def read_raw(path: str | Path) -> dict[str, RawTable]:
    """Read the raw ``patients`` and ``lines`` tables of a cohort.

    Parameters
    ----------
    path
        A folder of CSV/Parquet files or an ``.xlsx`` workbook.

    Returns
    -------
    dict
        ``{"patients": RawTable, "lines": RawTable}``.

    Raises
    ------
    CohortError
        When the path is missing, a table cannot be found or a file cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise CohortError(
            [
                _problem(
                    str(path),
                    "no such file or folder",
                    "check the path: give the folder holding patients.csv "
                    "and lines.csv, or the .xlsx workbook",
                    "missing_path",
                )
            ]
        )
    target: dict[str, Path] | Path = path
    if path.is_dir():
        target = _locate_folder(path)
    if isinstance(target, Path):
        if target.suffix.lower() not in WORKBOOK_SUFFIXES:
            raise CohortError(
                [
                    _problem(
                        str(path),
                        "not a cohort folder or .xlsx workbook",
                        "give the folder that holds the patients and lines "
                        "files, or an .xlsx workbook",
                        "unsupported_path",
                    )
                ]
            )
        return _without_pasted_headers(_read_workbook(target))
    readers = {".csv": _read_csv, ".parquet": _read_parquet, ".pq": _read_parquet}
    return _without_pasted_headers({t: readers[p.suffix.lower()](p) for t, p in target.items()})


def _header_rows(table: RawTable) -> np.ndarray:
    """Spreadsheet row numbers of the data rows that repeat the header: every filled
    cell equal to its column's name (case and spaces aside), at least two such cells
    (one in a one-column table)."""
    n = len(table.data)
    same = np.zeros(n, dtype=np.int64)
    filled = np.zeros(n, dtype=np.int64)
    for j, name in enumerate(table.headers):
        col = table.data[j]
        cell = col.str.strip().str.casefold()
        filled += col.notna().to_numpy(dtype=np.int64)
        if name.strip():
            same += (cell == name.strip().casefold()).fillna(False).to_numpy(dtype=np.int64)
    need = min(2, max(1, sum(bool(h.strip()) for h in table.headers)))
    return table.rows[(same >= need) & (same == filled)]


def _without_pasted_headers(tables: dict[str, RawTable]) -> dict[str, RawTable]:
    """Stop, with one problem per table, on data rows that repeat the header row (two
    exports pasted into one file), rather than one cell error per column of each such
    row (found by fuzzing, 2026-12-06)."""
    problems = []
    for t in tables.values():
        rows = _header_rows(t)
        if rows.size:
            shown = ", ".join(str(r) for r in rows[:10]) + (" ..." if rows.size > 10 else "")
            problems.append(Problem(
                t.label, int(rows[0]), None, None,
                f"row{'s' if rows.size > 1 else ''} {shown} repeat{'' if rows.size > 1 else 's'} "
                "the header row (two exports pasted into one file?)",
                "delete the repeated header row(s), and check that the rows below them are "
                "not a second copy of the same patients", "error", "repeated_header"))  # fmt: skip
    if problems:
        raise CohortError(problems)
    return tables
