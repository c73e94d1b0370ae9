"""The patient-clustered variance of the pooled line-level Cox models (the robust round).

Each site returns B_s = sum over its patients of U_i U_i' at the pooled
coefficients; V = I^-1 (sum B_s) I^-1 must equal ``cox_ph(..., strata=site,
cluster=patient)`` on the concatenated rows to 1e-10 (two- and five-site
consortia with ties across sites and a site without events), and what leaves a
site is a p x p matrix per model.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fedkit import TOL, assert_close, concatenated, pooled

from aftercar import stats
from aftercar.errors import InputError
from aftercar.federated import robust
from aftercar.federated.files import SiteFiles
from aftercar.federated.study import pool_study
from aftercar.federated.summary import check_no_rows
from aftercar.schema import Col


def _second_pool(sums, config, prop, answers):
    files = SiteFiles(list(sums), None, [], prop, list(answers))
    return pool_study(files, rules=config.endpoints, options=config.analysis,
                      config_hash=config.config_hash())  # fmt: skip


@pytest.fixture(scope="module", params=[2, 5], ids=["2-sites", "5-sites"])
def robust_consortium(request, sites, summaries, config):
    n = request.param
    chosen, sums = sites[:n], summaries[:n]
    first = pooled(sums, config)
    prop = first.robust_round
    answers = [robust.site_answer(s.derived.lines, prop, s.name) for s in chosen]
    _, lines = concatenated(chosen)
    return chosen, first, prop, answers, _second_pool(sums, config, prop, answers), lines


def _reference(lines, key, block, ties):
    ok = np.isfinite(lines[Col.PFS_MONTHS].to_numpy(float))
    sub = lines.loc[ok]
    lab = np.where(sub[Col.TCE], "TCE", "Other") if key == "pfs_cox_tce" else sub[Col.CATEGORY]
    lab = np.asarray(lab, dtype=str)
    levels = sorted(set(lab) - {block["reference"]})
    x = pd.DataFrame({lv: (lab == lv).astype(float) for lv in levels})
    fit = stats.cox_ph(sub[Col.PFS_MONTHS], sub[Col.PFS_EVENT], x, strata=sub["_site"],
                       cluster=sub[Col.PATIENT_ID], ties=ties)  # fmt: skip
    return fit, sub[Col.PATIENT_ID].nunique()


@pytest.mark.parametrize("key", ["pfs_cox_tce", "pfs_cox_by_category"])
def test_pooled_robust_variance_equals_cox_ph_clustered_by_patient(robust_consortium, key, config):
    _, first, _, _, second, lines = robust_consortium
    assert "model-based" in first.results["all_lines"][key]["method"]
    block = second.results["all_lines"][key]
    want, patients = _reference(lines, key, block, config.analysis.cox_ties)
    model = block["model"]
    assert block["patients"] == patients
    assert_close([t["coef"] for t in model["terms"]], list(want.coef))
    assert_close([t["se"] for t in model["terms"]], list(want.se))
    assert_close([t["robust_se"] for t in model["terms"]], list(want.robust_se))
    assert_close([t["p_value"] for t in model["terms"]], list(want.p))
    pairs = zip(want.hr_lower, want.hr_upper, strict=True)
    assert_close([v for t in model["terms"] for v in t["ci95"]], [v for ci in pairs for v in ci])
    assert_close(model["wald_test"]["statistic"], want.wald_test.statistic)
    assert_close(model["lr_test"]["statistic"], want.lr_test.statistic)
    zph = stats.cox_zph(want).table
    assert_close([t["chisq"] for t in model["ph_test"]["terms"]], list(zph["chisq"]))
    assert second.robust_round is None


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("n_strata", [2, 5])
def test_sum_of_site_meats_is_cox_ph_robust_variance(ties, n_strata):
    """Tied whole-day times across strata, several lines per patient, a stratum without events."""
    rng = np.random.default_rng(7 + n_strata)
    n = 400
    stratum = rng.integers(0, n_strata, n)
    patient = stratum * 1000 + rng.integers(0, 60, n)  # patients within a stratum
    x = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 3, n) == 1]).astype(float)
    time = rng.integers(1, 40, n) / 30.4375 * 10
    event = rng.random(n) < 0.7
    event[stratum == n_strata - 1] = False
    fit = stats.cox_ph(time, event, x, strata=stratum, cluster=patient, ties=ties)
    b = sum(
        stats.cox_cluster_meat(time[m], event[m], x[m], patient[m], fit.coef, ties=ties)[0]
        for m in (stratum == s for s in range(n_strata))
    )
    got = fit.var @ b @ fit.var
    assert np.all(np.abs(got - fit.robust_var) <= TOL * np.maximum(1, np.abs(fit.robust_var)))


def test_a_robust_answer_is_one_p_by_p_matrix_per_model(robust_consortium):
    chosen, _, prop, answers, _, _ = robust_consortium
    for site, answer in zip(chosen, answers, strict=True):
        check_no_rows(answer, site.derived.patients[Col.PATIENT_ID])
        assert set(answer) == {"format", "schema_version", Col.SITE, "config_hash", "proposal",
                               "models"}  # fmt: skip
        for key, part in answer["models"].items():
            p = len(prop["models"][key]["levels"])
            assert set(part) == {"meat", "patients", "lines"}
            assert np.asarray(part["meat"]).shape == (p, p)
        text = json.dumps(answer)
        for pid in site.derived.patients[Col.PATIENT_ID].astype(str):
            assert f'"{pid}"' not in text


def test_a_site_with_fewer_than_k_patients_refuses_the_robust_round(robust_consortium):
    chosen, _, prop, _, _, _ = robust_consortium
    small = chosen[-1]
    n_pat = small.derived.lines[Col.PATIENT_ID].nunique()
    with pytest.raises(InputError, match="fewer than --suppress-below"):
        robust.site_answer(small.derived.lines, prop, small.name, suppress_below=n_pat + 1)
    robust.site_answer(small.derived.lines, prop, small.name, suppress_below=min(n_pat, 5))


def test_pool_refuses_missing_or_foreign_robust_answers(robust_consortium, summaries, config):
    chosen, _, prop, answers, _, _ = robust_consortium
    sums = summaries[: len(chosen)]
    with pytest.raises(InputError, match="no answer from site"):
        _second_pool(sums, config, prop, answers[1:])
    other = dict(prop, ties="breslow" if prop["ties"] == "efron" else "efron")
    with pytest.raises(InputError, match="another coefficients file"):
        _second_pool(sums, config, other, answers)
