"""Arrow helpers shared by the raw-record and lab generators of the simulator."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def dict_array(values, codes: np.ndarray) -> pa.DictionaryArray:
    """Dictionary-encoded strings (written as plain strings: see ``writer``)."""
    dictionary = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary)


def day_numbers(col) -> np.ndarray:
    """Days since 1970-01-01 of an Arrow date column (-1 where missing)."""
    arr = pc.fill_null(pc.cast(col, pa.int32()), -1).to_numpy(zero_copy_only=False)
    return np.asarray(arr, dtype=np.int64)
