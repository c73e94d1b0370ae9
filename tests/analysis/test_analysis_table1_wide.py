"""Table 1 in wide form by group: cells worked by hand, p-values equal R's to 1e-6."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from aftercar.analysis.table1 import table1_wide
from aftercar.errors import InputError, StatisticalWarning

GOLDEN = Path(__file__).parent / "golden"
LABELS = {
    "age_at_cart": "Age at CAR T, years",
    "relapse_months": "Time from CAR T to relapse, months",
    "prior_lines": "Prior lines of therapy",
    "sex": "Sex",
    "site": "Site",
    "car_t_product": "CAR-T product",
    "car_t_best_response": "Best response to CAR T",
    "relapse_timing": "Relapse timing",
    "high_risk_cytogenetics": "High-risk cytogenetics",
    "extramedullary_disease": "Extramedullary disease",
    "triple_class_refractory": "Triple-class refractory",
    "penta_refractory": "Penta-refractory",
    "iss_stage": "ISS stage",
    "ecog": "ECOG performance status",
}


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    pts = pd.read_csv(GOLDEN / "table1_patients.csv")
    early = pts["relapse_timing"].str.startswith("Early")
    return pts.assign(early_relapse=early.where(pts["relapse_timing"].notna()))


CASES = json.loads((GOLDEN / "table1_tests.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[f"{c['by']}-{c['variable']}" for c in CASES])
def test_p_values_equal_r(patients, case):
    table, _ = table1_wide(patients, cutoff=6.0, by=case["by"])
    rows = table[table["characteristic"] == LABELS[case["variable"]]]
    test = rows["test"].iloc[0]
    if "p_value" in case:
        expected = case["p_value"]
    else:
        expected = case["fisher"] if test.startswith("Fisher") else case["chisq"]
    assert expected is not None, test
    assert rows["p_value"].iloc[0] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert rows["p_value"].iloc[1:].isna().all()


def test_cells_counts_percent_and_clinical_order():
    pts = pd.DataFrame(
        {
            "patient_id": list("ABCDEF"),
            "car_t_best_response": ["PR", "CR", None, "sCR", "CR", "PD"],
            "site": ["x", "x", "y", "y", "y", None],
            "age_at_cart": [50.0, 60.0, 70.0, 80.0, 55.0, 65.0],
            "early_relapse": [True, False, None, True, False, True],
        }
    )
    table, block = table1_wide(pts, cutoff=6.0, by="site")
    assert list(table.columns) == [
        "characteristic", "level", "Overall (N=6)", "x (N=2)", "y (N=3)", "p_value", "test"
    ]  # fmt: skip
    resp = table[table["characteristic"] == "Best response to CAR T"].set_index("level")
    assert list(resp.index) == ["sCR", "CR", "PR", "PD", "Missing"]  # IMWG order
    assert resp.loc["CR", "Overall (N=6)"] == "2 (40.0%)"  # of the 5 known
    assert resp.loc["Missing", "y (N=3)"] == "1"
    age = table[table["characteristic"] == "Age at CAR T, years"].set_index("level")
    assert age.loc["Median (IQR)", "x (N=2)"] == "55.0 (52.5-57.5)"
    assert age.loc["Range", "Overall (N=6)"] == "50.0-80.0"
    assert "Missing" not in age.index  # shown only when something is missing
    assert block["missing_group"] == 1 and block["groups"][0]["n"] == 6


def test_a_sparse_table_too_large_for_fisher_keeps_chi_square_and_says_why():
    """Two sites, an ISS-like column of eight levels, one of them rare (expected counts
    below 5), 2,600 patients: too many for the exact enumeration (stats.fisher_test
    refuses it), so the row keeps Pearson's chi-square, and its name says so (review,
    2026-12-07: it said only "expected counts < 5", as for a table Fisher never fits)."""
    from aftercar import stats

    counts = [[160, 167, 155, 163, 160, 169, 158, 2], [164, 160, 166, 157, 161, 160, 165, 3]]
    site, level = [], []
    for s_i, row in enumerate(counts):
        for l_i, n in enumerate(row):
            site += [f"site {s_i}"] * n
            level += [f"level {l_i}"] * n
    pts = pd.DataFrame({"patient_id": [f"P{i}" for i in range(len(site))], "site": site,
                        "iss_stage": level, "early_relapse": None})  # fmt: skip
    table, _ = table1_wide(pts, cutoff=6.0, by="site")
    row = table[table["characteristic"] == LABELS["iss_stage"]].iloc[0]
    assert row["test"] == ("Pearson's chi-square test (expected counts < 5; too many "
                           "patients for Fisher's exact test)")  # fmt: skip
    with pytest.warns(StatisticalWarning, match="expected count is below 5"):
        want = stats.chisq_test(pd.crosstab(pts["iss_stage"], pts["site"]).to_numpy(),
                                correct=False).p_value  # fmt: skip
    assert row["p_value"] == pytest.approx(want, rel=1e-12)


def test_unknown_grouping_column_is_an_input_error():
    with pytest.raises(InputError, match="no such patient column"):
        table1_wide(pd.DataFrame({"patient_id": ["A"], "early_relapse": [None]}), cutoff=6, by="x")
