"""Dates as people type them, parsed per column and never silently swapped.

Accepted without any option:

* ISO 8601 ``2021-07-22`` (also ``2021-7-2``; a time after the date, as in
  ``2021-07-22 00:00:00`` or ``2021-07-22T08:30:00Z``, is dropped) and native
  Excel date cells;
* English month names with a four-digit year: ``22-Jul-2021``, ``22 July 2021``,
  ``Jul 22 2021``, ``July 22, 2021``, ``2021-Jul-22`` (any case, ``Sept`` too);
* Excel date serials in number-formatted workbook cells (``44399`` =
  2021-07-22), with a ``date_excel_serial`` warning naming the cell, when they fall
  in the plausible window (1990-01-01 to today by default; from 1900-03-01 for
  ``birth_date``); other numbers are ``date_unparseable``.

Day/month forms (``22/07/2021``, ``22.07.2021``, ``7-22-2021``, four-digit year)
are read in the order the *column* shows: a value that is a valid date only one
way round (first part over 12, e.g. ``22/07/2021``) settles the order for the
whole column (``date_order_inferred`` warning when other values relied on it). A
column where every such value reads both ways is refused cell by cell
(``date_ambiguous``); values that read the same both ways (``03/03/2021``) are
accepted. Two-digit years are refused (``date_ambiguous``) unless a format says
how to read them.

With ``formats`` (``--date-format``, strptime codes, several allowed), every
value that is neither ISO, nor a month name with a four-digit year, nor an Excel
serial is read with the first format that fits *all* such values of the column;
no inference is made. A format that puts the day before the month after a
leading year (``%Y-%d-%m``) reads the ISO-shaped values of a column as it says
(``2025-02-05`` is 2 May), with a ``date_order_inferred`` warning when no value of the
column shows the order; a column that shows ISO (a last part over 12, ``2025-03-28``)
stays ISO, and one showing both orders is refused. When no format
fits them all, the values that the best format (the one fitting most, first on ties) cannot read are
``date_unparseable``, and if it could read others, the whole column is refused
(``date_format_mismatch``): those other values are not trusted either, so a
wrong format can never swap day and month silently.

References
----------
ISO 8601-1:2019 Date and time - Representations for information interchange.
Microsoft. Date systems in Excel (the 1900 date system, serial 1 = 1900-01-01,
with the fictitious 1900-02-29 as serial 60).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.io.cells import Distinct, Finding, arrow_text
from aftercar.io.dictionary import ColumnSpec

NAT = np.datetime64("NaT", "D")
#: An optional time after the date (dropped): hours 0-23, minutes and seconds 0-59 (60: a
#: leap second), so that '2021-06-07T25:00:00' is not a date.
TIME = (r"(?:[ T](?:[01]?\d|2[0-3]):[0-5]\d(?::(?:[0-5]\d|60)(?:\.\d+)?)?"
        r"(?:Z|[+-]\d{2}:?\d{2})?)?")  # fmt: skip
NAME = r"(?P<name>[A-Za-z]{3,9})\.?"
DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
#: Forms read without any option, each giving year, month (number or name) and day.
AUTO_FORMS = (
    rf"(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}}){TIME}",
    rf"{DAY}[ ./-]*{NAME}[ ./,-]+(?P<y>\d{{4}}){TIME}",
    rf"{NAME}[ ./-]*{DAY},?[ ./-]+(?P<y>\d{{4}}){TIME}",
    rf"(?P<y>\d{{4}})[ ./-]{NAME}[ ./-]{DAY}{TIME}",
)
NUMERIC_FORM = rf"(?P<a>\d{{1,2}})(?P<s>[/.-])(?P<b>\d{{1,2}})(?P<t>[/.-])(?P<y>\d{{4}}){TIME}"
SHORT_YEAR = (
    r"\d{1,2}([/.-])\d{1,2}[/.-]\d{2}|\d{1,2}[ ./-]*[A-Za-z]{3,9}\.?[ ./,-]+\d{2}"
    r"|[A-Za-z]{3,9}\.?[ ./-]*\d{1,2},?[ ./-]+\d{2}"
)
MONTHS = {
    name: k + 1
    for k, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}
# Kinds of distinct values.
AUTO, NUMERIC, SHORT, OTHER = 0, 1, 2, 3
# Status of distinct values.
OK, BAD, AMBIGUOUS, TWO_DIGIT, NO_FIT, UNTRUSTED = 0, 1, 2, 3, 4, 5
#: Excel's 1900 date system: serial 61 = 1900-03-01 (serial 60 is the fictitious 1900-02-29).
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
DATE_HINT = "write the date as YYYY-MM-DD (e.g. 2021-04-03) or use an Excel date cell"
AMBIGUOUS_HINT = (
    "write the date as YYYY-MM-DD (e.g. 2021-04-03), or pass --date-format to say how "
    "to read it (e.g. --date-format {example})"
)


def civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Calendar dates from year, month and day arrays; ``NaT`` where invalid (e.g. 30 Feb)."""
    y, m, d = (np.asarray(x, dtype=np.int64) for x in (y, m, d))
    ok = (m >= 1) & (m <= 12) & (d >= 1) & (y >= 1)
    months = (y - 1970) * 12 + np.clip(m, 1, 12) - 1
    start = months.astype("datetime64[M]").astype("datetime64[D]")
    length = ((months + 1).astype("datetime64[M]").astype("datetime64[D]") - start).astype(int)
    ok &= d <= length
    return np.where(ok, start + (d - 1).astype("timedelta64[D]"), NAT)


