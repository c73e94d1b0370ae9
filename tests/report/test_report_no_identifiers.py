"""Under --suppress-below no output names a patient identifier or quotes an input cell."""

from __future__ import annotations

import shutil

import pandas as pd

from aftercar.cli import main
from aftercar.io import read_cohort
from aftercar.simulate import demo_cohort_path


def test_no_patient_id_anywhere_in_a_suppressed_report(tmp_path):
    folder = tmp_path / "cohort"
    shutil.copytree(demo_cohort_path(), folder)
    lines = pd.read_csv(folder / "synthetic_demo_lines.csv", dtype=str, keep_default_na=False)
    patients = pd.read_csv(folder / "synthetic_demo_patients.csv", dtype=str)
    quiet = sorted(set(patients["patient_id"]) - set(lines["patient_id"]))
    lonely = patients["patient_id"].iloc[0]  # a patient without lines gives a warning naming it
    lines = lines[lines["patient_id"] != lonely]
    lines.to_csv(folder / "synthetic_demo_lines.csv", index=False)
    out = tmp_path / "shared"
    assert main(["report", str(folder), "-o", str(out), "--suppress-below", "5"]) == 0
    ids = set(patients["patient_id"])
    for path in out.rglob("*"):
        if path.suffix in (".json", ".csv", ".html", ".txt"):
            text = path.read_text("utf-8")
            named = sorted(i for i in ids if i in text)
            assert named == [], f"{path.name} names {named[:3]}"
    assert lonely not in quiet  # the test really produced a warning about a patient
    # ... which names it (the report prints every warning: test_report_warnings_and_header)
    assert any(lonely in str(w) for w in read_cohort(folder).warnings)
