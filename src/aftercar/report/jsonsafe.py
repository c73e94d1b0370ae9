"""Turn analysis results into strict JSON (no NaN, no numpy scalars)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _scalar(obj: Any) -> Any:
    """Convert one non-container value to a JSON-ready one."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, dt.datetime | dt.date | pd.Timestamp):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def _floats(values: list[Any], finite: np.ndarray) -> list[Any]:
    """``values`` with the entries where ``finite`` is False replaced by ``None``."""
    if finite.all():
        return values
    return [v if ok else None for v, ok in zip(values, finite.tolist(), strict=True)]


def _array(arr: np.ndarray) -> list[Any]:
    """A numpy array as a list, numbers converted in bulk (``tolist``), NaN as ``None``."""
    if arr.ndim == 1 and arr.dtype.kind in "biu":
        return arr.tolist()
    if arr.ndim == 1 and arr.dtype.kind == "f":
        return _floats(arr.tolist(), np.isfinite(arr))
    return [to_jsonable(v) for v in list(arr)]


def _sequence(items: list[Any] | tuple[Any, ...]) -> list[Any]:
    """A list or tuple converted item by item (plain Python scalars taken as they are)."""
    out: list[Any] = []
    for value in items:
        kind = type(value)
        if kind is float:
            out.append(value if math.isfinite(value) else None)
        elif value is None or kind is str or kind is int or kind is bool:
            out.append(value)
        else:
            out.append(to_jsonable(value))
    return out


def to_jsonable(obj: Any) -> Any:
    """Return ``obj`` as plain JSON types; NaN and infinities become ``None``.

    Dictionaries keep their order (keys become strings), tuples, lists and numpy
    arrays become lists, DataFrames become lists of records, numpy scalars become
    Python numbers, dates become ISO strings. Numeric numpy arrays and Series are
    converted in bulk (``tolist``), not value by value.
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(rec) for rec in obj.to_dict(orient="records")]
    if isinstance(obj, np.ndarray):
        return _array(obj)
    if isinstance(obj, pd.Series):
        if isinstance(obj.dtype, np.dtype) and obj.dtype.kind in "biuf":
            return _array(obj.to_numpy())
        return _sequence(list(obj))
    if isinstance(obj, list | tuple):
        return _sequence(obj)
    return _scalar(obj)


def dumps(obj: Any) -> str:
    """Serialise to strict JSON (``allow_nan=False``), indented, UTF-8 text."""
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False, ensure_ascii=False)
