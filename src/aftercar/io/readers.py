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

This module finds the files and reads CSV and Parquet; :mod:`aftercar.io.raw_table`
holds :class:`RawTable` and builds it from cell text, :mod:`aftercar.io.csv_sniff`
looks at a CSV file's bytes (separator, not text, NUL bytes, mixed separators) and
:mod:`aftercar.io.workbook` reads a workbook's sheets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aftercar.errors import CohortError, Problem
from aftercar.io.csv_sniff import _csv_parse_problem, _mixed_separators, _not_text
from aftercar.io.csv_sniff import _separator as _separator
from aftercar.io.dates import arrow_day
from aftercar.io.dictionary import TABLES
from aftercar.io.encoding import utf8_problem
from aftercar.io.raw_table import RawTable as RawTable
from aftercar.io.raw_table import _clean, _from_columns, _from_grid, _problem
from aftercar.io.workbook import FORMULA_XML as FORMULA_XML
from aftercar.io.workbook import MAX_SHEET_CELLS as MAX_SHEET_CELLS
from aftercar.io.workbook import NUMBER_TYPES as NUMBER_TYPES
from aftercar.io.workbook import SERIAL_SHIFT_1904 as SERIAL_SHIFT_1904
from aftercar.io.workbook import _read_workbook
from aftercar.schema import WRITING_FILE

TABULAR_SUFFIXES = (".csv", ".parquet", ".pq")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


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
