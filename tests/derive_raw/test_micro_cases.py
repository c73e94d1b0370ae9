"""One hand-made micro-case per line-of-therapy and IMWG rule (see raw_cases.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from raw_cases import d


def _lines(result, pid: str) -> list[dict]:
    rows = result.lines.to_pylist()
    return [r for r in rows if r["patient_id"] == pid]


def _summary(result, pid: str) -> list[tuple]:
    return [(r["line"], r["start_date"], r["drugs"]) for r in _lines(result, pid)]


def _attrition(result, pid: str) -> list[str]:
    return [r["reason"] for r in result.attrition.to_pylist() if r["patient_id"] == pid]


def _index(result, pid: str) -> dt.date:
    return next(r["progression_date"] for r in result.patients.to_pylist()
                if r["patient_id"] == pid)  # fmt: skip


def test_regimen_window(cases):
    assert _summary(cases, "window") == [(1, d(100), "carfilzomib;pomalidomide")]


def test_unplanned_addition_starts_a_line_and_drugs_continue(cases):
    assert _summary(cases, "addition") == [
        (1, d(100), "carfilzomib"),
        (2, d(150), "carfilzomib;daratumumab"),
    ]


def test_imid_added_within_90_days_is_the_same_line(cases):
    assert _summary(cases, "imid_exception") == [(1, d(100), "daratumumab;pomalidomide")]


def test_dropping_a_drug_is_not_a_new_line(cases):
    lines = _lines(cases, "drop")
    assert [(r["line"], r["start_date"]) for r in lines] == [(1, d(100))]
    assert lines[0]["end_date"] == d(163)  # end_date = last anti-myeloma administration


def test_gap_over_90_days_is_a_new_line_with_the_same_drugs(cases):
    assert _summary(cases, "gap") == [(1, d(100), "bortezomib"), (2, d(222), "bortezomib")]


def test_steroids_premedication_and_supportive_drugs(cases):
    assert _summary(cases, "steroids") == [
        (1, d(100), "teclistamab"),
        (2, d(400), "dexamethasone;selinexor"),
    ]
    reasons = _attrition(cases, "steroids")
    assert reasons.count("steroid given alone (not anti-myeloma)") == 2
    assert reasons.count("premedication (not anti-myeloma)") == 3
    assert sum(r.startswith("not anti-myeloma") for r in reasons) == 3  # paracetamol + 2 zoledronic


def test_steroid_never_starts_a_line(cases):
    assert _summary(cases, "steroid_start") == [
        (1, d(50), "selinexor"),
        (2, d(203), "dexamethasone;pomalidomide"),
    ]


def test_second_drug_of_a_class_after_the_window_is_a_new_line(cases):
    lines = _lines(cases, "second_pi")
    assert [(r["line"], r["start_date"], r["end_date"], r["drugs"]) for r in lines] == [
        (1, d(100), d(156), "carfilzomib"),
        (2, d(160), d(181), "bortezomib;carfilzomib"),
    ]


def test_gap_of_exactly_90_days_is_the_same_line(cases):
    lines = _lines(cases, "gap_90")
    assert [(r["line"], r["start_date"], r["end_date"]) for r in lines] == [(1, d(100), d(204))]


def test_supportive_drugs_are_never_a_line_and_are_listed(cases):
    assert _summary(cases, "supportive") == [(1, d(100), "elotuzumab")]
    reasons = _attrition(cases, "supportive")
    assert len(reasons) == 18
    assert all(r.startswith("not anti-myeloma") for r in reasons)


def test_therapy_after_car_t_before_lab_progression_dates_the_index(cases):
    assert _index(cases, "therapy_before_lab_pd") == d(20)
    lines = _lines(cases, "therapy_before_lab_pd")
    assert [(r["line"], r["start_date"], r["drugs"], r["best_response"], r["progression_date"])
            for r in lines] == [(1, d(20), "lenalidomide", "PR", d(120)),
                                (2, d(160), "talquetamab", None, None)]  # fmt: skip


def test_bispecific_step_up_doses_start_the_line(cases):
    line = _lines(cases, "steroids")[0]
    assert line["start_date"] == d(100)
    assert line["regimen"] == "teclistamab"


def test_unrecognised_text_is_listed(cases):
    assert _attrition(cases, "unknown_text") == ["drug text not recognised by the vocabulary"]
    assert _summary(cases, "unknown_text") == [(1, d(100), "ixazomib")]


def test_lymphodepletion_is_not_a_line_but_cyclophosphamide_later_is(cases):
    assert _summary(cases, "flucy") == [(1, d(200), "cyclophosphamide")]
    events = [r for r in cases.audit["events"].to_pylist() if r["patient_id"] == "flucy"]
    assert sum(r["role"] == "lymphodepletion" and r["line"] == 0 for r in events) == 6


def test_car_t_bundle_is_one_line_at_the_infusion(cases):
    assert _summary(cases, "cart") == [
        (1, d(100), "carfilzomib"),
        (2, d(240), "idecabtagene vicleucel"),
        (3, d(400), "pomalidomide"),
    ]
    events = [r for r in cases.audit["events"].to_pylist()
              if r["patient_id"] == "cart" and r["line"] == 2]  # fmt: skip
    roles = sorted(r["role"] for r in events)
    assert roles.count("bridging") == 2
    assert roles.count("lymphodepletion") == 7  # 6 doses + 1 procedure
    assert "apheresis" in roles and "car_t_infusion" in roles


def test_steroids_given_with_bridging_therapy_belong_to_the_car_t_line(cases):
    assert _summary(cases, "cart_vd") == [
        (1, d(100), "carfilzomib"), (2, d(240), "idecabtagene vicleucel")]
    events = [r for r in cases.audit["events"].to_pylist()
              if r["patient_id"] == "cart_vd" and r["line"] == 2]  # fmt: skip
    roles = sorted(r["role"] for r in events)
    assert roles.count("bridging") == 3
    assert roles.count("steroid with the bridging therapy") == 5
    assert _attrition(cases, "cart_vd") == ["steroid given alone (not anti-myeloma)"]  # day 300


def test_a_car_t_line_is_completed_only_when_a_line_follows_it(cases):
    # docs/derivation.md: "completed" for a CAR-T, transplant or radiotherapy line followed by
    # another line, empty for the last line in the records (a hand-made OMOP probe, session
    # 26: a last CAR-T line read "completed")
    assert [r["end_reason"] for r in _lines(cases, "cart")][1] == "completed"
    assert [r["end_reason"] for r in _lines(cases, "cart_vd")] == ["next line started", None]
    assert _lines(cases, "asct")[0]["end_reason"] == "completed"


def test_a_drug_line_that_progressed_before_a_transplant_ended_by_progression(cases):
    # hand-labelled raw patient P22: "next line started" until 2026-12-07 (docs/derivation.md)
    got = [(r["start_date"], r["regimen"], r["progression_date"], r["end_reason"])
           for r in _lines(cases, "pd_before_asct")]  # fmt: skip
    assert got == [(d(110), "pomalidomide", d(170), "progression"),
                   (d(195), "melphalan + autologous stem cell transplant", None, None)]


def test_a_car_t_infused_as_a_procedure_names_its_product(cases):
    assert _summary(cases, "cart_proc") == [(1, d(240), "ciltacabtagene autoleucel")]
    assert _lines(cases, "cart_proc")[0]["regimen"] == "ciltacabtagene autoleucel"
    assert _summary(cases, "cart_proc_bare") == [(1, d(240), "unspecified car t")]
    assert _summary(cases, "cart_proc_named_adm") == [(1, d(240), "ciltacabtagene autoleucel")]


def test_index_car_t_is_never_a_salvage_line(cases):
    for r in cases.lines.to_pylist():
        assert r["start_date"] > d(0)
    events = [r for r in cases.audit["events"].to_pylist() if r["line"] == 0]
    assert {r["role"] for r in events} >= {"apheresis", "car_t_infusion"}


def test_melphalan_and_transplant_are_one_line_with_tandem(cases):
    lines = _lines(cases, "asct")
    assert [(r["line"], r["start_date"], r["drugs"]) for r in lines] == [
        (1, d(98), "melphalan"),
        (2, d(600), "lenalidomide"),
    ]
    assert lines[0]["regimen"] == "melphalan + autologous stem cell transplant"


def test_maintenance_monotherapy_after_transplant_belongs_to_its_line(cases):
    lines = _lines(cases, "maintenance")
    assert [(r["line"], r["start_date"], r["end_date"], r["drugs"]) for r in lines] == [
        (1, d(98), d(253), "dexamethasone;lenalidomide;melphalan"),
        (2, d(500), d(514), "carfilzomib;daratumumab"),
    ]
    lines = _lines(cases, "maintenance_after_pd")
    assert [(r["line"], r["start_date"], r["end_date"], r["drugs"], r["progression_date"])
            for r in lines] == [
        (1, d(98), d(100), "melphalan", d(190)),
        (2, d(210), d(238), "lenalidomide", None),
    ]  # fmt: skip
    assert _summary(cases, "not_maintenance") == [
        (1, d(98), "melphalan"),
        (2, d(190), "carfilzomib;lenalidomide"),
    ]


def test_maintenance_continued_after_a_confirmed_progression_is_a_new_line(cases):
    lines = _lines(cases, "maintenance_pd_continued")
    assert [(r["line"], r["start_date"], r["end_date"], r["drugs"], r["progression_date"],
             r["end_reason"]) for r in lines] == [
        (1, d(98), d(329), "lenalidomide;melphalan", d(300), "progression"),
        (2, d(330), d(413), "lenalidomide", None, None),
    ]  # fmt: skip
    audit = [r for r in cases.audit["lines"].to_pylist()
             if r["patient_id"] == "maintenance_pd_continued"]  # fmt: skip
    assert audit[0]["end_rule"].startswith("confirmed IMWG progression on this line")


def test_maintenance_after_the_car_t_is_no_relapse(cases):
    """Lenalidomide begun 84 days after the CAR T in VGPR (hand-made patient P21): the
    index is the progression confirmed during it, line 1 the bispecific after it, and the
    maintenance doses are listed as such; later than 180 days, with carfilzomib, or given
    while the CAR T had not brought a partial response, the drug is the first therapy
    after the CAR T."""
    assert _index(cases, "hm_car_t_maintenance") == d(300)
    assert _summary(cases, "hm_car_t_maintenance") == [(1, d(360), "teclistamab")]
    reasons = _attrition(cases, "hm_car_t_maintenance")
    assert reasons.count("maintenance of the index CAR T ([maintenance] after_car_t_days), "
                         "before the index progression") == (290 - 84) // 7  # fmt: skip
    assert _index(cases, "hm_car_t_maintenance_late") == d(200)
    assert _summary(cases, "hm_car_t_maintenance_late")[0] == (
        1, d(200), "dexamethasone;lenalidomide")
    assert _index(cases, "hm_car_t_maintenance_in_sd") == d(84)  # no response: no maintenance
    # continued until the switch: no line of its own; begun again after 90 days: a line
    assert _index(cases, "hm_car_t_maintenance_to_switch") == d(300)
    assert _summary(cases, "hm_car_t_maintenance_to_switch") == [(1, d(360), "teclistamab")]
    assert "maintenance of the index CAR T continued after the index progression, until the " \
        "next therapy (not salvage therapy)" in _attrition(cases, "hm_car_t_maintenance_to_switch")
    assert _index(cases, "hm_car_t_maintenance_restarted") == d(400)
    assert _summary(cases, "hm_car_t_maintenance_restarted") == [(1, d(400), "lenalidomide")]
    assert _index(cases, "hm_car_t_maintenance_kr") == d(84)
    assert _summary(cases, "hm_car_t_maintenance_kr")[0] == (
        1, d(84), "carfilzomib;dexamethasone;lenalidomide")


def test_radiotherapy_course_alone_is_one_line(cases):
    lines = _lines(cases, "rt")
    assert [(r["line"], r["start_date"], r["end_date"], r["regimen"]) for r in lines] == [
        (1, d(100), d(109), "radiotherapy"),
        (2, d(300), d(314), "selinexor"),
    ]


def test_a_follow_up_ending_before_the_car_t_is_the_reason_its_patient_is_left_out(cases):
    assert _lines(cases, "death_before_car_t") == []
    reasons = _attrition(cases, "death_before_car_t")
    assert len(reasons) == 5  # the patient, its drug, two labs and the infusion (the
    # apheresis is an event of the index CAR T, line 0, as for any patient)
    assert set(reasons) == {"death_date or last_followup_date before car_t_date (check the "
                            "dates)"}  # fmt: skip


def test_therapy_before_the_index_car_t_is_not_salvage(cases):
    assert _summary(cases, "prior") == [(1, d(150), "belantamab mafodotin")]
    assert _attrition(cases, "prior") == ["anti-myeloma therapy before the index CAR T"] * 2
    assert sorted(_attrition(cases, "prior_car_t")) == ["CAR-T therapy before the index CAR T"] + [
        "not anti-myeloma (a supportive drug, or a lymphodepletion agent not within days "
        "-7..0 of the index or a salvage CAR-T infusion)"] * 3  # fmt: skip


def test_index_date_is_first_confirmed_progression_after_car_t(cases):
    assert _index(cases, "labs_pr") == d(300)
    assert _index(cases, "window") == d(100)  # no labs: first new therapy


@pytest.mark.parametrize("pid", ["labs_pr", "labs_units", "labs_units_upper"])
def test_pr_confirmed_and_units_normalised(cases, pid):
    (line,) = _lines(cases, pid)
    assert (line["start_date"], line["best_response"], line["progression_date"]) == (
        d(340),
        "PR",
        None,
    )
    assert _index(cases, pid) == d(300)


def test_single_pr_is_not_confirmed(cases):
    assert _lines(cases, "labs_unconfirmed")[0]["best_response"] == "MR"


def test_cr_needs_marrow_else_vgpr(cases):
    assert _lines(cases, "labs_cr")[0]["best_response"] == "CR"
    assert _lines(cases, "labs_no_marrow")[0]["best_response"] == "VGPR"


def test_progression_from_nadir_and_therapy_after_confirmation_is_a_new_line(cases):
    first, *rest = _lines(cases, "labs_line_pd")
    assert (first["line"], first["start_date"], first["end_date"], first["best_response"],
            first["progression_date"]) == (1, d(340), d(487), "PR", d(460))  # fmt: skip
    assert [(r["line"], r["start_date"], r["end_date"], r["drugs"]) for r in rest] == [
        (2, d(494), d(543), "selinexor")
    ]


def test_therapy_after_progression_inside_the_regimen_window_is_a_new_line(cases):
    lines = _lines(cases, "pd_in_window")
    assert [(r["line"], r["start_date"], r["end_date"], r["drugs"], r["best_response"],
             r["progression_date"]) for r in lines] == [
        (1, d(340), d(347), "selinexor", "PD", d(350)),
        (2, d(365), d(386), "pomalidomide", None, None),
    ]  # fmt: skip


def test_resuming_a_drug_after_progression_is_a_new_line(cases):
    lines = _lines(cases, "pd_resume")
    assert [(r["line"], r["start_date"], r["end_date"], r["drugs"], r["progression_date"])
            for r in lines] == [
        (1, d(340), d(410), "pomalidomide;selinexor", d(420)),
        (2, d(440), d(461), "pomalidomide", None),
    ]  # fmt: skip


def test_retreatment_after_progression_is_a_new_line(cases):
    lines = _lines(cases, "retreatment")
    assert [(r["line"], r["start_date"], r["end_date"], r["best_response"], r["progression_date"],
             r["drugs"]) for r in lines] == [
        (1, d(340), d(459), "PR", d(460), "selinexor"),
        (2, d(522), d(543), None, None, "selinexor"),
    ]  # fmt: skip


def test_a_new_drug_after_a_confirmed_progression_ends_the_line_by_progression(cases):
    lines = _lines(cases, "pd_new_drug")
    assert [(r["line"], r["start_date"], r["end_date"], r["end_reason"], r["drugs"])
            for r in lines] == [
        (1, d(340), d(459), "progression", "selinexor"),
        (2, d(494), d(515), None, "pomalidomide"),
    ]  # fmt: skip
    audit = [r for r in cases.audit["lines"].to_pylist() if r["patient_id"] == "pd_new_drug"]
    assert audit[0]["progression_before_restart"] == d(460)
    assert audit[0]["end_rule"].startswith("confirmed IMWG progression")


def test_drug_added_within_the_window_stays_in_the_line(cases):
    lines = _lines(cases, "labs_late_addition")
    assert [(r["line"], r["start_date"], r["end_date"], r["drugs"], r["best_response"],
             r["progression_date"]) for r in lines] == [
        (1, d(340), d(389), "pomalidomide;selinexor", "SD", d(370)),
    ]  # fmt: skip


def test_rise_below_absolute_threshold_is_not_progression(cases):
    (line,) = _lines(cases, "labs_small_rise")
    assert (line["best_response"], line["progression_date"]) == ("PR", None)


@pytest.mark.parametrize(("pid", "best", "pd"), [
    ("labs_exact_rise", "VGPR", d(430)),
    ("labs_exact_rise_mr", "MR", d(430)),
    ("labs_exact_mr", "MR", None),
])  # fmt: skip
def test_a_value_exactly_on_a_threshold_meets_it(cases, pid, best, pd):
    line = _lines(cases, pid)[0]  # therapy given on after a confirmed PD is a new line
    assert (line["best_response"], line["progression_date"]) == (best, pd)


def test_flc_only_disease_pr(cases):
    (line,) = _lines(cases, "labs_flc")
    assert line["best_response"] == "PR"
    a = [r for r in cases.audit["assessments"].to_pylist()
         if r["patient_id"] == "labs_flc" and r["line"] == 1]  # fmt: skip
    assert {r["parameter"] for r in a} == {"flc"}
    assert a[0]["baseline"] == pytest.approx(59.0)


def test_no_assessment_is_not_assessed(cases):
    (line,) = _lines(cases, "labs_none")
    assert line["best_response"] is None


def test_a_line_assessed_without_a_response_parameter_is_not_evaluable(cases):
    (line,) = _lines(cases, "labs_no_param")
    assert line["best_response"] == "NE"
    a = [r for r in cases.audit["assessments"].to_pylist()
         if r["patient_id"] == "labs_no_param" and r["line"] == 1]  # fmt: skip
    assert [(r["date"], r["parameter"], r["response"]) for r in a] == [
        (d(370), None, None), (d(400), None, None)]  # fmt: skip


def test_the_line_audit_gives_each_line_its_end_date(cases):
    ends = {(r["patient_id"], r["line"]): r["end_date"] for r in cases.lines.to_pylist()}
    audit = {(r["patient_id"], r["line"]): r["end_date"]
             for r in cases.audit["lines"].to_pylist()}  # fmt: skip
    assert audit == ends
    assert audit[("rt", 1)] == d(109)


def test_every_raw_row_is_used_or_listed(cases):
    from raw_cases import build_cases

    tables = build_cases().tables()
    used = {(r["table"], r["row"]) for r in cases.audit["events"].to_pylist()}
    listed = {(r["table"], r["row"]) for r in cases.attrition.to_pylist()}
    for name in ("administrations", "procedures"):
        for row in tables[name]["row"].to_pylist():
            assert (name, row) in used or (name, row) in listed, (name, row)


def test_every_lab_row_is_an_assessment_a_baseline_or_listed(cases):
    """A baseline visit's rows are in ``baseline_rows``; a visit of no assessment (no value
    of the response parameter) is listed, never silently dropped."""
    from raw_cases import build_cases

    ass = cases.audit["assessments"].to_pylist()
    cols = ("lab_rows", "baseline_rows")
    seen = {int(x) for r in ass for c in cols for x in (r[c] or "").split()}
    reasons = {r["row"]: r["reason"] for r in cases.attrition.to_pylist() if r["table"] == "labs"}
    assert not seen & set(reasons)  # used, or listed: never both
    for row in build_cases().tables()["labs"]["row"].to_pylist():
        assert row in seen or row in reasons, row
    assert any("neither an assessment nor a baseline" in r for r in reasons.values())


@pytest.mark.parametrize(
    ("pid", "best", "progression"),
    [
        ("labs_scr", "sCR", None),
        ("labs_vgpr", "VGPR", None),
        ("labs_vgpr_ife", "VGPR", None),
        ("labs_not_detected", "VGPR", None),
        ("labs_sd", "SD", None),
        ("labs_sd_then_pd", "SD", d(400)),
        ("labs_pd_first", "PD", d(370)),
        ("labs_pd_unconfirmed", "PR", None),
        ("labs_skip", "PR", None),
        ("labs_high_nadir", "SD", d(460)),
        ("labs_urine", "PR", d(460)),
        ("labs_flc_pd", "SD", d(430)),
        ("labs_reappear", "VGPR", d(460)),
        ("labs_baseline_on_start", "PR", None),
    ],
)
def test_imwg_category_and_progression(cases, pid, best, progression):
    line = _lines(cases, pid)[0]
    assert (line["start_date"], line["best_response"], line["progression_date"]) == (
        d(340), best, progression)  # fmt: skip


def test_response_parameter_follows_measurable_disease(cases):
    params = {r["patient_id"]: r["parameter"] for r in cases.audit["assessments"].to_pylist()
              if r["line"] == 1}  # fmt: skip
    assert (params["labs_urine"], params["labs_flc_pd"], params["labs_vgpr"]) == (
        "urine", "flc", "serum")  # fmt: skip


def test_the_line_audit_says_whether_the_baseline_was_measurable(cases):
    # a response graded from a detectable, not measurable, baseline (fallback_to_detectable;
    # IMWG: not evaluable) was not told from one graded as IMWG grades it until 2026-12-07
    audit = {r["patient_id"]: r for r in cases.audit["lines"].to_pylist() if r["line"] == 1}
    got = {pid: (audit[pid]["response_parameter"], audit[pid]["measurable_baseline"],
                 audit[pid]["best_response"])
           for pid in ("labs_mr_not_measurable", "labs_vgpr", "labs_urine", "labs_no_param",
                       "labs_none")}  # fmt: skip
    assert got == {"labs_mr_not_measurable": ("serum", False, "MR"),
                   "labs_vgpr": ("serum", True, "VGPR"), "labs_urine": ("urine", True, "PR"),
                   "labs_no_param": (None, None, "NE"), "labs_none": (None, None, None)}


def test_lab_rows_of_patients_without_an_index_are_assessed_or_listed_never_both():
    # until 2026-12-07 the index CAR T's assessments of a patient without an index
    # progression were in audit/assessments and their rows in the attrition too, and a
    # patient left out before the index (a CD19 CAR T) had assessments at all
    from raw_cases import RawBuilder

    from aftercar.derive.raw.derive import derive_raw

    b = RawBuilder()
    b.serum(b.patient("no_index"), {-10: 3.0, 30: 0.5, 60: 0.3, 90: 0.3})
    cd19 = b.patient("cd19")
    b.patients[-1]["car_t_product"] = "tisagenlecleucel"
    b.serum(cd19, {-10: 3.0, 30: 0.5, 60: 0.3, 90: 1.0, 100: 1.2})
    labs = b.tables()["labs"].to_pylist()
    own = {p: {r["row"] for r in labs if r["patient_id"] == p} for p in ("no_index", "cd19")}
    out = derive_raw(b.tables())
    used: dict[str, set[int]] = {}
    for r in out.audit["assessments"].to_pylist():
        used.setdefault(r["patient_id"], set()).update(
            int(x) for c in ("lab_rows", "baseline_rows") for x in (r[c] or "").split())
    listed = {(r["table"], r["row"]): r["reason"] for r in out.attrition.to_pylist()}
    assert set(used) == {"no_index"} and used["no_index"] == own["no_index"]  # why no index
    assert not any(("labs", r) in listed for r in own["no_index"])  # ... its rows are used
    assert listed[("patients", 2)].startswith("patient has no confirmed IMWG progression")
    assert {listed[("labs", r)] for r in own["cd19"]} == {listed[("patients", 3)]}
    assert listed[("patients", 3)].startswith("index CAR T is not BCMA-directed")


def test_pd_confirmed_by_the_first_assessment_after_the_next_line_started(cases):
    lines = _lines(cases, "labs_pd_confirmed_after")
    first = lines[0]
    assert (first["line"], first["start_date"], first["drugs"], first["best_response"],
            first["progression_date"]) == (1, d(340), "selinexor", "PR", d(430))  # fmt: skip
    assert lines[1]["start_date"] == d(440)


def test_car_t_best_response_and_index_from_the_car_t_baseline(cases):
    p = next(r for r in cases.patients.to_pylist() if r["patient_id"] == "car_t_response")
    assert (p["car_t_best_response"], p["progression_date"]) == ("PR", d(150))
    assert _summary(cases, "car_t_response") == [(1, d(200), "talquetamab")]


def test_release_gives_the_same_result_and_lets_the_raw_tables_go(cases):
    """``derive_raw(..., release=True)`` (issue 12 item 7, memory): the caller's raw Arrow
    tables are let go and none stays registered in DuckDB; the result is the same."""
    import ibis
    from raw_cases import build_cases

    from aftercar.derive.raw.derive import derive_raw

    raw = build_cases().tables()
    con = ibis.duckdb.connect()
    released = derive_raw(raw, con=con, release=True)
    assert set(raw) == {"patients"}
    views = con.con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    assert not [v for (v,) in views if "memtable" in v]
    for name in ("patients", "lines", "attrition"):
        assert getattr(released, name).equals(getattr(cases, name)), name
    for name, table in cases.audit.items():
        keys = [(c, "ascending") for c in table.column_names]
        assert released.audit[name].sort_by(keys).equals(table.sort_by(keys)), name


def _spans(result, pid: str) -> list[tuple]:
    return [(r["line"], r["start_date"], r["end_date"], r["drugs"]) for r in _lines(result, pid)]


def test_a_course_as_one_row_covers_its_days(cases):
    assert _spans(cases, "span_one_line") == [(1, d(100), d(327), "lenalidomide")]


def test_a_course_continues_into_the_line_started_while_it_runs(cases):
    assert _spans(cases, "span_continues") == [
        (1, d(100), d(159), "lenalidomide"),
        (2, d(160), d(400), "daratumumab;lenalidomide"),
    ]


def test_the_gap_runs_from_a_course_s_last_day(cases):
    assert _spans(cases, "span_gap") == [
        (1, d(100), d(130), "pomalidomide"),
        (2, d(225), d(245), "pomalidomide"),
    ]


def test_a_course_begun_before_the_index_is_not_salvage_therapy(cases):
    assert _index(cases, "span_before_index") == d(150)
    assert _spans(cases, "span_before_index") == [(1, d(150), d(171), "selinexor")]


def test_a_course_is_clipped_at_the_last_follow_up(cases):
    assert _spans(cases, "span_followup") == [(1, d(100), d(200), "pomalidomide")]


def test_a_course_ends_at_a_bundle_and_starts_no_line_after_it(cases):
    got = _spans(cases, "span_cart")
    assert [(n, s, e) for n, s, e, _ in got] == [(1, d(100), d(239)), (2, d(240), d(240))]
    assert got[1][3] == "idecabtagene vicleucel"  # pomalidomide began before: not bridging


def test_radiotherapy_during_a_course_is_not_a_line(cases):
    got = _spans(cases, "span_rt")
    assert [(n, s, e) for n, s, e, _ in got] == [(1, d(100), d(400))]


def test_the_rest_of_a_course_after_a_confirmed_progression_restarts_nothing(cases):
    # a course dispensed before the progression is not therapy restarted (until 2026-12-06
    # its later days restarted a line: 340-489, then 490-600)
    assert _spans(cases, "span_pd") == [(1, d(340), d(600), "selinexor")]


def test_the_line_after_a_progression_mid_course_starts_with_the_next_therapy(cases):
    got = _spans(cases, "span_pd_next")
    assert got == [(1, d(100), d(211), "pomalidomide"),
                   (2, d(230), d(265), "teclistamab")]  # fmt: skip


def _span_cases_with(backend, tmp_path, rules_toml: str):
    """The span micro-cases derived with ``rules_toml`` overriding the default rules."""
    from raw_cases import RawBuilder, span_cases

    from aftercar.derive.raw.derive import derive_raw
    from aftercar.derive.raw.rules import load_rules

    f = tmp_path / "rules.toml"
    f.write_text(rules_toml)
    b = RawBuilder()
    span_cases(b)
    return derive_raw(b.tables(), rules=load_rules(f), con=backend())


def test_a_course_is_never_a_pause_before_retreatment(backend, tmp_path):
    got = _span_cases_with(backend, tmp_path, "[lines]\nretreatment_gap_days = 14\n")
    assert _spans(got, "span_pd") == [(1, d(340), d(600), "selinexor")]


def test_maintenance_as_one_course_ends_the_transplant_line_with_it(cases):
    got = _spans(cases, "span_maintenance")
    assert got == [(1, d(98), d(400), "lenalidomide;melphalan")]
    audit = [r for r in cases.audit["lines"].to_pylist() if r["patient_id"] == "span_maintenance"]
    assert [r["end_date"] for r in audit] == [d(400)]


def test_the_course_rows_are_listed_once_per_line_they_run_in(cases):
    ev = [r for r in cases.audit["events"].to_pylist() if r["patient_id"] == "span_continues"]
    lines_of = {}
    for r in ev:
        lines_of.setdefault(r["row"], set()).add(r["line"])
    both = [sorted(v) for v in lines_of.values() if len(v) > 1]
    assert both == [[1, 2]]  # the course (one row) in lines 1 and 2; each dose in one line


def test_courses_read_as_doses_when_end_dates_are_off(backend, tmp_path):
    off = _span_cases_with(backend, tmp_path, "[lines]\nexposure_end_dates = false\n")
    assert _spans(off, "span_one_line") == [
        (1, d(100), d(100), "lenalidomide"),
        (2, d(300), d(300), "lenalidomide"),
    ]


def test_with_a_retreatment_gap_only_therapy_after_such_a_pause_restarts(backend, tmp_path):
    """``retreatment_gap_days`` 14: the drug given again 63 days after the last dose, after
    the confirmed progression, is a new line (the restart read from ``_pause_dates``); the
    same drug given on without a pause through the progression is not."""
    from raw_cases import build_cases

    from aftercar.derive.raw.derive import derive_raw
    from aftercar.derive.raw.rules import load_rules

    f = tmp_path / "rules.toml"
    f.write_text("[lines]\nretreatment_gap_days = 14\n")
    got = derive_raw(build_cases().tables(), rules=load_rules(f), con=backend())
    assert [(r["line"], r["start_date"], r["progression_date"])
            for r in _lines(got, "retreatment")] == [(1, d(340), d(460)), (2, d(522), None)]
    assert _summary(got, "pd_resume") == [(1, d(340), "pomalidomide;selinexor"),
                                          (2, d(440), "pomalidomide")]  # a 30-day pause
    assert [r["line"] for r in _lines(got, "labs_line_pd")] == [1]  # no pause: one line


@pytest.mark.parametrize(("pid", "best"), [
    ("hm_flc_polyclonal", "NE"),  # a normal ratio: no monoclonal light chain to follow
    ("hm_flc_cr_abnormal_ratio", "VGPR"),  # FLC-only CR needs a normal ratio
    ("hm_mr_urine", "SD"),  # MR needs the measured urine 50% lower
    ("hm_vgpr_urine", "PR"),  # serum 0 with IFE positive is VGPR only with urine < 100
    ("hm_no_baseline", "NE"),  # no pre-treatment baseline: no response to grade
    ("hm_no_baseline_pd", "PD"),  # ... but a confirmed progression from the first value
    ("hm_ratio_only", "sCR"),  # a normal ratio reported alone (no kappa, no lambda)
    ("hm_ratio_before", "PD"),  # a ratio alone before the start is no baseline
    ("hm_urine_baseline_only", "PR"),  # a baseline urine alone is not carried as unchanged
    ("hm_no_urine", "PR"),  # ... the serum criterion alone, as without any urine
])  # fmt: skip
def test_imwg_rules_found_by_hand_made_patients(cases, pid, best):
    (line,) = _lines(cases, pid)
    assert line["best_response"] == best


@pytest.mark.parametrize(("pid", "best", "progression"), [
    # the urine of day 384 is read at the next assessment (400): PD, confirmed by the
    # urine of 431 (its carried 500 mg also keeps 400 from confirming the PR of 370: SD)
    ("hm_urine_alone_pd", "SD", 400),
    ("hm_urine_alone_once", "SD", None),  # ... and is not read again to confirm itself
    ("hm_urine_serum_between", "SD", 400),  # confirmed by the urine of 431, not by 415
    ("hm_no_baseline_later_pd", "PD", 431),  # no pre-treatment lab, confirmed progression
])  # fmt: skip
def test_urine_between_assessments_and_late_baselines(cases, pid, best, progression):
    line = _lines(cases, pid)[0]  # (the selinexor going on after a progression is line 2)
    assert (line["best_response"], line["progression_date"]) == \
        (best, None if progression is None else d(progression))  # fmt: skip


@pytest.mark.parametrize(("pid", "progression"), [
    ("hm_urine_next_day", 400),  # the urine of day 401 is read with the visit of day 400
    ("hm_urine_two_days", 431),  # the urine of day 402 is carried to the next assessment
])  # fmt: skip
def test_a_24h_urine_dated_the_day_after_its_serum_is_read_with_that_visit(cases, pid,
                                                                          progression):
    line = _lines(cases, pid)[0]
    assert line["progression_date"] == d(progression)
    if pid == "hm_urine_next_day":  # its rows are the visit's, none listed as not assessed
        rows = {r["date"]: r["lab_rows"].split() for r in cases.audit["assessments"]
                .to_pylist() if r["patient_id"] == pid and r["line"] == 1}  # fmt: skip
        assert all(len(rows[d(day)]) == 2 for day in (370, 400, 431))
        assert not [x for x in _attrition(cases, pid) if "neither an assessment" in x]


def test_a_visit_with_its_own_urine_keeps_it(cases):
    """The urine of the day after a visit that has its own urine is not moved onto it."""
    rows = {r["date"]: r["lab_rows"].split() for r in cases.audit["assessments"].to_pylist()
            if r["patient_id"] == "hm_urine_both_days" and r["line"] == 1}  # fmt: skip
    assert len(rows[d(370)]) == 2  # the serum and the urine of day 370, not day 371's


def test_a_new_drug_after_the_discontinuation_gap_ends_the_line_by_the_gap(cases):
    # a hand-made probe (session 27): read "new drug added" after 120 days without therapy
    assert [(r["drugs"], r["end_reason"]) for r in _lines(cases, "hm_gap_then_new")] == [
        ("selinexor", "treatment gap"), ("talquetamab", None)]  # fmt: skip


def test_held_doses_and_context_mentions_are_no_administrations(cases):
    assert _summary(cases, "hm_held_context") == [
        (1, d(340), "teclistamab"), (2, d(500), "talquetamab")]  # fmt: skip
    reasons = _attrition(cases, "hm_held_context")
    assert reasons.count("recorded as not given (held, omitted, cancelled or refused)") == 1
    assert sum(r.startswith("not anti-myeloma") for r in reasons) == len(range(340, 600, 3))


def test_a_non_bcma_index_car_t_leaves_the_patient_out(cases):
    assert _lines(cases, "hm_non_bcma") == []
    assert "hm_non_bcma" not in cases.patients["patient_id"].to_pylist()
    reasons = set(_attrition(cases, "hm_non_bcma"))
    assert reasons == {"index CAR T is not BCMA-directed (car_t_product names a CAR T of other "
                       "targets: the cohort is relapse after BCMA-directed CAR T)"}


def test_supportive_procedures_are_no_lines(cases):
    assert _summary(cases, "hm_support_procedures") == [(1, d(340), "selinexor")]
    reasons = _attrition(cases, "hm_support_procedures")
    assert reasons.count("supportive or planning procedure (not anti-myeloma therapy)") == 2


def test_without_a_pretreatment_baseline_the_first_value_grades_when_asked(backend, tmp_path):
    """``response_needs_pretreatment_baseline = false``: the earlier reading, a response
    graded from the first on-treatment value (2.0 -> 0.8 -> 0.7: PR)."""
    from raw_cases import build_cases

    from aftercar.derive.raw.derive import derive_raw
    from aftercar.derive.raw.rules import load_rules

    f = tmp_path / "rules.toml"
    f.write_text("[measurable]\nresponse_needs_pretreatment_baseline = false\n")
    got = derive_raw(build_cases().tables(), rules=load_rules(f), con=backend())
    assert [(r["best_response"], r["progression_date"]) for r in _lines(got, "hm_no_baseline")] \
        == [("PR", None)]  # fmt: skip
    assert [r["progression_date"] for r in _lines(got, "hm_no_baseline_pd")] == [d(400)]


def test_radiotherapy_between_doses_is_given_during_the_line(cases):
    assert _summary(cases, "hm_rt_between_doses") == [(1, d(340), "teclistamab")]
    assert [(r["line"], r["drugs"]) for r in _lines(cases, "hm_rt_between_regimens")] == [
        (1, "selinexor"), (2, ""), (3, "talquetamab")]  # fmt: skip
    rt = [r for r in _lines(cases, "hm_rt_between_regimens") if r["line"] == 2]
    assert rt[0]["regimen"] == "radiotherapy"
    assert [(r["line"], r["drugs"]) for r in _lines(cases, "hm_rt_between_shared")] == [
        (1, "selinexor"), (2, ""), (3, "daratumumab;selinexor")]  # fmt: skip


def test_an_allogeneic_transplant_starts_with_its_conditioning_and_says_allogeneic(cases):
    got = [(r["line"], r["start_date"], r["end_date"], r["regimen"])
           for r in _lines(cases, "hm_allo")]  # fmt: skip
    assert got[1:] == [(2, d(420), d(426),
                        "fludarabine + melphalan + allogeneic stem cell transplant")]
    audit = [r for r in cases.audit["lines"].to_pylist() if r["patient_id"] == "hm_allo"]
    assert [r["kind"] for r in audit] == ["drug", "allo_transplant"]


@pytest.mark.parametrize(("pid", "second"), [("hm_dose_on_confirmation", d(438)),
                                              ("hm_new_on_confirmation", d(431))])
def test_on_the_confirmation_day_only_a_drug_begun_that_day_restarts(cases, pid, second):
    got = [(r["line"], r["start_date"], r["drugs"], r["progression_date"])
           for r in _lines(cases, pid)]  # fmt: skip
    assert got == [(1, d(340), "selinexor", d(403)), (2, second, "talquetamab", None)]


def test_mobilisation_chemotherapy_starts_its_transplant_line(cases):
    got = [(r["line"], r["start_date"], r["end_date"], r["regimen"])
           for r in _lines(cases, "hm_mobilisation")]  # fmt: skip
    assert got[1:] == [(2, d(480), d(522),
                        "cyclophosphamide + melphalan + autologous stem cell transplant")]
    assert [r["line"] for r in _lines(cases, "hm_mobilisation_alone")] == [1]
    assert any(r.startswith("stem-cell mobilisation without a transplant")
               for r in _attrition(cases, "hm_mobilisation_alone"))  # fmt: skip


def test_radiotherapy_as_bridging_belongs_to_the_car_t_line(cases):
    """Hand-made probe 5 (D1): a course between a CAR T's apheresis and its infusion."""
    assert _summary(cases, "hm_rt_bridging") == [
        (1, d(100), "carfilzomib"), (2, d(240), "idecabtagene vicleucel")]  # fmt: skip


