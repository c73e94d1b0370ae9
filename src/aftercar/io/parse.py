"""Vectorised cell parsers: text -> typed values plus the cells that failed, by rule.

Each parser takes a pandas ``string`` Series (``<NA>`` = empty cell), works on
its *distinct* texts (:class:`~aftercar.io.cells.Distinct`: Arrow dictionary
encoding, then one numpy take back to the rows) and returns the typed values and
the failed cells as :class:`~aftercar.io.cells.Finding` records. No Python loop
over rows.

Rules
-----
* Dates: see :mod:`aftercar.io.dates` (ISO 8601, month names, day/month forms
  with the order inferred per column, Excel serials, ``--date-format``).
* Booleans: yes/no, true/false, y/n, 1/0 in any case.
* Responses: IMWG codes or full names in any case, punctuation ignored
  (``"very good partial response"``, ``"vgpr"``, ``"sCR"``).
* ISS stage: 1-3 or I-III.

References
----------
Kumar S et al. Lancet Oncol 2016;17:e328-e346 (IMWG response categories).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.errors import InputError
from aftercar.io.cells import Distinct, Finding, as_text
from aftercar.io.dates import parse_dates
from aftercar.io.dictionary import ColumnSpec
from aftercar.schema import response_synonyms

TRUE_WORDS = ("yes", "y", "true", "t", "1", "1.0")
FALSE_WORDS = ("no", "n", "false", "f", "0", "0.0")
STAGES = {"1": 1, "2": 2, "3": 3, "i": 1, "ii": 2, "iii": 3, "1.0": 1, "2.0": 2, "3.0": 3}
#: Largest whole number an ``int`` column holds exactly (2**53, the float64 limit).
MAX_WHOLE = 2.0**53
#: Dates an Excel serial may mean when no plausibility window is given.
ANY_DATE = (dt.date(1900, 3, 1), dt.date(9999, 12, 31))

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


def date_formats(date_format: str | Sequence[str] | None) -> tuple[str, ...]:
    """``date_format`` as a tuple of formats (one string, several, or none)."""
    if date_format is None:
        return ()
    if isinstance(date_format, str):
        return (date_format,)
    return tuple(date_format)


def _format_problem(fmt: object) -> str | None:
    if not isinstance(fmt, str):
        return "it is not text"
    if "%" not in fmt:
        return "it has no % directive"
    try:
        pd.to_datetime(pd.Series(["2021-01-02"], dtype=object), format=fmt, errors="coerce")
    except ValueError as exc:
        return str(exc)
    return None


def check_date_format(date_format: str | Sequence[str] | None) -> None:
    """Raise :class:`~aftercar.errors.InputError` if a ``date_format`` is not a strptime format."""
    for fmt in date_formats(date_format):
        problem = _format_problem(fmt)
        if problem:
            raise InputError(
                f"--date-format {fmt!r} is not a date format ({problem}). "
                "Fix: give strptime codes, e.g. %d/%m/%Y for 03/04/2021 = 3 April 2021"
            )


def parse_numbers(text: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, Failures]:
    """Parse numbers (``float``/``int`` columns) and check whole numbers and range.

    Failure rules: ``number_unparseable``, ``number_not_integer``, ``number_out_of_range``.
    """
    cells = Distinct.of(text)
    number = np.asarray(pd.to_numeric(cells.values.astype(object), errors="coerce"), dtype=float)
    finite = np.isfinite(number)
    not_int = np.zeros(len(number), dtype=bool)
    if spec.type == "int":
        not_int = finite & (number != np.round(number))
    out = finite & ~not_int & _range_failures(number, spec)
    if spec.type == "int":
        out |= finite & ~not_int & (np.abs(number) > MAX_WHOLE)
    good = finite & ~not_int & ~out
    values = cells.spread(np.where(good, number, np.nan), np.nan)
    typed = pd.Series(pd.array(values, dtype="Float64"), index=text.index)
    if spec.type == "int":
        typed = typed.round().astype("Int64")
    return typed, {
        "number_unparseable": cells.spread(~finite, False),
        "number_not_integer": cells.spread(not_int, False),
        "number_out_of_range": cells.spread(out, False),
    }


def _range_failures(values: np.ndarray, spec: ColumnSpec) -> np.ndarray:
    out = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        if spec.minimum is not None:
            out |= values < spec.minimum
        if spec.maximum is not None:
            out |= values > spec.maximum
    return out


def _lookup(
    text: pd.Series, table: dict, prepare: Callable[[pd.Series], pd.Series] | None = None
) -> tuple[Distinct, np.ndarray, np.ndarray]:
    """Map each distinct text (lower case, punctuation as spaces) through ``table``.

    Returns the distinct cells, the mapped value per distinct text (object) and
    whether it was found.
    """
    cells = Distinct.of(text)
    values = cells.values if prepare is None else prepare(cells.values)
    key = values.str.lower().str.replace(r"[^0-9a-z.]+", " ", regex=True).str.strip()
    mapped = key.astype(object).map(table).to_numpy(dtype=object)
    return cells, mapped, pd.notna(mapped)


def _spread_masked(cells: Distinct, mapped: np.ndarray, known: np.ndarray, kind: str):
    """Per-row nullable values (``boolean`` or ``Int64``) from per-distinct values."""
    dtype = bool if kind == "boolean" else np.int64
    values = cells.spread(np.where(known, mapped, 0).astype(dtype), dtype(0))
    missing = cells.spread(~known, True)
    if kind == "boolean":
        return pd.arrays.BooleanArray(values, missing)
    return pd.arrays.IntegerArray(values, missing)


def parse_bools(text: pd.Series) -> tuple[pd.Series, Failures]:
    """Parse yes/no, true/false, y/n, 1/0 (any case); failure rule ``bool_unparseable``
    (also for a qualified value such as "yes?" or "(yes)", :data:`_QUALIFIED`)."""
    table = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
    cells, mapped, known = _lookup(text, table, _unqualified)
    values = pd.Series(_spread_masked(cells, mapped, known, "boolean"), index=text.index)
    return values, {"bool_unparseable": cells.spread(~known, False)}


#: A value qualified by a comparison, a question mark, a footnote mark, a parenthesis,
#: a dangling slash or a leading / trailing sign ("<PR", ">=CR", "PR?", "CR*", "CR†",
#: "(yes)", "CR/", "-PR", "<3", "2+", "-1") is not the plain value: the qualifier would be
#: lost with the punctuation (found by fuzzing, 2026-12-06: "<PR" was read as PR, "<3"
#: as ISS stage 3, ">0" as no). "N/E" and "s-CR" keep their inner punctuation.
_QUALIFIED = "[<>≤≥=?~±*†‡#%^&()\\[\\]]|^\\s*[-+/]|[-+/]\\s*$"  # characters, not \\u escapes (RE2)


def _unqualified(values: pd.Series) -> pd.Series:
    """``values`` with every qualified one (:data:`_QUALIFIED`) replaced by a text no
    lookup table holds, so it is refused with the column's own rule."""
    return values.mask(values.str.contains(_QUALIFIED, regex=True), "\x00")


