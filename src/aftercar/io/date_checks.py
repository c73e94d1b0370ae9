"""The date rules of :mod:`aftercar.io.checks`: date order, plausible dates and ages.

The order of a patient's and a line's dates (``date_order``), dates after today or
too early (``date_future``, ``date_too_early``, bounds in :class:`Plausibility`),
the age at CAR T (``age_implausible``, ``age_mismatch``) and a patient without a
follow-up date (``no_followup``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aftercar.io.table_view import NO_HITS, TableView, _iso, hits
from aftercar.schema import Col

DATE_HINT = "check both dates: {earlier} cannot be after {later}"


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
