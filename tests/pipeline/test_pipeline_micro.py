"""The pipeline on the hand-worked micro-cohort (tests/derive/conftest.py), read from disk."""

from __future__ import annotations

import pytest

from aftercar.config import config_from_dict
from aftercar.pipeline import run

M = 30.4375


@pytest.fixture
def result(micro_dir):
    return run(micro_dir)


def test_input_and_cohort_counts(result):
    res = result.report_input.results
    assert (res["input"]["patients_read"], res["input"]["lines_read"]) == (4, 4)
    assert res["input"]["excluded"] == []
    assert res["cohort"]["lines_per_patient"] == {"median": 1.0, "min": 0, "max": 2, "mean": 1.0}
    assert res["cohort"]["patients_without_lines"] == 1


def test_patient_without_lines_is_in_os(result):
    os_block = result.report_input.results["os_from_progression"]
    assert (os_block["n"], os_block["events"]) == (4, 2)


def test_first_salvage_orr_excludes_not_assessed(result):
    fs = result.report_input.results["first_salvage"]
    assert (fs["orr"]["responders"], fs["orr"]["n"], fs["orr"]["not_evaluable"]) == (2, 2, 1)
    assert fs["orr"]["estimate"] == 1.0
    assert fs["orr"]["ci95"][0] == pytest.approx(0.025**0.5, abs=1e-12)  # Clopper-Pearson 2/2
    assert fs["orr"]["ci95"][1] == 1.0
    assert (fs["pfs"]["n"], fs["pfs"]["events"]) == (3, 1)  # P1 censored at line 2, P4 died


def test_tce_fraction_and_first_tce_response(result):
    tce = result.report_input.results["tce"]
    assert (tce["patients"], tce["fraction"]) == (2, 0.5)
    assert (tce["orr"]["responders"], tce["orr"]["n"], tce["orr"]["not_evaluable"]) == (1, 1, 1)
    assert tce["time_dependent_cox"]["rows"] == 5
    assert tce["time_dependent_cox"]["exposed_patients"] == 2


def test_category_with_only_ne_has_no_estimate(result):
    alk = result.report_input.results["by_category"]["alkylator"]
    assert alk["lines"] == 1
    assert alk["orr"]["n"] == 0 and alk["orr"]["not_evaluable"] == 1
    assert alk["orr"]["estimate"] is None and alk["orr"]["ci95"] == [None, None]


def test_absent_covariates_skipped_with_note(result):
    cox = result.report_input.results["cox_os"]
    skipped = {s["covariate"] for s in cox["skipped"]}
    assert {"high_risk_cytogenetics", "ecog", "iss_stage"} <= skipped
    assert any("'ecog' skipped (absent" in n for n in result.report_input.notes)


def test_pfs_rule_from_config_changes_first_salvage_events(micro_dir):
    cfg = config_from_dict({"endpoints": {"pfs_next_line": "ignore"}})
    fs = run(micro_dir, config=cfg).report_input.results["first_salvage"]
    assert (fs["pfs"]["n"], fs["pfs"]["events"]) == (3, 2)  # P1 line 1 now ends at death


def test_duration_of_response_not_computed_and_said(result):
    assert "no response date" in result.report_input.results["endpoints"]["duration_of_response"]
    assert "duration_of_response" not in result.report_input.results["first_salvage"]


def test_meta_provenance(result, micro_dir):
    meta = result.report_input.meta
    assert meta["synthetic"] is False
    assert len(meta["config_hash"]) == 64
    assert sorted(i["rows"] for i in meta["inputs"]) == [4, 4]
    assert set(meta["timings"]) == {
        "read cohort",
        "classify regimens",
        "derive endpoints",
        "analyses",
    }