def parse_responses(text: pd.Series) -> tuple[pd.Series, Failures]:
    """Map response text to IMWG codes; failure rule ``response_unparseable`` (also for
    a qualified response such as "<PR" or "PR?", :data:`_QUALIFIED`)."""

    def prepare(v: pd.Series) -> pd.Series:
        return _unqualified(v).str.replace(".", " ", regex=False)

    cells, mapped, known = _lookup(text, response_synonyms(), prepare)
    codes = pa.array(mapped, type=pa.large_string(), from_pandas=True)
    index = pa.array(np.where(cells.codes >= 0, cells.codes, 0), mask=cells.codes < 0)
    values = as_text(pc.take(codes, index), text.index)
    return values, {"response_unparseable": cells.spread(~known, False)}


def _strip_stage_words(values: pd.Series) -> pd.Series:
    return _unqualified(values).str.lower().str.replace(r"^(iss\s*)?(stage\s*)?", "", regex=True)


def parse_stage(text: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, Failures]:
    """Parse ISS stage 1-3 or I-III (``"stage II"`` too); failure rule ``stage_unparseable``
    (also for a qualified stage such as "<3", "2+" or "III?", :data:`_QUALIFIED`)."""
    cells, mapped, known = _lookup(text, STAGES, _strip_stage_words)
    values = pd.Series(_spread_masked(cells, mapped, known, "Int64"), index=text.index)
    return values, {"stage_unparseable": cells.spread(~known, False)}


def _typed(text: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, Failures]:
    if spec.type in ("float", "int"):
        return parse_numbers(text, spec)
    if spec.type == "bool":
        return parse_bools(text)
    if spec.type == "response":
        return parse_responses(text)
    if spec.type == "stage":
        return parse_stage(text, spec)
    return text.astype("string"), {}


def parse_column(
    text: pd.Series,
    spec: ColumnSpec,
    *,
    formats: Sequence[str] = (),
    numbers: np.ndarray | None = None,
    window: tuple[dt.date, dt.date] = ANY_DATE,
    rows: np.ndarray | None = None,
    example: str = "%d/%m/%Y",
    serial_shift: int = 0,
) -> tuple[pd.Series, list[Finding]]:
    """Parse one column according to its dictionary type; see the module docstring.

    ``formats``, ``numbers``, ``window``, ``rows``, ``example`` and ``serial_shift``
    concern date columns only (see :func:`aftercar.io.dates.parse_dates`).
    """
    if not text.notna().any():
        return pd.Series(pd.NA, index=text.index, dtype=EMPTY_DTYPES[spec.type]), []
    if spec.type == "date":
        return parse_dates(
            text, spec, formats=formats, numbers=numbers, window=window, rows=rows,
            example=example, serial_shift=serial_shift,
        )
    values, failures = _typed(text, spec)
    return values, [Finding(rule, mask) for rule, mask in failures.items() if mask.any()]
