"""Publication tables: one table model rendered to HTML (the report) and Word (``--docx``).

A :class:`DisplayTable` holds what a reader sees: a title, human column headers,
formatted cells ("18.0 (12.8-23.1)", "44.0% (32.5-55.9); 33/75"), footnotes naming
each confidence-interval method, and which rows are group headings. It is built
from the already-suppressed result tables and ``results.json``
(:mod:`aftercar.report.result_tables`); nothing here computes a statistic.

Why not great-tables: the same table must reach the HTML page and an editable
Word table (great-tables renders HTML and images, not Word), and it must wrap
into an A4 page without a horizontal scroll bar; a small model with two
renderers gives both with no further dependency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

#: Tables with more columns than this are set smaller, headers broken anywhere.
WIDE_COLUMNS = 8

#: Words longer than this (hashes, paths) may break anywhere.
LONG_TOKEN = 24

#: Not estimable (a bound or a median the data do not reach).
NE = "NE"


@dataclass(frozen=True)
class DisplayTable:
    """A table as a reader sees it.

    Attributes
    ----------
    name
        Key of the table (``tables/<name>.csv`` when it has one); the HTML id.
    title
        Caption printed above the table.
    columns
        Human column headers.
    rows
        Formatted cells, one tuple per row (strings).
    numeric
        Per column: right-aligned figures.
    footnotes
        Printed under the table (CI methods, abbreviations, warnings).
    headings
        Indices of rows that are group headings (one cell spanning the table).
    scroll
        Long tables scroll vertically on screen (all rows print).
    """

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()
    footnotes: tuple[str, ...] = ()
    headings: frozenset[int] = field(default_factory=frozenset)
    scroll: bool = False


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def number(value: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals; ``NE`` when missing; strings (e.g. "<5") as given."""
    if isinstance(value, str):
        return value
    if _is_missing(value):
        return NE
    try:
        text = f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def count(value: Any) -> str:
    """A count ("<5" under disclosure control stays as it is; missing as an en dash)."""
    if isinstance(value, str):
        return value
    if _is_missing(value):
        return "–"
    return f"{int(value):,}" if abs(int(value)) >= 10000 else str(int(value))


def p_value(value: Any) -> str:
    """A p-value: three decimals, ``<0.001`` below that, en dash when missing."""
    if isinstance(value, str):
        return value
    if _is_missing(value):
        return "–"
    return "<0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def _sep(lo: str, hi: str) -> str:
    return " to " if lo.startswith("-") or hi.startswith("-") else "-"


def bounds(ci: Any) -> list[Any]:
    """An interval's two bounds: ``[lo, hi]`` as given, a withheld one (``"suppressed"``)
    twice, else two missing (a bare ``"suppressed"`` was read as the bounds "s" and "u":
    fuzzing round 4)."""
    if isinstance(ci, list | tuple) and len(ci) == 2:
        return list(ci)
    return [ci, ci] if isinstance(ci, str) else [None, None]


def estimate_ci(est: Any, lo: Any, hi: Any, digits: int = 1) -> str:
    """Estimate with its interval: ``18.0 (12.8-23.1)`` (``to`` when a bound is negative);
    a withheld estimate is ``suppressed`` alone."""
    if isinstance(est, str) and est == "suppressed":
        return est
    e, a, b = number(est, digits), number(lo, digits), number(hi, digits)
    return f"{e} ({a}{_sep(a, b)}{b})"


def _pct(value: Any) -> str:
    if isinstance(value, str):
        return value
    return NE if _is_missing(value) else f"{100 * float(value):.1f}"


def percent_ci(est: Any, lo: Any, hi: Any, x: Any = None, n: Any = None) -> str:
    """A proportion as ``44.0% (32.5-55.9); 33/75`` (the counts when given)."""
    head = _pct(est)
    text = head if head in {NE, "suppressed"} or head.startswith("<") else f"{head}%"
    text += f" ({_pct(lo)}-{_pct(hi)})"
    if x is not None and n is not None:
        text += f"; {count(x)}/{count(n)}"
    return text


def _cell(text: str, tag: str, numeric: bool) -> str:
    cls = ' class="num"' if numeric else ""
    return f"<{tag}{cls}>{escape(text)}</{tag}>"


def heading_span(row: Sequence[str]) -> int:
    """Columns a group heading spans: up to its first non-empty cell (e.g. a p-value)."""
    filled = [j for j, v in enumerate(row) if j > 0 and v]
    return filled[0] if filled else len(row)


def _long_tokens(table: DisplayTable) -> bool:
    """True when a cell holds a word longer than :data:`LONG_TOKEN` (a hash, a path)."""
    return any(len(w) > LONG_TOKEN for row in table.rows for cell in row for w in cell.split())


def table_html(table: DisplayTable) -> Markup:
    """Render a :class:`DisplayTable` as escaped HTML (wraps to the page, no side scroll)."""
    numeric = list(table.numeric) + [False] * (len(table.columns) - len(table.numeric))
    head = "".join(_cell(c, "th", n) for c, n in zip(table.columns, numeric, strict=True))
    body = []
    for i, row in enumerate(table.rows):
        if i in table.headings:
            span = heading_span(row)
            rest = [_cell(v, "td", n) for v, n in zip(row[span:], numeric[span:], strict=True)]
            body.append(
                f'<tr class="group"><th colspan="{span}" scope="rowgroup">'
                f"{escape(row[0])}</th>{''.join(rest)}</tr>"
            )
            continue
        cells = [_cell(v, "td", n) for v, n in zip(row, numeric, strict=True)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body = [f'<tr><td class="empty" colspan="{max(len(table.columns), 1)}">No rows.</td></tr>']
    notes = "".join(f"<li>{escape(n)}</li>" for n in table.footnotes)
    foot = f'<ol class="footnotes">{notes}</ol>' if notes else ""
    scroll = " scroll" if table.scroll else ""
    wide = " wide" if len(table.columns) > WIDE_COLUMNS else ""
    if _long_tokens(table):
        wide += " breakable"
    return Markup(
        f'<div class="table-wrap{scroll}" id="table-{escape(table.name)}">'
        f'<table class="data pub{wide}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{foot}"
    )


def make(
    name: str,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    numeric: Sequence[bool] = (),
    footnotes: Sequence[str] = (),
    headings: Sequence[int] = (),
    scroll: bool = False,
) -> DisplayTable:
    """Build a :class:`DisplayTable` (cells converted to text, footnotes de-duplicated)."""
    return DisplayTable(
        name=name,
        title=title,
        columns=tuple(str(c) for c in columns),
        rows=tuple(tuple("" if v is None else str(v) for v in row) for row in rows),
        numeric=tuple(bool(n) for n in numeric),
        footnotes=tuple(dict.fromkeys(f for f in footnotes if f)),
        headings=frozenset(headings),
        scroll=scroll,
    )
