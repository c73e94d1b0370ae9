"""Names that mark counts, proportions, identifiers and quoting text; the threshold K
and the suppression of one count (``"<K"``)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from aftercar.report.margins import marker
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
        "missing_group",
        "complete_cases",
        "excluded_incomplete",
        "deaths_without_progression",
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


#: Keys/columns whose text may quote input cells (dates, identifiers): under
#: disclosure control those quotes are withheld (:func:`without_quoted_cells`).
QUOTING_KEYS: frozenset[str] = frozenset({"reason", "message", "hint", "value"})


#: Dates as a text cites them (ISO, day/month/year, month names): withheld under
#: disclosure control in quoted cells (:func:`without_quoted_cells`) and free text.
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"


_DATE_TEXT = re.compile(
    r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T][\d:.]+)?"  # 2021-03-04, 2021/03/04
    r"|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"  # 04-03-2021, 4/3/21, 4.3.2021
    rf"|\b\d{{1,2}}[-\s]?{_MONTHS}[-\s,]*\d{{2,4}}\b"  # 4 Mar 2021, 04-Mar-21
    rf"|\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b",  # March 4, 2021
    re.IGNORECASE,
)


_QUOTED_CELL = re.compile(
    _DATE_TEXT.pattern + r"|'[^']*'|\"[^\"]*\"",  # dates, quoted cell values
    re.IGNORECASE,
)


def without_quoted_cells(text: str) -> str:
    """Text with the dates and quoted cell values it cites replaced by ``[withheld]``."""
    return _QUOTED_CELL.sub("[withheld]", text)


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


def disclosure_note(k: int) -> str:
    """What the markers of a report suppressed at ``k`` mean (the HTML page and
    report.docx print it; ``docs/report.md``)."""
    return (f"Disclosure control: every count from 1 to {k - 1} is shown as <{k} in the "
            "report, the CSV tables and results.json; proportions whose numerator was "
            f"suppressed, and counts hidden so that a <{k} cannot be recovered by "
            'subtraction, are shown as "suppressed"; counts withheld because the cohort '
            'size would give a small one back are shown as "withheld" (any value); the '
            "swimmer plot (individual-level data) is left out.")  # fmt: skip


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


#: Counts that are the denominator of the estimates beside them: when one of them
#: is below K, every estimate of the dictionary (or table row) is withheld.
DENOMINATOR_KEYS: frozenset[str] = frozenset({"n", "lines", "patients", Col.EVALUABLE})


#: Numbers that describe the analysis, not the data (kept under every rule).
STRUCTURAL_KEYS: frozenset[str] = frozenset(
    {
        "months",
        "tau_months",
        "cutoff_months",
        "landmark_months",
        Col.LINE,
        "from_line",
        "df",
        "row",
        "conf_level",
        Col.START,
        "ticks",
        "line_groups_pooled_from",
    }
)
