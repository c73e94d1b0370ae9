"""Micro-cohorts for the io tests: a small valid cohort and helpers to corrupt it.

Imported by the io tests as ``iokit`` (tests/io is on sys.path; a package named
``io`` would shadow the standard library)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

#: "Today" for every io test, so that date_future does not depend on the clock.
TODAY = dt.date(2025, 1, 1)

PATIENT_COLUMNS = [
    "patient_id",
    "site",
    "sex",
    "birth_date",
    "age_at_cart",
    "car_t_product",
    "car_t_date",
    "car_t_best_response",
    "progression_date",
    "death_date",
    "last_followup_date",
    "high_risk_cytogenetics",
    "extramedullary_disease",
    "prior_lines",
    "triple_class_refractory",
    "penta_refractory",
    "iss_stage",
    "ecog",
]
LINE_COLUMNS = [
    "patient_id",
    "line",
    "regimen",
    "start_date",
    "end_date",
    "best_response",
    "progression_date",
    "clinical_trial",
    "end_reason",
]

# Spreadsheet rows: P01 = row 2, P02 = row 3, P03 = row 4 (no salvage line).
PATIENTS = [
    [
        "P01",
        "MSSM",
        "F",
        "1960-05-01",
        "",
        "ide-cel",
        "2020-01-10",
        "CR",
        "2020-07-01",
        "2021-06-01",
        "",
        "yes",
        "no",
        "6",
        "yes",
        "no",
        "II",
        "1",
    ],
    [
        "P02",
        "MSKCC",
        "M",
        "",
        "64.5",
        "cilta-cel",
        "2020-03-02",
        "VGPR",
        "2020-11-15",
        "",
        "2022-01-31",
        "no",
        "yes",
        "5",
        "yes",
        "yes",
        "1",
        "0",
    ],
    [
        "P03",
        "MSSM",
        "M",
        "",
        "70",
        "ide-cel",
        "2020-05-05",
        "PR",
        "2020-12-01",
        "",
        "2021-12-01",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
]
# Rows: P01 line 1 = row 2, P01 line 2 = row 3, P02 line 1 = row 4.
LINES = [
    ["P01", "1", "Tec", "2020-07-10", "2020-12-01", "VGPR", "2020-12-01", "yes", "progression"],
    [
        "P01",
        "2",
        "Dara-Pom-dex",
        "2020-12-15",
        "2021-05-01",
        "PD",
        "2021-05-01",
        "no",
        "progression",
    ],
    ["P02", "1", "cilta-cel", "2020-12-01", "", "sCR", "", "yes", ""],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_cohort(
    folder: Path, *, patients=None, lines=None, patient_columns=None, line_columns=None
) -> Path:
    """Write patients.csv and lines.csv into ``folder`` (defaults: the valid cohort)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(
        folder / "patients.csv",
        patient_columns or PATIENT_COLUMNS,
        PATIENTS if patients is None else patients,
    )
    write_csv(folder / "lines.csv", line_columns or LINE_COLUMNS, LINES if lines is None else lines)
    return folder


def edited(table: str, row: int, column: str, value: str) -> dict:
    """Keyword arguments for :func:`make_cohort` with one cell changed.

    ``row`` is the spreadsheet row (header = 1).
    """
    base, cols = (PATIENTS, PATIENT_COLUMNS) if table == "patients" else (LINES, LINE_COLUMNS)
    rows = [list(r) for r in base]
    rows[row - 2][cols.index(column)] = value
    return {table: rows}
