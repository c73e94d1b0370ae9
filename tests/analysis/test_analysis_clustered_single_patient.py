"""a category whose lines all come from one patient must not get a zero-width CI.

With a single patient (or every patient at the pooled rate) the cluster-robust
variance sum_g (y_g - n_g p)^2 is exactly zero, so the sandwich interval collapses
to [p, p]. The exact fallback on the number of patients is used instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

from aftercar import stats
from aftercar.analysis.lines import grouped_lines
from aftercar.analysis.options import AnalysisOptions as StatOptions
from aftercar.errors import StatisticalWarning


def _lines(pid, responded, category):
    lines = pd.DataFrame(
        {
            "patient_id": pid,
            "responded": pd.array(responded, dtype="boolean"),
            "vgpr_or_better": pd.array([False] * len(pid), dtype="boolean"),
            "cr_or_better": pd.array([False] * len(pid), dtype="boolean"),
            "category": category,
            "pfs_months": np.arange(1.0, len(pid) + 1),
            "pfs_event": [True] * len(pid),
        }
    )
    return lines.assign(_pid=pd.factorize(lines["patient_id"])[0])


def test_category_in_one_patient_with_mixed_response_has_exact_interval_on_one_patient():
    # adc: one patient, two lines, one responded -> p = 0.5 on 1 patient.
    lines = _lines(
        ["P1", "P1", "P2", "P3", "P3"],
        [True, False, True, False, True],
        ["adc", "adc", "other", "other", "other"],
    )
    blocks, _ = grouped_lines(lines, lines["category"], StatOptions())
    orr = blocks["adc"]["orr"]
    assert (orr["responders"], orr["n"], orr["patients"]) == (1, 2, 1)
    assert orr["estimate"] == 0.5
    assert orr["method"] == "exact-clusters"
    # Clopper-Pearson (beta form) with 0.5 responders out of 1 patient.
    assert orr["ci95"][0] == pytest.approx(beta.ppf(0.025, 0.5, 1.5), rel=1e-12)
    assert orr["ci95"][1] == pytest.approx(beta.ppf(0.975, 1.5, 0.5), rel=1e-12)
    assert orr["ci95"][1] - orr["ci95"][0] > 0.9


def test_every_patient_at_the_pooled_rate_is_not_a_zero_width_interval():
    # Two patients each 1 of 3 responded: every cluster score is zero.
    with pytest.warns(StatisticalWarning, match="sandwich variance is zero"):
        r = stats.clustered_proportion([1, 0, 0, 1, 0, 0], ["a", "a", "a", "b", "b", "b"])
    assert r.estimate == pytest.approx(1 / 3)
    assert r.method == "exact-clusters"
    assert r.lower == pytest.approx(beta.ppf(0.025, 2 / 3, 2 - 2 / 3 + 1), rel=1e-12)
    assert r.upper == pytest.approx(beta.ppf(0.975, 2 / 3 + 1, 2 - 2 / 3), rel=1e-12)
    assert r.lower < r.estimate < r.upper
