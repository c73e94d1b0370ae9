"""Render tables and nested results as escaped HTML (no external dependency).

Tables are rendered from the already-suppressed DataFrames; numbers are
formatted for reading (3 significant digits for non-integers, p-values below
0.001 as ``<0.001``), missing values as an en dash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from aftercar.schema import Col

#: Titles of the tables the report knows.
TABLE_TITLES: dict[str, str] = {
    "table1": "Table 1. Baseline characteristics (one row per level)",
    "table1_wide": "Table 1. Baseline characteristics",
    "os_summary": "Overall survival from post-CAR-T progression",
    "response_by_category": "Response by therapy category (all salvage lines)",
    "pfs_by_category": "Progression-free survival by therapy category",
    "response_by_line": "Response by salvage line number",
    "regimen_mapping": "Regimen mapping: every distinct regimen text",
    "attrition": "Attrition: rows read, excluded and analysed",
    "analysis_exclusions": "Rows left out of an analysis, with the reason",
    "first_salvage_by_category": "First salvage line by therapy category",
    "bcma_retargeting": "BCMA re-targeting (CAR T, bispecific, ADC) after BCMA CAR T",
    "tce_os": "T-cell-engaging therapy and OS: time-dependent Cox and landmark analyses",
    "cox_os": "Cox model of OS from post-CAR-T progression on baseline covariates",
    "pfs_cox_lines": "Cox model of PFS per line (patient-clustered robust SE)",
}

#: Words written in capitals in titles made from table keys.
ACRONYMS: frozenset[str] = frozenset(
    {"os", "pfs", "orr", Col.TCE, "bcma", "cox", "ci", "hr", "adc", "car", "ttnt", "dor"}
)

#: Columns whose ``;``-joined values are shown with a space after each ``;``.
LIST_COLUMNS: frozenset[str] = frozenset({Col.DRUGS, "procedures", "targets", "unrecognized"})

#: Tables with more rows than this scroll on screen (all rows print).
SCROLL_ROWS = 25


def table_title(name: str) -> str:
    """Title of a table key (a readable version of the key when unknown)."""
    if name in TABLE_TITLES:
        return TABLE_TITLES[name]
    words = [w.upper() if w in ACRONYMS else w for w in name.lower().split("_")]
    title = " ".join(words)
    return title[:1].upper() + title[1:]


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


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def table_html(df: pd.DataFrame, *, name: str) -> Markup:
    """Render a DataFrame as an HTML ``<table>`` with escaped cells."""
    numeric = {c for c in df.columns if _is_numeric(df[c])}
    num = ' class="num"'
    head = "".join(f"<th{num if c in numeric else ''}>{escape(str(c))}</th>" for c in df.columns)
    rows = pd.Series("<tr>", index=range(len(df)), dtype=object)
    for c in df.columns:
        cls = num if c in numeric else ""
        cells = df[c].astype(object).map(lambda v, c=c: str(escape(format_value(v, str(c)))))
        if str(c).lower() in LIST_COLUMNS:
            cells = cells.str.replace(";", "; ", regex=False)
        rows = rows + f"<td{cls}>" + cells.to_numpy() + "</td>"
    body = (rows + "</tr>").tolist() if len(df) else []
    if not body:
        body = [f'<tr><td class="empty" colspan="{max(len(df.columns), 1)}">No rows.</td></tr>']
    scroll = " scroll" if len(df) > SCROLL_ROWS else ""
    return Markup(
        f'<div class="table-wrap{scroll}" id="table-{escape(name)}">'
        f'<table class="data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Flatten nested dicts to ``(dotted.key, value)`` pairs; lists of dicts are indexed."""
    if isinstance(obj, Mapping):
        pairs: list[tuple[str, Any]] = []
        for key, value in obj.items():
            pairs += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return pairs
    if isinstance(obj, list) and obj and all(isinstance(v, Mapping) for v in obj):
        pairs = []
        for i, value in enumerate(obj):
            pairs += flatten(value, f"{prefix}[{i}]")
        return pairs
    return [(prefix, obj)]


def results_html(obj: Any, *, name: str, max_rows: int | None = None) -> Markup:
    """Render a (sub)dictionary of results as a two-column key/value table."""
    pairs = flatten(obj)
    shown = pairs if max_rows is None else pairs[:max_rows]
    rows = "".join(
        f"<tr><th>{escape(k)}</th><td class='num'>{escape(format_value(v, k))}</td></tr>"
        for k, v in shown
    )
    more = ""
    if max_rows is not None and len(pairs) > max_rows:
        more = f"<p class='note'>{len(pairs) - max_rows} more values in results.json.</p>"
    scroll = " scroll" if len(shown) > SCROLL_ROWS else ""
    return Markup(
        f'<div class="table-wrap{scroll}" id="results-{escape(name)}">'
        f'<table class="kv">{rows}</table></div>{more}'
    )