def _ints(parts: pa.StructArray, name: str) -> np.ndarray:
    field = pc.struct_field(parts, name)
    return pc.fill_null(pc.cast(field, pa.int64()), 0).to_numpy(zero_copy_only=False)


@dataclass
class Forms:
    """What each distinct text of a date column looks like.

    ``kind`` is AUTO (ISO or month name; its reading in ``date``, ``NaT`` when
    invalid), NUMERIC (day/month form: parts ``a``, ``b``, ``y``), SHORT (two-digit
    year) or OTHER.
    """

    kind: np.ndarray
    date: np.ndarray
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray

    @classmethod
    def read(cls, values: pd.Series) -> Forms:
        """Classify and read ``values`` with Arrow regular expressions (RE2)."""
        arr = arrow_text(values)
        k = len(arr)
        kind, date = np.full(k, OTHER, np.int8), np.full(k, NAT)
        for form in AUTO_FORMS:
            parts = pc.extract_regex(arr, f"(?i)^(?:{form})$")
            hit = parts.is_valid().to_numpy(zero_copy_only=False) & (kind == OTHER)
            if not hit.any():
                continue
            if "name" in form:
                names = pc.utf8_lower(pc.struct_field(parts, "name"))
                month = pc.index_in(names, value_set=pa.array(list(MONTHS)))
                lookup = np.array([0, *MONTHS.values()])
                m = lookup[pc.fill_null(month, -1).to_numpy(zero_copy_only=False) + 1]
            else:
                m = _ints(parts, "m")
            date[hit] = civil(_ints(parts, "y"), m, _ints(parts, "d"))[hit]
            kind[hit] = AUTO
        parts = pc.extract_regex(arr, f"^(?:{NUMERIC_FORM})$")
        same_sep = pc.equal(pc.struct_field(parts, "s"), pc.struct_field(parts, "t"))
        numeric = pc.fill_null(same_sep, False).to_numpy(zero_copy_only=False) & (kind == OTHER)
        kind[numeric] = NUMERIC
        short = pc.match_substring_regex(arr, f"(?i)^(?:{SHORT_YEAR})$")
        kind[pc.fill_null(short, False).to_numpy(zero_copy_only=False) & (kind == OTHER)] = SHORT
        return cls(kind, date, _ints(parts, "a"), _ints(parts, "b"), _ints(parts, "y"))


