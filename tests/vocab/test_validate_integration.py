"""``aftercar validate`` reports unrecognized and corrected regimen words with their row.

Issue 11 changed the misspelling rule: "daratumunab" is now read as daratumumab
and reported as a correction (rule ``regimen-corrected``) instead of an
unrecognized word with a suggestion.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from aftercar.cli import main

DEMO = Path(str(resources.files("aftercar") / "data" / "demo"))


@pytest.fixture
def cohort(tmp_path):
    folder = tmp_path / "cohort"
    folder.mkdir()
    for name in ("synthetic_demo_patients.csv", "synthetic_demo_lines.csv"):
        shutil.copy(DEMO / name, folder / name)
    lines = folder / "synthetic_demo_lines.csv"
    frame = pd.read_csv(lines, dtype=str, keep_default_na=False)
    # spreadsheet row 3 (header = row 1) gets a misspelt drug, row 5 an unknown one
    frame.loc[1, "regimen"] = "daratumunab + Pd"
    frame.loc[3, "regimen"] = "Zorblatinib"
    frame.to_csv(lines, index=False)
    return folder


def test_validate_json_lists_unrecognized_regimens_as_warnings_with_rows(cohort, capsys):
    assert main(["validate", str(cohort), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    rules = ("regimen-unrecognized", "regimen-corrected")
    found = [p for p in report["problems"] if p["rule"] in rules]
    assert [(p["row"], p["column"], p["value"], p["severity"], p["rule"]) for p in found] == [
        (3, "regimen", "daratumunab + Pd", "warning", "regimen-corrected"),
        (5, "regimen", "Zorblatinib", "warning", "regimen-unrecognized"),
    ]
    assert found[0]["file"] == "synthetic_demo_lines.csv"
    assert "'daratumunab' read as daratumumab" in found[0]["message"]
    assert found[1]["hint"] == "add an override or correct the spelling"
    assert report["summary"]["warnings"] == 2


def test_validate_table_output_shows_the_warning(cohort, capsys):
    assert main(["validate", str(cohort)]) == 0
    out = capsys.readouterr().out
    assert "regimen-unrecognized" in out and "Zorblatinib" in out


def test_clean_demo_cohort_has_no_regimen_warnings(capsys):
    assert main(["validate", str(DEMO), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert not [p for p in report["problems"] if p["rule"] == "regimen-unrecognized"]


def test_regimen_warnings_are_listed_even_when_the_cohort_has_errors(cohort, capsys):
    lines = cohort / "synthetic_demo_lines.csv"
    frame = pd.read_csv(lines, dtype=str, keep_default_na=False)
    frame.loc[0, "start_date"] = "not a date"
    frame.to_csv(lines, index=False)
    assert main(["validate", str(cohort), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert any(p["severity"] == "error" for p in report["problems"])
    found = [p["row"] for p in report["problems"] if p["rule"].startswith("regimen-")]
    assert found == [3, 5]


def test_validate_warns_on_sequences_non_therapy_rows_and_product_spellings(cohort, capsys):
    lines = cohort / "synthetic_demo_lines.csv"
    frame = pd.read_csv(lines, dtype=str, keep_default_na=False)
    frame.loc[5, "regimen"] = "Tec -> Tal"
    frame.loc[6, "regimen"] = "hospice"
    frame.to_csv(lines, index=False)
    patients = cohort / "synthetic_demo_patients.csv"
    pts = pd.read_csv(patients, dtype=str, keep_default_na=False)
    ide = pts.index[pts["car_t_product"] == "ide-cel"]
    pts.loc[ide[0], "car_t_product"] = "Abecma"
    pts.loc[ide[1], "car_t_product"] = "Ide-cel"
    pts.to_csv(patients, index=False)
    assert main(["validate", str(cohort), "--json"]) == 0
    rules = {p["rule"]: p for p in json.loads(capsys.readouterr().out)["problems"]}
    assert rules["regimen-sequence"]["row"] == 7 and rules["regimen-no-therapy"]["row"] == 8
    merged = rules["car-t-product-merged"]
    assert merged["file"].endswith("patients.csv") and "Abecma" in merged["message"]
