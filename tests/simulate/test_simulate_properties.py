"""Hypothesis properties: any seed, size and plausible parameters give a valid cohort."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftercar.io import validate_cohort
from aftercar.io.writer import write_cohort
from aftercar.simulate import simulate_cohort

params = st.fixed_dictionaries(
    {
        "cohort": st.fixed_dictionaries(
            {
                "chunk_size": st.integers(7, 60),
                "no_salvage_prob": st.sampled_from([0.0, 0.1, 0.5]),
            }
        ),
        "course": st.fixed_dictionaries(
            {
                "continue_prob": st.floats(0.0, 0.99),
                "switch_prob": st.floats(0.0, 0.9),
                "ne_prob": st.floats(0.0, 0.3),
                "lost_hazard_per_month": st.floats(0.0001, 0.2),
            }
        ),
        "relapse": st.fixed_dictionaries({"early_prob": st.floats(0.0, 1.0)}),
    }
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(1, 120), seed=st.integers(0, 2**32 - 1), overrides=params)
def test_any_simulated_cohort_passes_validation(tmp_path_factory, n, seed, overrides):
    cohort = simulate_cohort(n, seed=seed, params=overrides)
    assert cohort.patients.num_rows == n
    out = tmp_path_factory.mktemp("cohort")
    write_cohort(cohort.patients, cohort.lines, out)
    report = validate_cohort(out, today=dt.date(2025, 7, 1))
    errors = [str(p) for p in report.problems if p.severity == "error"]
    assert errors == []
    lines = cohort.lines.to_pandas()
    if len(lines):
        g = lines.groupby("patient_id")["line"]
        assert (g.min() == 1).all() and (g.max() == g.count()).all() and g.max().max() <= 10
