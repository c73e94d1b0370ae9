"""The derive micro-cohort written to disk in the curated format (via aftercar.io)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "derive"))
from micro_cohort import micro_lines, micro_patients

from aftercar.io import write_cohort


def _dates(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns="source_row")
    for col in out.columns:
        if col.endswith("_date"):
            out[col] = out[col].dt.date
    return out


@pytest.fixture
def micro_dir(tmp_path: Path) -> Path:
    """Micro-cohort folder; P4's CAR-T date (required by the format) is 2020-12-01."""
    patients = micro_patients()
    patients.loc[3, "car_t_date"] = pd.Timestamp("2020-12-01")
    folder = tmp_path / "micro"
    write_cohort(_dates(patients), _dates(micro_lines()), folder, format="csv")
    return folder
