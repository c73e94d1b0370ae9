"""Complementary suppression applied to tables: Table 1 (long and wide), attrition,
response and survival rows, and the estimates of rows over fewer than K."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from aftercar.report.disclosure.cells import (
    _COUNT_TEXT,
    _HEADER_N,
    Hidden,
    _below_k,
    _is_estimate,
    _is_number,
    _set,
    _shown_as,
    _text_count,
)
from aftercar.report.disclosure.keys import DENOMINATOR_KEYS, STRUCTURAL_KEYS, is_count_key
from aftercar.report.disclosure.structures import (
    _CHAR,
    _LEVEL,
    MISSING_LEVEL,
    PATIENTS_ROW,
    _wide_columns,
    attrition_states,
    pair_states,
    response_states,
    table1_long_states,
    table1_wide_states,
)
from aftercar.report.margins import SUPPRESSED, WITHHELD
from aftercar.schema import Col

_RESPONSE_COLUMNS = {
    "lines": "lines",
    Col.EVALUABLE: "n",
    "not_evaluable": "ne",
    "responders": "orr",
    "vgpr_or_better_n": "vgpr",
    "cr_or_better_n": "cr",
}


def _row_states(rows: list[dict[str, Any]], k: int) -> dict[tuple[int, str], str]:
    """States of the response and survival counts of each row of a table."""
    out: dict[tuple[int, str], str] = {}
    for i, row in enumerate(rows):
        if {"lines", Col.EVALUABLE, "responders"} <= row.keys():
            vals = {role: row[c] for c, role in _RESPONSE_COLUMNS.items() if c in row}
            states = response_states({r: v for r, v in vals.items() if _is_number(v)}, k)
            out |= {(i, c): states[r] for c, r in _RESPONSE_COLUMNS.items() if r in states}
        elif {"n", "events"} <= row.keys():
            states = pair_states(row["n"], row["events"], k)
            out |= {
                (i, c): states[r] for c, r in (("n", "total"), ("events", "part")) if r in states
            }
    return out


def _table1_long_apply(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    states = table1_long_states(rows, k)
    out = [dict(r) for r in rows]
    for i, state in states.items():
        row = out[i]
        row["n"] = _shown_as(row["n"], state)
        if state == "shown":
            continue
        if _is_number(row.get("percent")) or row.get(_LEVEL) == MISSING_LEVEL:
            row["summary"] = _shown_as(row.get("summary"), state)
        elif _below_k(row["n"], k):  # median and range of fewer than K values
            row["summary"] = SUPPRESSED
    hidden = {str(rows[i].get(_CHAR)) for i, state in states.items()
              if state != "shown" and str(rows[i].get(_LEVEL)) == MISSING_LEVEL}  # fmt: skip
    for row in out:
        if str(row.get(_CHAR)) in hidden and str(row.get(_LEVEL)) != MISSING_LEVEL \
                and _is_number(row.get("percent")):  # fmt: skip
            row["percent"] = SUPPRESSED
            row["summary"] = _count_only(row.get("summary"))
    return out


def _count_only(cell: Any) -> Any:
    """``"6 (75.0%)"`` -> ``"6"``: a percentage of the patients with a known value gives
    that number back, and with it a hidden Missing count (the cohort size is public)."""
    if isinstance(cell, Hidden) or not isinstance(cell, str):
        return cell
    hit = _COUNT_TEXT.match(cell)
    return hit.group(1) if hit and hit.group(2) else cell


def header_with(header: Any, state: str) -> Any:
    """A column name ``"A (N=12)"`` with its group size shown in ``state``."""
    hit = _HEADER_N.match(header) if isinstance(header, str) else None
    if hit is None or state == "shown":
        return header
    return f"{hit.group(1)}{state}{hit.group(3)}"


def _header_states(rows: list[Mapping[str, Any]],
                   states: dict[tuple[int, str], str]) -> dict[str, str]:  # fmt: skip
    """The Patients row's states (the group sizes of the headers) of solved ``states``."""
    return {col: s for (i, col), s in states.items()
            if i < 0 or str(rows[i].get(_CHAR)) == PATIENTS_ROW}  # fmt: skip


def _table1_wide_dict(obj: dict[str, Any], k: int) -> None:
    """``results.json`` ``table1_wide``: rows, and the group names that carry N."""
    rows = [r for r in obj["rows"] if isinstance(r, Mapping)]
    states = table1_wide_states(rows, k, obj.get("missing_group"))
    heads = _header_states(rows, states)
    _set(obj, "missing_group", heads.pop("missing_group", None))
    obj["rows"] = [
        {header_with(c, heads.get(c, "shown")): v for c, v in r.items()}
        for r in _table1_wide_apply(rows, k, states)
    ]
    groups = []
    for g in obj.get("groups") or []:
        if isinstance(g, dict) and g.get("group") in heads:
            state = heads[g["group"]]
            g = g | {"group": header_with(g["group"], state)}
            _set(g, "n", state)
        groups.append(g)
    obj["groups"] = groups


def _table1_wide_apply(rows: list[dict[str, Any]], k: int,
                       states: dict[tuple[int, str], str]) -> list[dict[str, Any]]:  # fmt: skip
    """The wide Table 1 rows shown in the solved ``states`` (:func:`table1_wide_states`)."""
    out = [dict(r) for r in rows]
    for (i, col), state in states.items():
        if i >= 0:
            out[i][col] = _shown_as(out[i][col], state)
    small_cols = {
        col for (i, col), s in states.items()
        if i >= 0 and out[i].get(_CHAR) == PATIENTS_ROW and s != "shown"
    }
    few = _few_known(rows, _wide_columns(rows), k)
    hidden = {(str(rows[i].get(_CHAR)), col) for (i, col), state in states.items()
              if i >= 0 and state != "shown" and rows[i].get(_LEVEL) == MISSING_LEVEL}  # fmt: skip
    for row in out:
        char = str(row.get(_CHAR))
        if str(row.get(_LEVEL)).lower() in ("median (iqr)", "range"):
            for col in small_cols | few.get(char, set()):
                row[col] = SUPPRESSED
        elif char != PATIENTS_ROW:  # a percentage with a hidden denominator gives it back
            cols = {c for ch, c in hidden if ch == char} | small_cols
            for col in cols if str(row.get(_LEVEL)) != MISSING_LEVEL else small_cols:
                row[col] = _count_only(row[col])
    return _without_tiny_groups(rows, out, k)