@dataclass
class DateColumn:
    """Working state of one date column: the readings and status of its distinct texts."""

    spec: ColumnSpec
    cells: Distinct
    rows: np.ndarray
    forms: Forms
    date: np.ndarray
    status: np.ndarray
    notes: list[Finding] = field(default_factory=list)
    fmt: str = ""
    mixed: str = ""

    def example(self, which: np.ndarray) -> tuple[str, int]:
        """The first of the distinct values ``which`` and its spreadsheet row."""
        i = int(np.flatnonzero(which)[0])
        return str(self.cells.values.iloc[i]), int(self.rows[self.cells.first_row(i)])

    def note(self, rule: str, message: str, hint: str) -> None:
        """Add a problem about the whole column."""
        self.notes.append(Finding(rule, None, message, hint))


def _infer_order(col: DateColumn) -> None:
    """Read day/month values in the order the column settles, or mark them ambiguous."""
    f = col.forms
    numeric = f.kind == NUMERIC
    day_first, month_first = civil(f.y, f.b, f.a), civil(f.y, f.a, f.b)
    d_ok, m_ok = numeric & ~np.isnat(day_first), numeric & ~np.isnat(month_first)
    only_d, only_m, both = d_ok & ~m_ok, m_ok & ~d_ok, d_ok & m_ok
    ambiguous = both & (f.a != f.b)
    col.date = np.where(only_d | (both & ~ambiguous), day_first, col.date)
    col.date = np.where(only_m, month_first, col.date)
    col.status[numeric & ~d_ok & ~m_ok] = BAD
    if not ambiguous.any():
        return
    if only_d.any() != only_m.any():
        decided = only_d if only_d.any() else only_m
        col.date = np.where(ambiguous, day_first if only_d.any() else month_first, col.date)
        _order_note(col, decided, ambiguous, "day" if only_d.any() else "month")
        return
    col.status[ambiguous] = AMBIGUOUS
    if only_d.any():
        (d_text, d_row), (m_text, m_row) = col.example(only_d), col.example(only_m)
        col.mixed = (
            f"; this column has both day-first dates (e.g. {d_text} in row {d_row}) "
            f"and month-first dates (e.g. {m_text} in row {m_row})"
        )


def _order_note(col: DateColumn, decided: np.ndarray, ambiguous: np.ndarray, first: str) -> None:
    (seen, seen_row), (amb, amb_row) = col.example(decided), col.example(ambiguous)
    order = "day/month/year" if first == "day" else "month/day/year"
    n = int(col.cells.spread(ambiguous, False).sum())
    col.note(
        "date_order_inferred",
        f"{col.spec.name}: {n} date(s) such as {amb} (row {amb_row}) could be read either "
        f"way; they are read as {order}, as {seen} (row {seen_row}) can only be read that way",
        "check that the whole column is written "
        f"{order}; if some dates are not, write them as YYYY-MM-DD",
    )


def _settled(forms: Forms) -> tuple[str | None, np.ndarray]:
    """``("day" | "month" | None, values that settle it)``: the order a column's values show."""
    numeric = forms.kind == NUMERIC
    day_first, month_first = civil(forms.y, forms.b, forms.a), civil(forms.y, forms.a, forms.b)
    only_d = numeric & ~np.isnat(day_first) & np.isnat(month_first)
    only_m = numeric & np.isnat(day_first) & ~np.isnat(month_first)
    if only_d.any() == only_m.any():
        return None, only_d
    return ("day", only_d) if only_d.any() else ("month", only_m)


def order_format(order: str, sample: str) -> str:
    """The strptime format of a day/month ``order`` written like ``sample`` (its separator)."""
    sep = next((c for c in sample if c in "/.-"), "/")
    return sep.join(("%d", "%m", "%Y") if order == "day" else ("%m", "%d", "%Y"))


def settled_order(text: pd.Series) -> str | None:
    """``"day"`` or ``"month"`` when a date column's own values settle the order, else None."""
    if not text.notna().any():
        return None
    return _settled(Forms.read(Distinct.of(text).values))[0]


def ambiguous_hint(example: str) -> str:
    """The hint of ``date_ambiguous``, suggesting ``--date-format example``."""
    return AMBIGUOUS_HINT.format(example=example)


