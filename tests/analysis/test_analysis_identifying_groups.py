"""Grouping or modelling by a column that identifies patients is refused or left out
(fuzzing round 6, I02: `--by patient_id` printed every id, `--by car_t_date` every date,
and cox_covariates = ["mrn"] put every MRN into a site summary)."""

import pandas as pd
import pytest

from aftercar.analysis.baseline import covariate_frame, identifying_covariate
from aftercar.analysis.table1 import _groups, identifying_groups
from aftercar.errors import InputError
from aftercar.schema import Col


def _patients(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame({
        Col.PATIENT_ID: [f"P{i:02d}" for i in range(n)],
        "mrn": [f"MRN{4711000 + i}" for i in range(n)],
        "site": ["A", "B"] * (n // 2),
        "age_at_cart": [50.0 + i for i in range(n)],
    })  # fmt: skip


@pytest.mark.parametrize("name", [Col.PATIENT_ID, "mrn", "age_at_cart"])
def test_a_grouping_by_an_identifying_column_is_named(name):
    p = _patients()
    assert identifying_groups(name, p[name]) is not None
    assert identifying_groups("site", p["site"]) is None
    with pytest.raises(InputError, match=f"Table 1 by '{name}'"):
        _groups(p, name, 6.0)  # the grouping of table1_wide


def test_a_car_t_date_is_no_grouping():
    assert "a date" in identifying_groups("car_t_date", pd.Series(["2023-01-01"] * 3))


def test_an_identifying_covariate_is_skipped_with_its_reason_a_number_is_not():
    p = _patients()
    notes: list[str] = []
    frame, skipped = covariate_frame(p, ("mrn", Col.PATIENT_ID, "age_at_cart"), notes)
    assert [s["covariate"] for s in skipped] == ["mrn", Col.PATIENT_ID]
    assert list(frame.columns) == ["age_at_cart"]
    assert "MRN47" not in " ".join(notes)
    assert identifying_covariate("site", p["site"]) is None


def test_a_real_grouping_of_a_small_cohort_is_kept():
    # review (2026-12-06): ECOG 0-4 for 9 patients, 5 cytogenetic categories for 6 were
    # refused; a grouping identifies patients only when most of its levels are one patient
    ecog = pd.Series([0, 0, 1, 1, 2, 2, 3, 3, 4])
    assert identifying_groups("ecog", ecog) is None
    cyto = pd.Series(["t(4;14)", "t(4;14)", "del17p", "del17p", "t(11;14)", "gain1q"])
    assert identifying_covariate("cytogenetics", cyto) is None
    sites = pd.Series([f"S{i % 25}" for i in range(100)])  # 25 sites of 4 patients
    assert identifying_groups("site", sites) is None
