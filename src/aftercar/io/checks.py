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

Plausibility (:class:`Plausibility`, bounds configurable): no date after today
(``date_future``) or, but for ``birth_date``, before 1990-01-01, and no Excel
empty-cell date such as 1899-12-30 (``date_too_early``); an age at CAR T of 18 to
100 years (``age_implausible``). Cells found implausible are masked before the
order rules run, so one bad cell gives one problem.

The row rules group and join on integer patient codes (:func:`patient_codes`)
and one sort of the lines (:class:`LineOrder`), with numpy: no Python loop over
rows and no repeated hashing of the id text.

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
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.schema import Col

#: rule id -> (default policy, what it checks). Policies: error, warning, exclude.
RULES: dict[str, tuple[str, str]] = {
    "missing_path": ("error", "the cohort path does not exist"),
    "missing_file": ("error", "a folder lacks the patients or lines file"),
    "ambiguous_file": ("error", "several files could be the same table"),
    "missing_sheet": ("error", "a workbook lacks the patients or lines sheet"),
    "unreadable_file": ("error", "a file cannot be read (encoding, format; a stray NUL "
                        "character, named by its line; merged cells in a workbook sheet, "
                        "named by their range, since only a range's first cell holds its "
                        "value)"),
    "unsupported_path": ("error", "the path is neither a folder nor a workbook"),
    "empty_file": ("error", "a table has no header row"),
    "missing_column": ("error", "a required column is missing"),
    "duplicate_column": ("error", "two headers name the same column"),
    "repeated_header": ("error", "a data row repeats the header row (pasted exports)"),
    "mixed_separators": ("error", "the header row and the rows use different separators"),
    "unnamed_column": ("warning", "a column has values but no header (ignored)"),
    "derived_column": ("warning", "a column named like one aftercar computes (os_months, "
                       "n_lines) or one of the other table is not read"),
    "empty_cohort": ("error", "the patients table has no data rows"),
    "blank_row": ("exclude", "a row is completely empty"),
    "required_value": ("error", "a required cell is empty"),
    "formula_no_value": ("error", "a workbook formula has no saved result (it reads as empty)"),
    "date_ambiguous": ("error", "a date such as 03/04/2021 has no known day/month order"),
    "date_order_inferred": (
        "warning",
        "the day/month order of a date column was inferred from its own values",
    ),
    "date_format_mismatch": ("error", "a --date-format fits some but not all dates of a column"),
    "date_unparseable": ("error", "a cell of a date column is not a date"),
    "date_excel_serial": ("warning", "a date is an Excel serial number in a number cell"),
    "number_unparseable": ("error", "a cell of a number column is not a number"),
    "number_not_integer": ("error", "a whole number has a fraction"),
    "number_out_of_range": ("error", "a number is outside its allowed range"),
    "bool_unparseable": ("error", "a cell of a yes/no column is not yes/no"),
    "response_unparseable": ("error", "a response is not an IMWG category"),
    "stage_unparseable": ("error", "an ISS stage is not 1-3 / I-III"),
    "duplicate_patient": ("error", "a patient_id appears twice in patients"),
    "patient_id_variant": (
        "warning",
        "two patient_ids differ only in letter case, spaces, invisible characters or a dash "
        "look-alike (kept as two patients)",
    ),
    "site_variant": (
        "warning",
        "two site names differ only in letter case, spaces, invisible characters or a dash "
        "look-alike (kept as two sites)",
    ),
    "duplicate_line": ("error", "a (patient_id, line) pair appears twice in lines"),
    "unknown_patient": ("error", "a line names a patient_id absent from patients"),
    "line_sequence": ("error", "a patient's line numbers are not 1, 2, 3, ..."),
    "line_start_order": ("warning", "a line starts before the previous line"),
    "date_order": ("error", "two dates of a patient are in the wrong order"),
    "date_future": ("error", "a date is after today"),
    "date_too_early": (
        "error",
        "a date is before 1990-01-01 or is Excel's empty-cell date (1899-12-30, 1900-01-01)",
    ),
    "age_implausible": ("error", "the age at CAR T is outside 18 to 100 years"),
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
    flagged: Mapping[str, np.ndarray] = field(default_factory=dict)

    def label(self, column: str) -> str:
        """The user's header for ``column`` (the canonical name when absent)."""
        return self.labels.get(column, column)

    def flagged_cells(self, column: str) -> np.ndarray:
        """Cells of ``column`` already reported as unreadable (formulas without a result)."""
        return self.flagged.get(column, np.zeros(len(self.df), dtype=bool))

    def subset(self, keep: np.ndarray) -> TableView:
        """The rows where ``keep`` is true."""
        flagged = {c: m[keep] for c, m in self.flagged.items()}
        return TableView(self.name, self.file, self.df[keep], self.text[keep], self.labels, flagged)

    def masked(self, masks: Mapping[str, np.ndarray]) -> TableView:
        """A copy whose ``df`` has ``NaT``/``<NA>`` in the cells ``masks`` marks per column.

        Used so that a cell already reported (e.g. an implausible date) does not
        produce a second, derived problem (e.g. a date order) in later rules.
        """
        df = self.df.assign(**{c: self.df[c].mask(m) for c, m in masks.items() if m.any()})
        return TableView(self.name, self.file, df, self.text, self.labels, self.flagged)


HIT_COLUMNS = ["table", "pos", "column", "value", "message", "hint", "rule"]
#: The hits of a rule that found nothing (shared; never modified).
NO_HITS = pd.DataFrame(columns=HIT_COLUMNS)


def hits(t: TableView, mask, column: str | None, message, hint, rule: str, value=None):
    """Build the hits of ``rule`` on the rows of ``t`` where ``mask`` is true.

    ``value``, ``message`` and ``hint`` are one text for every hit, or a Series
    with one text per row of ``t`` or per hit (the rows where ``mask`` is true,
    in order): rules build messages for their hits only, not for every row.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return NO_HITS
    if value is None and column is not None and column in t.text:
        value = t.text[column]
    out = pd.DataFrame({"pos": t.df["_pos"].to_numpy()[mask]})
    out["table"] = t.name
    out["column"] = t.label(column) if column else None
    for key, item in (("value", value), ("message", message), ("hint", hint)):
        if isinstance(item, pd.Series):
            item = item[mask] if len(item) == len(mask) else item
            out[key] = item.to_numpy(dtype=object)
        else:
            out[key] = item
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


def patient_codes(patients: pd.Series, lines: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """One integer per ``patient_id`` shared by both tables (-1 for an empty id).

    The row rules group, sort and join on these codes (numpy) instead of hashing
    the id text again in every rule.
    """
    both = pa.chunked_array(
        [pa.array(s.array, type=pa.large_string(), from_pandas=True) for s in (patients, lines)]
    ).combine_chunks()
    encoded = pc.dictionary_encode(both)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes[: len(patients)], codes[len(patients) :]


def _iso(series: pd.Series) -> pd.Series:
    return series.dt.strftime("%Y-%m-%d").astype("string")


def _q(series: pd.Series) -> pd.Series:
    return "'" + series.astype("string") + "'"


def _first_rows(codes: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    """Per code, the spreadsheet row of its first occurrence (-1 if none)."""
    first = np.full(size + 1, -1, dtype=np.int64)
    known = np.flatnonzero(codes >= 0)[::-1]  # reversed: the first occurrence is written last
    first[codes[known]] = rows[known]
    return first


def duplicate_patients(p: TableView) -> pd.DataFrame:
    """``duplicate_patient``: the same ``patient_id`` in two rows of patients."""
    pid = p.df["_pid"].to_numpy()
    dup = (pid >= 0) & pd.Series(pid).duplicated(keep="first").to_numpy()
    if not dup.any():
        return NO_HITS
    first = _first_rows(pid, p.df["_row"].to_numpy(), int(pid.max()))[pid[dup]]
    sub = p.df[dup]
    msg = "patient_id " + _q(sub[Col.PATIENT_ID]) + " already appears in row " + first.astype(str)
    return hits(
        p,
        dup,
        Col.PATIENT_ID,
        msg,
        "give each patient exactly one row in the patients table; merge or renumber the duplicates",
        "duplicate_patient",
    )


#: Unicode format characters (category Cf) that do not show: soft hyphen, zero-width
#: space/joiners, direction marks, word joiner, byte-order mark.
_INVISIBLE = "[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
#: Characters that look like "-" (hyphens, dashes, the minus sign, full-width hyphen).
_DASHES = "[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]"


def _variant_key(text: pd.Series) -> pd.Series:
    """``text`` without invisible characters, dash look-alikes, spaces, letter case and
    Unicode form differences: equal keys are most likely one value written twice."""
    key = text.str.replace(_INVISIBLE, "", regex=True).str.normalize("NFKC")
    key = key.str.replace(_DASHES, "-", regex=True)
    return key.str.replace(r"\s+", "", regex=True).str.casefold()


def site_variants(p: TableView) -> pd.DataFrame:
    """``site_variant``: the first row of a ``site`` name equal to an earlier name but for
    letter case, spaces, invisible characters or a dash look-alike ("a" after "A"): the
    sites are kept apart (Table 1, the strata by site), so the warning says so (fuzz round
    8, session 27: "A" and "a" were two Table 1 groups in silence)."""
    if Col.SITE not in p.df.columns:
        return NO_HITS
    site = p.df[Col.SITE].astype("string")
    key = _variant_key(site)
    usual = site.groupby(key.to_numpy()).transform("first")
    known = key.notna().to_numpy() & (key != "").fillna(False).to_numpy()
    bad = known & ~site.duplicated(keep="first").to_numpy() & (site != usual).fillna(False)
    if not bad.any():
        return NO_HITS
    msg = ("site " + _q(site) + " differs from " + _q(usual) + " only in letter case, spaces, "
           "invisible characters or a dash look-alike: the two are counted as two sites")
    hint = "write one site's name the same way in every row; if they are two sites, keep both"
    return hits(p, np.asarray(bad), Col.SITE, msg, hint, "site_variant")


def patient_id_variants(p: TableView) -> pd.DataFrame:
    """``patient_id_variant``: a ``patient_id`` equal to an earlier row's but for letter case,
    spaces, invisible characters, a dash look-alike or its Unicode form (``' syn-01'``
    after ``'SYN-01'``; a zero-width space, soft hyphen or byte-order mark; U+2010 for "-";
    fuzzing round 3, F08: such a copy was a second patient; "é" as one character or as
    "e" + accent, full-width letters: Unicode NFKC): most likely one patient written twice."""
    pid = p.df[Col.PATIENT_ID].astype("string")
    key = _variant_key(pid)
    known = key.notna().to_numpy() & (key != "").fillna(False).to_numpy()
    first = pd.Series(p.df["_row"].to_numpy()).groupby(key.to_numpy()).transform("first")
    seen = key.duplicated(keep="first").to_numpy() & ~pid.duplicated(keep="first").to_numpy()
    bad = known & seen
    if not bad.any():
        return NO_HITS
    first_pid = pid.groupby(key.to_numpy()).transform("first")
    msg = ("patient_id " + _q(pid) + " differs from " + _q(first_pid) + " (row "
           + first.astype(str).to_numpy() + ") only in letter case, spaces, invisible "
           "characters, a dash look-alike or its letters' encoding (Unicode form)")  # fmt: skip
    hint = ("write one patient's id the same way everywhere; if they are two patients, give "
            "distinct ids")  # fmt: skip
    return hits(p, bad, Col.PATIENT_ID, msg, hint, "patient_id_variant")


def _line_keys(ln: TableView) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(patient code, line number, known)``: known = both present."""
    pid = ln.df["_pid"].to_numpy()
    line = ln.df[Col.LINE].to_numpy(dtype=np.float64, na_value=np.nan)
    known = (pid >= 0) & ~np.isnan(line)
    return pid, np.where(known, line, np.inf), known


@dataclass(frozen=True)
class LineOrder:
    """Rows of lines with a known (patient, line), sorted by both, stably.

    ``order`` holds row positions; ``pid``/``line`` the sorted keys; ``start``
    marks each patient's first row; ``repeat`` a row whose (patient, line) equals
    the previous one (a later duplicate, as the sort is stable).
    """

    order: np.ndarray
    pid: np.ndarray
    line: np.ndarray
    start: np.ndarray
    repeat: np.ndarray

    @classmethod
    def of(cls, ln: TableView) -> LineOrder:
        """Sort the lines of ``ln`` (one numpy lexsort shared by the line rules)."""
        pid, line, known = _line_keys(ln)
        rows = np.flatnonzero(known)
        kp, kl = pid[rows], line[rows]
        step_p, step_l = np.diff(kp), np.diff(kl)
        ordered = bool(((step_p > 0) | ((step_p == 0) & (step_l >= 0))).all())
        order = rows if ordered else rows[np.lexsort((kl, kp))]  # files are usually sorted
        spid, sline = pid[order], line[order]
        start = np.ones(len(order), dtype=bool)
        start[1:] = spid[1:] != spid[:-1]
        repeat = np.zeros(len(order), dtype=bool)
        repeat[1:] = ~start[1:] & (sline[1:] == sline[:-1])
        return cls(order, spid, sline, start, repeat)


def duplicate_lines(ln: TableView, order: LineOrder | None = None) -> pd.DataFrame:
    """``duplicate_line``: the same (``patient_id``, ``line``) in two rows of lines."""
    order = LineOrder.of(ln) if order is None else order
    if not order.repeat.any():
        return NO_HITS
    idx = np.arange(len(order.order))
    group = np.maximum.accumulate(np.where(~order.repeat, idx, 0))  # first row of each run
    dpos = order.order[order.repeat]
    sorter = np.argsort(dpos)
    firsts = ln.df["_row"].to_numpy()[order.order[group[order.repeat]]][sorter]
    dup = np.zeros(len(ln.df), dtype=bool)
    dup[dpos] = True
    sub = ln.df.iloc[dpos[sorter]]
    msg = (
        "line "
        + sub[Col.LINE].astype("string")
        + " of patient "
        + _q(sub[Col.PATIENT_ID])
        + " already appears in row "
        + pd.Series(firsts.astype(str), index=sub.index, dtype="string")
    )
    return hits(
        ln,
        dup,
        Col.LINE,
        msg,
        "number each patient's lines 1, 2, 3, ... once each",
        "duplicate_line",
    )


def unknown_patients(p: TableView, ln: TableView) -> pd.DataFrame:
    """``unknown_patient``: a line whose ``patient_id`` is not in the patients table."""
    ppid, lpid = p.df["_pid"].to_numpy(), ln.df["_pid"].to_numpy()
    present = np.zeros(max(int(ppid.max(initial=-1)), int(lpid.max(initial=-1))) + 2, bool)
    present[ppid[ppid >= 0]] = True
    bad = (lpid >= 0) & ~present[lpid]
    if not bad.any():
        return NO_HITS
    ids = ln.df[Col.PATIENT_ID][bad].astype("string")
    hidden = ids.str.extract(f"({_INVISIBLE})", expand=False)
    note = hidden.map(lambda c: "" if pd.isna(c) else
                      f" (it holds an invisible character, U+{ord(c):04X})")  # fmt: skip
    known = set(p.df[Col.PATIENT_ID].astype("string").dropna().str.normalize("NFKC"))
    folded = ids.str.normalize("NFKC")
    form = folded.isin(known) & hidden.isna()  # not the id as written: that is unknown
    note = note.mask(form.fillna(False), " (it equals a patient's id but for how its letters are "
                     "encoded: Unicode NFC/NFKC form, e.g. 'é' as 'e' + accent)")  # fmt: skip
    msg = "patient_id " + _q(ln.df[Col.PATIENT_ID][bad]) + " is not in the patients table"
    msg = msg + note.fillna("").to_numpy(dtype=object)
    return hits(
        ln,
        bad,
        Col.PATIENT_ID,
        msg,
        "add the patient to the patients table or correct the patient_id",
        "unknown_patient",
    )


def line_sequence(ln: TableView, order: LineOrder | None = None) -> pd.DataFrame:
    """``line_sequence``: each patient's lines must be numbered 1, 2, ..., n.

    One hit per patient, on the first row whose number breaks the sequence
    (repeated numbers count once; they are ``duplicate_line`` problems).
    """
    order = LineOrder.of(ln) if order is None else order
    keep = ~order.repeat
    rows, spid, sline, start = (
        order.order[keep],
        order.pid[keep],
        order.line[keep],
        order.start[keep],
    )
    idx = np.arange(len(rows))
    expected = idx - np.maximum.accumulate(np.where(start, idx, 0)) + 1
    off = sline != expected
    if not off.any():
        return NO_HITS
    offenders, first = np.unique(spid[off], return_index=True)
    first_off = rows[off][first]
    listed = pd.DataFrame({"p": spid, "l": sline.astype(np.int64)})
    listed = listed[np.isin(spid, offenders)].groupby("p")["l"]
    numbers = listed.agg(lambda s: ", ".join(s.astype(str)))
    counts = listed.size()
    sub = ln.df.iloc[np.sort(first_off)]
    code = sub["_pid"]
    msg = (
        "lines of patient "
        + _q(sub[Col.PATIENT_ID])
        + " are numbered "
        + code.map(numbers).astype("string")
        + "; expected 1 to "
        + code.map(counts).astype("string")
        + " without gaps"
    )
    mask = np.zeros(len(ln.df), dtype=bool)
    mask[first_off] = True
    return hits(
        ln,
        mask,
        Col.LINE,
        msg,
        "number each patient's salvage "
        "lines consecutively from 1 (1 = first line after the CAR-T progression)",
        "line_sequence",
    )


def line_start_order(ln: TableView, order: LineOrder | None = None) -> pd.DataFrame:
    """``line_start_order`` (warning): line k starts before line k-1 of the same patient."""
    order = LineOrder.of(ln) if order is None else order
    dates = ln.df[Col.START_DATE].to_numpy(dtype="datetime64[us]")[order.order]
    prev = np.concatenate([np.array(["NaT"], dtype="datetime64[us]"), dates[:-1]])
    prev[order.start] = np.datetime64("NaT", "us")
    later = dates < prev
    if not later.any():
        return NO_HITS
    bad = np.zeros(len(ln.df), dtype=bool)
    bad[order.order[later]] = True
    before = np.zeros(len(ln.df), dtype="datetime64[us]")
    before[order.order[later]] = prev[later]
    msg = (
        "start_date (" + _iso(ln.df[Col.START_DATE][bad]) + ") is before the start of the "
        "previous line (" + _iso(pd.Series(before[bad])).to_numpy() + ")"
    )
    return hits(
        ln,
        bad,
        Col.START_DATE,
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
    msg = f"{later} (" + _iso(b[bad]) + f") is before {earlier} (" + _iso(a[bad]) + ")"
    return hits(t, bad, later, msg, DATE_HINT.format(earlier=earlier, later=later), "date_order")


def _patient_dates(p: TableView, ln: TableView) -> pd.DataFrame:
    """The patient's dates and row beside each line (the patient's first row)."""
    ppid, lpid = p.df["_pid"].to_numpy(), ln.df["_pid"].to_numpy()
    size = max(int(ppid.max(initial=-1)), int(lpid.max(initial=-1))) + 1
    where = np.full(size + 1, -1, dtype=np.int64)
    known = np.flatnonzero(ppid >= 0)[::-1]
    where[ppid[known]] = known
    pos = where[lpid]
    out = {}
    for col in (Col.PROGRESSION_DATE, Col.DEATH_DATE, Col.LAST_FOLLOWUP_DATE):
        values = np.append(p.df[col].to_numpy(dtype="datetime64[us]"), np.datetime64("NaT"))
        out[col] = values[pos]
    out["_row"] = pd.array(np.append(p.df["_row"].to_numpy(), -1)[pos], dtype="Int64")
    frame = pd.DataFrame(out, index=ln.df.index)
    frame.loc[pos < 0, "_row"] = pd.NA
    return frame


def cross_order(
    p: TableView, ln: TableView, pdates: pd.DataFrame, pcol: str, lcol: str, *, line_first: bool
) -> pd.DataFrame:
    """``date_order`` between a line and its patient (reported on the line's row)."""
    pv, lv = pdates[pcol], ln.df[lcol]
    bad = ((lv > pv) if line_first else (lv < pv)).fillna(False).to_numpy(dtype=bool)
    if not bad.any():
        return NO_HITS
    where = f", {p.file} row " + pdates["_row"][bad].astype("string") + ")"
    word = "after" if line_first else "before"
    msg = (
        f"{lcol} (" + _iso(lv[bad]) + f") is {word} the patient's {pcol} (" + _iso(pv[bad]) + where
    )
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
        for a, b in ((Col.BIRTH_DATE, Col.CAR_T_DATE), (Col.CAR_T_DATE, Col.PROGRESSION_DATE))
    ]
    for end in (Col.DEATH_DATE, Col.LAST_FOLLOWUP_DATE):
        out += [
            pair_order(p, a, end) for a in (Col.BIRTH_DATE, Col.CAR_T_DATE, Col.PROGRESSION_DATE)
        ]
    out.append(pair_order(p, Col.LAST_FOLLOWUP_DATE, Col.DEATH_DATE))
    out += [pair_order(ln, Col.START_DATE, b) for b in (Col.END_DATE, Col.PROGRESSION_DATE)]
    pdates = _patient_dates(p, ln)
    out.append(cross_order(p, ln, pdates, Col.PROGRESSION_DATE, Col.START_DATE, line_first=False))
    for pcol in (Col.DEATH_DATE, Col.LAST_FOLLOWUP_DATE):
        out += [
            cross_order(p, ln, pdates, pcol, lcol, line_first=True)
            for lcol in (Col.START_DATE, Col.END_DATE, Col.PROGRESSION_DATE)
        ]
    return out


@dataclass(frozen=True)
class Plausibility:
    """Bounds of plausible dates and ages (rules ``date_future``, ``date_too_early``,
    ``age_implausible``).

    Attributes
    ----------
    today
        Dates after it are in the future (``date_future``).
    earliest
        Dates before it are refused (``date_too_early``; default 1990-01-01, before
        any CAR-T therapy). ``birth_date`` is exempt; it is checked through the age.
    min_age, max_age
        Plausible age at CAR T in years (days / 365.25; default 18 to 100).
    """

    today: dt.date
    earliest: dt.date = dt.date(1990, 1, 1)
    min_age: float = 18.0
    max_age: float = 100.0

    def window(self, column: str) -> tuple[dt.date, dt.date]:
        """Dates an Excel serial may mean in ``column`` (inclusive)."""
        return (EXCEL_FIRST if column == Col.BIRTH_DATE else self.earliest, self.today)


#: The first date of Excel's 1900 date system after its fictitious 1900-02-29.
EXCEL_FIRST = dt.date(1900, 3, 1)
#: What Excel shows for an empty or zero date cell (1900 and 1904 date systems).
EXCEL_ZERO_DATES = ("1899-12-30", "1899-12-31", "1900-01-01", "1904-01-01")
ZERO_DATE_HINT = (
    "1899-12-30 / 1900-01-01 is what Excel shows for an empty or zero date cell (e.g. a "
    "formula or a link that returned 0): enter the real date or leave the cell empty"
)


def _too_early(t: TableView, col: str, limits: Plausibility) -> tuple[pd.DataFrame, np.ndarray]:
    values = t.df[col]
    zero = values.isin(pd.to_datetime(list(EXCEL_ZERO_DATES))).to_numpy(dtype=bool)
    early = (
        zero if col == Col.BIRTH_DATE else (values < pd.Timestamp(limits.earliest)).fillna(False)
    )
    early = np.asarray(early, dtype=bool)
    if not early.any():
        return NO_HITS, early
    iso = _iso(values)
    message = (f"{col} (" + iso + ") ").where(
        ~zero, f"{col} (" + iso + ") is the date Excel shows for an empty or zero cell"
    )
    message = message.where(zero, message + f"is before {limits.earliest.isoformat()}")
    hint = pd.Series(
        np.where(
            zero,
            ZERO_DATE_HINT,
            f"check the year; dates before {limits.earliest.isoformat()} are not plausible "
            "here (the limit is the earliest_date setting)",
        ),
        index=values.index,
    )
    return hits(t, early, col, message, hint, "date_too_early"), early


def date_bounds(
    t: TableView, date_columns: list[str], limits: Plausibility
) -> tuple[list[pd.DataFrame], dict[str, np.ndarray]]:
    """``date_future`` (after today) and ``date_too_early``; also the cells they hit."""
    out, masks = [], {}
    for col in date_columns:
        found, early = _too_early(t, col, limits)
        future = (t.df[col] > pd.Timestamp(limits.today)).fillna(False).to_numpy(dtype=bool)
        if future.any():
            found = pd.concat(
                [
                    found,
                    hits(
                        t,
                        future,
                        col,
                        f"{col} is in the future (after {limits.today.isoformat()})",
                        "check the year and the day/month order",
                        "date_future",
                    ),
                ]
            )
        out.append(found)
        masks[col] = early | future
    return out, masks


def age_at_car_t(birth: pd.Series, car_t: pd.Series) -> pd.Series:
    """Age at the CAR-T infusion in years (days / 365.25); missing where a date is."""
    return (pd.to_datetime(car_t) - pd.to_datetime(birth)).dt.days / 365.25


def age_implausible(p: TableView, limits: Plausibility) -> tuple[pd.DataFrame, np.ndarray]:
    """``age_implausible``: the age at CAR T outside ``min_age``-``max_age`` years.

    The age from ``birth_date`` to ``car_t_date`` (days / 365.25) is reported on
    ``birth_date``; where it cannot be computed, a typed ``age_at_cart`` on that
    column. A birth date after the CAR-T date is a ``date_order`` problem instead.
    Returns the hits and the rows whose ``birth_date`` was reported.
    """
    derived = age_at_car_t(p.df[Col.BIRTH_DATE], p.df[Col.CAR_T_DATE])
    lo, hi = limits.min_age, limits.max_age
    outside = ((derived < lo) | (derived > hi)).fillna(False).to_numpy(dtype=bool)
    from_birth = outside & (derived >= 0).fillna(False).to_numpy(dtype=bool)
    typed = p.df[Col.AGE_AT_CART].where(p.text[Col.AGE_AT_CART].notna() & derived.isna())
    from_typed = ((typed < lo) | (typed > hi)).fillna(False).to_numpy(dtype=bool)
    hint = (
        "check birth_date, car_t_date and age_at_cart (the year, the day/month order); "
        f"ages outside {lo:g} to {hi:g} years are not plausible here (the limits are the "
        "age_range setting)"
    )
    sub = p.df[from_birth]
    found = [
        hits(
            p,
            from_birth,
            Col.BIRTH_DATE,
            "the age at CAR T from birth_date ("
            + _iso(sub[Col.BIRTH_DATE])
            + ") to car_t_date ("
            + _iso(sub[Col.CAR_T_DATE])
            + ") is "
            + derived[from_birth].round(1).astype("string")
            + f" years, outside {lo:g} to {hi:g}",
            hint,
            "age_implausible",
        ),
        hits(
            p,
            from_typed,
            Col.AGE_AT_CART,
            f"age_at_cart is outside the plausible range {lo:g} to {hi:g} years",
            hint,
            "age_implausible",
        ),
    ]
    return pd.concat(found, ignore_index=True), from_birth


def age_mismatch(p: TableView) -> pd.DataFrame:
    """``age_mismatch`` (warning): given ``age_at_cart`` vs ``birth_date``/``car_t_date``.

    Age in years = days / 365.25; more than one year apart is reported.
    """
    derived = age_at_car_t(p.df[Col.BIRTH_DATE], p.df[Col.CAR_T_DATE])
    bad = ((p.df[Col.AGE_AT_CART] - derived).abs() > 1).fillna(False).to_numpy(dtype=bool)
    if not bad.any():
        return NO_HITS
    msg = (
        "age_at_cart differs from the age computed from birth_date and car_t_date ("
        + derived[bad].round(1).astype("string")
        + ")"
    )
    return hits(
        p, bad, Col.AGE_AT_CART, msg, "check age_at_cart, birth_date and car_t_date", "age_mismatch"
    )


def no_followup(p: TableView) -> pd.DataFrame:
    """``no_followup``: a patient with neither ``death_date`` nor ``last_followup_date``.

    Judged on the cells as written: a cell that holds text that is not a date, or a
    formula without a result, was already reported and is not "missing" as well.
    """
    cols = (Col.DEATH_DATE, Col.LAST_FOLLOWUP_DATE)
    bad = np.ones(len(p.df), dtype=bool)
    for c in cols:
        bad &= p.text[c].isna().to_numpy() & ~p.flagged_cells(c)
    col = Col.LAST_FOLLOWUP_DATE if Col.LAST_FOLLOWUP_DATE in p.labels else Col.DEATH_DATE
    return hits(
        p,
        bad,
        col,
        "neither death_date nor last_followup_date is given",
        "enter the date of death, or the date the patient was last known alive in "
        f"{Col.LAST_FOLLOWUP_DATE}",
        "no_followup",
        value=pd.Series([None] * len(p.df)),
    )


def no_lines(p: TableView, ln: TableView) -> pd.DataFrame:
    """``no_lines`` (warning): a patient without any salvage line; kept for OS."""
    ppid, lpid = p.df["_pid"].to_numpy(), ln.df["_pid"].to_numpy()
    treated = np.zeros(max(int(ppid.max(initial=-1)), int(lpid.max(initial=-1))) + 2, bool)
    treated[lpid[lpid >= 0]] = True
    bad = (ppid >= 0) & ~treated[ppid]
    return hits(
        p,
        bad,
        Col.PATIENT_ID,
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
