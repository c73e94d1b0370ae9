"""Validation rules of the curated cohort format, vectorised over whole columns.

Each rule has a stable id (``Problem.rule``), a default policy (``error``,
``warning`` or ``exclude``) and a fixed message and hint; :data:`RULES` lists
them and ``docs/data-format.md`` shows examples. Rules return *hits*: a
DataFrame with one row per offending cell (``table, pos, column, value, message,
hint, rule``) that :mod:`aftercar.io.cohort` turns into
:class:`~aftercar.errors.Problem` records or exclusions.

Date order (Van Oekelen et al. 2023 define time zero as the IMWG progression
after CAR T): ``birth_date <= car_t_date <= progression_date <= line start_date
<= line end_date``; a line's ``progression_date >= start_date``; ``death_date``
and ``last_followup_date`` on or after every other date of the patient, and
``last_followup_date <= death_date``.

References
----------
Van Oekelen O et al. Interventions and outcomes of patients with multiple myeloma
receiving salvage therapy after BCMA-directed CAR T therapy. Blood 2023;141:756-765.
Kumar S et al. Lancet Oncol 2016;17:e328-e346 (IMWG progression and response).
Rajkumar SV et al. Guidelines for determination of the number of prior lines of
therapy in multiple myeloma. Blood 2015;126:921-922 (lines of therapy).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: rule id -> (default policy, what it checks). Policies: error, warning, exclude.
RULES: dict[str, tuple[str, str]] = {
    "missing_path": ("error", "the cohort path does not exist"),
    "missing_file": ("error", "a folder lacks the patients or lines file"),
    "ambiguous_file": ("error", "several files could be the same table"),
    "missing_sheet": ("error", "a workbook lacks the patients or lines sheet"),
    "unreadable_file": ("error", "a file cannot be read (encoding, format)"),
    "unsupported_path": ("error", "the path is neither a folder nor a workbook"),
    "empty_file": ("error", "a table has no header row"),
    "missing_column": ("error", "a required column is missing"),
    "duplicate_column": ("error", "two headers name the same column"),
    "unnamed_column": ("warning", "a column has values but no header (ignored)"),
    "empty_cohort": ("error", "the patients table has no data rows"),
    "blank_row": ("exclude", "a row is completely empty"),
    "required_value": ("error", "a required cell is empty"),
    "date_ambiguous": ("error", "a date such as 03/04/2021 has no known day/month order"),
    "date_unparseable": ("error", "a cell of a date column is not a date"),
    "number_unparseable": ("error", "a cell of a number column is not a number"),
    "number_not_integer": ("error", "a whole number has a fraction"),
    "number_out_of_range": ("error", "a number is outside its allowed range"),
    "bool_unparseable": ("error", "a cell of a yes/no column is not yes/no"),
    "response_unparseable": ("error", "a response is not an IMWG category"),
    "stage_unparseable": ("error", "an ISS stage is not 1-3 / I-III"),
    "duplicate_patient": ("error", "a patient_id appears twice in patients"),
    "duplicate_line": ("error", "a (patient_id, line) pair appears twice in lines"),
    "unknown_patient": ("error", "a line names a patient_id absent from patients"),
    "line_sequence": ("error", "a patient's line numbers are not 1, 2, 3, ..."),
    "line_start_order": ("warning", "a line starts before the previous line"),
    "date_order": ("error", "two dates of a patient are in the wrong order"),
    "date_future": ("error", "a date is after today"),
    "age_mismatch": ("warning", "age_at_cart differs by > 1 year from birth_date to car_t_date"),
    "no_followup": ("error", "neither death_date nor last_followup_date is given"),
    "no_lines": ("warning", "a patient has no salvage line (kept; counts for OS)"),
}

DATE_HINT = "check both dates: {earlier} cannot be after {later}"


@dataclass(frozen=True)
class TableView:
    """A parsed table: typed canonical columns, raw text and the user's headers.

    ``df`` holds the canonical columns (typed), ``_pos`` (position in the raw
    table) and ``_row`` (spreadsheet row); ``text`` the raw cell text by canonical
    name; ``labels`` maps a canonical name to the header as the user wrote it.
    """

    name: str
    file: str
    df: pd.DataFrame
    text: pd.DataFrame
    labels: dict[str, str]

    def label(self, column: str) -> str:
        """The user's header for ``column`` (the canonical name when absent)."""
        return self.labels.get(column, column)


