"""The pipeline against R survival on a frozen copy of the demo cohort.

``golden/make_expected.R`` derives the endpoints itself in base R (following
docs/methods.md), builds the time-varying TCE exposure with ``survival::tmerge`` and
fits ``survfit``/``coxph``/``survdiff``/``binom.test`` (R 4.2.2, survival 3.5-3); its
output is ``golden/expected.csv``. Tolerance: 1e-6 relative or 1e-9 absolute.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aftercar.pipeline import run

GOLDEN = Path(__file__).parent / "golden"


def close(value):
    return pytest.approx(value, rel=1e-6, abs=1e-9)


@pytest.fixture(scope="module")
def expected() -> dict[str, float]:
    frame = pd.read_csv(GOLDEN / "expected.csv", skipinitialspace=True)
    return dict(zip(frame["key"], frame["value"].astype(float), strict=True))


@pytest.fixture(scope="module")
def results() -> dict:
    return run(GOLDEN).report_input.results


def test_os_median_ci_and_rates_match_r(results, expected):
    os_block = results["os_from_progression"]
    assert (os_block["n"], os_block["events"]) == (expected["os.n"], expected["os.events"])
    assert os_block["median_months"] == close(expected["os.median"])
    assert os_block["ci95"] == [close(expected["os.lower"]), close(expected["os.upper"])]
    for rate in os_block["rates"]:
        key = f"os.rate{rate['months']:g}"
        assert rate["surv"] == close(expected[f"{key}.surv"])
        assert rate["ci95"] == [close(expected[f"{key}.lower"]), close(expected[f"{key}.upper"])]


def test_median_followup_matches_r_reverse_km(results, expected):
    assert results["cohort"]["median_followup_months"]["estimate"] == close(
        expected["followup.median"]
    )


def test_first_salvage_pfs_and_orr_match_r(results, expected):
    fs = results["first_salvage"]
    assert (fs["pfs"]["n"], fs["pfs"]["events"]) == (expected["pfs1.n"], expected["pfs1.events"])
    assert fs["pfs"]["median_months"] == close(expected["pfs1.median"])
    assert fs["pfs"]["ci95"] == [close(expected["pfs1.lower"]), close(expected["pfs1.upper"])]
    orr = fs["orr"]
    assert (orr["responders"], orr["n"]) == (expected["orr1.responders"], expected["orr1.n"])
    assert orr["ci95"] == [close(expected["orr1.lower"]), close(expected["orr1.upper"])]


def test_time_dependent_tce_cox_matches_r_tmerge(results, expected):
    td = results["tce"]["time_dependent_cox"]
    assert td["rows"] == expected["td.rows"]
    assert results["tce"]["patients"] == expected["tce.patients"]
    term = td["model"]["terms"][0]
    assert term["coef"] == close(expected["td.coef"])
    assert term["se"] == close(expected["td.se"])
    assert term["robust_se"] == close(expected["td.robust_se"])


def test_landmark_cox_and_logrank_match_r(results, expected):
    lm = results["tce"]["landmarks"]["3"]
    assert (lm["patients"], lm["tce_patients"]) == (
        expected["lm3.patients"],
        expected["lm3.tce_patients"],
    )
    term = lm["cox"]["terms"][0]
    assert term["coef"] == close(expected["lm3.coef"])
    assert term["se"] == close(expected["lm3.se"])
    assert lm["km"]["logrank"]["chisq"] == close(expected["lm3.logrank_chisq"])


def test_baseline_cox_matches_r(results, expected):
    model = results["cox_os"]["model"]
    assert model["n"] == expected["cox.n"]
    for term in model["terms"]:
        assert term["coef"] == close(expected[f"cox.{term['term']}.coef"]), term["term"]
        assert term["se"] == close(expected[f"cox.{term['term']}.se"]), term["term"]


def test_rmst_of_os_matches_r_rmean(results, expected):
    for block in results["os_from_progression"]["rmst"]:
        tau = block["tau_months"]
        (row,) = block["groups"]
        assert row["estimate"] == close(expected[f"os.rmst{tau:g}"])
        assert row["se"] == close(expected[f"os.rmst{tau:g}.se"])


def test_competing_risks_of_line_1_match_r_multistate_survfit(results, expected):
    cr = results["first_salvage"]["competing_risks"]
    for key, cause in (("prog", "progression"), ("death", "death_without_progression")):
        for point in cr[cause]:
            assert point["estimate"] == close(expected[f"cif.{key}{point['months']:g}"])


def test_ph_tests_match_r_cox_zph(results, expected):
    td = results["tce"]["time_dependent_cox"]["model"]["ph_test"]["terms"][-1]
    assert td["term"] == "GLOBAL" and td["p_value"] == close(expected["td.zph.p"])
    base = results["cox_os"]["model"]["ph_test"]["terms"][-1]
    assert base["p_value"] == close(expected["cox.zph.p"])


def test_landmark_rmst_by_group_matches_r(results, expected):
    for block in results["tce"]["landmarks"]["3"]["rmst"]:
        got = {row["group"]: row["estimate"] for row in block["groups"]}
        tau = block["tau_months"]
        assert got["No TCE by 3 mo"] == close(expected[f"lm3.rmst{tau:g}.no"])
        assert got["TCE by 3 mo"] == close(expected[f"lm3.rmst{tau:g}.tce"])
