"""Vectorised cell parsers: text -> typed values plus a mask per failure rule.

Each parser takes a pandas ``string`` Series (``<NA>`` = empty cell) and returns
the typed values and ``{rule: mask}`` of the cells that failed. No Python loop
over rows: pandas ``.str`` methods, ``to_datetime``/``to_numeric`` and hash maps.

Rules
-----
* Dates: ISO 8601 ``YYYY-MM-DD`` (optionally followed by a time, as Excel date
  cells read) or, when ``date_format`` is given, that ``strptime`` format.
  Day/month forms such as ``03/04/2021`` are refused as ambiguous unless a
  ``date_format`` says how to read them.
* Booleans: yes/no, true/false, y/n, 1/0 in any case.
* Responses: IMWG codes or full names in any case, punctuation ignored
  (``"very good partial response"``, ``"vgpr"``, ``"sCR"``).
* ISS stage: 1-3 or I-III.

References
----------
Kumar S et al. Lancet Oncol 2016;17:e328-e346 (IMWG response categories).
ISO 8601-1:2019 Date and time - Representations for information interchange.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aftercar.errors import InputError
from aftercar.io.dictionary import ColumnSpec
from aftercar.schema import response_synonyms

ISO_DATE = (
    r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
AMBIGUOUS_DATE = r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}"
TRUE_WORDS = ("yes", "y", "true", "t", "1", "1.0")
FALSE_WORDS = ("no", "n", "false", "f", "0", "0.0")
STAGES = {"1": 1, "2": 2, "3": 3, "i": 1, "ii": 2, "iii": 3, "1.0": 1, "2.0": 2, "3.0": 3}

Failures = dict[str, np.ndarray]
EMPTY_DTYPES = {
    "date": "datetime64[us]",
    "float": "Float64",
    "int": "Int64",
    "bool": "boolean",
    "response": "string",
    "stage": "Int64",
    "string": "string",
}


def _mask(series: pd.Series) -> np.ndarray:
    return series.fillna(False).to_numpy(dtype=bool)


def check_date_format(date_format: str | None) -> None:
    """Raise :class:`~aftercar.errors.InputError` when ``date_format`` is not a strptime format."""
    if date_format is None:
        return
    probe = pd.Series(["2021-01-02"], dtype="string")
    problem = None
    if "%" not in date_format:
        problem = "it has no % directive"
    else:
        try:
            pd.to_datetime(probe, format=date_format, errors="coerce")
        except ValueError as exc:
            problem = str(exc)
    if problem:
        raise InputError(
            f"--date-format {date_format!r} is not a date format ({problem}). "
            "Fix: give strptime codes, e.g. %d/%m/%Y for 03/04/2021 = 3 April 2021"
        )


def parse_dates(text: pd.Series, *, date_format: str | None = None) -> tuple[pd.Series, Failures]:
    """Parse dates; return ``datetime64`` values (``NaT`` when empty or bad) and failures.

    Failure rules: ``date_ambiguous`` (day/month order unknown, no ``date_format``)
    and ``date_unparseable``.
    """
    present = _mask(text.notna())
    iso = _mask(text.str.fullmatch(ISO_DATE))
    day = text.str.replace(r"[ T].*", "", regex=True)  # drop a time part
    values = pd.to_datetime(day.where(iso), format="%Y-%m-%d", errors="coerce")
    ambiguous = np.zeros(len(text), dtype=bool)
    rest = present & ~iso
    if date_format is not None and rest.any():
        other = pd.to_datetime(text.where(rest), format=date_format, errors="coerce")
        values = values.where(~rest, other.dt.normalize())
    elif rest.any():
        ambiguous = rest & _mask(text.str.fullmatch(AMBIGUOUS_DATE))
    values = values.astype("datetime64[us]")
    bad = present & values.isna().to_numpy()
    return values, {"date_ambiguous": ambiguous, "date_unparseable": bad & ~ambiguous}


def parse_numbers(text: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, Failures]:
    """Parse numbers (``float``/``int`` columns) and check whole numbers and range.

    Failure rules: ``number_unparseable``, ``number_not_integer``, ``number_out_of_range``.
    """
    present = _mask(text.notna())
    numbers = pd.to_numeric(text, errors="coerce")
    numbers = numbers.astype("Float64")
    finite = _mask(numbers.notna()) & np.isfinite(numbers.fillna(0).to_numpy(dtype=float))
    bad = present & ~finite
    values = numbers.where(finite)
    not_int = np.zeros(len(text), dtype=bool)
    if spec.type == "int":
        not_int = finite & _mask(values != values.round())
        values = values.where(~not_int).round().astype("Int64")
    out = _range_failures(values, spec) & finite & ~not_int
    values = values.where(~out)
    return values, {
        "number_unparseable": bad,
        "number_not_integer": not_int,
        "number_out_of_range": out,
    }


def _range_failures(values: pd.Series, spec: ColumnSpec) -> np.ndarray:
    out = np.zeros(len(values), dtype=bool)
    if spec.minimum is not None:
        out |= _mask(values < spec.minimum)
    if spec.maximum is not None:
        out |= _mask(values > spec.maximum)
    return out


def _lookup(text: pd.Series, table: dict) -> tuple[pd.Series, np.ndarray]:
    key = text.str.lower().str.replace(r"[^0-9a-z.]+", " ", regex=True).str.strip()
    values = key.map(table)
    bad = _mask(text.notna()) & values.isna().to_numpy()
    return values, bad


def parse_bools(text: pd.Series) -> tuple[pd.Series, Failures]:
    """Parse yes/no, true/false, y/n, 1/0 (any case); failure rule ``bool_unparseable``."""
    table = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
    values, bad = _lookup(text, table)
    return values.astype("boolean"), {"bool_unparseable": bad}


def parse_responses(text: pd.Series) -> tuple[pd.Series, Failures]:
    """Map response text to IMWG codes; failure rule ``response_unparseable``."""
    values, bad = _lookup(text.str.replace(".", " ", regex=False), response_synonyms())
    return values.astype("string"), {"response_unparseable": bad}


def parse_stage(text: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, Failures]:
    """Parse ISS stage 1-3 or I-III (``"stage II"`` too); failure rule ``stage_unparseable``."""
    # " *" rather than "\s*": pandas runs "\s" patterns in Python, row by row.
    stripped = text.str.lower().str.replace(r"^(iss *)?(stage *)?", "", regex=True)
    values, bad = _lookup(stripped, STAGES)
    return values.astype("Int64"), {"stage_unparseable": bad}


def parse_column(
    text: pd.Series, spec: ColumnSpec, *, date_format: str | None = None
) -> tuple[pd.Series, Failures]:
    """Parse one column according to its dictionary type; see the module docstring."""
    if not text.notna().any():
        return pd.Series(pd.NA, index=text.index, dtype=EMPTY_DTYPES[spec.type]), {}
    if spec.type == "date":
        return parse_dates(text, date_format=date_format)
    if spec.type in ("float", "int"):
        return parse_numbers(text, spec)
    if spec.type == "bool":
        return parse_bools(text)
    if spec.type == "response":
        return parse_responses(text)
    if spec.type == "stage":
        return parse_stage(text, spec)
    return text.astype("string"), {}