def _suggested(col: DateColumn) -> str | None:
    """A ``--date-format`` matching the order the column's own values settle, if any."""
    order, settling = _settled(col.forms)
    return None if order is None else order_format(order, col.example(settling)[0])


def _to_days(parsed: pd.Series) -> np.ndarray:
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    return parsed.to_numpy(dtype="datetime64[D]")


def _apply_formats(col: DateColumn, formats: Sequence[str]) -> None:
    """Read the free-form values with the first format that fits them all (see module)."""
    free = col.forms.kind != AUTO
    texts = pd.Series(col.cells.values[free].to_numpy(dtype=object), dtype=object)
    readings = [_to_days(pd.to_datetime(texts, format=fmt, errors="coerce")) for fmt in formats]
    fits = [int((~np.isnat(r)).sum()) for r in readings]
    best = next((i for i, n in enumerate(fits) if n == len(texts)), int(np.argmax(fits)))
    read = np.full(len(col.date), NAT)
    read[free] = readings[best]
    col.date = np.where(free, read, col.date)
    failed = free & np.isnat(read)
    col.status[failed] = NO_FIT
    col.fmt = formats[best]
    if not failed.any() or fits[best] == 0:
        return
    col.status[free & ~failed] = UNTRUSTED
    col.date = np.where(free & ~failed, NAT, col.date)
    _mismatch_note(col, failed, free)


def _mismatch_note(col: DateColumn, failed: np.ndarray, free: np.ndarray) -> None:
    n_bad = int(col.cells.spread(failed, False).sum())
    n_all = int(col.cells.spread(free, False).sum())
    suggestion = _suggested(col)
    if suggestion and suggestion != col.fmt:
        hint = (
            f"the column's own dates are written {suggestion}: pass --date-format "
            f"{suggestion} for it, or leave --date-format out and let aftercar infer the order"
        )
    else:
        hint = (
            "write the column's dates in one format (or as YYYY-MM-DD), or add a "
            "--date-format that fits all of them (each column uses the first that does)"
        )
    col.note(
        "date_format_mismatch",
        f"{col.spec.name}: {n_bad} of {n_all} dates do not fit --date-format {col.fmt}, so "
        "none of the column's dates is read with it (they could have day and month swapped)",
        hint,
    )