def test_a_held_dose_with_its_reason_starts_no_line(cases):
    """Hand-made probe 5 (D2): "- ON HOLD (nausea)", ": not administered, patient in
    hospital" after a confirmed progression started a selinexor line."""
    got = [(r["line"], r["start_date"], r["drugs"]) for r in _lines(cases, "hm_held_reason")]
    assert got == [(1, d(340), "selinexor"), (2, d(424), "talquetamab")]
    reasons = _attrition(cases, "hm_held_reason")
    assert sum("not given" in r for r in reasons) == 2, reasons


def test_a_urine_m_protein_in_ucum_units_is_read(cases):
    assert [r["best_response"] for r in _lines(cases, "hm_ucum_urine")] == ["VGPR"]


def test_induction_then_an_autologous_transplant_and_maintenance_is_one_line(cases):
    """Hand-made probe 5 (J04): salvage KRd -> ASCT -> lenalidomide was two lines."""
    got = [(r["line"], r["start_date"], r["drugs"], r["regimen"])
           for r in _lines(cases, "hm_induction_asct")]  # fmt: skip
    assert [g[:3] for g in got] == [(1, d(340), "carfilzomib;lenalidomide;melphalan")]
    assert "autologous stem cell transplant" in got[0][3], got
    split = [(r["line"], r["start_date"]) for r in _lines(cases, "hm_induction_progressed")]
    assert split == [(1, d(340)), (2, d(445))]
    audit = [r for r in cases.audit["lines"].to_pylist() if r["patient_id"] == "hm_induction_asct"]
    assert audit[0]["start_rule"].startswith("drug line (induction) with the autologous")
    assert "maintenance" in audit[0]["start_rule"]
    two = [(r["line"], r["start_date"]) for r in _lines(cases, "hm_two_asct")]
    assert two == [(1, d(340)), (2, d(745))]


