"""Time-varying exposure to T-cell-engaging (TCE) therapy, without immortal-time bias.

Comparing patients who *ever* received a TCE with those who never did credits the
TCE group with the time they had to survive to receive it (immortal time). Two
unbiased designs are derived here, vectorised over patients:

* **Counting process** (Andersen-Gill ``(start, stop]`` rows): each patient is
  unexposed from the index date until the start of the first TCE line and exposed
  from then on; a death is attributed to the exposure state at that time. This
  is the input of a time-dependent Cox model (``Surv(start, stop, event)``),
  fitted with a patient cluster.
* **Landmark**: at a landmark time L, patients still alive and under follow-up
  (OS time > L) are classified by TCE received by L; OS is measured from L.

References
----------
Suissa S. Immortal time bias in pharmaco-epidemiology. Am J Epidemiol
2008;167:492-499.
Anderson JR, Cain KC, Gelber RD. Analysis of survival by tumor response.
J Clin Oncol 1983;1:710-719 (landmark method).
Therneau T, Crowson C, Atkinson E. Using time dependent covariates and time
dependent coefficients in the Cox model. R survival vignette (tmerge).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def tce_counting_process(patients: pd.DataFrame) -> pd.DataFrame:
    """Split each patient's OS follow-up at the start of the first TCE line.

    Parameters
    ----------
    patients
        Output of :func:`aftercar.derive.derive_patients` (``patient_id,
        os_months, os_event, first_tce_months, os_valid``).

    Returns
    -------
    pandas.DataFrame
        ``patient_id, start, stop, event, tce`` in months from the index date,
        one row per patient, two for patients whose first TCE starts strictly
        inside ``(0, os_months)``: ``(0, t_tce]`` unexposed without event and
        ``(t_tce, os_months]`` exposed carrying the death indicator. A TCE starting
        on the index date exposes the whole follow-up; a TCE starting on the last
        day of follow-up adds no exposed time. Patients with zero follow-up
        (``os_months == 0``) have no interval and are left out (as R's ``tmerge``
        would refuse an empty interval).
    """
    pts = patients.loc[patients["os_valid"] & (patients["os_months"] > 0)]
    os_t = pts["os_months"].to_numpy(dtype=float)
    t_tce = pts["first_tce_months"].to_numpy(dtype=float)
    event = pts["os_event"].to_numpy(dtype=bool)
    has = np.isfinite(t_tce)
    split = has & (t_tce > 0) & (t_tce < os_t)
    from_start = has & (t_tce <= 0)
    ids = pts["patient_id"].to_numpy()
    whole = ~split
    first = pd.DataFrame(
        {
            "patient_id": ids,
            "start": 0.0,
            "stop": np.where(split, t_tce, os_t),
            "event": np.where(split, False, event),
            "tce": from_start & whole,
            "_order": 0,
        }
    )
    second = pd.DataFrame(
        {
            "patient_id": ids[split],
            "start": t_tce[split],
            "stop": os_t[split],
            "event": event[split],
            "tce": True,
            "_order": 1,
        }
    )
    rows = pd.concat([first, second], ignore_index=True)
    rows = rows.sort_values(["patient_id", "_order"], kind="stable").drop(columns="_order")
    return rows.reset_index(drop=True)


def landmark_cohort(patients: pd.DataFrame, landmark_months: float) -> pd.DataFrame:
    """Return the landmark cohort at ``landmark_months`` with OS measured from the landmark.

    Parameters
    ----------
    patients
        Output of :func:`aftercar.derive.derive_patients`.
    landmark_months
        Landmark time L (months from the index date).

    Returns
    -------
    pandas.DataFrame
        Patients with ``os_months > L`` (alive and followed beyond L):
        ``patient_id, time`` (``os_months - L``), ``event``, ``tce_by_landmark``
        (first TCE line started at or before L).
    """
    pts = patients.loc[patients["os_valid"] & (patients["os_months"] > landmark_months)]
    first = pts["first_tce_months"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "patient_id": pts["patient_id"].to_numpy(),
            "time": pts["os_months"].to_numpy(dtype=float) - landmark_months,
            "event": pts["os_event"].to_numpy(dtype=bool),
            "tce_by_landmark": np.isfinite(first) & (first <= landmark_months),
        }
    )
