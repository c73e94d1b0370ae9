"""The analyses that look past one survival curve: competing risks, PH checks, RMST, clustered KM.

* **Competing risks of the first salvage line**: cumulative incidence of
  progression and of death without progression (Aalen-Johansen, as R multi-state
  ``survfit``), at the OS rate times; a PFS event is a progression when the line
  has a documented progression, else a death.
* **Proportional hazards**: every Cox model carries its Grambsch-Therneau test
  (:func:`aftercar.analysis.summaries.ph_test`).
* **RMST**: restricted mean survival time of OS at ``[analysis] rmst_months`` (12
  and 24 months), and in each TCE landmark cohort by group with the difference
  (the usual summary when hazards are not proportional).
* **Clustered KM**: PFS of all lines by category with the patient-clustered
  (robust) variance of R ``survfit(id=, robust=TRUE)``: patients give several lines.

References
----------
Aalen OO, Johansen S. Scand J Stat 1978;5:141-150 (cumulative incidence).
Grambsch PM, Therneau TM. Biometrika 1994;81:515-526 (PH test).
Royston P, Parmar MKB. BMC Med Res Methodol 2013;13:152 (RMST).
Williams RL. Biometrics 1995;51:1536-1540 (clustered KM variance).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from aftercar import stats
from aftercar.analysis.options import AnalysisOptions
from aftercar.analysis.summaries import num
from aftercar.errors import StatisticalWarning
from aftercar.schema import Col

#: Causes of a first-salvage PFS event, as coded for the cumulative incidence.
CAUSES = {1: "progression", 2: "death_without_progression"}


def _interval(estimate: Any, lower: Any, upper: Any) -> dict[str, Any]:
    return {"estimate": num(estimate), "ci95": [num(lower), num(upper)]}


def competing_risks(first: pd.DataFrame, opts: AnalysisOptions) -> dict[str, Any]:
    """Cumulative incidence of progression and of death without progression on line 1."""
    t = first[Col.PFS_MONTHS].to_numpy(float)
    ok = np.isfinite(t) & (t >= 0)
    event = first[Col.PFS_EVENT].to_numpy(bool)
    progressed = np.isfinite(first[Col.PROGRESSION_MONTHS].to_numpy(float))
    status = np.where(event, np.where(progressed, 1, 2), 0)[ok]
    block: dict[str, Any] = {
        "n": int(ok.sum()),
        "progressions": int((status == 1).sum()),
        "deaths_without_progression": int((status == 2).sum()),
        "method": "Aalen-Johansen cumulative incidence (log-transformed pointwise CI)",
    }
    if not (status > 0).any():
        return block | {cause: [] for cause in CAUSES.values()}
    fit = stats.cumulative_incidence(t[ok], status, conf_level=opts.conf_level)
    at = fit.at(list(opts.os_rates_months))
    for code, cause in CAUSES.items():
        rows = at[at["cause"] == code]
        block[cause] = [
            {"months": float(r.time)} | _interval(r.estimate, r.lower, r.upper)
            for r in rows.itertuples()
        ]
    return block


def rmst_block(
    time: Any,
    event: Any,
    opts: AnalysisOptions,
    by: Any = None,
    notes: list[str] | None = None,
    what: str = "OS",
) -> list[dict]:
    """RMST at each ``opts.rmst_months`` (and group differences when ``by`` is given).

    A horizon past a group's longest follow-up (months) is kept, as R ``survfit``'s
    ``rmean`` keeps it (the last estimate carried to the horizon), and said in ``notes``:
    the RMST then rests on a curve nobody was followed along.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    ok = np.isfinite(t) & (t >= 0)
    if not ok.any():
        return []
    groups = None if by is None else np.asarray(by, dtype=object)[ok]
    out = []
    for tau in opts.rmst_months:
        if notes is not None:
            _note_short_follow_up(t[ok], e[ok], groups, tau, notes, what)
        res = stats.rmst(t[ok], e[ok], tau=tau, by=groups, conf_level=opts.conf_level)
        rows = [
            {"group": None if pd.isna(r.group) else str(r.group), "n": int(r.n)}
            | _interval(r.estimate, r.lower, r.upper)
            | {"se": num(r.se)}
            for r in res.table.itertuples()
        ]
        block: dict[str, Any] = {"tau_months": float(tau), "groups": rows}
        if groups is not None and len(res.differences):
            block["differences"] = [
                {"group": str(d.group), "reference": str(d.reference), "p_value": num(d.p)}
                | _interval(d.difference, d.lower, d.upper)
                for d in res.differences.itertuples()
            ]
        out.append(block)
    return out


def _note_short_follow_up(
    t: np.ndarray, e: np.ndarray, groups, tau: float, notes: list[str], what: str
) -> None:
    """Say which groups' curves stop above zero before ``tau`` months (``t`` in months:
    the longest follow-up is censored and shorter than the horizon). No times are given,
    so the note discloses nothing a suppressed curve hides."""
    keys = np.zeros(t.size, dtype=object) if groups is None else groups
    frame = pd.DataFrame({"g": keys, "t": t, "censored": ~e})
    last = frame["t"] == frame.groupby("g", dropna=False)["t"].transform("max")
    ends = (
        frame[last].groupby("g", dropna=False, sort=True).agg(t=("t", "max"), c=("censored", "any"))
    )
    short = [str(g) for g, r in ends.iterrows() if r.t < tau and r.c]
    if not short:
        return
    whose = "the longest follow-up"
    if groups is not None:
        whose += " of " + ", ".join(short)
    notes.append(
        f"{what} RMST at {tau:g} months: {whose} is censored before the horizon; the last "
        "survival estimate is carried to it (as R survfit's rmean does), so the RMST is an "
        "extrapolation beyond that follow-up."
    )


def clustered_km(lines: pd.DataFrame, opts: AnalysisOptions) -> dict[str, Any]:
    """PFS of all lines by category: median with the patient-clustered (robust) CI.

    Clusters are the integer patient codes ``_pid`` when ``lines`` has them (as in
    :func:`aftercar.analysis.lines.all_lines`), else the patient ids.
    """
    t = lines[Col.PFS_MONTHS].to_numpy(float)
    ok = np.isfinite(t) & (t >= 0)
    pid = "_pid" if "_pid" in lines.columns else Col.PATIENT_ID
    sub = lines.loc[ok, [Col.PFS_MONTHS, Col.PFS_EVENT, Col.CATEGORY, pid]]
    out: dict[str, Any] = {}
    for category, part in sub.groupby(Col.CATEGORY, sort=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)  # few clusters: n says it
            fit = stats.kaplan_meier(
                part[Col.PFS_MONTHS].to_numpy(float),
                part[Col.PFS_EVENT].to_numpy(bool),
                cluster=part[pid].to_numpy(),
                conf_type=opts.km_conf_type,
                conf_level=opts.conf_level,
            )
        est, lo, hi = fit.median()
        out[str(category)] = {
            "lines": len(part),
            "patients": int(part[pid].nunique()),
            "median_months": num(est),
            "ci95": [num(lo), num(hi)],
        }
    return {"method": "Kaplan-Meier, robust variance clustered by patient", "by_category": out}
