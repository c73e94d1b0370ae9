"""The raw table of the readers (:class:`RawTable`) and what builds one from cell text.

Every reader (:mod:`aftercar.io.readers`) ends here: cells are stripped, empty ones
become null and a quote that neutralised a formula is dropped (:func:`_clean`, Arrow
kernels), then :func:`_from_columns` / :func:`_from_grid` drop columns and trailing
rows with no value and number the rows as a spreadsheet shows them (header = row 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.errors import CohortError, Problem
from aftercar.io.cells import string_array
from aftercar.io.safe_text import restore_formula_text


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
