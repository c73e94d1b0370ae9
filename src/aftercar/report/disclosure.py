"""Small-cell disclosure control for every shared output (HTML, CSV, JSON, figures).

With a threshold ``K``, every *count* from 1 to K-1 is replaced by the text
``"<K"``; zero and counts of at least ``K`` are kept. Counts are recognised by
name, never by guessing from the value:

* dictionary keys (JSON) and table columns are counts when their lower-cased name
  is in :data:`COUNT_KEYS`, starts with ``n_``, or ends with ``_n``, ``_count``,
  ``_patients``, ``_lines``, ``_events``, ``_responders`` or ``_censored``;
* under a count key, a number, or each number of a list, is a count;
* text cells of tables of the form ``"12 (40.0%)"`` (count and percentage) and
  ``"12/30"`` or ``"12/30 (40.0%)"`` (numerator and denominator) have their counts
  checked, whatever the column;
* Kaplan-Meier at-risk tables use the columns ``n_risk``, ``n_event``,
  ``n_censor``, which are count names.

Derived proportions: when a numerator or denominator count (:data:`OPERAND_KEYS`,
or a count named after the proportion, e.g. ``vgpr_or_better_n``) in a dictionary
(or a table row) is suppressed, its proportion entries (:data:`PROPORTION_KEYS`:
``estimate``, ``fraction``, ``proportion``, ``percent``, ``pct``, ``orr``, names
with ``%`` or ending ``_ci95`` and, when such a point proportion is present, the
bounds ``ci95``, ``lower``, ``upper``) become ``"suppressed"``, because a
proportion with its denominator gives the numerator back. Medians and their intervals are kept. A
``"12 (40.0%)"`` cell whose count is suppressed becomes ``"<K"`` as a whole.
Identifiers (:data:`IDENTIFIER_KEYS`, ``patient_id``) are withheld as well.
Complementary (secondary) suppression, e.g. ``n - responders`` when only the
non-responders are few, is *not* done; see ``docs/report.md``.

References
----------
.. [1] OHDSI CohortMethod / CohortDiagnostics: ``minCellCount`` small-cell
   suppression of shared results (counts below the threshold reported as ``<K``).
.. [2] Office for National Statistics, "Statistical disclosure control" guidance:
   suppression of small cells and of the derived values that reveal them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from aftercar.schema import Col

#: Key and column names whose values are counts.
COUNT_KEYS: frozenset[str] = frozenset(
    {
        "n",
        "count",
        "counts",
        "events",
        "responders",
        "patients",
        "lines",
        "censored",
        Col.EVALUABLE,
        "not_evaluable",
        "observed",
        "n_risk",
        "n_event",
        "n_censor",
        "patients_read",
        "lines_read",
        "rows",
        "deaths",
        "progressions",
        "excluded_rows",
        "at_risk",
    }
)

#: Name prefixes and suffixes that also mark a count.
COUNT_PREFIXES: tuple[str, ...] = ("n_",)
COUNT_SUFFIXES: tuple[str, ...] = (
    "_n",
    "_count",
    "_patients",
    "_lines",
    "_events",
    "_responders",
    "_censored",
)

#: Keys holding a proportion (or its bounds) that would reveal a suppressed count.
PROPORTION_KEYS: frozenset[str] = frozenset(
    {
        "estimate",
        "fraction",
        "proportion",
        "percent",
        "pct",
        "orr",
        "ci95",
        "lower",
        "upper",
        "ci_lower",
        "ci_upper",
        "orr_lower",
        "orr_upper",
        "percent_lower",
        "percent_upper",
    }
)

#: Bounds that are suppressed only beside a point proportion (not beside a median).
BOUND_KEYS: frozenset[str] = frozenset({"ci95", "lower", "upper", "ci_lower", "ci_upper"})

#: Counts that are a numerator or denominator of any proportion beside them; other
#: counts (e.g. ``not_evaluable``) only affect proportions named after them
#: (``vgpr_or_better_n`` -> ``vgpr_or_better``).
OPERAND_KEYS: frozenset[str] = frozenset(
    {"n", "count", "responders", "events", Col.EVALUABLE, "patients", "x"}
)

_STEM_SUFFIXES: tuple[str, ...] = ("_lower", "_upper", "_ci95", "_estimate")

#: Identifier keys/columns whose values are withheld under disclosure control (a
#: shared output lists excluded rows by table and row number, not by patient).
IDENTIFIER_KEYS: frozenset[str] = frozenset({Col.PATIENT_ID})

#: Marker written in place of a proportion whose numerator was suppressed.
SUPPRESSED = "suppressed"

_COUNT_PCT = re.compile(r"^\s*(\d+)\s*\(\s*[\d.]+\s*%\s*\)\s*$")
_FRACTION = re.compile(r"^\s*(\d+)\s*/\s*(\d+)(\s*\(\s*[\d.]+\s*%\s*\))?\s*$")


def is_count_key(name: object) -> bool:
    """Return True when a key or column name denotes a count (see module docs)."""
    if not isinstance(name, str):
        return False
    key = name.strip().lower()
    return key in COUNT_KEYS or key.startswith(COUNT_PREFIXES) or key.endswith(COUNT_SUFFIXES)


def is_proportion_key(name: object) -> bool:
    """Return True when a key or column name denotes a proportion or its bounds."""
    if not isinstance(name, str):
        return False
    key = name.strip().lower()
    return (
        key in PROPORTION_KEYS
        or "%" in key
        or key.endswith(("_pct", "_percent", "_fraction", "_ci95"))
    )


def _stem(name: object) -> str:
    key = str(name).strip().lower()
    for suffix in _STEM_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


def is_operand(count_name: object, proportion_name: object) -> bool:
    """True when a suppressed count ``count_name`` reveals ``proportion_name``'s count."""
    count = str(count_name).strip().lower()
    if count in OPERAND_KEYS:
        return True
    stem = _stem(proportion_name)
    return stem not in BOUND_KEYS and count.startswith(stem + "_")


