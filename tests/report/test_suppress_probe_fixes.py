"""Leaks found by the 2026-12-06 privacy probe (defects 5, 6, 8, 11, 12) stay closed."""

from __future__ import annotations

import pandas as pd

from aftercar.analysis.summaries import level_counts
from aftercar.report.disclosure import (
    suppress_small_counts,
    suppress_text,
    table1_long_states,
    table1_wide_states,
    without_quoted_values,
)


def _is_num(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def test_orr_patients_do_not_give_back_the_not_evaluable():
    block = {"responders": 33, "n": 75, "estimate": 0.44, "ci95": [0.3, 0.5],
             "patients": 75, "not_evaluable": 4}  # fmt: skip
    obj = {"lines": 79, "patients": 79, "orr": block, "vgpr_or_better": dict(block)}
    out = suppress_small_counts(obj, 5)
    assert out["orr"]["not_evaluable"] == "<5"
    assert not _is_num(out["orr"]["patients"]) and not _is_num(out["orr"]["n"])


def test_tce_patients_and_evaluable_do_not_give_back_the_not_evaluable():
    obj = {"tce": {"patients": 35, "n": 79, "fraction": 0.44,
                   "orr": {"responders": 30, "n": 34, "not_evaluable": 1, "estimate": 0.88}}}
    out = suppress_small_counts(obj, 5)["tce"]
    assert out["orr"]["not_evaluable"] == "<5"
    assert not (_is_num(out["patients"]) and _is_num(out["orr"]["n"]))


def test_competing_risks_counts_do_not_give_back_deaths_or_censored():
    obj = {"pfs": {"n": 8, "events": 8},
           "competing_risks": {"n": 8, "progressions": 7, "deaths_without_progression": 1}}
    out = suppress_small_counts(obj, 5)
    assert out["competing_risks"]["deaths_without_progression"] == "<5"
    assert not (_is_num(out["pfs"]["events"]) and _is_num(out["competing_risks"]["progressions"]))
    obj = {"pfs": {"n": 79, "events": 73},
           "competing_risks": {"n": 79, "progressions": 62, "deaths_without_progression": 11}}
    out = suppress_small_counts(obj, 11)  # 6 censored
    cr = out["competing_risks"]
    assert not (_is_num(cr["progressions"]) and _is_num(cr["deaths_without_progression"]))
    assert not _is_num(out["pfs"]["events"])


def test_clusters_in_text_are_counts():
    assert suppress_text("the robust variance rests on 2 cluster(s)", 5) == (
        "the robust variance rests on <5 cluster(s)")


def test_hazard_ratios_of_a_level_under_k_are_withheld():
    design = pd.DataFrame({"a": [0, 1, 1, 0, 0, 0], "age": [50.0, 60, 61, 70, 71, 72]})
    assert level_counts(design) == [[4, 2], None]
    assert level_counts(design, [1, 1, 2, 3, 3, 4]) == [[3, 2], None]
    model = {"n": 40, "events": 30, "terms": [
        {"term": "a", "hazard_ratio": 2.0, "ci95": [1.0, 4.0], "p_value": 0.1, "level_n": [37, 3]},
        {"term": "b", "hazard_ratio": 1.5, "ci95": [1.0, 2.0], "p_value": 0.2, "level_n": [20, 20]},
    ], "ph_test": {"terms": [{"term": "a", "chisq": 1.0, "p_value": 0.3}]}}  # fmt: skip
    out = suppress_small_counts({"model": model}, 5)["model"]
    a, b = out["terms"]
    assert a["hazard_ratio"] == a["p_value"] == "suppressed" and a["ci95"] == ["suppressed"] * 2
    assert b["hazard_ratio"] == 1.5 and "level_n" not in a and "level_n" not in b
    assert out["ph_test"]["terms"][0]["p_value"] == "suppressed"


def test_demo_cox_tables_withhold_categories_under_k(demo_input):
    tables = without_quoted_values(demo_input, 11).tables
    rows = tables["pfs_cox_lines"].set_index("term")
    for cat in ("radiotherapy", "transplant", "venetoclax"):  # 10, 7, 8 lines
        assert rows.loc[f"category={cat}", "hazard_ratio"] == "suppressed"
    assert _is_num(rows.loc["category=car_t", "hazard_ratio"])


_WIDE = [  # demo by site: ECOG 2 is 2 at MSKCC-like
    {"characteristic": "Patients", "level": None, "Overall (N=79)": "79", "A (N=27)": "27",
     "B (N=52)": "52"},
    {"characteristic": "ECOG", "level": "0", "Overall (N=79)": "25 (31.6%)",
     "A (N=27)": "8 (29.6%)", "B (N=52)": "17 (32.7%)"},
    {"characteristic": "ECOG", "level": "1", "Overall (N=79)": "44 (55.7%)",
     "A (N=27)": "17 (63.0%)", "B (N=52)": "27 (51.9%)"},
    {"characteristic": "ECOG", "level": "2", "Overall (N=79)": "10 (12.7%)",
     "A (N=27)": "2 (7.4%)", "B (N=52)": "8 (15.4%)"},
]


def test_wide_table1_does_not_pin_a_cell_through_a_secondary_suppression():
    out = suppress_small_counts({"rows": _WIDE}, 5)["rows"]
    b = [r["B (N=52)"] for r in out[1:]]
    hidden = [v for v in b if not str(v)[:1].isdigit()]
    assert out[3]["A (N=27)"] == "<5"
    assert len(hidden) >= 2  # one hidden cell alone is its column's N less the others


def test_wide_and_long_table1_hide_the_same_overall_cells():
    long = [{"characteristic": r["characteristic"], "level": r["level"],
             "n": int(r["Overall (N=79)"].split()[0]), "percent": None if r["level"] is None
             else float(r["Overall (N=79)"].split("(")[1].rstrip("%)"))} for r in _WIDE]
    long.append({"characteristic": "ECOG", "level": "Missing", "n": 0, "percent": 0.0})
    for k in (5, 11, 30):
        wide = table1_wide_states(_WIDE, k)
        ls = table1_long_states(long, k)
        assert {i: s for (i, c), s in wide.items() if c.startswith("Overall")} == \
            {i: s for i, s in ls.items() if i < len(_WIDE)}


def test_percentages_are_withheld_under_a_hidden_group_size():
    rows = [dict(r) for r in _WIDE]
    rows[0] = rows[0] | {"A (N=27)": "6", "B (N=52)": "73"}
    rows[1:] = [r | {"A (N=27)": v} for r, v in zip(rows[1:], ("5 (83.3%)", "1 (16.7%)",
                                                                "0 (0.0%)"), strict=True)]
    rows[1]["B (N=52)"], rows[2]["B (N=52)"] = "20 (27.4%)", "43 (58.9%)"
    out = suppress_small_counts({"rows": rows}, 7)["rows"]
    col = next(c for c in out[0] if c.startswith("A ("))
    assert col != "A (N=6)" and not any("%" in str(r[col]) for r in out)


def test_ids_and_dates_in_free_text_are_withheld_under_suppression(tmp_path):
    """Fuzzing round 4 (G05): a regimen text "KPd started 2021-03-04 for SYN-0000002"
    reached the notes, tables/regimen_mapping.csv and the HTML under --suppress-below."""
    from dataclasses import replace

    from reportkit import build_input

    from aftercar.report import write_report

    data = build_input()
    text = "KPd started 2021-03-04 for SYN-0000002 (Dr Smith), x 2"
    mapping = pd.DataFrame({"regimen": [text], "category": ["imid_pi"],
                            "unrecognized": ["SYN-0000002;Dr Smith"]})  # fmt: skip
    data = replace(data, tables=data.tables | {"regimen_mapping": mapping},
                   notes=(*data.notes, f"1 regimen text(s) contain unrecognized words: '{text}'"),
                   identifiers=frozenset({"SYN-0000002", "2"}))  # fmt: skip
    shared = without_quoted_values(data, 5)
    assert shared.tables["regimen_mapping"]["regimen"].tolist() == [
        "KPd started [withheld] for [withheld] (Dr Smith), x 2"]  # a short number stays
    write_report(data, tmp_path / "out", suppress_below=5)
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json", ".html", ".txt"):
            body = path.read_text(encoding="utf-8")
            assert "SYN-0000002" not in body and "2021-03-04" not in body, path
    unsuppressed = write_report(data, tmp_path / "plain")
    assert "SYN-0000002" in unsuppressed.html.read_text(encoding="utf-8")


def test_a_difference_from_a_withheld_group_is_withheld():
    """Fuzzing round 4 (G03): reference + difference gave back the RMST of a TCE group of
    fewer than K patients (12.0000, se 0)."""
    block = {"tau_months": 12.0, "groups": [
        {"group": "No TCE", "n": 15, "estimate": 9.13, "se": 1.09, "ci95": [7.0, 11.3]},
        {"group": "TCE", "n": 3, "estimate": 12.0, "se": 0.0, "ci95": [12.0, 12.0]}],
        "differences": [{"group": "TCE", "reference": "No TCE", "estimate": 2.87,
                         "ci95": [0.73, 5.02], "p_value": 0.009}]}  # fmt: skip
    out = suppress_small_counts({"rmst": [block]}, 5)["rmst"][0]
    assert out["groups"][1]["estimate"] == "suppressed"
    diff = out["differences"][0]
    assert diff["estimate"] == diff["p_value"] == "suppressed"
    assert diff["ci95"] == ["suppressed", "suppressed"]
    assert out["groups"][0]["estimate"] == 9.13  # the reference's own estimate stays


def test_a_model_whose_every_term_is_withheld_withholds_its_tests():
    """Fuzzing round 4 (G03): a one-term model's Wald p and GLOBAL PH test were its
    withheld term's."""
    from aftercar.report.disclosure import _model_terms

    model = {"n": 18, "events": 14, "loglik": [-29.6, -28.9],
             "terms": [{"term": "tce", "coef": 0.5, "p_value": 0.31,
                        "level_n": [3, 15]}],
             "wald_test": {"statistic": 1.04, "df": 1.0, "p_value": 0.31},
             "ph_test": {"terms": [{"term": "tce", "chisq": 2.29, "p_value": 0.13},
                                   {"term": "GLOBAL", "chisq": 2.29, "p_value": 0.13}]},
             }  # fmt: skip
    _model_terms(model, 5)
    assert model["wald_test"]["p_value"] == "suppressed"
    assert model["ph_test"]["terms"][1]["chisq"] == "suppressed"
    assert model["wald_test"]["df"] == 1.0


def test_a_withheld_interval_is_shown_as_suppressed_not_s_u():
    from aftercar.report.display import bounds, estimate_ci

    assert bounds("suppressed") == ["suppressed", "suppressed"]
    assert estimate_ci("suppressed", *bounds("suppressed")) == "suppressed"
