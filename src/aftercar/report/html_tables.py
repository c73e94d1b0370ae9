"""Format single values for display (the headline table and the results appendix).

Numbers are formatted for reading (3 significant digits for non-integers, p-values
below 0.001 as ``<0.001``), missing values as an en dash. Publication tables are
built by :mod:`aftercar.report.result_tables` and rendered by
:mod:`aftercar.report.display`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def format_value(value: Any, column: str = "") -> str:
    """Format one cell or result value for display."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}" if abs(int(value)) >= 10000 else str(int(value))
    if isinstance(value, float | np.floating):
        return _format_float(float(value), column)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v, column) for v in value) + "]"
    return str(value)


def _format_float(value: float, column: str) -> str:
    if not math.isfinite(value):
        return "–"
    if "p_value" in column.lower() or column.lower() in {"p", "pvalue"}:
        return "<0.001" if value < 0.001 else f"{value:.3f}"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
