"""The row rules of :mod:`aftercar.io.checks`: patients and lines as rows, and their links.

Duplicate patients and lines, ``patient_id`` and ``site`` written two ways, lines of an
unknown patient, line numbers that are not 1, 2, 3, ..., lines that start before the
previous one and patients without a line. They group and join on integer patient codes
(:func:`~aftercar.io.table_view.patient_codes`) and share one sort of the lines
(:class:`LineOrder`), with numpy: no Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aftercar.io.table_view import NO_HITS, TableView, _iso, _q, hits
from aftercar.schema import Col


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


def _among(codes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Per integer patient code of ``codes`` (-1: none), whether ``others`` holds it (one
    boolean table over the codes, no sort)."""
    seen = np.zeros(max(int(codes.max(initial=-1)), int(others.max(initial=-1))) + 2, bool)
    seen[others[others >= 0]] = True
    return seen[codes]


def unknown_patients(p: TableView, ln: TableView) -> pd.DataFrame:
    """``unknown_patient``: a line whose ``patient_id`` is not in the patients table."""
    ppid, lpid = p.df["_pid"].to_numpy(), ln.df["_pid"].to_numpy()
    bad = (lpid >= 0) & ~_among(lpid, ppid)
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


def no_lines(p: TableView, ln: TableView) -> pd.DataFrame:
    """``no_lines`` (warning): a patient without any salvage line; kept for OS."""
    ppid, lpid = p.df["_pid"].to_numpy(), ln.df["_pid"].to_numpy()
    bad = (ppid >= 0) & ~_among(ppid, lpid)
    return hits(
        p,
        bad,
        Col.PATIENT_ID,
        "patient has no salvage line in the lines table",
        "nothing to do if no treatment followed the progression: the patient is "
        "kept and counts for overall survival",
        "no_lines",
    )
