"""Small-cell suppression of nested results and tables (:func:`suppress_small_counts`,
:func:`suppress_table`): counts, proportions, identifiers, after the complementary step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from aftercar.report.disclosure.cells import _HEADER_N, Hidden, _below_k, _withhold_estimates
from aftercar.report.disclosure.keys import (
    _COUNT_PCT,
    _FRACTION,
    DENOMINATOR_KEYS,
    IDENTIFIER_KEYS,
    QUOTING_KEYS,
    _check_k,
    _small,
    _targets,
    is_count_key,
    is_operand,
    without_quoted_cells,
)
from aftercar.report.disclosure.results_json import _complementary
from aftercar.report.disclosure.tables import (
    _table_margins,
    _table_records,
    _withhold_row_estimates,
)
from aftercar.report.margins import SUPPRESSED, marker


def _suppress_count_value(value: Any, k: int) -> tuple[Any, bool]:
    """Suppress a value found under a count key; return (new value, hidden).

    Numbers are counts; lists are searched recursively (their numbers are counts,
    their dictionaries are handled by their own keys). ``hidden`` is True when the
    value is (or holds) a suppressed count, primary or secondary.
    """
    if isinstance(value, list | tuple):
        pairs = [_suppress_count_value(v, k) for v in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    if isinstance(value, Mapping):
        return _suppress_dict(value, k), False
    if isinstance(value, Hidden):
        return value, True
    if _small(value, k):
        return Hidden(marker(k), float(value)), True
    return value, False


def _small_denominator(obj: Mapping[Any, Any], k: int) -> bool:
    return any(
        str(key).lower() in DENOMINATOR_KEYS and isinstance(v, Hidden) and _below_k(v, k)
        for key, v in obj.items()
    )


def _shared_key(key: Any, k: int) -> Any:
    """A column name or key that embeds a group size (``"A (N=3)"``) shows it suppressed."""
    hit = _HEADER_N.match(key) if isinstance(key, str) else None
    if hit and _small(int(hit.group(2)), k):
        return f"{hit.group(1)}{marker(k)}{hit.group(3)}"
    return key


def _suppress_dict(obj: Mapping[Any, Any], k: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    hits: list[Any] = []
    for key, value in _complementary(obj, k).items():
        if is_count_key(key) and not isinstance(value, Mapping):
            out[key], hidden = _suppress_count_value(value, k)
            if hidden:
                hits.append(key)
        elif str(key).lower() in IDENTIFIER_KEYS and value is not None:
            out[key] = SUPPRESSED
        elif str(key).lower() in QUOTING_KEYS and isinstance(value, str):
            out[key] = without_quoted_cells(value)
        elif isinstance(value, str):
            out[_shared_key(key, k)] = _suppress_text_cell(value, k)
        else:
            out[_shared_key(key, k)] = _suppress(value, k)
    if hits:
        for key in _targets([key for key, v in out.items() if not isinstance(v, Mapping)]):
            if any(is_operand(h, key) for h in hits):
                out[key] = SUPPRESSED
    out = _withheld_differences(out)
    return _withhold_estimates(out) if _small_denominator(out, k) else out


def _withheld_differences(out: dict[Any, Any]) -> dict[Any, Any]:
    """Differences between groups (``differences`` beside ``groups``) are withheld when a
    group's estimate is: the reference's estimate plus the difference (and the interval's
    width) gave it back (fuzzing round 4: the RMST of a TCE group of fewer than K)."""
    groups, diffs = out.get("groups"), out.get("differences")
    if not (isinstance(groups, list) and isinstance(diffs, list)):
        return out
    if any(isinstance(g, Mapping) and g.get("estimate") == SUPPRESSED for g in groups):
        return out | {"differences": _withhold_estimates(diffs)}
    return out


def _suppress(obj: Any, k: int) -> Any:
    if isinstance(obj, Mapping):
        return _suppress_dict(obj, k)
    if isinstance(obj, pd.DataFrame):
        return suppress_table(obj, k)
    if isinstance(obj, list | tuple):
        return [_suppress(v, k) for v in _table_records(list(obj), k)]
    return obj


def _plain(obj: Any) -> Any:
    """Suppressed cells as plain text (no :class:`Hidden` leaves the module)."""
    if isinstance(obj, Hidden):
        return str(obj)
    if isinstance(obj, Mapping):
        return {key: _plain(v) for key, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def suppress_small_counts(obj: Any, k: int | None) -> Any:
    """Return a copy of ``obj`` under disclosure control with threshold K.

    Every count from 1 to K-1 is replaced by ``"<K"``; the margins ``obj`` holds
    get their secondary suppressions (``"suppressed"``); proportions that reveal a
    suppressed count and estimates over fewer than K are withheld (see the module
    docstring).

    Parameters
    ----------
    obj
        A JSON-like structure (nested dicts, lists, scalars) or a pandas DataFrame.
        Counts are recognised by key or column name (see the module docstring).
    k
        Threshold K (a positive integer), or ``None`` for no suppression (``obj`` is
        returned unchanged).

    Returns
    -------
    Any
        A new object of the same shape; the input is not modified. Tuples become
        lists (as in JSON).

    References
    ----------
    .. [1] OHDSI CohortMethod ``minCellCount``.
    """
    _check_k(k)
    if k is None:
        return obj
    if isinstance(obj, pd.DataFrame):
        return suppress_table(obj, k)
    return _plain(_suppress(obj, k))


def _suppress_text_cell(value: Any, k: int) -> Any:
    """Suppress counts inside ``"12 (40%)"`` and ``"12/30 (40%)"`` text cells."""
    if not isinstance(value, str) or isinstance(value, Hidden):
        return value
    m = _COUNT_PCT.match(value)
    if m:
        return marker(k) if _small(int(m.group(1)), k) else value
    m = _FRACTION.match(value)
    if m:
        num, den = int(m.group(1)), int(m.group(2))
        if _small(num, k) or _small(den, k):
            left = marker(k) if _small(num, k) else str(num)
            right = marker(k) if _small(den, k) else str(den)
            return f"{left}/{right}"
    return value


def _count_column(col: pd.Series, k: int) -> tuple[pd.Series, np.ndarray]:
    """Suppress a numeric count column; return it (object dtype) and the hit mask."""
    hidden = col.map(lambda v: isinstance(v, Hidden)).to_numpy(dtype=bool)
    numeric = pd.to_numeric(col.where(~hidden), errors="coerce")
    small = ((numeric > 0) & (numeric < k)).fillna(False).to_numpy(dtype=bool)
    if not (small.any() or hidden.any()):
        return col, small
    out = col.astype(object).copy()
    out[small] = marker(k)
    return out, small | hidden


def _text_column(col: pd.Series, k: int) -> tuple[pd.Series, np.ndarray]:
    """Suppress counts in ``"12 (40%)"`` / ``"12/30"`` cells; return column and hit mask."""
    new = col.map(lambda v: _suppress_text_cell(v, k))
    differs = (new.astype(object) != col.astype(object)).to_numpy(dtype=bool)
    hidden = col.map(lambda v: isinstance(v, Hidden)).to_numpy(dtype=bool)
    changed = (differs & col.notna().to_numpy(dtype=bool)) | hidden
    return (new.astype(object) if changed.any() else col), changed


def suppress_table(df: pd.DataFrame, k: int | None) -> pd.DataFrame:
    """Return a copy of a table under disclosure control, column by column.

    The margins a known table holds (Table 1, response rows, survival rows,
    attrition) get their secondary suppressions first; then count columns (by name)
    have values in (0, K) replaced by ``"<K"``; text cells of the forms
    ``"12 (40.0%)"`` and ``"12/30"`` are checked in every column; in each row where
    a numerator/denominator count was suppressed, the proportion columns it reveals
    become ``"suppressed"``, and in each row whose denominator is below K every
    estimate does.
    """
    _check_k(k)
    if k is None:
        return df
    out = _table_margins(df, k)
    masks: dict[str, np.ndarray] = {}  # suppressed count column -> rows hit
    text_hit = np.zeros(len(out), dtype=bool)  # "12 (40%)" cells count as operands
    for name in out.columns:
        col = out[name]
        if str(name).lower() in IDENTIFIER_KEYS:
            out[name] = col.astype(object).where(col.isna(), SUPPRESSED)
        elif str(name).lower() in QUOTING_KEYS:
            out[name] = col.map(lambda v: without_quoted_cells(v) if isinstance(v, str) else v)
        elif is_count_key(name):
            out[name], masks[str(name)] = _count_column(col, k)
        elif col.dtype == object or pd.api.types.is_string_dtype(col):
            out[name], changed = _text_column(col, k)
            text_hit |= changed
    out = _withhold_row_estimates(_row_proportions(out, masks, text_hit), k)
    out.columns = [_shared_key(c, k) for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object and any(isinstance(v, Hidden) for v in col):
            plain = [str(v) if isinstance(v, Hidden) else v for v in col]
            out.iloc[:, i] = pd.Series(plain, index=out.index, dtype=object)
    return out


def _row_proportions(
    out: pd.DataFrame, masks: dict[str, np.ndarray], text_hit: np.ndarray
) -> pd.DataFrame:
    """In each row where a numerator/denominator count is suppressed, the proportions
    it reveals become ``"suppressed"``."""
    for name in _targets(list(out.columns)):
        rows = text_hit.copy()
        for count, mask in masks.items():
            if is_operand(count, name):
                rows |= mask
        if rows.any():
            col = out[name].astype(object).copy()
            col[rows] = SUPPRESSED
            out[name] = col
    return out