def test_bridging_radiotherapy_is_listed_with_the_car_t_line(cases):
    """Review of session 24's change: the fractions of a bridging course were listed as
    radiotherapy with the carfilzomib line that had ended before the apheresis."""
    events = [r for r in cases.audit["events"].to_pylist()
              if r["patient_id"] == "hm_rt_bridging" and r["table"] == "procedures"]  # fmt: skip
    rt = [(r["line"], r["role"]) for r in events if r["role"].endswith("radiotherapy")
          or "radiotherapy" in r["role"]]  # fmt: skip
    assert rt == [(2, "bridging radiotherapy")] * 3


def test_the_audit_names_the_row_of_the_baseline_value(cases):
    """The serum baseline drawn before the last pre-treatment visit (a 24-h urine) is the
    baseline's row in audit/assessments, beside the urine's, and not in the attrition (a
    hand-made OMOP probe, session 28)."""
    rows = [r for r in cases.audit["assessments"].to_pylist()
            if r["patient_id"] == "hm_serum_before_urine" and r["line"] == 1]  # fmt: skip
    assert rows and {r["baseline_date"] for r in rows} == {d(330)}
    assert all(len(r["baseline_rows"].split()) == 2 for r in rows)
    assert not [x for x in _attrition(cases, "hm_serum_before_urine")
                if "neither an assessment nor a baseline" in x]