HIT_COLUMNS = ["table", "pos", "column", "value", "message", "hint", "rule"]
#: The hits of a rule that found nothing (shared; never modified).
NO_HITS = pd.DataFrame(columns=HIT_COLUMNS)


def hits(t: TableView, mask, column: str | None, message, hint, rule: str, value=None):
    """Build the hits of ``rule`` on the rows of ``t`` where ``mask`` is true."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return NO_HITS
    if value is None and column is not None and column in t.text:
        value = t.text[column]
    out = pd.DataFrame({"pos": t.df["_pos"].to_numpy()[mask]})
    out["table"] = t.name
    out["column"] = t.label(column) if column else None
    for key, item in (("value", value), ("message", message), ("hint", hint)):
        out[key] = item[mask].to_numpy() if isinstance(item, pd.Series) else item
    out["rule"] = rule
    return out[HIT_COLUMNS]


def isin(values: pd.Series, pool: pd.Series) -> np.ndarray:
    """Vectorised ``values.isin(pool)`` for string Series (null -> False).

    pandas 3 string ``isin`` converts the pool element by element in Python;
    Arrow's ``is_in`` is a hash lookup.
    """
    arr = pa.array(values.astype("string"), type=pa.string(), from_pandas=True)
    pool_arr = pa.array(pool.dropna().astype("string"), type=pa.string(), from_pandas=True)
    found = pc.is_in(arr, value_set=pool_arr.unique())
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def _iso(series: pd.Series) -> pd.Series:
    return series.dt.strftime("%Y-%m-%d").astype("string")


def _q(series: pd.Series) -> pd.Series:
    return "'" + series.astype("string") + "'"


def duplicate_patients(p: TableView) -> pd.DataFrame:
    """``duplicate_patient``: the same ``patient_id`` in two rows of patients."""
    ids = p.df["patient_id"]
    dup = (ids.duplicated(keep="first") & ids.notna()).to_numpy()
    if not dup.any():
        return NO_HITS
    first = p.df.groupby("patient_id", dropna=True)["_row"].transform("first")
    msg = "patient_id " + _q(ids) + " already appears in row " + first.astype("string")
    return hits(
        p,
        dup,
        "patient_id",
        msg,
        "give each patient exactly one row in the patients table; merge or renumber the duplicates",
        "duplicate_patient",
    )


def duplicate_lines(ln: TableView) -> pd.DataFrame:
    """``duplicate_line``: the same (``patient_id``, ``line``) in two rows of lines."""
    key = ["patient_id", "line"]
    known = ln.df[key].notna().all(axis=1)
    dup = (ln.df.duplicated(key, keep="first") & known).to_numpy()
    if not dup.any():
        return NO_HITS
    first = ln.df[known].groupby(key)["_row"].transform("first").reindex(ln.df.index)
    msg = (
        "line "
        + ln.df["line"].astype("string")
        + " of patient "
        + _q(ln.df["patient_id"])
        + " already appears in row "
        + first.astype("Int64").astype("string")
    )
    return hits(
        ln, dup, "line", msg, "number each patient's lines 1, 2, 3, ... once each", "duplicate_line"
    )


def unknown_patients(p: TableView, ln: TableView) -> pd.DataFrame:
    """``unknown_patient``: a line whose ``patient_id`` is not in the patients table."""
    ids = ln.df["patient_id"]
    bad = ids.notna().to_numpy() & ~isin(ids, p.df["patient_id"])
    msg = "patient_id " + _q(ids) + " is not in the patients table"
    return hits(
        ln,
        bad,
        "patient_id",
        msg,
        "add the patient to the patients table or correct the patient_id",
        "unknown_patient",
    )


def line_sequence(ln: TableView) -> pd.DataFrame:
    """``line_sequence``: each patient's lines must be numbered 1, 2, ..., n.

    One hit per patient, on the first row whose number breaks the sequence.
    """
    df = ln.df[ln.df[["patient_id", "line"]].notna().all(axis=1)]
    df = df.drop_duplicates(["patient_id", "line"]).sort_values(["patient_id", "line"])
    expected = df.groupby("patient_id").cumcount() + 1
    off = df[df["line"].to_numpy() != expected.to_numpy()]
    first = off.drop_duplicates("patient_id")
    if first.empty:
        return NO_HITS
    listed = df[isin(df["patient_id"], first["patient_id"])].groupby("patient_id")["line"]
    numbers = listed.agg(lambda s: ", ".join(s.astype(str)))
    counts = listed.size()
    pid = first["patient_id"]
    msg = (
        "lines of patient "
        + _q(pid)
        + " are numbered "
        + pid.map(numbers).astype("string")
        + "; expected 1 to "
        + pid.map(counts).astype("string")
        + " without gaps"
    )
    mask = ln.df.index.isin(first.index)
    return hits(
        ln,
        mask,
        "line",
        msg.reindex(ln.df.index),
        "number each patient's salvage "
        "lines consecutively from 1 (1 = first line after the CAR-T progression)",
        "line_sequence",
    )


def line_start_order(ln: TableView) -> pd.DataFrame:
    """``line_start_order`` (warning): line k starts before line k-1 of the same patient."""
    df = ln.df.sort_values(["patient_id", "line"])
    prev = df.groupby("patient_id")["start_date"].shift(1)
    bad = (df["start_date"] < prev).fillna(False).reindex(ln.df.index).to_numpy(dtype=bool)
    if not bad.any():
        return NO_HITS
    prev = prev.reindex(ln.df.index)
    msg = (
        "start_date (" + _iso(ln.df["start_date"]) + ") is before the start of the "
        "previous line (" + _iso(prev) + ")"
    )
    return hits(
        ln,
        bad,
        "start_date",
        msg,
        "check the line numbers and start dates: lines are numbered in the order they started",
        "line_start_order",
    )


def pair_order(t: TableView, earlier: str, later: str) -> pd.DataFrame:
    """``date_order`` within one row: ``earlier`` must not be after ``later``."""
    a, b = t.df[earlier], t.df[later]
    bad = (a > b).fillna(False).to_numpy(dtype=bool)
    if not bad.any():
        return NO_HITS
    msg = f"{later} (" + _iso(b) + f") is before {earlier} (" + _iso(a) + ")"
    return hits(t, bad, later, msg, DATE_HINT.format(earlier=earlier, later=later), "date_order")


def _patient_dates(p: TableView, ln: TableView) -> pd.DataFrame:
    """The patient's dates and row beside each line (one merge for all checks)."""
    cols = ["patient_id", "progression_date", "death_date", "last_followup_date", "_row"]
    first = p.df.drop_duplicates("patient_id")[cols]
    merged = ln.df[["patient_id"]].merge(first, on="patient_id", how="left")
    return merged.set_index(ln.df.index)


