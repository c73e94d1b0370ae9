"""The run's warnings reach the terminal and warnings.txt; the header names files, not folders."""

from __future__ import annotations

from pathlib import Path

from aftercar.cli import main
from aftercar.simulate import demo_cohort_path


def test_report_prints_warnings_and_writes_all_of_them(tmp_path, capsys):
    study = tmp_path / "study.toml"
    study.write_text('[analysis]\ncox_covariates = ["age_at_cart", "no_such_column"]\n')
    out = tmp_path / "out"
    assert main(["report", "--demo", "-o", str(out), "--config", str(study)]) == 0
    err = capsys.readouterr().err
    written = (out / "warnings.txt").read_text().splitlines()
    assert any("no_such_column" in w and "absent from the cohort" in w for w in written)
    assert f"{len(written)} warning(s); all are in" in err
    assert "no_such_column" in err


def test_header_names_input_files_and_hashes_never_the_folder(demo):
    html = demo.html.read_text()  # the demo report the report tests share (conftest.py)
    header = html[html.index('class="subtitle"') :][:600]
    assert "synthetic_demo_patients.csv (sha256 " in header
    assert str(Path(demo_cohort_path())) not in header


def test_intervals_at_another_level_are_labelled_at_that_level(tmp_path, capsys):
    # fuzzing round 6 (I04): intervals computed at 99.9% were labelled "95% CI" 19 times in
    # the HTML and 30 times in the Word report
    study = tmp_path / "study.toml"
    study.write_text("[analysis]\nconf_level = 0.9\n")
    out = tmp_path / "out"
    assert main(["report", "--demo", "-o", str(out), "--config", str(study), "--docx"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "90% CI" in html and "(95% CI)" not in html
    import docx

    doc = docx.Document(str(out / "report.docx"))
    texts = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    texts += [p.text for p in doc.paragraphs]
    assert any("90% CI" in t for t in texts) and not any("95% CI" in t for t in texts)
