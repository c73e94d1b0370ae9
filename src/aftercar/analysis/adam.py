"""Analysis datasets in CDISC ADaM form: ADSL, ADTTE and ADRS, for R, SAS or Stata.

Built from the derived tables only, so a statistician re-running a model from them
gets exactly the numbers of the report:

* **ADSL**, one row per patient: identifiers, baseline characteristics, the
  CAR-T and index (post-CAR-T progression) dates, death and last-contact dates,
  flags (early relapse, TCE received), number of salvage lines;
* **ADTTE**, one row per patient and parameter: ``OS`` (from the index date), and
  per salvage line ``PFS`` and ``TTNT`` (from the line start; ``LINE`` says which);
  ``AVAL`` in days (``AVALU``), ``CNSR`` 1 = censored, 0 = event, ``STARTDT`` and
  ``ADT`` = ``STARTDT + AVAL``;
* **ADRS**, one row per salvage line: the best overall response (``PARAMCD =
  "BOR"``, IMWG 2016) as ``AVALC`` with its rank ``AVAL`` (1 = best), the regimen,
  category and flags.

Rows with no usable time (``os_valid`` false, a PFS time missing or negative) are
left out of ADTTE, as they are left out of the analyses (attrition lists them).

References
----------
CDISC Analysis Data Model (ADaM) v2.1 and ADaM Basic Data Structure for
Time-to-Event Analyses v1.0 (ADSL, ADTTE; ``PARAMCD``, ``AVAL``, ``CNSR``,
``STARTDT``, ``ADT``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aftercar.schema import DAYS_PER_MONTH, Col, response_levels

STUDYID = "AFTERCAR"

#: Output column -> (source column of patient_endpoints, kind) for ADSL.
_ADSL = {
    "SITEID": (Col.SITE, "text"),
    "SEX": (Col.SEX, "text"),
    "AGE": (Col.AGE_AT_CART, "number"),
    "CARTPROD": (Col.CAR_T_PRODUCT, "text"),
    "CARTBOR": (Col.CAR_T_BEST_RESPONSE, "text"),
    "CARTDT": (Col.CAR_T_DATE, "date"),
    "INDEXDT": (Col.PROGRESSION_DATE, "date"),
    "DTHDT": (Col.DEATH_DATE, "date"),
    "LSTALVDT": (Col.LAST_FOLLOWUP_DATE, "date"),
    "HRCYTFL": (Col.HIGH_RISK_CYTOGENETICS, "flag"),
    "EMDFL": (Col.EXTRAMEDULLARY_DISEASE, "flag"),
    "PRIORLN": (Col.PRIOR_LINES, "number"),
    "TCRFL": (Col.TRIPLE_CLASS_REFRACTORY, "flag"),
    "PENTAFL": (Col.PENTA_REFRACTORY, "flag"),
    "ISSSTG": (Col.ISS_STAGE, "number"),
    "ECOG": (Col.ECOG, "number"),
    "EARLYFL": (Col.EARLY_RELAPSE, "flag"),
    "NLINES": (Col.N_LINES, "number"),
}

#: The columns of each dataset, in order (documented in docs/results-schema.md).
COLUMNS: dict[str, tuple[str, ...]] = {
    "adsl": ("STUDYID", "USUBJID", *_ADSL, "DTHFL", "TCEFL"),
    "adtte": (
        "STUDYID",
        "USUBJID",
        "PARAMCD",
        "PARAM",
        "LINE",
        "AVAL",
        "AVALU",
        "CNSR",
        "STARTDT",
        "ADT",
        "TRTP",
        "TRTCAT",
    ),
    "adrs": (
        "STUDYID",
        "USUBJID",
        "PARAMCD",
        "PARAM",
        "LINE",
        "AVALC",
        "AVAL",
        "STARTDT",
        "TRTP",
        "TRTCAT",
        "TCEFL",
        "BCMAFL",
        "EVALFL",
        "RSPFL",
    ),
}

_PARAMS = {
    "OS": "Overall survival from post-CAR-T progression",
    "PFS": "Progression-free survival of the salvage line",
    "TTNT": "Time to next treatment of the salvage line",
    "BOR": "Best overall response of the salvage line (IMWG 2016)",
}


def _flag(values: pd.Series) -> pd.Series:
    known = values.notna()
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    out[known] = np.where(values[known].astype(bool), "Y", "N")
    return out


def _as(values: pd.Series, kind: str) -> pd.Series:
    if kind == "flag":
        return _flag(values)
    if kind == "date":
        return pd.to_datetime(values).dt.date
    if kind == "number":
        return pd.to_numeric(values.astype("Float64"), errors="coerce")
    return values.astype("string")


def adsl(patients: pd.DataFrame) -> pd.DataFrame:
    """ADSL: one row per patient (table ``patient_endpoints`` in, ADaM names out)."""
    missing = pd.Series(pd.NA, index=patients.index)
    out = {"STUDYID": STUDYID, "USUBJID": patients[Col.PATIENT_ID].astype("string")}
    for name, (column, kind) in _ADSL.items():
        out[name] = _as(patients.get(column, missing), kind)
    out["DTHFL"] = _flag(patients[Col.DEATH_DATE].notna())
    out["TCEFL"] = _flag(patients[Col.FIRST_TCE_MONTHS].notna())
    return pd.DataFrame(out, index=patients.index)[list(COLUMNS["adsl"])].reset_index(drop=True)


def _days(months: pd.Series) -> pd.Series:
    return (months.astype(float) * DAYS_PER_MONTH).round().astype("Int64")


def _tte(ids, param, line, days, event, start, regimen, category) -> pd.DataFrame:
    start = pd.to_datetime(pd.Series(start)).reset_index(drop=True)
    days = pd.Series(days).reset_index(drop=True)
    return pd.DataFrame(
        {
            "STUDYID": STUDYID,
            "USUBJID": pd.Series(ids).astype("string").reset_index(drop=True),
            "PARAMCD": param,
            "PARAM": _PARAMS[param],
            "LINE": pd.Series(line, dtype="Int64").reset_index(drop=True),
            "AVAL": days,
            "AVALU": "DAYS",
            "CNSR": (~pd.Series(event).astype(bool)).astype("int64").reset_index(drop=True),
            "STARTDT": start.dt.date,
            "ADT": (start + pd.to_timedelta(days.astype("float"), unit="D")).dt.date,
            "TRTP": pd.Series(regimen, dtype="string").reset_index(drop=True),
            "TRTCAT": pd.Series(category, dtype="string").reset_index(drop=True),
        }
    )


def _line_starts(lines: pd.DataFrame, patients: pd.DataFrame) -> pd.Series:
    index = lines[Col.PATIENT_ID].map(patients.set_index(Col.PATIENT_ID)[Col.PROGRESSION_DATE])
    return pd.to_datetime(index) + pd.to_timedelta(_days(lines[Col.START_MONTHS]), unit="D")


def adtte(patients: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """ADTTE: OS per patient, PFS and TTNT per salvage line (AVAL in days, CNSR 1 = censored)."""
    pts = patients.loc[patients[Col.OS_VALID]]
    none = [pd.NA] * len(pts)
    parts = [_tte(pts[Col.PATIENT_ID], "OS", none, _days(pts[Col.OS_MONTHS]),
                  pts[Col.OS_EVENT], pts[Col.PROGRESSION_DATE], none, none)]  # fmt: skip
    start = _line_starts(lines, patients)
    for param, time, event in (
        ("PFS", Col.PFS_MONTHS, Col.PFS_EVENT),
        ("TTNT", Col.TTNT_MONTHS, Col.TTNT_EVENT),
    ):
        ok = (lines[time] >= 0).fillna(False).to_numpy(bool)
        sub = lines.loc[ok]
        parts.append(_tte(sub[Col.PATIENT_ID], param, sub[Col.LINE], _days(sub[time]),
                          sub[event], start[ok], sub[Col.REGIMEN], sub[Col.CATEGORY]))  # fmt: skip
    return pd.concat(parts, ignore_index=True)[list(COLUMNS["adtte"])]


def adrs(patients: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """ADRS: best overall response (IMWG 2016) of every salvage line."""
    rank = {level.code: level.rank for level in response_levels()}
    code = lines[Col.BEST_RESPONSE].astype("string")
    out = pd.DataFrame(
        {
            "STUDYID": STUDYID,
            "USUBJID": lines[Col.PATIENT_ID].astype("string"),
            "PARAMCD": "BOR",
            "PARAM": _PARAMS["BOR"],
            "LINE": lines[Col.LINE].astype("Int64"),
            "AVALC": code,
            "AVAL": code.map(rank).astype("Int64"),
            "STARTDT": _line_starts(lines, patients).dt.date,
            "TRTP": lines[Col.REGIMEN].astype("string"),
            "TRTCAT": lines[Col.CATEGORY].astype("string"),
            "TCEFL": _flag(lines[Col.TCE]),
            "BCMAFL": _flag(lines[Col.BCMA_DIRECTED]),
            "EVALFL": _flag(lines[Col.EVALUABLE]),
            "RSPFL": _flag(lines[Col.RESPONDED]),
        }
    )
    return out[list(COLUMNS["adrs"])].reset_index(drop=True)


def adam_datasets(patients: pd.DataFrame, lines: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """ADSL, ADTTE and ADRS of a derived cohort (``patient_endpoints``, ``line_endpoints``)."""
    return {
        "adsl": adsl(patients),
        "adtte": adtte(patients, lines),
        "adrs": adrs(patients, lines),
    }
