"""Rows that are not anti-myeloma therapy (hospice, observation...) are not lines of therapy.

By default they leave the lines, the later lines are numbered on, and attrition lists
each with the reason; ``[endpoints] non_therapy_rows = "count"`` keeps them as lines.
"""

from __future__ import annotations

import shutil

import pandas as pd

from aftercar.config import config_from_dict
from aftercar.pipeline import run
from aftercar.schema import Col
from aftercar.simulate import demo_cohort_path


def _cohort_with_hospice(tmp_path):
    folder = tmp_path / "cohort"
    shutil.copytree(demo_cohort_path(), folder)
    path = folder / "synthetic_demo_lines.csv"
    lines = pd.read_csv(path, dtype=str, keep_default_na=False)
    counts = lines["patient_id"].value_counts()
    pid = counts.index[counts >= 3][0]
    rows = lines.index[lines["patient_id"] == pid]
    second = rows[1]
    lines.loc[second, "regimen"] = "hospice"
    lines.to_csv(path, index=False)
    return folder, pid, len(rows), int(second) + 2  # spreadsheet row (header = 1)


def test_hospice_is_not_a_line_and_is_listed_with_its_row(tmp_path):
    folder, pid, n, row = _cohort_with_hospice(tmp_path)
    result = run(folder)
    mine = result.lines[result.lines[Col.PATIENT_ID] == pid]
    assert len(mine) == n - 1 and mine[Col.LINE].tolist() == list(range(1, n))
    assert "hospice" not in mine[Col.REGIMEN].tolist()
    listing = result.report_input.tables["analysis_exclusions"]
    hit = listing[listing["row"] == row]
    assert hit["reason"].str.contains("not a line of therapy").all() and len(hit) == 1
    steps = result.report_input.tables["attrition"].set_index("step")
    assert steps.loc["Not lines of therapy", "lines"] == 1
    assert steps.loc["Rows read", "lines"] == len(result.lines) + 1


def test_the_study_toml_can_count_them_as_lines(tmp_path):
    folder, pid, n, _ = _cohort_with_hospice(tmp_path)
    config = config_from_dict({"endpoints": {"non_therapy_rows": "count"}})
    result = run(folder, config=config)
    mine = result.lines[result.lines[Col.PATIENT_ID] == pid]
    assert len(mine) == n and "no_therapy" in mine[Col.CATEGORY].tolist()
