"""Calibration metrics of a simulated cohort (the Van Oekelen 2023 headline figures).

Endpoints follow ``docs/methods.md`` conventions:

* OS from relapse: ``progression_date`` (index) to death (event) or last
  follow-up (censored).
* PFS of a line: line start to progression on that line or death (event);
  censored at the next line's start when the next line starts without documented
  progression, else at last follow-up.
* ORR: share of >= PR (sCR, CR, VGPR, PR) among response-evaluable lines (best
  response recorded and not NE).

Medians use :func:`aftercar.stats.kaplan_meier` when the stats stage provides
it, else the product-limit estimate computed here (same definition as R
``survival``: the smallest time with S(t) <= 0.5, averaged with the next event
time when S(t) == 0.5 exactly).

References
----------
Van Oekelen O et al. Blood 2023;141:756. Reyes KR et al. Blood Adv 2024;8:2207.
Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.schema import DAYS_PER_MONTH, Col, codes_where, not_evaluable_code

_RESPONDERS = codes_where("pr_or_better")


def _km_median_numpy(time: np.ndarray, event: np.ndarray) -> float:
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order].astype(float)
    uniq, first = np.unique(t, return_index=True)
    n_risk = t.size - first
    d = np.add.reduceat(e, first)
    surv = np.cumprod(1.0 - d / n_risk)
    mask = d > 0
    ut, s = uniq[mask], surv[mask]
    below = np.flatnonzero(s <= 0.5 + 1e-12)
    if below.size == 0:
        return float("nan")
    i = below[0]
    if abs(s[i] - 0.5) < 1e-12 and i + 1 < ut.size:
        return float((ut[i] + ut[i + 1]) / 2)
    return float(ut[i])


def km_median(time: np.ndarray, event: np.ndarray) -> float:
    """Kaplan-Meier median (months in, months out); NaN when not reached or no data."""
    if np.asarray(time).size == 0:
        return float("nan")
    try:
        from aftercar.stats import kaplan_meier
    except ImportError:
        return _km_median_numpy(np.asarray(time, float), np.asarray(event, bool))
    est = kaplan_meier(np.asarray(time, float), np.asarray(event, bool)).median()[0]
    return float("nan") if est is None else float(est)


def _days(col: pa.ChunkedArray) -> np.ndarray:
    """date32 column as float days since epoch, NaN for null."""
    arr = pc.cast(col, pa.int32()).to_numpy(zero_copy_only=False)
    return np.asarray(arr, dtype=float)


def os_from_relapse(patients: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """OS time (months) and event from the post-CAR-T progression."""
    death = _days(patients[Col.DEATH_DATE])
    last = _days(patients[Col.LAST_FOLLOWUP_DATE])
    event = ~np.isnan(death)
    end = np.where(event, death, last)
    return (end - _days(patients[Col.PROGRESSION_DATE])) / DAYS_PER_MONTH, event


def line_pfs(patients: pa.Table, lines: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """PFS time (months) and event of every line (lines sorted by patient, line)."""
    pid = lines[Col.PATIENT_ID].to_numpy(zero_copy_only=False)
    start = _days(lines[Col.START_DATE])
    prog = _days(lines[Col.PROGRESSION_DATE])
    pos = pc.index_in(lines[Col.PATIENT_ID], value_set=patients[Col.PATIENT_ID]).to_numpy()
    death = _days(patients[Col.DEATH_DATE])[pos]
    last = _days(patients[Col.LAST_FOLLOWUP_DATE])[pos]
    same_next = np.append(pid[1:] == pid[:-1], False)
    next_start = np.append(start[1:], np.nan)
    has_next = same_next & ~np.isnan(next_start)
    has_prog = ~np.isnan(prog)
    dies = ~np.isnan(death)
    end = np.where(has_prog, prog, np.where(has_next, next_start, np.where(dies, death, last)))
    event = has_prog | (~has_next & dies)
    return (end - start) / DAYS_PER_MONTH, event


def _orr(responses: np.ndarray) -> tuple[float, int]:
    evaluable = np.array(
        [r is not None and r != not_evaluable_code() for r in responses], dtype=bool
    )
    resp = np.isin(responses[evaluable].astype(str), _RESPONDERS)
    return (float(resp.mean()) if resp.size else float("nan")), int(evaluable.sum())


def calibration_metrics(cohort: Any) -> dict[str, float]:
    """Compute every calibration target of ``simulation.toml [targets]``.

    Parameters
    ----------
    cohort
        A :class:`~aftercar.simulate.cohort.SimulatedCohort` (``truth`` gives
        each line's arm and TCE flag).

    Returns
    -------
    dict
        Keys as in ``[targets]``: months for medians, fractions for rates.
    """
    pts, lines, truth = cohort.patients, cohort.lines, cohort.truth
    os_t, os_e = os_from_relapse(pts)
    pfs_t, pfs_e = line_pfs(pts, lines)
    line_no = lines[Col.LINE].to_numpy()
    resp = np.asarray(lines[Col.BEST_RESPONSE].to_pylist(), dtype=object)
    arm = np.asarray(truth["arm"].to_pylist(), dtype=object)
    tce = truth[Col.TCE].to_numpy(zero_copy_only=False)
    pid = lines[Col.PATIENT_ID].to_numpy(zero_copy_only=False)
    first = line_no == 1
    tce_idx = np.flatnonzero(tce)
    _, first_tce_pos = np.unique(pid[tce_idx], return_index=True)
    first_tce = tce_idx[first_tce_pos]
    counts = np.zeros(pts.num_rows, dtype=np.int64)
    _, per_patient = np.unique(pid, return_counts=True)
    counts[: per_patient.size] = per_patient
    belantamab = arm == "belantamab"
    car_t, bsab = arm == "car_t_bcma", arm == "bispecific_bcma"
    return {
        "median_os_months": km_median(os_t, os_e),
        "first_line_orr": _orr(resp[first])[0],
        "first_line_median_pfs_months": km_median(pfs_t[first], pfs_e[first]),
        "tce_patient_share": first_tce.size / pts.num_rows,
        "first_tce_orr": _orr(resp[first_tce])[0],
        "median_lines": float(np.median(counts)),
        "max_lines": float(counts.max()),
        "mean_lines": float(counts.mean()),
        "bcma_car_t_orr": _orr(resp[arm == "car_t_bcma"])[0],
        "bcma_bispecific_orr": _orr(resp[arm == "bispecific_bcma"])[0],
        "belantamab_median_pfs_months": km_median(pfs_t[belantamab], pfs_e[belantamab]),
        "bcma_car_t_median_pfs_months": km_median(pfs_t[car_t], pfs_e[car_t]),
        "bcma_bispecific_median_pfs_months": km_median(pfs_t[bsab], pfs_e[bsab]),
    }
