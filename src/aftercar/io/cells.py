"""Column helpers shared by the parsers: distinct values and findings.

A column of 3,000,000 cells usually holds a few thousand distinct texts (dates,
responses, yes/no). :class:`Distinct` dictionary-encodes a column with Arrow so
that a parser works on the distinct texts only and spreads its result back to the
rows with one numpy take; no Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def arrow_text(text: pd.Series) -> pa.Array:
    """A text Series as one Arrow ``large_string`` array (zero-copy for Arrow-backed text)."""
    arr = pa.array(text.array, type=pa.large_string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def as_text(arr: pa.Array | pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series:
    """An Arrow string array as an Arrow-backed pandas ``string`` Series."""
    if not isinstance(arr, pa.ChunkedArray):
        arr = pa.chunked_array([arr])
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    return pd.Series(string_array(arr), index=index)


def string_array(arr: pa.ChunkedArray) -> pd.arrays.ArrowStringArray:
    """A pandas string array over Arrow text, zero-copy where pandas allows.

    pandas < 2.2 takes only 32-bit-offset strings in an ``ArrowStringArray``; for it
    the large-string column is cast (a copy of the offsets only).
    """
    try:
        return pd.arrays.ArrowStringArray(arr)
    except (TypeError, ValueError):
        return pd.arrays.ArrowStringArray(arr.cast(pa.string()))


@dataclass(frozen=True)
class Distinct:
    """A text column as its distinct non-empty values and one code per row.

    Attributes
    ----------
    values
        The distinct non-empty texts (``string`` Series, index ``0..k-1``).
    codes
        Per row, the position of its text in ``values``; ``-1`` for an empty cell.
    """

    values: pd.Series
    codes: np.ndarray

    @classmethod
    def of(cls, text: pd.Series) -> Distinct:
        """Dictionary-encode ``text`` (``<NA>`` = empty cell)."""
        encoded = pc.dictionary_encode(arrow_text(text))
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        return cls(as_text(encoded.dictionary), codes.astype(np.int64))

    def spread(self, per_value: np.ndarray, fill) -> np.ndarray:
        """Per-row values from one value per distinct text (``fill`` for empty cells)."""
        return np.append(per_value, np.array([fill], dtype=per_value.dtype))[self.codes]

    def first_row(self, value: int) -> int:
        """Position of the first row holding distinct value number ``value``."""
        return int(np.argmax(self.codes == value))


@dataclass(frozen=True)
class Finding:
    """Cells of one column that broke one rule, as found by a parser.

    ``mask`` marks the rows (``None``: a problem with the whole column, reported
    without a row); ``message``/``hint`` are text for every hit or a Series with
    one text per row (``None``: the rule's default text).
    """

    rule: str
    mask: np.ndarray | None
    message: str | pd.Series | None = None
    hint: str | pd.Series | None = None
