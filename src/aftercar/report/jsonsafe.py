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


def to_jsonable(obj: Any) -> Any:
    """Return ``obj`` as plain JSON types; NaN and infinities become ``None``.

    Dictionaries keep their order (keys become strings), tuples, lists and numpy
    arrays become lists, DataFrames become lists of records, numpy scalars become
    Python numbers, dates become ISO strings.
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(rec) for rec in obj.to_dict(orient="records")]
    if isinstance(obj, list | tuple | np.ndarray | pd.Series):
        return [to_jsonable(v) for v in list(obj)]
    return _scalar(obj)


def dumps(obj: Any) -> str:
    """Serialise to strict JSON (``allow_nan=False``), indented, UTF-8 text."""
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False, ensure_ascii=False)
