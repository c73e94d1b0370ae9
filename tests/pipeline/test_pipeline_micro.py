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
    steps = {s["step"]: s for s in res["attrition"]["steps"]}
    assert steps["Rows read"]["lines"] == 4 and isinstance(steps["Rows read"]["lines"], int)
    assert steps["OS analysable"]["lines"] is None


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
    assert any("'ecog' (absent from the cohort)" in n for n in result.report_input.notes)


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


def test_cohort_without_any_salvage_line_still_reports_os(tmp_path):
    folder = tmp_path / "nolines"
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "patient_id,car_t_product,car_t_date,progression_date,death_date,last_followup_date\n"
        "A,ide-cel,2020-01-01,2020-06-01,2021-01-01,\n"
        "B,cilta-cel,2020-02-01,2020-09-01,,2021-06-01\n"
    )
    (folder / "lines.csv").write_text("patient_id,line,regimen,start_date\n")
    res = run(folder).report_input.results
    assert res["os_from_progression"]["n"] == 2 and res["os_from_progression"]["events"] == 1
    assert res["first_salvage"]["orr"]["n"] == 0
    assert res["first_salvage"]["orr"]["estimate"] is None
    assert res["by_category"] == {}
    assert res["tce"]["patients"] == 0 and res["tce"]["time_dependent_cox"]["model"] is None


def test_constant_exposure_is_not_fitted_with_a_note(tmp_path):
    folder = tmp_path / "alltce"
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "patient_id,car_t_product,car_t_date,progression_date,death_date,last_followup_date\n"
        "A,ide-cel,2020-01-01,2020-06-01,2021-01-01,\n"
        "B,ide-cel,2020-01-01,2020-06-01,,2021-03-01\n"
    )
    (folder / "lines.csv").write_text(
        "patient_id,line,regimen,start_date,best_response\n"
        "A,1,teclistamab,2020-06-01,PR\nB,1,talquetamab,2020-06-01,NE\n"
    )
    out = run(folder).report_input
    assert out.results["tce"]["time_dependent_cox"]["model"] is None
    assert any("Time-dependent Cox (TCE): not fitted (tce constant)" in n for n in out.notes)


def test_simulator_output_is_labelled_synthetic(tmp_path):
    from aftercar.cli import main

    folder = tmp_path / "sim"
    assert main(["simulate", "--patients", "30", "--seed", "3", "-o", str(folder)]) == 0
    result = run(folder)
    assert result.report_input.meta["synthetic"] is True
    assert result.report_input.results["meta"]["synthetic"] is True


def test_overrides_path_relative_to_study_toml_changes_category(micro_dir, tmp_path):
    from aftercar.config import load_config

    (tmp_path / "overrides.csv").write_text("text,category\nDCEP,other\n")
    study = tmp_path / "study.toml"
    study.write_text('[vocabulary]\noverrides = "overrides.csv"\n')
    res = run(micro_dir, config=load_config(study)).report_input.results
    assert "alkylator" not in res["by_category"]
    assert res["by_category"]["other"]["lines"] == 1


def test_naive_ever_tce_comparison_only_on_request_and_always_warned(micro_dir):
    default = run(micro_dir).report_input
    assert "naive_ever_received" not in default.results["tce"]
    cfg = config_from_dict({"analysis": {"naive_tce_comparison": True}})
    flagged = run(micro_dir, config=cfg).report_input
    naive = flagged.results["tce"]["naive_ever_received"]
    assert "Immortal-time bias" in naive["warning"]
    assert any("Immortal-time bias" in n for n in flagged.notes)