def _without_tiny_groups(rows: list[dict[str, Any]], out: list[dict[str, Any]],
                         k: int) -> list[dict[str, Any]]:  # fmt: skip
    """``out`` with every cell of a group column of 1 to K-1 patients withheld but its N:
    its zeros and levels would describe those few patients one by one (a group of one
    showed that patient's whole record; fuzz round 9, session 28)."""
    n_col = {c: _text_count(r.get(c)) for r in rows if str(r.get(_CHAR)) == PATIENTS_ROW
             for c in _wide_columns(rows) if not str(c).startswith("Overall")}  # fmt: skip
    tiny = {c for c, n in n_col.items() if n is not None and 0 < n < k}
    for row in out:
        if str(row.get(_CHAR)) != PATIENTS_ROW:
            for col in tiny:
                if row.get(col) not in (None, ""):
                    row[col] = WITHHELD
    return out


def _few_known(rows: list[Mapping[str, Any]], cols: list[str], k: int) -> dict[str, set[str]]:
    """Per continuous characteristic of the wide Table 1, the columns where it is known
    for 1 to K-1 patients (the column's N less its Missing row): a median and a range
    over so few values are withheld (rule 4), whatever the N's own state."""
    n_col = {c: _text_count(r.get(c)) for r in rows if str(r.get(_CHAR)) == PATIENTS_ROW
             for c in cols}  # fmt: skip
    chars = {str(r.get(_CHAR)) for r in rows if str(r.get(_LEVEL)).lower() == "median (iqr)"}
    missing = {(str(r.get(_CHAR)), c): _text_count(r.get(c)) or 0.0 for r in rows
               if str(r.get(_LEVEL)) == MISSING_LEVEL for c in cols}  # fmt: skip
    out: dict[str, set[str]] = {}
    for char in chars:
        for c in cols:
            n = n_col.get(c)
            known = None if n is None else n - missing.get((char, c), 0.0)
            if known is not None and 0 < known < k:
                out.setdefault(char, set()).add(c)
    return out


def _wide_table1(keys: set[str]) -> bool:
    """Whether columns ``keys`` are Table 1's wide form (a column per group, no ``n``)."""
    return {_CHAR, _LEVEL} <= keys and "n" not in keys


def _records_with(rows: list[Any], states: Mapping[tuple[int, str], str]) -> list[Any]:
    """Rows (dicts) with the given (row, column) cells shown in their state."""
    out = [dict(r) if isinstance(r, dict) else r for r in rows]
    for (i, col), state in states.items():
        out[i][col] = _shown_as(out[i][col], state)
    return out


def _table_records(rows: list[Any], k: int) -> list[Any]:
    """Rows of a known table (Table 1 long or wide, attrition) with their margins' states."""
    if not rows or not all(isinstance(r, Mapping) for r in rows):
        return rows
    keys = set().union(*(r.keys() for r in rows))
    rows = [dict(r) for r in rows]
    if {_CHAR, _LEVEL, "n", "percent"} <= keys:
        return _table1_long_apply(rows, k)
    if _wide_table1(keys):
        return _table1_wide_apply(rows, k, table1_wide_states(rows, k))
    if {"step", "patients", "lines"} <= keys:
        return _records_with(rows, attrition_states(rows, k))
    return _records_with(rows, _row_states(rows, k))


def _table_margins(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """A copy of a table with the secondary suppressions of the margins it holds."""
    cols = {str(c) for c in df.columns}
    known = (
        {_CHAR, _LEVEL} <= cols
        or {"step", "patients", "lines"} <= cols
        or {"n", "events"} <= cols
        or {"lines", Col.EVALUABLE, "responders"} <= cols
    )
    if not known or df.empty:
        return df.copy()
    rows = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    wide = _wide_table1(cols)
    states = table1_wide_states(rows, k) if wide else {}
    shared = _table1_wide_apply(rows, k, states) if wide else _table_records(rows, k)
    out = df.copy().astype(object)
    for col in out.columns:
        out[col] = pd.Series([r[col] for r in shared], index=out.index, dtype=object)
    if wide:
        heads = _header_states(rows, states)
        out.columns = [header_with(c, heads.get(c, "shown")) for c in out.columns]
    return out


def _withhold_row_estimates(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """In each row whose denominator count is below K, every estimate is withheld."""
    dens = [c for c in df.columns if str(c).lower() in DENOMINATOR_KEYS]
    if not dens:
        return df
    small = np.zeros(len(df), dtype=bool)
    for c in dens:
        small |= df[c].map(lambda v: _below_k(v, k)).to_numpy(dtype=bool)
    if not small.any():
        return df
    out = df.copy()
    for c in out.columns:
        name = str(c).lower()
        if is_count_key(c) or name in STRUCTURAL_KEYS:
            continue
        values = out[c].astype(object)
        numeric = values.map(lambda v: _is_estimate(v)).to_numpy(dtype=bool)
        hit = small & numeric
        if hit.any():
            values[hit] = SUPPRESSED
            out[c] = values
    return out
