"""Cases where aftercar differed from R survival 3.5-3 on R's own data sets (a probe of
2026-12-05): reference values in ``probe_cases.json``, written by ``make_probe_cases.R``
(next to this file), which also holds the data."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from aftercar.errors import StatisticalWarning
from aftercar.stats import cumulative_incidence, kaplan_meier

CASES = json.loads(Path(__file__).with_name("probe_cases.json").read_text())


def _close(got, expected) -> None:
    exp = np.array([np.nan if v is None else v for v in expected], dtype=float)
    np.testing.assert_allclose(np.asarray(got, dtype=float), exp, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("case", CASES["km_split_rows"], ids=lambda c: f"n{len(c['time'])}")
def test_km_of_split_rows_counts_a_censoring_only_where_the_subject_leaves(case):
    # survfit(Surv(entry, time, status) ~ 1, id=, robust=TRUE): heart (R's sum of
    # n.censor 28, aftercar's was 97) and small splits with a gap and with weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # few clusters
        fit = kaplan_meier(case["time"], case["status"], entry=case["entry"],
                           cluster=case["id"], weights=case["weights"])  # fmt: skip
    tab = fit.table
    _close(tab["time"], case["r_time"])
    for col in ("n_risk", "n_event", "n_censor", "surv", "std_err"):
        _close(tab[col], case[col])


def test_weighted_cumulative_incidence_counts_rows_as_r():
    # survfit(Surv(time, factor(status)) ~ 1, weights=, id=) on pbc: n.risk and n.event
    # are unweighted counts; the estimates use the weights
    c = CASES["cif_weighted"]
    tab = cumulative_incidence(c["time"], c["status"], weights=c["weights"]).table
    for cause, p_key, d_key in ((1, "p_1", "n_event_1"), (2, "p_2", "n_event_2")):
        t = tab[tab["cause"] == cause]
        _close(t["time"], c["r_time"])
        _close(t["n_risk"], c["n_risk"])
        _close(t["n_event"], c[d_key])
        _close(t["estimate"], c[p_key])


@pytest.mark.parametrize("case", CASES["quantile_zero"],
                         ids=lambda c: f"{c['conf_type']}-{sum(c['status'])}ev")  # fmt: skip
def test_quantiles_including_zero_equal_r(case):
    # quantile(survfit(...), 0) is NA where the curve (or a limit curve) never leaves 1
    fit = kaplan_meier(case["time"], case["status"], conf_type=case["conf_type"])
    for j, p in enumerate((0.0, 0.25, 0.5)):
        q = fit.quantile(p)
        for got, key in ((q.estimate, "quantile"), (q.lower, "lower"), (q.upper, "upper")):
            expected = case[key][j]
            assert (got is None) == (expected is None), (p, key, got, expected)
            if got is not None:
                assert got == pytest.approx(expected, rel=1e-6, abs=1e-9), (p, key)