def _targets(names: list[Any]) -> list[Any]:
    """Proportion names to suppress: bounds count only beside a point proportion.

    A name is a proportion when it is a proportion key, or when a count named after
    it exists (``vgpr_or_better`` beside ``vgpr_or_better_n``), with its bounds.
    """
    counts = [str(n).strip().lower() for n in names if is_count_key(n)]

    def named_after(name: object) -> bool:
        stem = _stem(name)
        return stem not in BOUND_KEYS and any(c.startswith(stem + "_") for c in counts)

    props = [n for n in names if not is_count_key(n) and (is_proportion_key(n) or named_after(n))]
    points = [n for n in props if str(n).strip().lower() not in BOUND_KEYS]
    return props if points else []


def marker(k: int) -> str:
    """Return the text shown for a suppressed count, ``"<K"``."""
    return f"<{k}"


def _check_k(k: int | None) -> None:
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f"suppression threshold must be a positive integer, got {k!r}")


def _small(value: Any, k: int) -> bool:
    """True for a real number (not bool, not NaN) with 0 < value < k."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return False
    return bool(0 < value < k)


def suppress_value(value: Any, k: int | None) -> Any:
    """Suppress one count: numbers in 1..K-1 (or any 0 < x < K) become ``"<K"``."""
    if k is None:
        return value
    return marker(k) if _small(value, k) else value


def _suppress_count_value(value: Any, k: int) -> tuple[Any, bool]:
    """Suppress a value found under a count key; return (new value, changed).

    Numbers are counts; lists are searched recursively (their numbers are counts,
    their dictionaries are handled by their own keys).
    """
    if isinstance(value, list | tuple):
        pairs = [_suppress_count_value(v, k) for v in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    if isinstance(value, Mapping):
        return _suppress_dict(value, k), False
    if _small(value, k):
        return marker(k), True
    return value, False


def _suppress_dict(obj: Mapping[Any, Any], k: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    hits: list[Any] = []
    for key, value in obj.items():
        if is_count_key(key) and not isinstance(value, Mapping):
            out[key], changed = _suppress_count_value(value, k)
            if changed:
                hits.append(key)
        elif str(key).lower() in IDENTIFIER_KEYS and value is not None:
            out[key] = SUPPRESSED
        else:
            out[key] = _suppress(value, k)
    if hits:
        for key in _targets([key for key, v in out.items() if not isinstance(v, Mapping)]):
            if any(is_operand(h, key) for h in hits):
                out[key] = SUPPRESSED
    return out


def _suppress(obj: Any, k: int) -> Any:
    if isinstance(obj, Mapping):
        return _suppress_dict(obj, k)
    if isinstance(obj, pd.DataFrame):
        return suppress_table(obj, k)
    if isinstance(obj, list | tuple):
        return [_suppress(v, k) for v in obj]
    return obj


def suppress_small_counts(obj: Any, k: int | None) -> Any:
    """Return a copy of ``obj`` with every count from 1 to K-1 replaced by ``"<K"``.

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
    return _suppress(obj, k)


def _suppress_text_cell(value: Any, k: int) -> Any:
    """Suppress counts inside ``"12 (40%)"`` and ``"12/30 (40%)"`` text cells."""
    if not isinstance(value, str):
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
    numeric = pd.to_numeric(col, errors="coerce")
    mask = ((numeric > 0) & (numeric < k)).fillna(False).to_numpy(dtype=bool)
    if not mask.any():
        return col, mask
    out = col.astype(object).copy()
    out[mask] = marker(k)
    return out, mask


def _text_column(col: pd.Series, k: int) -> tuple[pd.Series, np.ndarray]:
    """Suppress counts in ``"12 (40%)"`` / ``"12/30"`` cells; return column and hit mask."""
    new = col.map(lambda v: _suppress_text_cell(v, k))
    differs = (new.astype(object) != col.astype(object)).to_numpy(dtype=bool)
    changed = differs & col.notna().to_numpy(dtype=bool)
    return (new.astype(object) if changed.any() else col), changed


def suppress_table(df: pd.DataFrame, k: int | None) -> pd.DataFrame:
    """Return a copy of a table with small counts suppressed, column by column.

    Count columns (by name) have values in (0, K) replaced by ``"<K"``; text cells
    of the forms ``"12 (40.0%)"`` and ``"12/30"`` are checked in every column; in
    each row where a numerator/denominator count was suppressed, the proportion
    columns it reveals become ``"suppressed"``.
    """
    _check_k(k)
    if k is None:
        return df
    out = df.copy()
    masks: dict[str, np.ndarray] = {}  # suppressed count column -> rows hit
    text_hit = np.zeros(len(out), dtype=bool)  # "12 (40%)" cells count as operands
    for name in out.columns:
        col = out[name]
        if str(name).lower() in IDENTIFIER_KEYS:
            out[name] = col.astype(object).where(col.isna(), SUPPRESSED)
        elif is_count_key(name):
            out[name], masks[str(name)] = _count_column(col, k)
        elif col.dtype == object or pd.api.types.is_string_dtype(col):
            out[name], changed = _text_column(col, k)
            text_hit |= changed
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