def _serials(
    text: pd.Series, numbers: np.ndarray, window: tuple[dt.date, dt.date], name: str,
    shift_days: int = 0,
) -> tuple[np.ndarray, list[Finding]]:
    """Excel date serials in number-formatted cells: per-row dates and findings
    (``shift_days``: added first, 1,462 in a workbook of the 1904 date system)."""
    rows = numbers & text.notna().to_numpy()
    value = pd.to_numeric(text.where(rows), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    value = value + shift_days
    whole = np.floor(np.nan_to_num(value, nan=-1.0)).clip(-1, 3_000_000).astype(np.int64)
    shift = np.where(whole < 60, whole + 1, whole).astype("timedelta64[D]")
    date = np.where(rows & (whole >= 1) & (whole != 60), EXCEL_EPOCH + shift, NAT)
    lo, hi = (np.datetime64(d, "D") for d in window)
    good = rows & ~np.isnat(date) & (date >= lo) & (date <= hi)
    iso = pd.Series(np.datetime_as_string(date), index=text.index, dtype="string")
    shown = text.astype("string")
    message = f"{name} is an Excel date serial number in a number-formatted cell (" + shown
    findings = [
        Finding(
            "date_excel_serial",
            good,
            message + " = " + iso + ")",
            "format the column as dates in Excel (Format Cells > Date) so that dates are "
            "stored as dates",
        ),
        Finding(
            "date_unparseable",
            rows & ~good,
            f"{name} is a number, not a date (as an Excel date serial it would be "
            + iso.where(~np.isnat(date), "no date")
            + f", outside {window[0].isoformat()} to {window[1].isoformat()})",
            DATE_HINT,
        ),
    ]
    return np.where(good, date, NAT), findings


STATUS_TEXT = {
    BAD: ("date_unparseable", "{col} is not a date", DATE_HINT),
    NO_FIT: ("date_unparseable", "{col} is not a date in the format {fmt}", DATE_HINT),
    AMBIGUOUS: (
        "date_ambiguous",
        "{col} is an ambiguous date (day and month order unknown{mixed})",
        AMBIGUOUS_HINT,
    ),
    TWO_DIGIT: (
        "date_ambiguous",
        "{col} has a two-digit year (the century is unknown)",
        "write the year with four digits (e.g. 22/07/2021 or 2021-07-22), or pass "
        "--date-format to say how to read it (e.g. --date-format %d/%m/%y)",
    ),
}


def _serial_hints(col: DateColumn, window: tuple[dt.date, dt.date]) -> pd.Series | str:
    """The hint for text dates that are not dates; a per-row one where the text is a
    five-digit number that an Excel date serial would make a plausible date (a
    number-formatted date column saved as CSV)."""
    values = col.cells.values
    digits = values.str.fullmatch(r"\d{5}").fillna(False).to_numpy(dtype=bool)
    digits &= col.status == BAD
    if not digits.any():
        return DATE_HINT
    serial = pd.to_numeric(values.where(digits), errors="coerce").fillna(0).to_numpy(np.int64)
    date = EXCEL_EPOCH + serial.astype("timedelta64[D]")
    lo, hi = (np.datetime64(d, "D") for d in window)
    digits &= (date >= lo) & (date <= hi)
    hint = np.where(
        digits,
        values.astype(object).to_numpy()
        + " looks like an Excel date serial number (= "
        + np.datetime_as_string(date).astype(object)
        + "): format the column as dates in Excel before saving it, or write YYYY-MM-DD",
        DATE_HINT,
    )
    return pd.Series(col.cells.spread(hint.astype(object), DATE_HINT), dtype=object)


def _findings(col: DateColumn, example: str, window: tuple[dt.date, dt.date]) -> list[Finding]:
    out = []
    for status, (rule, message, hint) in STATUS_TEXT.items():
        mask = col.cells.spread(col.status == status, False)
        if mask.any():
            text = message.format(col=col.spec.name, fmt=col.fmt, mixed=col.mixed)
            tip = _serial_hints(col, window) if status == BAD else hint.format(example=example)
            out.append(Finding(rule, mask, text, tip))
    return out + col.notes


def parse_dates(
    text: pd.Series,
    spec: ColumnSpec,
    *,
    formats: Sequence[str] = (),
    numbers: np.ndarray | None = None,
    window: tuple[dt.date, dt.date] = (dt.date(1900, 3, 1), dt.date(9999, 12, 31)),
    rows: np.ndarray | None = None,
    example: str = "%d/%m/%Y",
    serial_shift: int = 0,
) -> tuple[pd.Series, list[Finding]]:
    """Parse one date column (see the module docstring for the forms and rules).

    Parameters
    ----------
    text
        The cells as text (``<NA>`` = empty).
    spec
        The column (its name goes into the messages).
    formats
        ``--date-format`` values (strptime codes), tried in order for the column.
    numbers
        Mask of the cells that were native numbers in a workbook (Excel serials).
    window
        Dates an Excel serial may mean (inclusive).
    rows
        Spreadsheet row of each cell, for examples in messages.
    example
        The ``--date-format`` suggested in the ``date_ambiguous`` hint.
    serial_shift
        Days added to an Excel serial before it is read from the 1900 start (1,462 for a
        workbook using the 1904 date system).

    Returns
    -------
    values, findings
        ``datetime64[us]`` values (``NaT`` when empty or not read) and the findings.
    """
    serial = numbers is not None and bool(numbers.any())
    cells = Distinct.of(text.mask(numbers) if serial else text)  # serials are read below
    forms = Forms.read(cells.values)
    rows = np.arange(2, 2 + len(text)) if rows is None else rows
    status = np.zeros(len(forms.date), np.int8)
    ydm = _year_day_month(cells, forms, formats)
    col = DateColumn(spec, cells, rows, forms, forms.date.copy(), status)
    if ydm is not None:
        _iso_not_ydm_note(col, ydm)
    col.status[(forms.kind == AUTO) & np.isnat(forms.date)] = BAD
    if formats and (forms.kind != AUTO).any():
        _apply_formats(col, formats)
    else:
        col.status[forms.kind == OTHER] = BAD
        col.status[forms.kind == SHORT] = TWO_DIGIT
        _infer_order(col)
    values = cells.spread(col.date, NAT)
    findings = _findings(col, example, window)
    if serial:
        dates, extra = _serials(text, numbers, window, spec.name, serial_shift)
        values = np.where(numbers, dates, values)
        findings += extra
    out = pd.Series(values.astype("datetime64[us]"), index=text.index)
    return out, [f for f in findings if f.mask is None or f.mask.any()]


#: A ``--date-format`` with the year first and the day before the month (``%Y-%d-%m``):
#: a column whose ISO-shaped text shows that order is read with it (fuzzing, round 3 F13).
_YEAR_DAY_MONTH = re.compile(r"^%Y\W?%d\W?%[mbB]")


def _year_day_month(cells: Distinct, forms: Forms, formats: Sequence[str]) -> np.ndarray | None:
    """With a year-day-month ``--date-format``, the ISO-shaped values of a column: read
    with the formats (``forms.kind`` set to OTHER) unless the column shows ISO (a value
    whose last part is over 12: a day, "2025-03-28"), where they stay ISO. A column that
    shows neither is read as the user said; the values that ISO would read otherwise are
    returned for a note. A column showing both orders is refused by the formats
    (``date_format_mismatch``). Reviews, 2026-12-06: one --date-format serves every column."""
    if not formats or not any(_YEAR_DAY_MONTH.match(f) for f in formats):
        return None
    parts = pc.extract_regex(arrow_text(cells.values), f"^(?:{AUTO_FORMS[0]})$")
    iso = parts.is_valid().to_numpy(zero_copy_only=False)
    m, d = _ints(parts, "m"), _ints(parts, "d")
    if (iso & (d > 12) & (m <= 12)).any() and not (iso & (m > 12) & (d <= 12)).any():
        return None  # the column is ISO
    forms.kind[iso] = OTHER
    both = iso & (m != d) & (m <= 12) & (d <= 12)
    return both if both.any() and not (iso & (m > 12)).any() else None


def _iso_not_ydm_note(col: DateColumn, both: np.ndarray) -> None:
    text, row = col.example(both)
    col.note(
        "date_order_inferred",
        f"{col.spec.name}: dates such as {text} (row {row}) are read year-day-month, as "
        "--date-format says; no date of the column shows the order, and as YYYY-MM-DD they "
        "would be other dates",
        "check that the column is written year-day-month; if it is ISO, leave --date-format "
        "out or write its dates with a day over 12",
    )


_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def _wall_clock(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A time-zone-aware timestamp as the naive wall-clock time of its zone. A fixed
    offset (``+09:00``) is added here: Arrow < 15 looks every zone up in the time-zone
    database, which has no such names."""
    m = _OFFSET.match(col.type.tz)
    if m is None:
        return pc.local_timestamp(col)
    sign = 1 if m[1] == "+" else -1
    offset = pa.scalar(sign * (int(m[2]) * 3600 + int(m[3]) * 60), pa.duration("s"))
    unit = col.type.unit
    return pc.add(col.cast(pa.timestamp(unit)), offset.cast(pa.duration(unit)))


def arrow_day(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A Parquet (Arrow) timestamp as its calendar date: a naive one as written, a time-zone-aware
    one in the local calendar of its stored zone (2021-06-02 00:00 +09:00 is 2021-06-02,
    not the UTC 2021-06-01); the time of day is dropped."""
    if pa.types.is_timestamp(col.type) and col.type.tz is not None:
        col = _wall_clock(col)
    if pa.types.is_timestamp(col.type):
        col = pc.floor_temporal(col, unit="day")
    return col.cast(pa.date32())
