"""``jsonsafe.to_jsonable``: numpy arrays and Series converted in bulk, same JSON as per value."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from aftercar.report.jsonsafe import dumps, to_jsonable


def _per_value(obj):
    """The reference: every value converted one at a time (the pre-bulk definition)."""
    if isinstance(obj, dict):
        return {str(k): _per_value(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [_per_value(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, list | tuple | np.ndarray | pd.Series):
        return [_per_value(v) for v in list(obj)]
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(float(obj)) else None
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, dt.date | pd.Timestamp):
        return obj.isoformat()
    return str(obj)


def _sample() -> dict:
    rng = np.random.default_rng(7)
    floats = rng.normal(size=1000)
    floats[::7] = np.nan
    floats[::11] = np.inf
    floats[::13] = -np.inf
    return {
        "f64": floats,
        "f32": floats.astype(np.float32),
        "finite": rng.normal(size=50),
        "ints": np.arange(-5, 5),
        "uint8": np.arange(10, dtype=np.uint8),
        "bools": np.array([True, False]),
        "matrix": np.array([[1.0, np.nan], [2.0, 3.5]]),
        "dates": np.array(["2020-01-01", "NaT"], dtype="datetime64[D]"),
        "objects": np.array(["a", None, 1.5], dtype=object),
        "series": pd.Series([1.0, np.nan, 2.5]),
        "int_series": pd.Series([1, 2], dtype="int64"),
        "nullable": pd.Series([1, None], dtype="Int64"),
        "strings": pd.Series(["a", None], dtype="string"),
        "timestamps": pd.Series(pd.to_datetime(["2020-01-01", None])),
        "mixed": [1.0, float("nan"), True, None, "x", np.float64(2.5), np.int64(3), (1, 2.0)],
        "frame": pd.DataFrame({"x": [1, 2], "y": [np.nan, 1.5]}),
        "misc": [dt.date(2020, 1, 2), pd.NaT, pd.NA, float("-inf")],
        3: tuple(floats.tolist()),
    }


def test_bulk_conversion_equals_per_value_conversion():
    sample = _sample()
    fast, slow = to_jsonable(sample), _per_value(sample)
    assert json.dumps(fast, allow_nan=False) == json.dumps(slow, allow_nan=False)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint64, np.bool_])
def test_numeric_arrays_become_plain_python_values(dtype):
    values = to_jsonable(np.array([0, 1, 1], dtype=dtype))
    assert [type(v) for v in values] == [type(np.array(0, dtype=dtype).item())] * 3


def test_non_finite_floats_become_null_and_dumps_is_strict():
    text = dumps({"a": np.array([1.0, np.nan, np.inf]), "b": pd.Series([-np.inf, 2.0])})
    assert json.loads(text) == {"a": [1.0, None, None], "b": [None, 2.0]}
