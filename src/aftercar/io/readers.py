"""Locate and read the raw ``patients`` and ``lines`` tables, every cell as text.

A cohort is a folder holding ``patients`` and ``lines`` as CSV or Parquet (file
stems ``patients``/``lines`` or ending ``_patients``/``_lines``), or one ``.xlsx``
workbook with sheets ``patients`` and ``lines``. Reading turns every cell into
text (native Excel dates become ISO ``YYYY-MM-DD HH:MM:SS``, Parquet dates ISO,
numbers their decimal form) so that one set of vectorised parsers checks them
all, and keeps each row's number as a spreadsheet shows it (header = row 1).

Nothing here raises anything but :class:`~aftercar.errors.CohortError`: missing,
ambiguous or unreadable files become :class:`~aftercar.errors.Problem` records.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from aftercar.errors import CohortError, Problem
from aftercar.io.dictionary import TABLES, normalize_name

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
        Cells as a string DataFrame (columns ``0..n-1``), ``<NA>`` for empty cells.
    rows
        Spreadsheet row number of each data row (header = row 1), int64.
    """

    label: str
    headers: tuple[str, ...]
    data: pd.DataFrame
    rows: np.ndarray


def _problem(file: str | None, message: str, hint: str, rule: str) -> Problem:
    return Problem(file, None, None, None, message, hint, "error", rule)


def _to_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as stripped text, empty or whitespace-only cells as ``<NA>``.

    The whole grid is converted as one flat column (one set of string kernels
    instead of one per column), then cut back into columns.
    """
    n, m = frame.shape
    flat = pd.Series(frame.to_numpy(dtype=object).ravel(order="F"), dtype=object)
    text = flat.astype("str").str.strip().where(flat.notna())
    text = text.mask(text == "").astype("string").array
    cols = {j: text[k * n : (k + 1) * n] for k, j in enumerate(frame.columns)}
    return pd.DataFrame(cols, index=frame.index, columns=frame.columns) if m else frame


def _from_grid(label: str, grid: pd.DataFrame) -> RawTable:
    """Split a header-less grid (first row = header) into a :class:`RawTable`."""
    if grid.shape[0] == 0:
        raise CohortError(
            [
                _problem(
                    label,
                    "the table is empty (no header row)",
                    "add a header row with the column names",
                    "empty_file",
                )
            ]
        )
    text = _to_text(grid)
    headers = text.iloc[0].fillna("")
    body = text.iloc[1:]
    keep = [j for j in body.columns if headers[j] != "" or body[j].notna().any()]
    body = body[keep]
    nonblank = body.notna().any(axis=1).to_numpy()
    last = int(np.flatnonzero(nonblank)[-1]) + 1 if nonblank.any() else 0
    body = body.iloc[:last]
    body.columns = range(len(keep))
    rows = np.arange(2, 2 + last, dtype=np.int64)
    return RawTable(label, tuple(str(headers[j]) for j in keep), body.reset_index(drop=True), rows)


def _separator(path: Path) -> str:
    """``,`` unless the header holds more ``;`` or tabs (European Excel, TSV exports)."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return ","
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda sep: (counts[sep], sep == ","))


def _read_csv(path: Path) -> RawTable:
    label = path.name
    try:
        grid = pd.read_csv(
            path,
            sep=_separator(path),
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        grid = pd.DataFrame()
    except UnicodeDecodeError as exc:
        raise CohortError(
            [
                _problem(
                    label,
                    f"the file is not UTF-8 text ({exc.reason})",
                    "save it as 'CSV UTF-8' from your spreadsheet program",
                    "unreadable_file",
                )
            ]
        ) from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[-1]
        raise CohortError(
            [
                _problem(
                    label,
                    f"the file cannot be read as CSV ({msg})",
                    "check that every row has as many cells as the header "
                    "and that quotes are balanced",
                    "unreadable_file",
                )
            ]
        ) from None
    return _from_grid(label, grid)


def _arrow_to_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.timestamp(col.type.unit)).cast(pa.date32())
    return col.cast(pa.string())


def _read_parquet(path: Path) -> RawTable:
    label = path.name
    try:
        table = pq.read_table(path)
        cols = {i: _arrow_to_text(table.column(i)).to_pandas() for i in range(table.num_columns)}
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
    header = pd.DataFrame([table.column_names], columns=range(table.num_columns))
    grid = pd.concat(
        [header, pd.DataFrame(cols, columns=range(table.num_columns))], ignore_index=True
    )
    return _from_grid(label, grid)


def _sheet_names(book, label: str) -> dict[str, str]:
    found = {normalize_name(n): n for n in book.sheetnames}
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


def _read_workbook(path: Path) -> dict[str, RawTable]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
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
        out = {}
        for table, sheet in names.items():
            grid = pd.DataFrame.from_records(
                list(book[sheet].iter_rows(min_row=1, values_only=True)), coerce_float=False
            )
            out[table] = _from_grid(f"{path.name}:{sheet}", grid.astype(object))
        return out
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
        return _read_workbook(target)
    readers = {".csv": _read_csv, ".parquet": _read_parquet, ".pq": _read_parquet}
    return {t: readers[p.suffix.lower()](p) for t, p in target.items()}
