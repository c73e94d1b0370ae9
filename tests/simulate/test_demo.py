"""The shipped synthetic demo cohort: valid, labelled synthetic, reproducible."""

from __future__ import annotations

import datetime as dt

from aftercar.io import validate_cohort
from aftercar.simulate import DEMO_PATIENTS, DEMO_SEED, demo_cohort_path
from aftercar.simulate.demo import write_demo_cohort


def test_demo_folder_holds_the_two_synthetic_csv_files_and_a_readme():
    names = sorted(p.name for p in demo_cohort_path().iterdir() if p.is_file())
    assert names == ["README.md", "synthetic_demo_lines.csv", "synthetic_demo_patients.csv"]
    readme = (demo_cohort_path() / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and f"--seed {DEMO_SEED}" in readme


def test_demo_passes_validation_with_no_errors_or_warnings():
    report = validate_cohort(demo_cohort_path(), today=dt.date(2025, 7, 1))
    assert report.ok, [str(p) for p in report.problems]
    assert report.problems == ()
    assert report.summary["patients"] == DEMO_PATIENTS == 79


def test_demo_files_equal_a_fresh_regeneration_from_the_seed(tmp_path):
    for path in write_demo_cohort(tmp_path):
        shipped = demo_cohort_path() / path.name
        assert shipped.read_bytes() == path.read_bytes(), path.name