def cross_order(
    p: TableView, ln: TableView, pdates: pd.DataFrame, pcol: str, lcol: str, *, line_first: bool
) -> pd.DataFrame:
    """``date_order`` between a line and its patient (reported on the line's row)."""
    pv, lv = pdates[pcol], ln.df[lcol]
    bad = ((lv > pv) if line_first else (lv < pv)).fillna(False).to_numpy(dtype=bool)
    if not bad.any():
        return NO_HITS
    where = f", {p.file} row " + pdates["_row"].astype("Int64").astype("string") + ")"
    word = "after" if line_first else "before"
    msg = f"{lcol} (" + _iso(lv) + f") is {word} the patient's {pcol} (" + _iso(pv) + where
    earlier, later = (lcol, pcol) if line_first else (pcol, lcol)
    hint = DATE_HINT.format(
        earlier=f"the line's {earlier}" if line_first else earlier,
        later=later if line_first else f"the line's {later}",
    )
    return hits(ln, bad, lcol, msg, hint, "date_order")


def date_order(p: TableView, ln: TableView) -> list[pd.DataFrame]:
    """All ``date_order`` checks within patients, within lines and between them."""
    out = [
        pair_order(p, a, b)
        for a, b in (("birth_date", "car_t_date"), ("car_t_date", "progression_date"))
    ]
    for end in ("death_date", "last_followup_date"):
        out += [pair_order(p, a, end) for a in ("birth_date", "car_t_date", "progression_date")]
    out.append(pair_order(p, "last_followup_date", "death_date"))
    out += [pair_order(ln, "start_date", b) for b in ("end_date", "progression_date")]
    pdates = _patient_dates(p, ln)
    out.append(cross_order(p, ln, pdates, "progression_date", "start_date", line_first=False))
    for pcol in ("death_date", "last_followup_date"):
        out += [
            cross_order(p, ln, pdates, pcol, lcol, line_first=True)
            for lcol in ("start_date", "end_date", "progression_date")
        ]
    return out


