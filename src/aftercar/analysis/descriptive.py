"""Descriptive tables: Table 1 (baseline characteristics, missing shown) and regimen mapping.

Table 1 follows the index study's baseline description (Van Oekelen 2023):
continuous variables as median (IQR) and range, categorical ones as n (%) of
patients with the value known; every characteristic has a ``Missing`` row.

References
----------
Van Oekelen O, et al. Blood 2023;141:756-765 (baseline characteristics reported).
Rajkumar SV, et al. Blood 2015;126:921-922 (prior lines of therapy).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aftercar.analysis.summaries import num
from aftercar.schema import Col
from aftercar.vocab import CONTRACT_COLUMNS

#: (column, label, kind) in display order; kind is "continuous" or "categorical".
TABLE1_ROWS: tuple[tuple[str, str, str], ...] = (
    (Col.AGE_AT_CART, "Age at CAR T, years", "continuous"),
    (Col.SEX, "Sex", "categorical"),
    (Col.SITE, "Site", "categorical"),
    (Col.CAR_T_PRODUCT, "CAR-T product", "categorical"),
    (Col.CAR_T_BEST_RESPONSE, "Best response to CAR T", "categorical"),
    (Col.RELAPSE_MONTHS, "Time from CAR T to relapse, months", "continuous"),
    ("relapse_timing", "Relapse timing", "categorical"),
    (Col.HIGH_RISK_CYTOGENETICS, "High-risk cytogenetics", "categorical"),
    (Col.EXTRAMEDULLARY_DISEASE, "Extramedullary disease", "categorical"),
    (Col.PRIOR_LINES, "Prior lines of therapy", "continuous"),
    (Col.TRIPLE_CLASS_REFRACTORY, "Triple-class refractory", "categorical"),
    (Col.PENTA_REFRACTORY, "Penta-refractory", "categorical"),
    (Col.ISS_STAGE, "ISS stage", "categorical"),
    (Col.ECOG, "ECOG performance status", "categorical"),
)


def _fmt(x: float | None, digits: int = 1) -> str:
    return "NA" if x is None else f"{x:.{digits}f}"


def _continuous(values: pd.Series, label: str) -> list[dict[str, Any]]:
    x = pd.to_numeric(values.astype("Float64"), errors="coerce").dropna().to_numpy(float)
    if len(x) == 0:
        return [
            {
                "characteristic": label,
                "level": "median (IQR)",
                "n": 0,
                "percent": None,
                "summary": "NA",
            }
        ]
    q1, med, q3 = (num(v) for v in np.percentile(x, [25, 50, 75]))
    lo, hi = num(x.min()), num(x.max())
    return [
        {
            "characteristic": label,
            "level": "median (IQR)",
            "n": len(x),
            "percent": None,
            "summary": f"{_fmt(med)} ({_fmt(q1)}-{_fmt(q3)})",
            "median": med,
            "q1": q1,
            "q3": q3,
        },
        {
            "characteristic": label,
            "level": "range",
            "n": len(x),
            "percent": None,
            "summary": f"{_fmt(lo)}-{_fmt(hi)}",
            "min": lo,
            "max": hi,
        },
    ]


def level_labels(values: pd.Series) -> pd.Series:
    """Level labels of the known values (booleans as Yes/No), vectorised."""
    known = values.dropna()
    # A yes/no column with missing values arrives from Arrow as object dtype.
    if pd.api.types.is_bool_dtype(known.dtype) or (
        len(known) and pd.api.types.infer_dtype(known, skipna=True) == "boolean"
    ):
        return pd.Series(np.where(known.to_numpy(dtype=bool), "Yes", "No"), index=known.index)
    return known.astype(str)


def _categorical(values: pd.Series, label: str) -> list[dict[str, Any]]:
    counts = level_labels(values).value_counts().sort_index()
    total = int(counts.sum())
    rows = []
    for level, n in counts.items():
        pct = 100.0 * n / total if total else None
        rows.append(
            {
                "characteristic": label,
                "level": str(level),
                "n": int(n),
                "percent": pct,
                "summary": f"{int(n)} ({_fmt(pct)}%)",
            }
        )
    return rows


def relapse_timing(patients: pd.DataFrame, cutoff: float) -> pd.Series:
    """``Early (< cutoff mo)`` / ``Late (>= cutoff mo)`` per patient; missing when unknown."""
    early = patients[Col.EARLY_RELAPSE]
    known = early.notna().to_numpy()
    flags = early.astype("boolean").fillna(False).to_numpy(dtype=bool)
    labels = np.where(flags, f"Early (< {cutoff:g} mo)", f"Late (>= {cutoff:g} mo)")
    return pd.Series(labels, index=patients.index, dtype=object).where(known)


def table1(patients: pd.DataFrame, *, cutoff: float) -> pd.DataFrame:
    """Return Table 1: one row per level (or statistic) of each baseline characteristic.

    Columns: ``characteristic, level, n, percent, summary`` (+ ``median, q1, q3,
    min, max`` for continuous rows). Percentages are of patients with the value
    known; the ``Missing`` row of each characteristic counts the others.
    """
    pts = patients.copy()
    early = pts[Col.EARLY_RELAPSE]
    pts["relapse_timing"] = pd.Series(
        np.where(
            early.fillna(False).astype(bool), f"Early (< {cutoff:g} mo)", f"Late (>= {cutoff:g} mo)"
        ),
        index=pts.index,
    ).where(early.notna().to_numpy())
    rows = [
        {
            "characteristic": "Patients",
            "level": "",
            "n": len(pts),
            "percent": None,
            "summary": str(len(pts)),
        }
    ]
    for column, label, kind in TABLE1_ROWS:
        values = pts[column] if column in pts.columns else pd.Series([pd.NA] * len(pts))
        rows += _continuous(values, label) if kind == "continuous" else _categorical(values, label)
        missing = int(values.isna().sum())
        rows.append(
            {
                "characteristic": label,
                "level": "Missing",
                "n": missing,
                "percent": 100.0 * missing / len(pts) if len(pts) else None,
                "summary": str(missing),
            }
        )
    return pd.DataFrame(rows)


def regimen_mapping(lines: pd.DataFrame, classified: pd.DataFrame) -> pd.DataFrame:
    """Every distinct regimen text with its line and patient counts, drugs and category."""
    counts = lines.groupby(Col.REGIMEN, sort=True).agg(
        lines=(Col.LINE, "size"), patients=(Col.PATIENT_ID, "nunique")
    )
    cls = classified.drop_duplicates("text").set_index("text")
    keep = [c for c in CONTRACT_COLUMNS[1:] if c in cls.columns]
    out = counts.join(cls[keep], how="left").reset_index(names=Col.REGIMEN)
    return out.sort_values(["lines", Col.REGIMEN], ascending=[False, True], kind="stable")
