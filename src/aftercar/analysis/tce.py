"""T-cell-engaging therapy (TCE) and OS without immortal-time bias; Cox model of OS.

* ``tce.patients`` / ``tce.fraction``: patients with at least one TCE line over
  all patients; ``tce.orr``: best response to each such patient's *first* TCE line.
* Time-dependent Cox model: TCE exposure as a time-varying covariate in
  counting-process ``(start, stop]`` rows (:func:`aftercar.derive.tce_counting_process`),
  robust variance clustered by patient.
* Landmark analyses at the configured times: OS from the landmark by TCE received
  by the landmark, among patients alive and followed beyond it (KM, log-rank, Cox).
* The naive "ever received" comparison is immortal-time biased; it is shown only
  when ``analysis.naive_tce_comparison = true`` and then always carries a warning.

References
----------
Suissa S. Am J Epidemiol 2008;167:492-499 (immortal time bias).
Anderson JR, Cain KC, Gelber RD. J Clin Oncol 1983;1:710-719 (landmark).
Andersen PK, Gill RD. Ann Stat 1982;10:1100-1120 (counting process Cox).
Lin DY, Wei LJ. J Am Stat Assoc 1989;84:1074-1078 (robust variance).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aftercar.analysis.hazards import rmst_block
from aftercar.analysis.model import AnalysisResult
from aftercar.analysis.options import AnalysisOptions
from aftercar.analysis.summaries import fit_cox, prop_block, response_block
from aftercar.analysis.survival import grouped_km
from aftercar.derive import DerivedCohort
from aftercar.schema import Col

NAIVE_WARNING = (
    "Immortal-time bias: patients had to survive long enough to receive a TCE, so an "
    "'ever received' comparison favours TCE regardless of any treatment effect. Use the "
    "time-dependent Cox model and the landmark analyses instead."
)


def _first_tce_lines(lines: pd.DataFrame) -> pd.DataFrame:
    tce = lines.loc[lines[Col.TCE]].sort_values([Col.PATIENT_ID, Col.LINE], kind="stable")
    return tce.groupby(Col.PATIENT_ID, sort=False).head(1)


def _time_dependent(cp: pd.DataFrame, opts: AnalysisOptions, notes: list[str]) -> dict:
    block = fit_cox(
        cp[Col.STOP],
        cp[Col.EVENT],
        cp[[Col.TCE]].astype(float),
        opts,
        notes,
        entry=cp[Col.START].to_numpy(float),
        cluster=pd.factorize(cp[Col.PATIENT_ID])[0],
        label="Time-dependent Cox (TCE)",
    )
    return {
        "rows": len(cp),
        "patients": int(cp[Col.PATIENT_ID].nunique()),
        "exposed_patients": int(cp.loc[cp[Col.TCE], Col.PATIENT_ID].nunique()),
        "model": block,
        "method": "Cox model, TCE as a time-varying covariate (start, stop], "
        "robust variance clustered by patient",
    }


def _landmark(lm: pd.DataFrame, at: float, opts: AnalysisOptions, notes: list[str]):
    label = pd.Series(
        np.where(lm[Col.TCE_BY_LANDMARK], f"TCE by {at:g} mo", f"No TCE by {at:g} mo"),
        index=lm.index,
    )
    km, curves = grouped_km(lm, label, Col.TIME, Col.EVENT, opts)
    model = None
    if lm[Col.TCE_BY_LANDMARK].nunique() == 2:
        model = fit_cox(
            lm[Col.TIME],
            lm[Col.EVENT],
            lm[[Col.TCE_BY_LANDMARK]].astype(float),
            opts,
            notes,
            label=f"Landmark {at:g} mo Cox (TCE)",
        )
    else:
        notes.append(f"Landmark {at:g} mo: only one exposure group; no comparison.")
    block = {
        "landmark_months": at,
        "patients": len(lm),
        "tce_patients": int(lm[Col.TCE_BY_LANDMARK].sum()),
        "events": int(lm[Col.EVENT].sum()),
        "km": km,
        "cox": model,
        # no note per group: it would say of a group withheld under --suppress-below that
        # its last patient was censored before the horizon (review, 2026-12-06)
        "rmst": rmst_block(lm[Col.TIME], lm[Col.EVENT], opts, by=label),
    }
    return block, curves


def tce_analyses(derived: DerivedCohort, opts: AnalysisOptions) -> AnalysisResult:
    """TCE exposure, response to the first TCE line, time-dependent Cox and landmarks.

    Uses the derived ``tce_exposure`` rows and the landmark cohorts at
    ``opts.landmark_months``; the naive comparison only with
    ``opts.naive_tce_comparison``.
    """
    patients, lines = derived.patients, derived.lines
    sec = AnalysisResult()
    exposed = int(patients[Col.FIRST_TCE_MONTHS].notna().sum())
    fraction = prop_block(exposed, len(patients), opts)
    res: dict[str, Any] = {
        "patients": exposed,
        "n": len(patients),
        "fraction": fraction["estimate"],
        "fraction_ci95": fraction["ci95"],
        "orr": response_block(_first_tce_lines(lines)[Col.RESPONDED], opts),
        "time_dependent_cox": _time_dependent(derived.tce_exposure, opts, sec.notes),
        "landmarks": {},
    }
    for i, at in enumerate(opts.landmark_months):
        block, curves = _landmark(derived.landmarks[at], at, opts, sec.notes)
        res["landmarks"][f"{at:g}"] = block
        if i == 0:  # the figure shows the first landmark; all are in results and tables
            sec.curves["os_tce_landmark"] = curves
    if opts.naive_tce_comparison:
        res["naive_ever_received"] = _naive(patients, opts, sec)
    sec.results[Col.TCE] = res
    sec.tables["tce_os"] = _tce_table(res)
    return sec


def _naive(patients: pd.DataFrame, opts: AnalysisOptions, sec: AnalysisResult) -> dict[str, Any]:
    pts = patients.loc[patients[Col.OS_VALID]]
    label = pd.Series(
        np.where(pts[Col.FIRST_TCE_MONTHS].notna(), "Ever TCE", "Never TCE"), index=pts.index
    )
    km, sec.curves["os_naive_ever_tce"] = grouped_km(pts, label, Col.OS_MONTHS, Col.OS_EVENT, opts)
    sec.notes.append("Naive 'ever received TCE' OS comparison: " + NAIVE_WARNING)
    return {"warning": NAIVE_WARNING, "km": km}


def _hr_row(name: str, model: dict[str, Any] | None, n: int, events: int) -> dict[str, Any]:
    term = (model or {}).get("terms", [{}])[0] if model else {}
    ci = term.get("ci95", [None, None])
    return {
        "analysis": name,
        "n": n,
        "events": events,
        "hazard_ratio": term.get("hazard_ratio"),
        "lower": ci[0],
        "upper": ci[1],
        "p_value": term.get("p_value"),
    }


def _tce_table(res: dict[str, Any]) -> pd.DataFrame:
    td = res["time_dependent_cox"]
    rows = [
        _hr_row(
            "Time-dependent Cox (TCE as time-varying; n = patients)",
            td["model"],
            td["patients"],
            (td["model"] or {}).get("events", 0),
        )
    ]
    for key, lm in res["landmarks"].items():
        rows.append(
            _hr_row(f"Landmark {key} mo (TCE by landmark)", lm["cox"], lm["patients"], lm["events"])
        )
    return pd.DataFrame(rows)
