"""Without suppression, pooled results equal the analysis of the concatenated rows (1e-10).

Two- and five-site simulated consortia (different sizes and seeds; the fifth site
has no event); times are whole days, so many are tied across sites.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from fedkit import assert_close, assert_frames_close, concatenated, newton, pooled

from aftercar import stats
from aftercar.analysis.baseline import covariate_frame
from aftercar.analysis.lines import first_salvage
from aftercar.analysis.survival import os_analyses
from aftercar.federated import models, pool
from aftercar.schema import Col


@pytest.fixture(scope="module", params=[2, 5], ids=["2-sites", "5-sites"])
def consortium(request, sites, summaries, config):
    n = request.param
    chosen, sums = sites[:n], summaries[:n]
    pts, lines = concatenated(chosen)
    return chosen, sums, pts, lines, pooled(sums, config)


def test_the_consortia_have_ties_across_sites_and_a_site_without_events(sites, summaries):
    days = [set(s["survival"]["os"]["all"]["time"]) for s in summaries[:2]]
    assert len(days[0] & days[1]) >= 3
    assert sum(summaries[4]["survival"]["os"]["all"]["events"]) == 0
    assert not sites[4].derived.patients[Col.OS_EVENT].any()


@pytest.mark.parametrize(
    "endpoint", ["os", "first_salvage_pfs", "os_by_product", "pfs_by_category"]
)
def test_pooled_kaplan_meier_tables_equal_the_concatenated_rows(consortium, endpoint, config):
    _, sums, pts, lines, _ = consortium
    frame = pool.rows(sums, endpoint)
    if endpoint.startswith("os"):
        rows = pts.loc[pts[Col.OS_VALID]]
        t, e = rows[Col.OS_MONTHS], rows[Col.OS_EVENT]
        group = rows[Col.CAR_T_PRODUCT].astype(str)
    else:
        rows = lines.loc[lines[Col.LINE] == 1] if endpoint == "first_salvage_pfs" else lines
        t, e, group = rows[Col.PFS_MONTHS], rows[Col.PFS_EVENT], rows[Col.CATEGORY]
    grouped = "_by_" in endpoint
    want = stats.kaplan_meier(t, e, by=group if grouped else None)
    got = stats.kaplan_meier(frame["time"], frame["event"], by=frame["group"] if grouped else None)
    assert_frames_close(got.table.drop(columns="group", errors="ignore"),
                        want.table.drop(columns="group", errors="ignore"))  # fmt: skip
    assert_close(got.medians().drop(columns="group", errors="ignore").to_dict("list"),
                 want.medians().drop(columns="group", errors="ignore").to_dict("list"))  # fmt: skip


def test_pooled_os_block_equals_the_study_analysis_of_the_concatenated_rows(consortium, config):
    _, _, pts, _, study = consortium
    want = os_analyses(pts, config.analysis, cutoff=config.endpoints.early_relapse_months)
    want = want.results["os_from_progression"]
    got = copy.deepcopy(study.results["os_from_progression"])
    for key in ("by_relapse_timing", "by_product"):
        got[key] = {k: v for k, v in got[key].items() if k != "logrank"}
        want[key] = {k: v for k, v in want[key].items() if k != "logrank"}
    assert_close(got, want)


@pytest.mark.parametrize("by", ["by_relapse_timing", "by_product"])
def test_pooled_logrank_equals_the_site_stratified_test(consortium, by, config):
    _, _, pts, _, study = consortium
    rows = pts.loc[pts[Col.OS_VALID]]
    if by == "by_product":
        group = rows[Col.CAR_T_PRODUCT].astype("string")
    else:
        from aftercar.analysis.descriptive import relapse_timing

        group = relapse_timing(rows, config.endpoints.early_relapse_months)
    known = group.notna().to_numpy()
    sub = rows.loc[known]
    want = stats.logrank_test(
        sub[Col.OS_MONTHS], sub[Col.OS_EVENT], group[known].astype(str), strata=sub["_site"]
    )
    got = study.results["os_from_progression"][by]["logrank"]
    assert got["strata"] == "site"
    assert_close([got["chisq"], got["df"], got["p_value"]], [want.chisq, want.df, want.p_value])
    assert_close([g["observed"] for g in got["groups"]], list(map(float, want.observed)))
    assert_close([g["expected"] for g in got["groups"]], list(map(float, want.expected)))


def test_pooled_first_salvage_equals_the_concatenated_rows(consortium, config):
    _, _, _, lines, study = consortium
    want = first_salvage(lines, config.analysis).results["first_salvage"]
    got = copy.deepcopy(study.results["first_salvage"])
    for key in ("competing_risks",):
        want.pop(key)
    want.pop("lines"), want.pop("patients")
    for cat in want["by_category"].values():
        cat.pop("patients")
    assert got.pop("lines") == len(lines.loc[lines[Col.LINE] == 1])
    got.pop("patients")
    for cat in got["by_category"].values():
        cat.pop("patients")
    assert_close(got, want)
    orr = got["orr"]
    exact = stats.proportion_ci(orr["responders"], orr["n"], method="exact")
    assert_close([orr["estimate"], *orr["ci95"]], [exact.estimate, exact.lower, exact.upper])


@pytest.mark.parametrize("key", ["pfs_cox_tce", "pfs_cox_by_category"])
def test_pooled_line_cox_models_equal_cox_ph_stratified_by_site(consortium, key, config):
    _, _, _, lines, study = consortium
    block = study.results["all_lines"][key]
    ok = np.isfinite(lines[Col.PFS_MONTHS].to_numpy(float))
    sub = lines.loc[ok]
    lab = np.where(sub[Col.TCE], "TCE", "Other") if key == "pfs_cox_tce" else sub[Col.CATEGORY]
    lab = np.asarray(lab, dtype=str)
    ref = block["reference"]
    levels = sorted(set(lab) - {ref})
    x = np.column_stack([(lab == lv).astype(float) for lv in levels])
    want = stats.cox_ph(sub[Col.PFS_MONTHS], sub[Col.PFS_EVENT], x, strata=sub["_site"],
                        ties=config.analysis.cox_ties)  # fmt: skip
    terms = block["model"]["terms"]
    assert [t["term"].split("=", 1)[1] for t in terms] == levels
    assert_close([t["coef"] for t in terms], list(want.coef))
    assert_close([t["se"] for t in terms], list(want.se))
    assert_close(block["model"]["loglik"], list(want.loglik))


def _cox_reference(pts, covariates, ties):
    pts = pts.loc[pts[Col.OS_VALID]].reset_index(drop=True)
    frame, _ = covariate_frame(pts, tuple(covariates), [])
    complete = frame.notna().all(axis=1).to_numpy()
    sub = pts.loc[complete]
    fit = stats.cox_ph(sub[Col.OS_MONTHS], sub[Col.OS_EVENT], frame.loc[complete].astype(float),
                       strata=sub["_site"], ties=ties)  # fmt: skip
    return list(frame.columns), fit


def test_newton_rounds_give_the_cox_model_of_os_stratified_by_site(consortium, config):
    chosen, sums, pts, _, _ = consortium
    block, proposal = newton(chosen, sums, config)
    assert proposal["round"] >= 3
    names, want = _cox_reference(pts, config.analysis.cox_covariates, config.analysis.cox_ties)
    terms = block["model"]["terms"]
    assert [t["term"] for t in terms] == names
    assert "age_at_cart" in names  # a continuous covariate: not a pattern table
    assert_close([t["coef"] for t in terms], list(want.coef))
    assert_close([t["se"] for t in terms], list(want.se))
    assert_close(block["model"]["loglik"], list(want.loglik))
    assert_close(block["model"]["score_test"]["statistic"], want.score_test.statistic)
    assert_close(block["model"]["lr_test"]["statistic"], want.lr_test.statistic)
    assert_close(block["model"]["wald_test"]["statistic"], want.wald_test.statistic)
    zph = stats.cox_zph(want).table  # km transform over all pooled rows, as R's cox.zph
    got = block["model"]["ph_test"]["terms"]
    assert [t["term"] for t in got] == [*names, "GLOBAL"]
    assert_close([t["chisq"] for t in got], list(zph["chisq"]))
    assert_close([t["p_value"] for t in got], list(zph["p"]))


def test_under_suppression_the_complete_case_table_is_withheld(sites, summaries, config):
    from aftercar.federated.summary import answer_round

    proposal = models.first_proposal(summaries[:2], config.analysis, config.config_hash(), [])
    assert answer_round(sites[0].derived, proposal, sites[0].name, 5)["km_table"] is None
    table = answer_round(sites[0].derived, proposal, sites[0].name)["km_table"]
    assert sum(table["events"]) + sum(table["censored"]) == answer_round(
        sites[0].derived, proposal, sites[0].name)["n"]  # fmt: skip


CATEGORICAL = ["early_relapse", "extramedullary_disease", "ecog", "sex", "car_t_product"]


@pytest.fixture(scope="module")
def categorical_summaries(sites, config, summarise_site):
    cfg = config.replace("analysis", cox_covariates=CATEGORICAL)
    return [summarise_site(s, cfg) for s in sites]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_categorical_cox_of_os_is_exact_in_one_round_of_pattern_counts(
    sites, config, categorical_summaries, ties
):
    covariates = CATEGORICAL
    cfg = config.replace("analysis", cox_covariates=covariates, cox_ties=ties)
    sums = categorical_summaries
    assert {s["cox"]["cox_os"]["protocol"] for s in sums} == {"patterns"}
    block = models.pattern_model(sums, "cox_os", cfg.analysis, [])
    pts, _ = concatenated(sites)
    names, want = _cox_reference(pts, covariates, ties)
    terms = block["model"]["terms"]
    assert [t["term"] for t in terms] == names
    assert_close([t["coef"] for t in terms], list(want.coef))
    assert_close([t["se"] for t in terms], list(want.se))
    assert_close(block["model"]["loglik"], list(want.loglik))
    assert block["complete_cases"] == int(want.n)


def test_pooled_cohort_block_equals_the_concatenated_rows(consortium, config):
    from aftercar.analysis.survival import cohort_summary

    _, _, pts, lines, study = consortium
    want = cohort_summary(pts, lines, config.analysis).results["cohort"]
    assert_close(study.results["cohort"], want)


def test_pooled_table1_equals_table1_by_site_of_the_concatenated_rows(consortium, config):
    from aftercar.analysis.table1 import table1_wide

    _, _, pts, _, study = consortium
    want, _ = table1_wide(pts, cutoff=config.endpoints.early_relapse_months, by="site")
    want = want.drop(columns=["p_value", "test"]).fillna("")
    got = study.tables["table1_wide"].fillna("")
    assert list(got.columns) == list(want.columns)
    assert got.to_dict("records") == want.to_dict("records")


def test_pooled_all_lines_by_category_equals_the_concatenated_rows(consortium, config):
    """Lines, patients, patient-clustered ORR / >= VGPR / >= CR intervals and PFS per category."""
    from aftercar.analysis.lines import all_lines

    _, _, _, lines, study = consortium
    want = all_lines(lines, config.analysis).results["by_category"]
    assert_close(study.results["by_category"], want)


def test_pooled_all_lines_block_equals_the_concatenated_rows(consortium, config):
    """Overall, by line number, TCE vs other and BCMA re-targeting: clustered response, PFS."""
    from aftercar.analysis.lines import all_lines

    _, _, _, lines, study = consortium
    want = all_lines(lines, config.analysis).results["all_lines"]
    got = study.results["all_lines"]
    keys = ["lines", "patients", "orr", "vgpr_or_better", "cr_or_better", "pfs", "by_line",
            "tce_vs_other", "bcma_retargeting", "line_groups_pooled_from"]  # fmt: skip
    assert_close({k: got[k] for k in keys}, {k: want[k] for k in keys})
