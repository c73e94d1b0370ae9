"""Publication tables, the results appendix and report.docx (fast: the micro-cohort)."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import pytest
from reportkit import build_input

from aftercar.report import display as d
from aftercar.report import write_report
from aftercar.report.appendix import appendix_html, flatten
from aftercar.report.labels import Labeller, label
from aftercar.report.result_tables import Context, display_table


def test_estimates_are_formatted_as_in_a_manuscript():
    assert d.estimate_ci(18.03696, 12.81314, 23.12936) == "18.0 (12.8-23.1)"
    assert d.estimate_ci(1.0, None, 2.0) == "1.0 (NE-2.0)"
    assert d.estimate_ci(-1.25, -3.0, 0.5) == "-1.2 (-3.0 to 0.5)"
    assert d.percent_ci(0.44, 0.32458, 0.55349, 33, 75) == "44.0% (32.5-55.3); 33/75"
    assert d.percent_ci("suppressed", 0.1, 0.9, "<5", "<5") == "suppressed (10.0-90.0); <5/<5"
    assert d.p_value(0.0004) == "<0.001" and d.p_value(0.0467) == "0.047"


def test_labels_come_from_the_dictionary_and_the_taxonomy():
    assert label("age_at_cart") == "Age at CAR T, years"  # dictionary.csv label column
    assert label("iss_stage") == "ISS stage"
    labeller = Labeller({"anti_cd38": "Anti-CD38"})
    assert labeller.term("category=anti_cd38") == "Therapy category: Anti-CD38"
    assert labeller.prose("sparse: anti_cd38 (2 lines); age_at_cart") == (
        "sparse: Anti-CD38 (2 lines); Age at CAR T, years"
    )


def _ctx(results=None):
    return Context(Labeller({"anti_cd38": "Anti-CD38", "bispecific": "Bispecific"}), results or {})


def test_response_table_has_human_headers_and_names_each_ci_method():
    frame = pd.DataFrame({
        "category": ["bispecific", "anti_cd38"], "lines": [25, 41], "patients": [22, 30],
        "evaluable": [25, 39], "not_evaluable": [0, 2], "responders": [18, 18],
        "orr": [0.72, 18 / 39], "lower": [0.5013, 0.3128], "upper": [0.8680, 0.6175],
        "ci_method": ["patient-clustered", "exact"], "vgpr_or_better_n": [13, 6],
        "cr_or_better_n": [5, 1], "pfs_median_months": [7.03, 3.548],
    })  # fmt: skip
    table = display_table("response_by_category", frame, _ctx())
    assert table.columns[0] == "Therapy category" and len(table.columns) <= 8
    assert table.rows[0][0] == "Bispecific" and table.rows[1][0] == "Anti-CD38"
    assert table.rows[0][3] == "72.0% (50.1-86.8); 18/25 a"
    assert table.rows[1][3] == "46.2% (31.3-61.8); 18/39 b"
    notes = " ".join(table.footnotes)
    assert "a patient-clustered" in notes and "b exact (Clopper-Pearson)" in notes
    assert "log-log" in notes  # the KM medians' CI method
    html = str(d.table_html(table))
    assert "_" not in re.sub(r'id="[^"]*"', "", html)


def test_os_summary_rates_and_clustered_pfs():
    frame = pd.DataFrame({
        "group": ["All patients"], "n": [79], "events": [63], "median_months": [18.037],
        "lower": [12.813], "upper": [23.129], "os_6m": [0.7837], "os_6m_lower": [0.6753],
        "os_6m_upper": [0.8596],
    })  # fmt: skip
    table = display_table("os_summary", frame, _ctx())
    assert table.columns[-1] == "OS at 6 months, % (95% CI)"
    assert table.rows[0][3:] == ("18.0 (12.8-23.1)", "78.4% (67.5-86.0)")
    pfs = pd.DataFrame({"category": ["bispecific"], "n": [25], "events": [23],
                        "median_months": [7.03], "lower": [2.46], "upper": [14.88]})
    robust = {"all_lines": {"pfs_clustered": {"by_category": {
        "bispecific": {"median_months": 7.03, "ci95": [1.77, 14.88]}}}}}  # fmt: skip
    table = display_table("pfs_by_category", pfs, _ctx(robust))
    assert table.rows[0][3:] == ("7.0 (2.5-14.9)", "7.0 (1.8-14.9)")
    assert any("robust = TRUE" in n for n in table.footnotes)


def test_appendix_lists_every_number_with_its_path_and_searches_offline():
    results = {"first_salvage": {"orr": {"estimate": 0.44, "ci95": [0.33, 0.55]}}, "figures": {}}
    assert flatten(results["first_salvage"]) == [
        ("orr.estimate", 0.44), ("orr.ci95[0]", 0.33), ("orr.ci95[1]", 0.55)
    ]
    html = str(appendix_html(results, {"analysis": {"conf_level": 0.95}}))
    assert "<details" in html and 'type="search"' in html and "<script>" in html
    assert "first_salvage.orr.ci95[1]" in html and "analysis.conf_level" in html
    assert "http" not in html and "src=" not in html


def test_report_docx_holds_table1_result_tables_and_figures(tmp_path):
    docx = pytest.importorskip("docx")
    data = build_input()
    wide = pd.DataFrame({
        "characteristic": ["Patients", "Sex", "Sex"], "level": ["", "F", "M"],
        "Overall (N=12)": ["12", "5 (41.7%)", "7 (58.3%)"],
    })  # fmt: skip
    data = replace(data, tables={**data.tables, "table1_wide": wide})
    paths = write_report(data, tmp_path, docx=True)
    assert paths.docx is not None and paths.docx in paths.all_files()
    doc = docx.Document(str(paths.docx))
    first = doc.tables[0]
    assert first.rows[0].cells[0].text == "Characteristic"
    assert first.rows[2].cells[0].text == "Sex"  # a heading row
    assert [c.text for c in first.rows[3].cells] == ["    F", "5 (41.7%)"]
    headers = [t.rows[0].cells[0].text for t in doc.tables]
    assert "Therapy category" in headers  # response by category, editable
    assert len(doc.inline_shapes) == len(paths.figures)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Table 1. Baseline characteristics" in text


def test_a_suppressed_report_docx_says_what_its_markers_mean(tmp_path):
    docx = pytest.importorskip("docx")
    paths = write_report(build_input(), tmp_path, docx=True, suppress_below=5)
    text = "\n".join(p.text for p in docx.Document(str(paths.docx)).paragraphs)
    assert "shown as <5" in text and '"withheld"' in text and '"suppressed"' in text


def test_cli_report_offers_docx():
    from typer.testing import CliRunner

    from aftercar.cli import app

    result = CliRunner().invoke(app, ["report", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--docx" in result.output


def test_table1_by_group_puts_each_p_value_on_its_characteristic_heading():
    frame = pd.DataFrame({
        "characteristic": ["Patients", "Sex", "Sex", "Age at CAR T, years"],
        "level": ["", "F", "M", "Median (IQR)"],
        "Early (N=4)": ["4", "1 (25.0%)", "3 (75.0%)", "60.0 (55.0-65.0)"],
        "Late (N=6)": ["6", "3 (50.0%)", "3 (50.0%)", "62.0 (58.0-66.0)"],
        "p_value": [None, 0.5714, None, 0.0381],
        "test": ["", "Fisher's exact test", "", "Wilcoxon rank-sum test"],
    })  # fmt: skip
    table = display_table("table1_wide", frame, _ctx())
    assert table.columns == ("Characteristic", "Early (N=4)", "Late (N=6)", "p")
    assert table.rows[1] == ("Sex", "", "", "0.571") and 1 in table.headings
    assert table.rows[2] == ("    F", "1 (25.0%)", "3 (50.0%)", "")
    assert "p: Fisher's exact test; Wilcoxon rank-sum test across groups." in table.footnotes
    html = str(d.table_html(table))
    assert '<th colspan="3" scope="rowgroup">Sex</th><td class="num">0.571</td>' in html


def test_km_layout_options_are_typed_and_validated(tmp_path):
    from aftercar.config import load_config
    from aftercar.errors import ConfigError

    good = tmp_path / "good.toml"
    good.write_text('[analysis]\nkm_max_groups = 4\nkm_many_groups = "overlay"\n')
    options = load_config(good).analysis
    assert (options.km_max_groups, options.km_min_group_size) == (4, 10)
    assert options.km_many_groups == "overlay"
    bad = tmp_path / "bad.toml"
    bad.write_text('[analysis]\nkm_max_groups = 0\nkm_many_groups = "spaghetti"\n')
    with pytest.raises(ConfigError, match=r"km_max_groups(.|\n)*km_many_groups"):
        load_config(bad)
