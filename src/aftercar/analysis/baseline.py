"""Cox model of OS from relapse on baseline covariates (complete cases).

Covariates absent from the cohort or constant are skipped and listed with the
reason; a text covariate is coded as 0/1 indicators against its most frequent
level; fewer than 10 events per covariate gives a note.

References
----------
Peduzzi P, et al. J Clin Epidemiol 1996;49:1373-1379 (events per variable).
"""

from __future__ import annotations

import pandas as pd

from aftercar.analysis.model import AnalysisResult
from aftercar.analysis.options import AnalysisOptions
from aftercar.analysis.summaries import fit_cox
from aftercar.analysis.table1 import identifying_groups
from aftercar.schema import Col


def _coded(name: str, values: pd.Series) -> dict[str, pd.Series]:
    """A numeric or yes/no covariate as numbers; a text one (e.g. ``sex``, ``car_t_product``)
    as 0/1 indicators ``name=level`` against its most frequent level (missing stays missing)."""
    try:
        return {name: pd.to_numeric(values.astype("Float64"), errors="coerce")}
    except (TypeError, ValueError):  # text levels (pyarrow's ArrowInvalid is a ValueError)
        pass
    text = values.astype("string")
    counts = text.value_counts()
    levels = sorted(counts.index, key=lambda level: (-counts[level], level))
    return {f"{name}={level}": (text == level).astype("Float64") for level in sorted(levels[1:])}


def covariate_frame(
    patients: pd.DataFrame, names: tuple[str, ...], notes: list[str]
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """The covariates of ``names`` coded for a Cox model, and the skipped ones with reasons.

    Numeric and yes/no covariates as numbers, text as 0/1 indicators against the
    most frequent level (missing stays missing); absent or constant ones skipped
    (a note lists them).
    """
    used: dict[str, pd.Series] = {}
    skipped: list[dict[str, str]] = []
    for name in names:
        if name not in patients.columns or patients[name].isna().all():
            skipped.append({"covariate": name, "reason": "absent from the cohort"})
            continue
        if (why := identifying_covariate(name, patients[name])) is not None:
            skipped.append({"covariate": name, "reason": why})
            continue
        coded = _coded(name, patients[name])
        if not coded or any(v.dropna().nunique() < 2 for v in coded.values()):
            skipped.append({"covariate": name, "reason": "constant in the cohort"})
            continue
        used |= coded
    if skipped:
        listed = "; ".join(f"'{s['covariate']}' ({s['reason']})" for s in skipped)
        notes.append(f"Cox model of OS: covariates skipped: {listed}.")
    return pd.DataFrame(used, index=patients.index), skipped


def identifying_covariate(name: str, values: pd.Series) -> str | None:
    """Why a covariate would identify patients (its levels would be model terms printed in
    every shared output, site.json included; fuzzing round 6, I02: cox_covariates =
    ["mrn"] put every MRN into a site summary), by the test of a Table 1 grouping
    (:func:`aftercar.analysis.table1.identifying_groups`); numbers (age) are covariates,
    not levels."""
    text = values.dropna()
    numeric = pd.api.types.is_numeric_dtype(text) or pd.api.types.is_bool_dtype(text)
    if numeric and name != Col.PATIENT_ID and not name.endswith("_date"):
        return None
    why = identifying_groups(name, values)
    return None if why is None else f"identifies patients ({why})"


def baseline_cox(
    patients: pd.DataFrame, opts: AnalysisOptions, strata: str | None = None
) -> AnalysisResult:
    """Cox model of OS from relapse on ``opts.cox_covariates`` present (complete cases).

    ``strata`` names a column of ``patients`` (e.g. the site) to stratify by: a
    baseline hazard per value, passed on to ``fit_cox`` (R ``strata()``).
    """
    covariates = opts.cox_covariates
    sec = AnalysisResult()
    pts = patients.loc[patients[Col.OS_VALID]].reset_index(drop=True)
    frame, skipped = covariate_frame(pts, covariates, sec.notes)
    complete = frame.notna().all(axis=1).to_numpy()
    frame = frame.loc[complete].astype(float)
    constant = [c for c in frame.columns if frame[c].nunique() < 2]
    for c in constant:
        skipped.append({"covariate": c, "reason": "constant among complete cases"})
        sec.notes.append(
            f"Cox model of OS: covariate '{c}' skipped (constant among complete cases)."
        )
    frame = frame.drop(columns=constant)
    sub = pts.loc[complete]
    model = fit_cox(
        sub[Col.OS_MONTHS],
        sub[Col.OS_EVENT],
        frame,
        opts,
        sec.notes,
        label="Cox model of OS on baseline covariates",
        **({} if strata is None else {"strata": sub[strata].to_numpy()}),
    )
    sec.results["cox_os"] = {
        "covariates": list(frame.columns),
        "skipped": skipped,
        "complete_cases": int(complete.sum()),
        "excluded_incomplete": int((~complete).sum()),
        "model": model,
    }
    if model is not None:
        events = model["events"]
        if events < 10 * max(len(frame.columns), 1):
            sec.notes.append(
                f"Cox model of OS: {events} events for {len(frame.columns)} covariates "
                "(fewer than 10 per covariate); estimates may be unstable."
            )
        sec.tables["cox_os"] = pd.DataFrame(
            [
                {
                    "term": t["term"],
                    "hazard_ratio": t["hazard_ratio"],
                    "lower": t["ci95"][0],
                    "upper": t["ci95"][1],
                    "p_value": t["p_value"],
                }
                for t in model["terms"]
            ]
        )
    return sec