def future_dates(t: TableView, date_columns: list[str], today: dt.date) -> list[pd.DataFrame]:
    """``date_future``: any date after ``today``."""
    limit = pd.Timestamp(today)
    out = []
    for col in date_columns:
        bad = (t.df[col] > limit).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            out.append(
                hits(
                    t,
                    bad,
                    col,
                    f"{col} is in the future (after {today.isoformat()})",
                    "check the year and the day/month order",
                    "date_future",
                )
            )
    return out


def age_mismatch(p: TableView) -> pd.DataFrame:
    """``age_mismatch`` (warning): given ``age_at_cart`` vs ``birth_date``/``car_t_date``.

    Age in years = days / 365.25; more than one year apart is reported.
    """
    derived = (p.df["car_t_date"] - p.df["birth_date"]).dt.days / 365.25
    bad = ((p.df["age_at_cart"] - derived).abs() > 1).fillna(False).to_numpy(dtype=bool)
    if not bad.any():
        return NO_HITS
    msg = (
        "age_at_cart differs from the age computed from birth_date and car_t_date ("
        + derived.round(1).astype("string")
        + ")"
    )
    return hits(
        p, bad, "age_at_cart", msg, "check age_at_cart, birth_date and car_t_date", "age_mismatch"
    )


def no_followup(p: TableView) -> pd.DataFrame:
    """``no_followup``: a patient with neither ``death_date`` nor ``last_followup_date``."""
    bad = (p.df["death_date"].isna() & p.df["last_followup_date"].isna()).to_numpy()
    col = "last_followup_date" if "last_followup_date" in p.labels else "death_date"
    return hits(
        p,
        bad,
        col,
        "neither death_date nor last_followup_date is given",
        "enter the date of death, or the date the patient was last known alive in "
        "last_followup_date",
        "no_followup",
        value=pd.Series([None] * len(p.df)),
    )


def no_lines(p: TableView, ln: TableView) -> pd.DataFrame:
    """``no_lines`` (warning): a patient without any salvage line; kept for OS."""
    ids = p.df["patient_id"]
    bad = ids.notna().to_numpy() & ~isin(ids, ln.df["patient_id"])
    return hits(
        p,
        bad,
        "patient_id",
        "patient has no salvage line in the lines table",
        "nothing to do if no treatment followed the progression: the patient is "
        "kept and counts for overall survival",
        "no_lines",
    )


def rules_markdown() -> str:
    """Render :data:`RULES` as the Markdown table used in ``docs/data-format.md``."""
    out = ["| rule | default | what it checks |", "|---|---|---|"]
    out += [f"| `{rule}` | {policy} | {what} |" for rule, (policy, what) in RULES.items()]
    return "\n".join(out)
