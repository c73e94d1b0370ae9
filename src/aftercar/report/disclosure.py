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
proportion with its denominator gives the numerator back. A ``"12 (40.0%)"`` cell
whose count is suppressed becomes ``"<K"`` as a whole.
Identifiers (:data:`IDENTIFIER_KEYS`, ``patient_id``) are withheld as well.

Complementary (secondary) suppression (:class:`Margins` is the engine): in every
margin aftercar knows (the levels of a Table 1 characteristic, the responders /
non-responders / not-evaluable of a response block, events and censored of a
survival estimate, response counts of a category, at-risk and cumulative-event
rows of a Kaplan-Meier figure) a suppressed cell could be
recovered by subtraction from the margin's total and the cells shown beside it; the
next smallest cell of that margin is then suppressed as well (shown as
``"suppressed"``), until no cell from 1 to K-1 has a single possible value; a total a
reader knows from elsewhere (the cohort size, a survival comparison's n) is never
hidden, and a margin it still pins has its hidden cells withheld (``"withheld"``: any
value). Every estimate over fewer than K patients or lines (a rate, median, interval,
p-value of a group whose ``n`` is suppressed) is withheld, Kaplan-Meier curves of such
groups are left out with a note, and the at-risk table keeps only the ticks where every
row steps by 0 or at least K. See ``docs/report.md``.

References
----------
.. [1] OHDSI CohortMethod / CohortDiagnostics: ``minCellCount`` small-cell
   suppression of shared results (counts below the threshold reported as ``<K``).
.. [2] Office for National Statistics, "Statistical disclosure control" guidance:
   suppression of small cells and of the derived values that reveal them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from aftercar.analysis.model import CurveFigure
from aftercar.report.margins import SUPPRESSED, Margins, marker
from aftercar.report.margins import WITHHELD as WITHHELD  # re-exported: the markers' home
from aftercar.report.model import ReportInput
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


def _is_estimate(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(_is_estimate(v) for v in value)
    return true_value(value) is not None and not isinstance(value, Hidden)


def _withhold_estimates(obj: Any) -> Any:
    """Every estimate in ``obj`` (numbers not under a count or structural key) becomes
    ``"suppressed"``: they are computed over fewer than K patients or lines."""
    if isinstance(obj, list):
        return [_withhold_estimates(v) for v in obj]
    if not isinstance(obj, Mapping):
        return obj
    out = {}
    for key, value in obj.items():
        name = str(key).lower()
        if is_count_key(key) or name in STRUCTURAL_KEYS:
            out[key] = value
        elif isinstance(value, Mapping) or (
            isinstance(value, list) and any(isinstance(v, Mapping) for v in value)
        ):
            out[key] = _withhold_estimates(value)
        elif isinstance(value, list):
            out[key] = [SUPPRESSED if _is_estimate(v) else v for v in value]
        else:
            out[key] = SUPPRESSED if _is_estimate(value) else value
    return out


def _below_k(value: Any, k: int) -> bool:
    """A suppressed count below K: ``"<K"``, or a cell withheld (``"withheld"``, or a
    total ``"suppressed"`` with its small cells) whose true value is below K."""
    if isinstance(value, Hidden):
        return value == marker(k) or 0 < value.value < k
    return isinstance(value, str) and value == marker(k)


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


# --- complementary suppression: the engine ------------------------------------------



class Hidden(str):
    """A suppressed cell as shown (``"<K"`` or ``"suppressed"``) that keeps its true
    value for the margins still to be checked; written out as plain text."""

    value: float

    def __new__(cls, text: str, value: float) -> Hidden:
        obj = super().__new__(cls, text)
        obj.value = value
        return obj


def true_value(value: Any) -> float | None:
    """The count behind a cell: a number, the value kept by :class:`Hidden`, else None."""
    if isinstance(value, Hidden):
        return value.value
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return None
    return None if not np.isfinite(float(value)) else float(value)


def shown_steps(
    chains: list[list[float]], k: int, end_ok: Callable[[int], bool] | None = None
) -> list[int]:
    """Indices of the points of parallel cumulative rows that may be shown.

    Each chain is a row of counts (at-risk or cumulative events at each tick), its
    first value the known start. A point is kept only when every chain moves by 0 or
    at least K from the previous kept point, so no step of fewer than K patients can
    be read off by subtraction; then the last kept points are dropped until
    ``end_ok(point)`` holds (what follows the last point must not be derivable
    either). Returned indices count the points only (the start is not one).
    """
    if not chains:
        return []
    n = len(chains[0]) - 1
    kept: list[int] = []

    def ok(a: int, b: int) -> bool:
        return all(abs(c[b] - c[a]) == 0 or abs(c[b] - c[a]) >= k for c in chains)

    last = 0
    for i in range(1, n + 1):
        if ok(last, i):
            kept.append(i)
            last = i
    while kept and end_ok is not None and not end_ok(kept[-1] - 1):
        kept.pop()
    return [i - 1 for i in kept]


def _declare(m: Margins, key: Any, value: Any, *, implicit: bool = False) -> bool:
    """Declare a cell from a shown (or already hidden) value; False when not a count."""
    v = true_value(value)
    if v is None:
        return False
    m.cell(key, v, implicit=implicit)
    if isinstance(value, Hidden):
        m.state[key] = str(value)
    return True


def _shown_as(value: Any, state: str | None) -> Any:
    """The value as displayed in a given state (a :class:`Hidden` when suppressed)."""
    if state is None or state == "shown" or (isinstance(value, Hidden) and value == state):
        return value
    v = _text_count(value)
    return value if v is None else Hidden(state, v)


# --- margins of known structures ----------------------------------------------------

#: Response counts of a block or table row, from the widest to the narrowest set:
#: lines = evaluable (n) + not evaluable; n >= responders >= VGPR or better >= CR or better.
RESPONSE_CHAIN = ("n", "orr", "vgpr", "cr")


def response_states(vals: Mapping[str, Any], k: int) -> dict[str, str]:
    """States of the counts of one response block.

    ``vals`` maps ``lines``, ``n`` (evaluable), ``ne`` (not evaluable), ``orr``,
    ``vgpr``, ``cr`` (responders at each depth) to their values (any may be absent).
    Margins: ``lines = n + ne`` and the nested chain ``n >= orr >= vgpr >= cr``
    (non-responders ``n - orr`` and the differences between depths are implicit
    cells that a reader gets by subtraction).
    """
    m = Margins(k)
    present = {name: v for name, v in vals.items() if _declare(m, name, v)}
    if {"lines", "n", "ne"} <= present.keys():
        m.margin(["n", "ne"], "lines")
    chain = [c for c in RESPONSE_CHAIN if c in present]
    for i, wide in enumerate(chain):  # every difference of two depths is a cell
        for narrow in chain[i + 1 :]:
            gap = f"{wide}-{narrow}"
            m.cell(gap, true_value(present[wide]) - true_value(present[narrow]), implicit=True)
            m.margin([narrow, gap], wide)
    return m.solve()


def pair_states(total: Any, part: Any, k: int) -> dict[str, str]:
    """States of ``total`` (e.g. n) and ``part`` (e.g. events), whose difference (the
    censored) is an implicit cell."""
    m = Margins(k)
    if not (_declare(m, "total", total) and _declare(m, "part", part)):
        return {}
    m.cell("rest", m.values["total"] - m.values["part"], implicit=True)
    m.margin(["part", "rest"], "total")
    return m.solve()


_CHAR, _LEVEL = "characteristic", "level"
PATIENTS_ROW = "Patients"
MISSING_LEVEL = "Missing"
_KNOWN = "__known__"
_COUNT_TEXT = re.compile(r"^\s*(\d+)\s*(\(\s*[\d.]+\s*%\s*\))?\s*$")
_HEADER_N = re.compile(r"^(.*\(N=)(\d+)(\)\s*)$")


def _is_number(value: Any) -> bool:
    return true_value(value) is not None


def table1_long_states(rows: list[Mapping[str, Any]], k: int) -> dict[int, str]:
    """States of the ``n`` of each row of Table 1 (long form: ``characteristic``,
    ``level``, ``n``, ``percent``): the levels of a characteristic, with its Missing
    row and, for a continuous one, its number of known values, add up to the patients."""
    m = Margins(k)
    keys: dict[int, Any] = {}
    groups: dict[str, list[Any]] = {}
    total = None
    for i, row in enumerate(rows):
        char, n = str(row.get(_CHAR)), row.get("n")
        if char == PATIENTS_ROW:
            total = (PATIENTS_ROW,)
            keys[i] = total
        elif _is_number(row.get("percent")) or str(row.get(_LEVEL)) == MISSING_LEVEL:
            keys[i] = (char, str(row.get(_LEVEL)))
        else:  # median (IQR), range: the number of known values
            keys[i] = (char, _KNOWN)
        if _declare(m, keys[i], n) and keys[i] != total:
            groups.setdefault(char, [])
            if keys[i] not in groups[char]:
                groups[char].append(keys[i])
    if total is not None and total in m.values:
        m.publish(total)  # the cohort size: printed by results.json, attrition, figures
        for cells in groups.values():
            m.margin(cells, total)
    states = m.solve()
    return {i: states[key] for i, key in keys.items() if key in states}


def _text_count(value: Any) -> float | None:
    if isinstance(value, Hidden):
        return value.value
    if not isinstance(value, str):
        return true_value(value)
    hit = _COUNT_TEXT.match(value)
    return float(hit.group(1)) if hit else None


def _wide_columns(rows: list[Mapping[str, Any]]) -> list[str]:
    names = list(rows[0].keys()) if rows else []
    return [c for c in names if c not in (_CHAR, _LEVEL, "p_value", "test")]


def table1_wide_states(
    rows: list[Mapping[str, Any]], k: int, missing_group: Any = None
) -> dict[tuple[int, str], str]:
    """States of the count cells of Table 1 (wide form: a ``n (%)`` column per group).

    Per column, the levels of a characteristic (with Missing, and for a continuous one
    the implicit number of known values) add up to the column's patients; per row,
    the group columns add up to the Overall column (patients without a group are an
    implicit cell, or, when ``missing_group`` is printed beside the table as in
    ``results.json``, a cell of its own, keyed ``(-1, "missing_group")`` in the
    result). Cells of the Overall column are keyed as in the long form, so both forms
    suppress the same cells; row margins never suppress an Overall cell.
    """
    cols = _wide_columns(rows)
    overall = next((c for c in cols if str(c).startswith("Overall")), None)
    m = Margins(k)
    keys: dict[tuple[int, str], Any] = {}
    col_margins: dict[tuple[str, str], list[Any]] = {}
    for i, row in enumerate(rows):
        char, level = str(row.get(_CHAR)), str(row.get(_LEVEL))
        for col in cols:
            value = _text_count(row.get(col))
            if char != PATIENTS_ROW and (
                value is None or level.lower() in ("median (iqr)", "range")
            ):
                continue
            tag = () if col == overall else (col,)
            key = (PATIENTS_ROW, *tag) if char == PATIENTS_ROW else (char, level, *tag)
            keys[(i, col)] = key
            m.cell(key, value)
            if char != PATIENTS_ROW and key not in col_margins.setdefault((char, col), []):
                col_margins[(char, col)].append(key)
    nogroup = (PATIENTS_ROW, "__nogroup__")
    printed = missing_group is not None
    if not printed:  # a reader knows it anyway (results.json, the long form's Missing row)
        missing_group = _nogroup_count(m, cols, overall)
    if (PATIENTS_ROW,) in m.values and _declare(m, nogroup, missing_group) and printed:
        keys[(-1, "missing_group")] = nogroup
    if (PATIENTS_ROW,) in m.values:
        m.publish((PATIENTS_ROW,))  # the cohort size (as in the long form)
    # the Overall column first, on its own margins: the states the long form gives;
    # then fixed (public), so that the group columns and row margins protect the rest
    _column_margins(m, {key: c for key, c in col_margins.items() if key[1] == overall}, overall)
    m.solve()
    m.public |= {key for (_, col), key in keys.items() if col == overall}
    m.public |= {key for key in m.values if len(key) == 2 and key[1] == _KNOWN}
    _column_margins(m, {key: c for key, c in col_margins.items() if key[1] != overall}, overall)
    _row_margins(m, cols, overall)
    states = m.solve()
    return {cell: states[key] for cell, key in keys.items() if key in states}


def _nogroup_count(m: Margins, cols: list[str], overall: str | None) -> float | None:
    """The patients without a group: the Overall N less the group columns' N."""
    groups = [(PATIENTS_ROW, c) for c in cols if c != overall]
    if overall is None or (PATIENTS_ROW,) not in m.values or not groups \
            or not all(g in m.values for g in groups):  # fmt: skip
        return None
    return max(m.values[(PATIENTS_ROW,)] - sum(m.values[g] for g in groups), 0.0)


def _column_margins(
    m: Margins, col_margins: dict[tuple[str, str], list[Any]], overall: str | None
) -> None:
    """Per column of the wide Table 1, the levels of each characteristic (with, for a
    continuous one, the number of known values) add up to the column's patients."""
    for (char, col), cells in col_margins.items():
        total = (PATIENTS_ROW,) if col == overall else (PATIENTS_ROW, col)
        if total not in m.values:
            continue
        known = sum(m.values[c] for c in cells)
        if m.values[total] - known > 0:  # continuous: values known (not shown here)
            gap = (char, _KNOWN) + (() if col == overall else (col,))
            m.cell(gap, m.values[total] - known, implicit=col != overall)
            cells = [*cells, gap]
        m.margin(cells, total)


def _row_margins(m: Margins, cols: list[str], overall: str | None) -> None:
    """Per row of the wide Table 1, the group columns and the patients without a group
    add up to Overall. The latter are derivable (0 or more), or a known 0 in every row
    when nobody lacks a group (the group sizes add up to the Overall N)."""
    groups = [c for c in cols if c != overall]
    if overall is None or not groups:
        return
    nobody = m.values.get((PATIENTS_ROW, "__nogroup__")) == 0.0
    for key in [key for key in list(m.values) if len(key) in (1, 2) and key[-1] != _KNOWN]:
        parts = [(*key, g) for g in groups if (*key, g) in m.values]
        if not parts:
            continue
        rest = m.values[key] - sum(m.values[p] for p in parts)
        m.cell((*key, "__nogroup__"), max(rest, 0.0), implicit=not nobody)
        m.margin([*parts, (*key, "__nogroup__")], key)


def km_ticks(groups: list[tuple[float, list[Any], list[Any], float, float]], k: int) -> list[int]:
    """Tick indices whose at-risk and cumulative-event counts may be shown.

    ``groups``: per curve drawn, ``(n, at_risk, cumulative_events, events, censored)``.
    Three rows per group are read by subtraction: at risk (from n down), cumulative
    events (from 0 up) and the rest, ``n - at risk - events`` (censored, from 0 up);
    a tick is kept only where each of them moves by 0 or at least K since the last
    kept tick (:func:`shown_steps`). After the last kept tick, the events and
    censored still to come are derivable when the group's events are shown: they
    must be 0 or at least K; when the events are suppressed, at least K must remain
    at risk so that the figure does not give them back.
    """
    chains, ends = [], []
    for n, risk, events, total_events, censored in groups:
        r = [float(true_value(v) or 0) for v in risk]
        e = [float(true_value(v) or 0) for v in events]
        q = [n - a - b for a, b in zip(r, e, strict=True)]
        chains += [[n, *r], [0.0, *e], [0.0, *q]]
        shown = pair_states(n, total_events, k).get("part") == "shown"
        ends.append((r, e, q, total_events, censored, shown))

    def step_ok(d: float) -> bool:
        return d == 0 or d >= k

    def end_ok(i: int) -> bool:
        for r, e, q, total_events, censored, shown in ends:
            if shown and not (step_ok(total_events - e[i]) and step_ok(censored - q[i])):
                return False
            if not shown and r[i] < k:
                return False
        return True

    return shown_steps(chains, k, end_ok) if groups else []


#: Margins of the attrition table: (column, total step, [part steps], complete).
#: A part list that is not complete gets an implicit remainder (e.g. patients with
#: a salvage line, never printed but derivable).
ATTRITION_MARGINS: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("patients", "Rows read", ("Excluded on reading", "Analysed"), True),
    ("lines", "Rows read", ("Excluded on reading", "Not lines of therapy", "Analysed"), True),
    ("lines", "Analysed", ("Response-evaluable lines", "Lines with NE or missing response"), True),
    ("patients", "Analysed", ("Patients without a salvage line",), False),
    ("patients", "Analysed", ("OS analysable",), False),
    ("patients", "Analysed", ("Response-evaluable lines",), False),
    ("lines", "Analysed", ("PFS analysable lines",), False),
)


def attrition_states(rows: list[Mapping[str, Any]], k: int) -> dict[tuple[int, str], str]:
    """States of the counts of the attrition table (``step, patients, lines``)."""
    m = Margins(k)
    where: dict[tuple[str, str], tuple[int, str]] = {}
    for i, row in enumerate(rows):
        for col in ("patients", "lines"):
            if _declare(m, (str(row.get("step")), col), row.get(col)):
                where[(str(row.get("step")), col)] = (i, col)
    for col, total, parts, complete in ATTRITION_MARGINS:
        cells = [(p, col) for p in parts if (p, col) in m.values]
        if (total, col) not in m.values or not cells:
            continue
        if not complete:
            rest = (f"{total} - {'+'.join(parts)}", col)
            m.cell(rest, m.values[(total, col)] - sum(m.values[c] for c in cells), implicit=True)
            cells.append(rest)
        m.margin(cells, (total, col))
    states = m.solve()
    return {cell: states[key] for key, cell in where.items() if key in states}


def bars_states(lines: Any, counts: list[Any], k: int) -> dict[int, str]:
    """States of one row of response bars: counts per response group add up to the lines."""
    m = Margins(k)
    cells = [i for i, v in enumerate(counts) if _declare(m, i, v)]
    if _declare(m, "lines", lines) and cells:
        m.margin(cells, "lines")
    return m.solve()


# --- complementary suppression applied to results.json -------------------------------

_DEPTHS = (("orr", "orr"), ("vgpr", Col.VGPR_OR_BETTER), ("cr", Col.CR_OR_BETTER))

#: (total, part) pairs of a dictionary whose difference is an implicit cell.
PAIRS: tuple[tuple[str, str], ...] = (
    ("n", "events"),
    ("n", "observed"),
    ("patients", "tce_patients"),
    ("patients", "events"),
)


def _set(d: dict[str, Any], key: str, state: str | None) -> None:
    if key in d:
        d[key] = _shown_as(d[key], state)


def _block_lines(obj: Mapping[str, Any], orr: Mapping[str, Any]) -> tuple[str | None, Any]:
    """The key and value of the lines a response block is over: ``lines``, or for the
    first TCE line of each TCE patient (``tce``: ``patients`` of ``n`` beside ``orr``)
    the TCE patients, when they are the evaluable plus the not-evaluable lines."""
    if "lines" in obj:
        return "lines", obj["lines"]
    parts = [true_value(orr.get("n")), true_value(orr.get("not_evaluable"))]
    pats = true_value(obj.get("patients"))
    if "fraction" in obj and pats is not None and None not in parts and sum(parts) == pats:
        return "patients", obj["patients"]
    return None, None


def _response_block(obj: dict[str, Any], k: int) -> None:
    blocks = {role: obj[name] for role, name in _DEPTHS if isinstance(obj.get(name), dict)}
    orr = blocks["orr"]
    lines_key, lines = _block_lines(obj, orr)
    vals = {"lines": lines, "n": orr.get("n"), "ne": orr.get("not_evaluable")}
    vals |= {role: b.get("responders") for role, b in blocks.items()}
    states = response_states({n: v for n, v in vals.items() if v is not None}, k)
    if lines_key is not None:
        _set(obj, lines_key, states.get("lines"))
    # patients with an evaluable line: n when each patient has one line (lines =
    # patients), so with lines it gives the not-evaluable back; hidden with the margin
    margin_hidden = any(states.get(r, "shown") != "shown" for r in ("lines", "n", "ne"))
    for role, block in blocks.items():
        block = obj[dict(_DEPTHS)[role]] = dict(block)
        _set(block, "n", states.get("n"))
        _set(block, "not_evaluable", states.get("ne"))
        _set(block, "responders", states.get(role))
        if margin_hidden and _is_number(block.get("patients")):
            small = _small(true_value(block["patients"]), k)
            _set(block, "patients", marker(k) if small else SUPPRESSED)


def _single_response(obj: dict[str, Any], k: int) -> None:
    vals = {"n": obj.get("n"), "ne": obj.get("not_evaluable"), "orr": obj.get("responders")}
    states = response_states({n: v for n, v in vals.items() if v is not None}, k)
    for key, role in (("n", "n"), ("not_evaluable", "ne"), ("responders", "orr")):
        _set(obj, key, states.get(role))


def _pairs(obj: dict[str, Any], k: int) -> None:
    for total, part in PAIRS:
        if total in obj and part in obj and "responders" not in obj:
            states = pair_states(obj[total], obj[part], k)
            _set(obj, total, states.get("total"))
            _set(obj, part, states.get("part"))
    if "fraction" in obj and "patients" in obj and "n" in obj:  # TCE: patients of n
        states = pair_states(obj["n"], obj["patients"], k)
        _set(obj, "patients", states.get("part"))


def competing_states(n: Any, progressions: Any, deaths: Any, events: Any,
                     k: int) -> dict[str, str]:  # fmt: skip
    """States of the counts of a competing-risks block beside its PFS estimate.

    ``n`` lines end in a progression, a death without progression or a censoring
    (implicit); PFS events (``events``, may be ``None``) are progressions plus deaths
    without progression. Margins: ``n = progressions + deaths + censored``,
    ``n = events + censored`` and ``events = progressions + deaths``. ``n`` is printed
    beside both estimates (the lines of the first salvage line): never hidden. Keys:
    ``"n"``, ``"progressions"``, ``"deaths"``, ``"events"``.
    """
    m = Margins(k)
    if not all(_declare(m, key, v) for key, v in
               (("n", n), ("progressions", progressions), ("deaths", deaths))):  # fmt: skip
        return {}
    m.publish("n")
    parts = m.values["progressions"] + m.values["deaths"]
    m.cell("censored", m.values["n"] - parts, implicit=True)
    m.margin(["progressions", "deaths", "censored"], "n")
    if _declare(m, "events", events) and m.values["events"] == parts:
        m.margin(["events", "censored"], "n")
        m.margin(["progressions", "deaths"], "events")
    return m.solve()


def _competing(obj: dict[str, Any], k: int) -> None:
    """A competing-risks block (``competing_risks``) and its ``pfs`` beside it."""
    block, pfs = obj.get("competing_risks"), obj.get("pfs")
    if not isinstance(block, dict):
        return
    events = pfs.get("events") if isinstance(pfs, dict) else None
    states = competing_states(block.get("n"), block.get("progressions"),
                              block.get("deaths_without_progression"), events, k)  # fmt: skip
    block = obj["competing_risks"] = dict(block)
    _set(block, "progressions", states.get("progressions"))
    _set(block, "deaths_without_progression", states.get("deaths"))
    if isinstance(pfs, dict) and "events" in states:
        obj["pfs"] = dict(pfs)
        _set(obj["pfs"], "events", states.get("events"))


def survival_group_states(
    groups: Mapping[str, tuple[Any, Any]], totals: tuple[Any, Any], k: int
) -> dict[tuple[str, str], str]:
    """States of the sizes and events of groups that partition a survival estimate.

    ``groups``: label -> (n, events) (``Missing``: patients without a group, events
    unknown); ``totals``: the estimate's (n, events). Margins: the sizes add up to n,
    the events to the events (the Missing group's are an implicit cell), and in each
    group n = events + censored (implicit). Keys: ``(label, "n" | "events")`` and
    ``("", "n" | "events")`` for the totals. The total n is public (never hidden): a
    margin it pins is withheld whole (:class:`Margins`).
    """
    m = Margins(k)
    sizes, events = [], []
    for label, (n, ev) in groups.items():
        if not _declare(m, (label, "n"), n):
            continue
        sizes.append((label, "n"))
        if _declare(m, (label, "events"), ev):
            events.append((label, "events"))
            m.cell((label, "censored"), m.values[(label, "n")] - m.values[(label, "events")],
                   implicit=True)  # fmt: skip
            m.margin([(label, "events"), (label, "censored")], (label, "n"))

    if _declare(m, ("", "n"), totals[0]) and sizes:
        # n is printed beside the estimate and, for OS from progression, is the cohort
        # size of Table 1 and the attrition: a reader knows it, so it is never hidden
        m.publish(("", "n"))
        m.margin(sizes, ("", "n"))
    if _declare(m, ("", "events"), totals[1]) and events:
        rest = m.values[("", "events")] - sum(m.values[c] for c in events if c in m.values)
        if rest > 0:  # events of patients without a group: never printed
            m.cell(("", "events-rest"), rest, implicit=True)
            events.append(("", "events-rest"))
        m.margin(events, ("", "events"))
    return m.solve()


def _group_margins(obj: dict[str, Any], k: int) -> None:
    """Groups of a survival comparison (``<child>.groups.<g>``) partition ``obj``."""
    size_key = "n" if "n" in obj else "patients"
    for name, child in list(obj.items()):
        groups = child.get("groups") if isinstance(child, dict) else None
        if not isinstance(groups, dict) or not all(isinstance(g, dict) for g in groups.values()):
            continue
        parts = {str(g): (v.get("n"), v.get("events")) for g, v in groups.items()}
        if _is_number(child.get("missing_group")):
            parts[MISSING_LEVEL] = (child["missing_group"], None)
        states = survival_group_states(parts, (obj.get(size_key), obj.get("events")), k)
        _set(obj, size_key, states.get(("", "n")))
        _set(obj, "events", states.get(("", "events")))
        child = obj[name] = dict(child)
        child["groups"] = {g: dict(v) for g, v in groups.items()}
        for g, v in child["groups"].items():
            _set(v, "n", states.get((str(g), "n")))
            _set(v, "events", states.get((str(g), "events")))
        _set(child, "missing_group", states.get((MISSING_LEVEL, "n")))
        rank = child.get("logrank")
        if isinstance(rank, dict) and isinstance(rank.get("groups"), list):
            rows = [dict(r) if isinstance(r, dict) else r for r in rank["groups"]]
            for r in rows:
                if isinstance(r, dict):
                    _set(r, "n", states.get((str(r.get("group")), "n")))
                    _set(r, "observed", states.get((str(r.get("group")), "events")))
            child["logrank"] = rank | {"groups": rows}


def _bars(obj: dict[str, Any], k: int) -> None:
    rows = []
    for row in obj.get("rows", []):
        if isinstance(row, dict) and isinstance(row.get("counts"), list):
            states = bars_states(row.get("lines"), row["counts"], k)
            row = dict(row)
            row["counts"] = [_shown_as(v, states.get(i)) for i, v in enumerate(row["counts"])]
            _set(row, "lines", states.get("lines"))
        rows.append(row)
    obj["rows"] = rows


#: Sizes of the two levels of a binary model term (``[n at 0, n at 1]``), written by
#: :func:`aftercar.analysis.summaries.level_counts`: read here, never shared.
LEVEL_KEY = "level_n"


def _small_level(term: Any, k: int) -> bool:
    counts = term.get(LEVEL_KEY) if isinstance(term, Mapping) else None
    return isinstance(counts, list) and any(_small(true_value(c), k) for c in counts)


def sparse_terms(obj: Any, k: int) -> set[str]:
    """Names of the model terms in ``obj`` (any depth) with a level held by 1 to K-1
    patients or lines: their estimates are withheld (rule 4)."""
    if isinstance(obj, list):
        return set().union(set(), *(sparse_terms(v, k) for v in obj))
    if not isinstance(obj, Mapping):
        return set()
    own = {str(obj.get("term"))} if _small_level(obj, k) else set()
    return own.union(*(sparse_terms(v, k) for v in obj.values()))


def _model_terms(obj: dict[str, Any], k: int) -> None:
    """A Cox model's terms (and their proportional-hazards tests) with a level under K
    have every estimate withheld; the level sizes are dropped."""
    small = sparse_terms(obj["terms"], k)
    obj["terms"] = [
        _withhold_estimates({c: v for c, v in t.items() if c != LEVEL_KEY})
        if str(t.get("term")) in small else {c: v for c, v in t.items() if c != LEVEL_KEY}
        for t in obj["terms"] if isinstance(t, Mapping)
    ]  # fmt: skip
    ph = obj.get("ph_test")
    if small and isinstance(ph, dict) and isinstance(ph.get("terms"), list):
        obj["ph_test"] = ph | {"terms": [
            _withhold_estimates(t) if isinstance(t, Mapping) and str(t.get("term")) in small
            else t for t in ph["terms"]
        ]}  # fmt: skip
    named = {str(t.get("term")) for t in obj["terms"] if isinstance(t, Mapping)}
    if small and named <= small:  # every term withheld: the model's tests are theirs
        _withhold_model_tests(obj)


#: A Cox model's overall tests: with one term (or every term withheld) they are that
#: term's own tests (fuzzing round 4: a one-term model's Wald p was its withheld term's p,
#: its GLOBAL proportional-hazards test the term's).
MODEL_TESTS = ("wald_test", "score_test", "lr_test", "loglik", "concordance")


def _withhold_model_tests(obj: dict[str, Any]) -> None:
    for key in MODEL_TESTS:
        if key in obj:
            obj[key] = _withhold_estimates({key: obj[key]})[key]
    ph = obj.get("ph_test")
    if isinstance(ph, dict) and isinstance(ph.get("terms"), list):
        obj["ph_test"] = ph | {"terms": [_withhold_estimates(t) if isinstance(t, Mapping)
                                         else t for t in ph["terms"]]}  # fmt: skip


def _withhold_table_terms(tables: Mapping[str, pd.DataFrame],
                          small: set[str]) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Rows of model tables (a ``term`` column) whose term has a level under K: every
    estimate withheld, as in ``results.json``."""
    out = dict(tables)
    for name, df in tables.items():
        if "term" not in df.columns or not small:
            continue
        hit = df["term"].astype(str).isin(small).to_numpy(dtype=bool)
        if not hit.any():
            continue
        table = df.copy()
        for col in table.columns:
            if is_count_key(col) or str(col).lower() in STRUCTURAL_KEYS:
                continue
            values = table[col].astype(object)
            mask = hit & values.map(_is_estimate).to_numpy(dtype=bool)
            values[mask] = SUPPRESSED
            table[col] = values
        out[name] = table
    return out


def _complementary(obj: Mapping[Any, Any], k: int) -> dict[Any, Any]:
    """A copy of one dictionary with the secondary suppressions of the margins it holds."""
    out = dict(obj)
    if isinstance(out.get("orr"), dict) and "responders" in out["orr"]:
        _response_block(out, k)
    elif "responders" in out and "n" in out:
        _single_response(out, k)
    _pairs(out, k)
    _competing(out, k)
    if isinstance(out.get("terms"), list):
        _model_terms(out, k)
    if _is_number(out.get("n", out.get("patients"))):
        _group_margins(out, k)
    kind = out.get("kind")
    if kind == "kaplan-meier":
        out = km_json(out, k)
    elif kind == "response-bars":
        _bars(out, k)
    rows = out.get("rows")
    if isinstance(rows, list) and rows and isinstance(rows[0], Mapping) and _CHAR in rows[0]:
        _table1_wide_dict(out, k)
    if isinstance(out.get("steps"), list) and "analysis_exclusions" in out:
        out["steps"] = _records_with(out["steps"], attrition_states(out["steps"], k))
    return out


def _records_with(rows: list[Any], states: Mapping[tuple[int, str], str]) -> list[Any]:
    """Rows (dicts) with the given (row, column) cells shown in their state."""
    out = [dict(r) if isinstance(r, dict) else r for r in rows]
    for (i, col), state in states.items():
        out[i][col] = _shown_as(out[i][col], state)
    return out


# --- Kaplan-Meier figures -------------------------------------------------------------

#: Per-step counts of a curve: individual-level under disclosure control.
STEP_COUNT_KEYS = ("n_risk", "n_event", "n_censor")

#: Kept in the JSON form of a curve left out under disclosure control.
_GROUP_LABEL_KEYS = ("group", "n")


def _km_left_out_note(k: int, groups: list[str], ticks_dropped: int) -> str:
    """The note a Kaplan-Meier figure carries under disclosure control (short lines:
    it is drawn inside the axes)."""
    lines = []
    if groups:
        lines.append(f"{len(groups)} group(s) left out (under {k} patients, or protecting one)")
    if ticks_dropped:
        lines.append(f"numbers at risk only where they change by 0 or at least {k}")
    return "\n".join([f"Disclosure control (--suppress-below {k}):", *lines]) if lines else ""


def km_plan(
    curves: list[tuple[str, float, list[Any], list[Any], float, float]], k: int
) -> tuple[dict[str, str], list[int], str]:
    """Which curves of a Kaplan-Meier figure are drawn and which ticks keep their counts.

    ``curves``: ``(label, n, at_risk, cumulative_events, events, censored)``. Returns
    the labels left out with the state of their n (groups of fewer than K patients, or
    a group suppressed or withheld to protect one: the group sizes add up to the
    figure's patients, as in the comparison the figure draws), the tick indices kept
    (:func:`km_ticks`) and the note to show.
    """
    parts = {label: (n, events) for label, n, _, _, events, _ in curves}
    totals = (sum(p[0] for p in parts.values()), sum(p[1] for p in parts.values()))
    states = survival_group_states(parts, totals, k)
    out = {label: states.get((label, "n"), "shown") for label in parts}
    out = {label: state for label, state in out.items() if state != "shown"}
    drawn = [(n, risk, ev, e, c) for label, n, risk, ev, e, c in curves if label not in out]
    n_ticks = len(curves[0][2]) if curves else 0
    kept = km_ticks(drawn, k) if drawn else list(range(min(n_ticks, 1)))
    return out, kept, _km_left_out_note(k, sorted(out), n_ticks - len(kept))


def _curve_json_counts(group: Mapping[str, Any]) -> tuple[float, float]:
    def total(key: str) -> float:
        values = [true_value(v) for v in group.get(key) or []]
        return float(sum(v for v in values if v is not None))

    return total("n_event"), total("n_censor")


def _left_out(key: str, value: Any) -> Any:
    """A value of a curve left out: label, n and start kept, every series emptied."""
    if key in _GROUP_LABEL_KEYS or key == Col.START:
        return value
    if key == "median_months" and isinstance(value, list):
        return [SUPPRESSED for _ in value]
    return [] if isinstance(value, list) else SUPPRESSED


def km_json(fig: dict[str, Any], k: int) -> dict[str, Any]:
    """The JSON form of a Kaplan-Meier figure under disclosure control (:func:`km_plan`):
    curves left out keep their label and their n as the comparison shows it (``<K``,
    ``suppressed`` or ``withheld``); drawn curves lose their
    per-step counts; the at-risk and cumulative-event rows keep the kept ticks."""
    groups = [g for g in fig.get("groups", []) if isinstance(g, dict)]
    curves = [
        (str(g.get("group")), true_value(g.get("n")) or 0.0, list(g.get("at_risk") or []),
         list(g.get("events") or []), *_curve_json_counts(g))
        for g in groups
    ]  # fmt: skip
    out, kept, note = km_plan(curves, k)
    new_groups = []
    for g in groups:
        if str(g.get("group")) in out:
            hidden = {key: _left_out(key, v) for key, v in g.items()}
            _set(hidden, "n", out[str(g.get("group"))])  # as the comparison shows it
            new_groups.append(hidden)
            continue
        g = {key: ([] if key in STEP_COUNT_KEYS else v) for key, v in g.items()}
        for key in ("at_risk", "events"):
            if isinstance(g.get(key), list):
                g[key] = [g[key][i] for i in kept if i < len(g[key])]
        new_groups.append(g)
    ticks = fig.get("ticks") or []
    shared = fig | {"groups": new_groups, "ticks": [ticks[i] for i in kept if i < len(ticks)]}
    return shared | ({"disclosure_note": note} if note else {})


def shared_curve_figure(fig: CurveFigure, k: int) -> CurveFigure:
    """A Kaplan-Meier figure as drawn under disclosure control (:func:`km_plan`):
    curves left out, ticks of the at-risk table kept, the note added to the figure's
    annotation (with no curve left, the note is the whole annotation)."""
    curves = [
        (c.label, float(c.n), list(risk), list(ev), float(np.sum(c.n_event)),
         float(np.sum(c.n_censor)))
        for c, risk, ev in zip(fig.curves, fig.at_risk, fig.cumulative_events, strict=True)
    ]  # fmt: skip
    out, kept, note = km_plan(curves, k)
    rows = [
        (c, tuple(risk[i] for i in kept), tuple(ev[i] for i in kept))
        for c, risk, ev in zip(fig.curves, fig.at_risk, fig.cumulative_events, strict=True)
        if c.label not in out
    ]
    if not rows:  # nothing left to draw: the note says why
        empty: tuple = ()
        return replace(
            fig, curves=empty, ticks=empty, at_risk=empty, cumulative_events=empty, annotation=note
        )
    annotation = "\n".join(t for t in (fig.annotation, note) if t)
    return replace(
        fig,
        curves=tuple(r[0] for r in rows),
        ticks=tuple(fig.ticks[i] for i in kept),
        at_risk=tuple(r[1] for r in rows),
        cumulative_events=tuple(r[2] for r in rows),
        annotation=annotation,
    )


def shared_figures(data: ReportInput, k: int | None) -> ReportInput:
    """``data`` with its figures' data as shared under disclosure control.

    Kaplan-Meier figures: :func:`shared_curve_figure` (a figure with no curve left
    keeps the note as its annotation); the swimmer plot (one bar per patient) is
    left out. Counts printed on the other figures are suppressed where drawn.
    """
    if k is None:
        return data
    curves = {
        key: shared_curve_figure(fig, k) if fig.curves else fig
        for key, fig in data.figures.curves.items()
    }
    figures = replace(data.figures, curves=curves, swimmer=None)
    return replace(data, figures=figures)


# --- complementary suppression applied to tables ------------------------------------

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


# --- the report input as shared: quoted cells, counts in text, paths ------------------

#: Prefix of the notes that quote an input warning (they name rows and cell values).
INPUT_WARNING = "Input warning: "

#: Fields of an input problem that are shared under disclosure control (the message,
#: value and hint quote cell values, e.g. patient identifiers or dates).
SHARED_PROBLEM_FIELDS = ("file", "row", "column", "severity", "rule")

#: A count written in a sentence: "3 lines", "(2 lines, 2 events)", "16 events".
_COUNT_IN_TEXT = re.compile(
    r"(?<![\w.])(\d+)(\s+(?:patients?|lines?|events?|responders?|rows?|deaths?|"
    r"progressions?|groups?|censored|covariates?|levels?|clusters?|cases?|subjects?))\b"
)
_ABSOLUTE = re.compile(r"^(/|[A-Za-z]:[\\/]|\\\\)")


def suppress_text(text: str, k: int | None) -> str:
    """Counts written in a sentence (``"2 lines"``) from 1 to K-1 become ``"<K lines"``."""
    if k is None:
        return text

    def sub(hit: re.Match[str]) -> str:
        return (marker(k) if _small(int(hit.group(1)), k) else hit.group(1)) + hit.group(2)

    return _COUNT_IN_TEXT.sub(sub, text)


def without_paths(obj: Any) -> Any:
    """Absolute paths (``/...``, ``C:\\...``) anywhere in ``obj`` reduced to file names."""
    if isinstance(obj, str) and _ABSOLUTE.match(obj):
        return re.split(r"[\\/]", obj.rstrip("\\/"))[-1]
    if isinstance(obj, Mapping):
        return {key: without_paths(v) for key, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [without_paths(v) for v in obj]
    return obj


def _shared_warning_fields(block: Any) -> Any:
    if not (isinstance(block, dict) and isinstance(block.get("warnings"), list)):
        return block
    shared = [
        {f: w.get(f) for f in SHARED_PROBLEM_FIELDS} if isinstance(w, dict) else w
        for w in block["warnings"]
    ]
    return block | {"warnings": shared}


#: A word of a free text that could be an identifier (no spaces, slashes, brackets, quotes).
_WORD = re.compile(r"[^\s,;:/()\[\]'\"]+")
#: Table columns holding free text written by people (a regimen text and its unread words).
FREE_TEXT_COLUMNS: frozenset[str] = frozenset({Col.REGIMEN, "text", "unrecognized",
                                                "corrections"})  # fmt: skip


def _identifying(word: str, ids: frozenset[str]) -> bool:
    """``word`` is one of the cohort's ids, long or lettered enough not to be a dose or a
    count ("SYN-0000002", "P07", "10234"; not "2" of "x 2")."""
    for w in (word, word.rstrip(".")):
        if w in ids and (len(w) >= 4 or (len(w) >= 2 and not w.isdigit())):
            return True
    return False


def without_identifiers(text: str, ids: frozenset[str]) -> str:
    """Free text with the dates and the cohort's patient ids it cites replaced by
    ``[withheld]`` (fuzzing round 4: a regimen text "KPd started 2021-03-04 for
    SYN-0000002" reached the notes, the regimen table and the HTML under
    ``--suppress-below``)."""
    text = _DATE_TEXT.sub("[withheld]", text)
    if not ids:
        return text
    return _WORD.sub(lambda m: "[withheld]" if _identifying(m.group(0), ids) else m.group(0),
                     text)  # fmt: skip


def _free_text_withheld(table: pd.DataFrame, ids: frozenset[str]) -> pd.DataFrame:
    cols = [c for c in table.columns if c in FREE_TEXT_COLUMNS]
    if not cols:
        return table
    out = table.copy()
    for c in cols:
        out[c] = out[c].map(lambda v: without_identifiers(v, ids) if isinstance(v, str) else v)
    return out


def without_quoted_values(data: ReportInput, k: int | None) -> ReportInput:
    """Under disclosure control, notes and warnings that quote input cells are withheld,
    and the dates and patient ids a free text cites (:func:`without_identifiers`).

    Input warnings keep their file, row, column, rule and severity; their messages,
    values and hints (which quote identifiers and dates) are left out of
    ``results.json``, the notes, the appendix and ``warnings.txt``. Counts written
    in the remaining notes and warnings (``"2 lines"``) are suppressed like any
    count, and absolute paths in the results and provenance are reduced to file
    names. Model terms with a level held by fewer than K patients or lines have
    their estimates withheld in the tables as in ``results.json`` (:func:`sparse_terms`).
    """
    if k is None:
        return data
    quoted = [n for n in data.notes if n.startswith(INPUT_WARNING)]
    summary = (
        [f"{len(quoted)} input warning(s) not quoted under disclosure control (they name "
         "rows and cell values); results.json input.warnings lists their rules and rows."]
        if quoted else []
    )  # fmt: skip
    ids = data.identifiers
    notes = [without_identifiers(suppress_text(n, k), ids) for n in data.notes
             if not n.startswith(INPUT_WARNING)]  # fmt: skip
    notes += summary
    results = dict(data.results)
    if "input" in results:
        results["input"] = _shared_warning_fields(results["input"])
    if isinstance(results.get("notes"), list):
        results["notes"] = notes
    warnings = tuple(without_identifiers(suppress_text(w, k), ids) for w in data.warnings
                     if not w.startswith("input: "))  # fmt: skip
    tables = _withhold_table_terms(data.tables, sparse_terms(data.results, k))
    return replace(
        data,
        results=without_paths(results),
        tables={n: _free_text_withheld(t, ids) for n, t in tables.items()},
        notes=tuple(notes),
        warnings=warnings + tuple(summary),
        meta=without_paths(data.meta),
    )
