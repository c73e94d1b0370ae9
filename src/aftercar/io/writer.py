"""Write a cohort in the curated format: CSV, Parquet or an Excel workbook.

The columns written are the canonical columns of ``dictionary.csv`` in
dictionary order (those present in the input), then any other column (user
covariates); ``source_row`` is dropped (it belongs to the input that was read).
Dates are written as ISO 8601 (CSV), ``date32`` (Parquet) or native Excel dates.

CSV and xlsx are opened by spreadsheet programs: text starting with ``= + - @``,
tab or carriage return is prefixed with a single quote
(:func:`aftercar.io.safe_text.neutralise_formula`, OWASP CSV-injection guidance)
and xlsx cells hold text, never a formula. The readers remove the quote again,
so a written cohort reads back unchanged. Parquet keeps text exactly as given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aftercar.errors import CohortError, InputError, Problem
from aftercar.io.csv_out import write_csv
from aftercar.io.dictionary import TABLES, columns
from aftercar.io.safe_text import neutralise_table
from aftercar.schema import Col

FORMATS = ("csv", "parquet", "xlsx")


def cohort_arrow(data, table: str) -> pa.Table:
    """Convert a DataFrame/Arrow table to Arrow as :func:`write_cohort` writes it.

    Canonical columns (``dictionary.csv``) first, in dictionary order and with their
    declared types, then any other column; ``source_row`` is dropped.

    Parameters
    ----------
    data
        A pandas DataFrame or an Arrow table.
    table
        ``"patients"`` or ``"lines"``.

    Returns
    -------
    pyarrow.Table
    """
    if isinstance(data, pd.DataFrame):
        data = pa.Table.from_pandas(data, preserve_index=False)
    if not isinstance(data, pa.Table):
        raise InputError(
            f"write_cohort: {table} must be a pandas DataFrame or an Arrow table, "
            f"not {type(data).__name__}"
        )
    specs = {s.name: s for s in columns(table)}
    order = [n for n in specs if n in data.column_names]
    order += [n for n in data.column_names if n not in specs and n != Col.SOURCE_ROW]
    arrays = []
    for name in order:
        col = data.column(name)
        if name in specs and col.type != specs[name].arrow_type:
            col = _cast(col, specs[name].arrow_type, table, name)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, names=order)


def _cast(col: pa.ChunkedArray, target: pa.DataType, table: str, name: str) -> pa.ChunkedArray:
    if pa.types.is_null(col.type):
        return pa.nulls(len(col), target)
    try:
        if pa.types.is_timestamp(col.type) and pa.types.is_date(target):
            col = col.cast(pa.timestamp(col.type.unit))
        return col.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(
            f"write_cohort: column {table}.{name} of type {col.type} cannot be "
            f"written as {target} ({exc})"
        ) from None


#: Characters an xlsx file (XML 1.0) cannot hold: C0 controls but tab, newline and return.
_NOT_XML = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"


def _shown(text: str) -> str:
    """``text`` with its control characters written as ``\\xNN`` (a few cells, not rows)."""
    return re.sub("[\\x00-\\x1f]", lambda m: f"\\x{ord(m.group()):02x}", text)


#: The most characters an Excel cell holds (Excel specifications and limits); a longer
#: text would be cut by openpyxl with only a warning.
XLSX_CELL_MAX = 32_767


def _too_long(table: pa.Table, field: pa.Field, label: str) -> list[Problem]:
    """Text cells longer than :data:`XLSX_CELL_MAX` characters (a few per column)."""
    long = pc.fill_null(pc.greater(pc.utf8_length(table[field.name]), XLSX_CELL_MAX), False)
    return [Problem(label, i + 2, field.name, table[field.name][i].as_py()[:80] + "...",
                    f"the text has {len(table[field.name][i].as_py()):,} characters; an xlsx "
                    f"cell holds at most {XLSX_CELL_MAX:,}",
                    "shorten the text in the input, or write the cohort as csv or parquet",
                    rule="not_xlsx_text")
            for i in pc.indices_nonzero(long).to_pylist()[:3]]  # fmt: skip


def _not_in_xlsx(tables: dict[str, pa.Table], path: Path) -> list[Problem]:
    """Text cells an xlsx file cannot store: a control character (openpyxl refuses it) or
    more than :data:`XLSX_CELL_MAX` characters (cut): named by sheet, row (as the sheet
    would number it) and column, a few per column."""
    problems = []
    for name, table in tables.items():
        for field in table.schema:
            if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
                continue
            problems += _too_long(table, field, f"{path.name}:{name}")
            hit = pc.fill_null(pc.match_substring_regex(table[field.name], _NOT_XML), False)
            for i in pc.indices_nonzero(hit).to_pylist()[:3]:
                value = table[field.name][i].as_py()
                chars = sorted({f"U+{ord(c):04X}" for c in re.findall(_NOT_XML, value)})
                problems.append(Problem(
                    f"{path.name}:{name}", i + 2, field.name, _shown(value),
                    "the text holds a control character that an xlsx file cannot store "
                    f"({', '.join(chars)})",
                    "remove the character from the input, or write the cohort as csv or parquet",
                    rule="not_xlsx_text"))  # fmt: skip
    return problems


def _xlsx(tables: dict[str, pa.Table], path: Path) -> None:
    problems = _not_in_xlsx(tables, path)
    if problems:
        raise CohortError(problems, f"{path.name}: text an xlsx file cannot store")
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in tables.items():
            frame = neutralise_table(table).to_pandas(date_as_object=True)
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            for j, field in enumerate(table.schema, start=1):
                if pa.types.is_date(field.type):
                    for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
                        cell.number_format = "yyyy-mm-dd"


def write_cohort(
    patients,
    lines,
    out: str | Path,
    *,
    format: str = "csv",  # public name fixed by the cohort data contract
    prefix: str = "",
) -> tuple[Path, ...]:
    """Write ``patients`` and ``lines`` in the curated cohort format.

    Parameters
    ----------
    patients, lines
        pandas DataFrames or Arrow tables with (a subset of) the canonical columns.
    out
        Output folder (created if needed). For ``format="xlsx"`` a path ending in
        ``.xlsx`` names the workbook itself.
    format
        ``"csv"`` (``{prefix}patients.csv``, ``{prefix}lines.csv``), ``"parquet"``
        (same stems) or ``"xlsx"`` (``{prefix}cohort.xlsx`` with sheets ``patients``
        and ``lines``). CSV and xlsx text that a spreadsheet would run as a
        formula is prefixed with ``'`` (see the module docstring).
    prefix
        File name prefix, e.g. ``"synthetic_demo_"``; :func:`read_cohort` finds
        stems ending ``_patients`` / ``_lines``.

    Returns
    -------
    tuple of Path
        The files written.
    """
    if format not in FORMATS:
        raise InputError(
            f"write_cohort: format must be one of {', '.join(FORMATS)}, not {format!r}"
        )
    tables = {"patients": cohort_arrow(patients, "patients"), "lines": cohort_arrow(lines, "lines")}
    out = Path(out)
    if format == "xlsx":
        path = out if out.suffix.lower() == ".xlsx" else out / f"{prefix}cohort.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        _xlsx(tables, path)
        return (path,)
    out.mkdir(parents=True, exist_ok=True)
    written: Sequence[Path] = [out / f"{prefix}{name}.{format}" for name in TABLES]
    for name, path in zip(TABLES, written, strict=True):
        if format == "csv":
            write_csv(neutralise_table(tables[name]), path)
        else:
            pq.write_table(tables[name], path)
    return tuple(written)
