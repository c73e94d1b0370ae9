"""Cohort summary and overall survival from the post-CAR-T progression (the index date).

* :func:`cohort_summary`: patients, lines, lines per patient and median follow-up
  by reverse Kaplan-Meier (Schemper & Smith 1996);
* :func:`os_analyses`: OS with median and rates, by relapse timing (early vs late)
  and by CAR-T product, each with a log-rank test.

References
----------
Van Oekelen O, et al. Blood 2023;141:756-765 (index study).
Schemper M, Smith TL. Control Clin Trials 1996;17:343-346 (reverse KM follow-up).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aftercar import stats
from aftercar.analysis.hazards import rmst_block
from aftercar.analysis.model import AnalysisResult
from aftercar.analysis.options import AnalysisOptions
from aftercar.analysis.summaries import km_block, logrank_block, num, triple
from aftercar.schema import Col


def cohort_summary(
    patients: pd.DataFrame, lines: pd.DataFrame, opts: AnalysisOptions
) -> AnalysisResult:
    """Patients, lines, lines per patient and median follow-up (reverse Kaplan-Meier)."""
    per = patients[Col.N_LINES].to_numpy()
    os_ok = patients.loc[patients[Col.OS_VALID]]
    fu_est, fu_lo, fu_hi = (None, None, None)
    if len(os_ok):
        fu_est, fu_lo, fu_hi = triple(
            stats.median_followup(
                os_ok[Col.OS_MONTHS].to_numpy(float),
                os_ok[Col.OS_EVENT].to_numpy(),
                conf_type=opts.km_conf_type,
                conf_level=opts.conf_level,
            )
        )
    res = {
        "patients": len(patients),
        "lines": len(lines),
        "patients_with_lines": int((per > 0).sum()),
        "patients_without_lines": int((per == 0).sum()),
        "lines_per_patient": {
            "median": num(np.median(per)) if len(per) else None,
            "min": int(per.min()) if len(per) else None,
            "max": int(per.max()) if len(per) else None,
            "mean": num(per.mean()) if len(per) else None,
        },
        "median_followup_months": {
            "n": len(os_ok),
            "estimate": fu_est,
            "ci95": [fu_lo, fu_hi],
            "method": "reverse Kaplan-Meier",
        },
    }
    return AnalysisResult(results={"cohort": res})


def _relapse_label(early: pd.Series, cutoff: float) -> pd.Series:
    out = pd.Series(pd.NA, index=early.index, dtype="object")
    known = early.notna()
    flags = early[known].astype(bool)
    out[known] = np.where(flags, f"Early (< {cutoff:g} mo)", f"Late (>= {cutoff:g} mo)")
    return out


def grouped_km(
    frame: pd.DataFrame,
    group: pd.Series,
    time: str,
    event: str,
    opts: AnalysisOptions,
    rates: tuple[float, ...] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """KM summary per group (sorted labels, missing group left out) and log-rank."""
    blocks: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    codes, labels = pd.factorize(group.astype("string"), sort=True)
    for i, label in enumerate(labels):
        sub = frame.loc[codes == i]
        block, fit = km_block(sub[time], sub[event], opts, rates=rates)
        blocks[str(label)] = block
        if fit is not None:
            curves[str(label)] = fit
    known = group.notna().to_numpy()
    test = logrank_block(frame.loc[known, time], frame.loc[known, event], group[known])
    missing = int((~known).sum())
    return {"groups": blocks, "logrank": test, "missing_group": missing}, curves


def os_analyses(patients: pd.DataFrame, opts: AnalysisOptions, *, cutoff: float) -> AnalysisResult:
    """OS from relapse: KM, median with CI, rates; by early/late relapse and by product.

    Rates are at ``opts.os_rates_months``; relapse within ``cutoff`` months of the
    CAR-T infusion is early.
    """
    rates = opts.os_rates_months
    pts = patients.loc[patients[Col.OS_VALID]].reset_index(drop=True)
    block, fit = km_block(pts[Col.OS_MONTHS], pts[Col.OS_EVENT], opts, rates=rates)
    sec = AnalysisResult()
    sec.curves["os"] = {"All patients": fit} if fit is not None else {}
    timing, sec.curves["os_by_relapse_timing"] = grouped_km(
        pts,
        _relapse_label(pts[Col.EARLY_RELAPSE], cutoff),
        Col.OS_MONTHS,
        Col.OS_EVENT,
        opts,
        rates,
    )
    product, sec.curves["os_by_product"] = grouped_km(
        pts, pts[Col.CAR_T_PRODUCT].astype("string"), Col.OS_MONTHS, Col.OS_EVENT, opts, rates
    )
    timing["cutoff_months"] = cutoff
    block["rmst"] = rmst_block(pts[Col.OS_MONTHS], pts[Col.OS_EVENT], opts, notes=sec.notes)
    block |= {"by_relapse_timing": timing, "by_product": product}
    sec.results["os_from_progression"] = block
    sec.tables["os_summary"] = _os_table(block, rates)
    return sec


def _os_row(label: str, block: dict[str, Any], rates: tuple[float, ...]) -> dict[str, Any]:
    row = {
        "group": label,
        "n": block["n"],
        "events": block["events"],
        "median_months": block["median_months"],
        "lower": block["ci95"][0],
        "upper": block["ci95"][1],
    }
    for r, rate in zip(rates, block.get("rates", []), strict=False):
        row[f"os_{r:g}m"] = rate["surv"]
        row[f"os_{r:g}m_lower"] = rate["ci95"][0]
        row[f"os_{r:g}m_upper"] = rate["ci95"][1]
    return row


def _os_table(block: dict[str, Any], rates: tuple[float, ...]) -> pd.DataFrame:
    rows = [_os_row("All patients", block, rates)]
    for key in ("by_relapse_timing", "by_product"):
        for label, sub in block[key]["groups"].items():
            rows.append(_os_row(label, sub, rates))
    return pd.DataFrame(rows)
