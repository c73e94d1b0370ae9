"""The cohort flow (attrition): from rows read to rows in each analysis, with reasons.

Every input row is either analysed or listed with why it was not: rows the reader
excluded (``Cohort.excluded``) and rows left out of a specific analysis (a patient
without a usable OS time, a line whose response was not evaluable, a line without a
usable PFS time).

References
----------
OHDSI CohortMethod: an attrition table updated at every cohort restriction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aftercar.schema import Col


def _row(step: str, patients: int | None, lines: int | None, note: str) -> dict[str, object]:
    return {"step": step, "patients": patients, "lines": lines, "note": note}


def attrition(
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    excluded: pd.DataFrame | None = None,
    not_lines: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the attrition table of a derived cohort.

    Parameters
    ----------
    patients
        Output of :func:`aftercar.derive.derive_patients`.
    lines
        Output of :func:`aftercar.derive.derive_lines`.
    excluded
        ``Cohort.excluded`` (``table, row, patient_id, reason``) or None.
    not_lines
        Line rows that are not lines of therapy (``DerivedCohort.excluded_lines``).

    Returns
    -------
    pandas.DataFrame
        ``step, patients, lines, note`` (counts; None where a step does not
        concern that table).
    """
    excluded = excluded if excluded is not None else pd.DataFrame(columns=["table"])
    ex_p = int((excluded["table"] == "patients").sum())
    ex_l = int((excluded["table"] == "lines").sum())
    n_not = 0 if not_lines is None else len(not_lines)
    os_ok = patients[Col.OS_VALID].to_numpy(dtype=bool)
    evaluable = lines[Col.EVALUABLE].to_numpy(dtype=bool)
    pfs_ok = np.isfinite(lines[Col.PFS_MONTHS].to_numpy(dtype=float)) & (lines[Col.PFS_MONTHS] >= 0)
    rows = [
        _row(
            "Rows read", len(patients) + ex_p, len(lines) + ex_l + n_not, "data rows in the input"
        ),
        _row("Excluded on reading", ex_p, ex_l, "see input.excluded for each row and reason"),
        _row("Analysed", len(patients), len(lines), "patients and salvage lines"),
        _row(
            "Patients without a salvage line",
            int((patients[Col.N_LINES] == 0).sum()),
            None,
            "kept for OS and Table 1",
        ),
        _row("OS analysable", int(os_ok.sum()), None, "index date and end of follow-up known"),
        _row(
            "Response-evaluable lines",
            int(lines.loc[evaluable, Col.PATIENT_ID].nunique()),
            int(evaluable.sum()),
            "best response not NE/missing (ORR denominator)",
        ),
        _row(
            "Lines with NE or missing response",
            None,
            int((~evaluable).sum()) if len(lines) else 0,
            "left out of ORR denominators, counted here",
        ),
        _row("PFS analysable lines", None, int(pfs_ok.sum()), "start and end of PFS known"),
    ]
    if n_not:
        note = "hospice, observation, no treatment...; see attrition.analysis_exclusions"
        rows.insert(2, _row("Not lines of therapy", None, n_not, note))
    table = pd.DataFrame(rows, columns=["step", "patients", "lines", "note"])
    return table.astype({"patients": "Int64", "lines": "Int64"})


def analysis_exclusions(
    patients: pd.DataFrame, lines: pd.DataFrame, not_lines: pd.DataFrame | None = None
) -> pd.DataFrame:
    """List rows left out of an analysis with the reason (``table, row, patient_id, reason``).

    Patients without a usable OS time and lines without a usable PFS time. Lines
    whose best response is NE or missing are still analysed (PFS, counts) and are
    counted, not listed, in :func:`attrition`.

    ``row`` is the spreadsheet row number (``source_row``) when known.
    """
    frames = []
    bad_os = patients.loc[~patients[Col.OS_VALID].to_numpy(dtype=bool)]
    frames.append(
        _listing(
            bad_os,
            "patients",
            "no usable OS time (index date or end of follow-up missing, or death before index)",
        )
    )
    pfs = lines[Col.PFS_MONTHS].to_numpy(dtype=float)
    bad_pfs = lines.loc[~(np.isfinite(pfs) & (pfs >= 0))]
    frames.append(_listing(bad_pfs, "lines", "no usable PFS time; left out of PFS analyses"))
    if not_lines is not None:
        frames.append(not_lines)
    filled = [f for f in frames if len(f)]  # empty frames would decide no dtype (pandas 2.1)
    return pd.concat(filled, ignore_index=True) if filled else frames[0]


def _listing(frame: pd.DataFrame, table: str, reason: str) -> pd.DataFrame:
    rows = (
        frame[Col.SOURCE_ROW] if Col.SOURCE_ROW in frame.columns else pd.Series([None] * len(frame))
    )
    return pd.DataFrame(
        {
            "table": table,
            "row": pd.array(rows.to_numpy(), dtype="Int64"),
            Col.PATIENT_ID: frame[Col.PATIENT_ID].astype("string").to_numpy(),
            "reason": reason,
        }
    )
