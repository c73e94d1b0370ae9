"""The Ibis (DuckDB) line endpoints equal the pandas derivation on the demo cohort."""

from __future__ import annotations

import numpy as np
import pytest

from aftercar.derive import EndpointRules, derive_lines
from aftercar.derive.ibis_lines import derive_line_endpoints_ibis
from aftercar.io import read_cohort
from aftercar.simulate import demo_cohort_path
from aftercar.vocab import classify_regimens

COLUMNS = ["start_months", "end_months", "progression_months", "pfs_months", "ttnt_months"]


@pytest.fixture(scope="module")
def cohort():
    return read_cohort(demo_cohort_path())


@pytest.mark.parametrize("rule", ["censor", "ignore"])
def test_ibis_duckdb_equals_pandas(cohort, rule):
    rules = EndpointRules(pfs_next_line=rule)
    texts = cohort.lines.column("regimen").unique().to_pylist()
    expected = derive_lines(cohort.patients, cohort.lines, classify_regimens(texts), rules=rules)
    got = derive_line_endpoints_ibis(cohort, rules=rules)
    assert len(got) == len(expected)
    assert got["patient_id"].tolist() == expected["patient_id"].tolist()
    assert got["line"].tolist() == expected["line"].tolist()
    for col in COLUMNS:
        np.testing.assert_allclose(
            got[col].to_numpy(float), expected[col].to_numpy(float), atol=1e-12, err_msg=col
        )
    for col in ("pfs_event", "ttnt_event"):
        assert got[col].astype(bool).tolist() == expected[col].astype(bool).tolist(), col
