"""Endpoints of the post-CAR-T relapse study: OS per patient; response, PFS and TTNT per line.

All derivations are vectorised pandas/numpy over whole columns (sort once, a
group-wise ``shift`` for the next line's start); there is no loop over rows.
Times are in months from the index date (the documented progression after
CAR T) or from the line start, with months = days / 30.4375.

Rules (each configurable in the study TOML; sources in ``docs/methods.md``):

* **OS** from the post-CAR-T progression (index) to death from any cause;
  alive patients are censored at last follow-up (Rajkumar 2011; Van Oekelen 2023).
* **Best response** of a line: the curated IMWG code (Kumar 2016). Response =
  sCR, CR, VGPR or PR; NE or missing is *not evaluable* and, by default, left
  out of the denominator (counted separately).
* **PFS of a line** from its start to documented progression on that line or
  death from any cause. Without progression: if a next line starts, censor at its
  start (``pfs_next_line = "censor"``) or ignore it (``"ignore"``: follow to death
  or last follow-up); a last line without progression ends at death (event) or
  last follow-up (censored).
* **TTNT** from the line start to the next line's start or death (event),
  censored at last follow-up.
* **Duration of response** needs the date of first response, which the curated
  format does not hold; it is not computed (never estimated from other dates).

References
----------
Kumar S, et al. International Myeloma Working Group consensus criteria for
response and minimal residual disease assessment in multiple myeloma. Lancet
Oncol 2016;17:e328-e346.
Rajkumar SV, et al. Consensus recommendations for the uniform reporting of
clinical trials. Blood 2011;117:4691-4695.
Van Oekelen O, et al. Interventions and outcomes of patients with multiple myeloma
receiving salvage therapy after BCMA-directed CAR T therapy. Blood
2023;141:756-765.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from aftercar.errors import DerivationError

#: Days per month used for every time in aftercar (365.25 / 12).
DAYS_PER_MONTH = 30.4375

#: IMWG codes ordered from best to worst.
RESPONSE_ORDER = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")
_VGPR_PLUS = ("sCR", "CR", "VGPR")
_CR_PLUS = ("sCR", "CR")

_PATIENT_DATES = ("car_t_date", "progression_date", "death_date", "last_followup_date")
_LINE_DATES = ("start_date", "end_date", "progression_date")


@dataclass(frozen=True)
class EndpointRules:
    """The endpoint rules of a study (see ``[endpoints]`` in the study TOML).

    Attributes
    ----------
    early_relapse_months
        Relapse within this many months of the CAR-T infusion is "early".
    pfs_next_line
        ``"censor"``: a line without progression is censored at the next line's
        start; ``"ignore"``: the next line is ignored (death or last follow-up).
    responders
        IMWG codes counted as a response (default sCR, CR, VGPR, PR).
    exclude_not_evaluable
        Leave NE/missing best responses out of response denominators.
    """

    early_relapse_months: float = 6.0
    pfs_next_line: str = "censor"
    responders: tuple[str, ...] = ("sCR", "CR", "VGPR", "PR")
    exclude_not_evaluable: bool = True

    def __post_init__(self) -> None:
        if self.pfs_next_line not in ("censor", "ignore"):
            raise DerivationError(
                f"pfs_next_line must be 'censor' or 'ignore', not {self.pfs_next_line!r}"
            )


def to_frame(table: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """Return a pandas copy of an Arrow table or DataFrame with dates as datetime64."""
    if isinstance(table, pa.Table):
        return table.to_pandas(date_as_object=False)
    return table.copy()


def _as_datetime(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    for col in columns:
        if col not in frame.columns:
            frame[col] = pd.NaT
        frame[col] = pd.to_datetime(frame[col])
    return frame


def months_between(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    """Return ``(later - earlier)`` in months (days / 30.4375); NaN where either is missing."""
    delta = (later - earlier) / pd.Timedelta(days=1)
    return np.asarray(delta, dtype=float) / DAYS_PER_MONTH


def _follow_up_end(frame: pd.DataFrame) -> pd.Series:
    """Death date when present, otherwise the last follow-up date."""
    return frame["death_date"].where(frame["death_date"].notna(), frame["last_followup_date"])


def _as_bool_or_none(values: np.ndarray, known: np.ndarray) -> pd.Series:
    out = pd.Series(values, dtype="boolean")
    out[~known] = pd.NA
    return out


def response_flags(best_response: pd.Series, rules: EndpointRules) -> pd.DataFrame:
    """Return ``evaluable, responded, vgpr_or_better, cr_or_better`` for best responses.

    ``evaluable`` is False for NE/missing when ``rules.exclude_not_evaluable``;
    the three response flags are then missing (``pd.NA``) for those lines. With
    ``exclude_not_evaluable=False`` NE/missing lines count as non-responders.
    """
    code = best_response.astype("string")
    assessed = code.notna().to_numpy() & (code != "NE").fillna(False).to_numpy()
    evaluable = assessed if rules.exclude_not_evaluable else np.ones(len(code), dtype=bool)
    flags = {"evaluable": evaluable}
    for name, codes in (
        ("responded", rules.responders),
        ("vgpr_or_better", _VGPR_PLUS),
        ("cr_or_better", _CR_PLUS),
    ):
        hit = code.isin(list(codes)).fillna(False).to_numpy()
        flags[name] = _as_bool_or_none(hit, evaluable)
    return pd.DataFrame(flags, index=best_response.index)


def _pfs(frame: pd.DataFrame, rules: EndpointRules) -> tuple[pd.Series, np.ndarray]:
    """PFS end date and event flag per line (see module docstring)."""
    has_prog = frame["progression_date"].notna().to_numpy()
    has_death = frame["death_date"].notna().to_numpy()
    has_next = frame["next_start_date"].notna().to_numpy()
    censor_next = (rules.pfs_next_line == "censor") & has_next & ~has_prog
    end = frame["progression_date"].copy()
    end[~has_prog] = _follow_up_end(frame)[~has_prog]
    end[censor_next] = frame.loc[censor_next, "next_start_date"]
    event = has_prog | (~has_prog & ~censor_next & has_death)
    return end, event


def _ttnt(frame: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """Time-to-next-treatment end date and event flag per line."""
    has_next = frame["next_start_date"].notna().to_numpy()
    end = frame["next_start_date"].where(has_next, _follow_up_end(frame))
    event = has_next | frame["death_date"].notna().to_numpy()
    return end, event


def _attach_classes(frame: pd.DataFrame, classified: pd.DataFrame) -> pd.DataFrame:
    wanted = ["text", "drugs", "category", "tce", "bcma_directed"]
    missing = [c for c in wanted if c not in classified.columns]
    if missing:
        raise DerivationError(f"regimen classification lacks columns {missing}")
    classes = classified[wanted].drop_duplicates("text").rename(columns={"text": "regimen"})
    out = frame.merge(classes, on="regimen", how="left", validate="many_to_one")
    out["category"] = out["category"].fillna("other")
    out["tce"] = out["tce"].fillna(False).astype(bool)
    out["bcma_directed"] = out["bcma_directed"].fillna(False).astype(bool)
    return out


def derive_lines(
    patients: pa.Table | pd.DataFrame,
    lines: pa.Table | pd.DataFrame,
    classified: pa.Table | pd.DataFrame,
    *,
    rules: EndpointRules | None = None,
) -> pd.DataFrame:
    """Derive one row per salvage line with response, PFS and TTNT.

    Parameters
    ----------
    patients, lines
        Cohort tables in the curated contract (``aftercar.io``).
    classified
        Output of ``aftercar.vocab.classify_regimens`` for the lines' regimen texts
        (columns ``text, drugs, category, tce, bcma_directed`` are used).
    rules
        Endpoint rules (defaults: censor PFS at the next line's start).

    Returns
    -------
    pandas.DataFrame
        ``patient_id, line, regimen, drugs, category, tce, bcma_directed,
        start_months, end_months, progression_months`` (months from the index date),
        ``best_response, evaluable, responded, vgpr_or_better, cr_or_better,
        pfs_months, pfs_event, ttnt_months, ttnt_event`` (months from line start),
        ``source_row``, sorted by patient and line.
    """
    rules = rules or EndpointRules()
    pts = _as_datetime(to_frame(patients), _PATIENT_DATES)
    frame = _as_datetime(to_frame(lines), _LINE_DATES)
    keep = ["patient_id", "progression_date", "death_date", "last_followup_date"]
    index = pts[keep].rename(columns={"progression_date": "index_date"})
    frame = frame.merge(index, on="patient_id", how="left", validate="many_to_one")
    frame = frame.sort_values(["patient_id", "line"], kind="stable").reset_index(drop=True)
    frame["next_start_date"] = frame.groupby("patient_id", sort=False)["start_date"].shift(-1)
    pfs_end, pfs_event = _pfs(frame, rules)
    ttnt_end, ttnt_event = _ttnt(frame)
    start = frame["start_date"]
    out = pd.DataFrame(
        {
            "patient_id": frame["patient_id"].astype("string"),
            "line": frame["line"].astype("int64"),
            "regimen": frame["regimen"].astype("string"),
            "start_months": months_between(start, frame["index_date"]),
            "end_months": months_between(frame["end_date"], frame["index_date"]),
            "progression_months": months_between(frame["progression_date"], frame["index_date"]),
            "best_response": frame["best_response"].astype("string"),
            "pfs_months": months_between(pfs_end, start),
            "pfs_event": pfs_event,
            "ttnt_months": months_between(ttnt_end, start),
            "ttnt_event": ttnt_event,
        }
    )
    if "source_row" in frame.columns:
        out["source_row"] = frame["source_row"].to_numpy()
    out = pd.concat([out, response_flags(out["best_response"], rules)], axis=1)
    cls = to_frame(classified)
    cls["text"] = cls["text"].astype("string")
    return _attach_classes(out, cls)


def derive_patients(
    patients: pa.Table | pd.DataFrame,
    line_endpoints: pd.DataFrame,
    *,
    rules: EndpointRules | None = None,
) -> pd.DataFrame:
    """Derive one row per patient: OS from relapse, relapse timing, lines, TCE exposure.

    Parameters
    ----------
    patients
        Patients table in the curated contract.
    line_endpoints
        Output of :func:`derive_lines`.
    rules
        Endpoint rules (for the early-relapse cut-off).

    Returns
    -------
    pandas.DataFrame
        The patient columns of the input plus ``os_months`` (index -> death or last
        follow-up), ``os_event`` (death), ``relapse_months`` (CAR-T infusion ->
        progression), ``early_relapse`` (``relapse_months`` below the cut-off; NA when
        unknown), ``n_lines``, ``first_tce_months`` (index -> start of the first
        T-cell-engaging line; NaN if none) and ``os_valid`` (index date and an end
        of follow-up present, and OS time >= 0).
    """
    rules = rules or EndpointRules()
    pts = _as_datetime(to_frame(patients), _PATIENT_DATES)
    pts["os_months"] = months_between(_follow_up_end(pts), pts["progression_date"])
    pts["os_event"] = pts["death_date"].notna().to_numpy()
    pts["os_valid"] = np.isfinite(pts["os_months"].to_numpy()) & (pts["os_months"] >= 0)
    relapse = months_between(pts["progression_date"], pts["car_t_date"])
    pts["relapse_months"] = relapse
    pts["early_relapse"] = _as_bool_or_none(
        relapse < rules.early_relapse_months, np.isfinite(relapse)
    )
    counts = line_endpoints.groupby("patient_id", sort=False).size()
    pts["n_lines"] = pts["patient_id"].map(counts).fillna(0).astype("int64")
    tce = line_endpoints.loc[line_endpoints["tce"], ["patient_id", "start_months"]]
    first_tce = tce.groupby("patient_id", sort=False)["start_months"].min()
    pts["first_tce_months"] = pts["patient_id"].map(first_tce).astype(float)
    return pts
