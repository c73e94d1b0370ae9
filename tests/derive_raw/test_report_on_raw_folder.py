"""``aftercar report RAWDIR`` derives the curated cohort from raw records first."""

from __future__ import annotations

import json

from aftercar.cli import main


def test_report_detects_a_raw_folder_and_derives_it(tmp_path, capsys):
    sim = tmp_path / "sim"
    assert main(["simulate", "--patients", "60", "--seed", "5", "--raw", "-o", str(sim)]) == 0
    out = tmp_path / "report"
    assert main(["report", str(sim / "raw"), "-o", str(out)]) == 0
    assert "holds raw records" in capsys.readouterr().out
    derived = tmp_path / "report-derived-cohort"
    assert (derived / "patients.csv").is_file() and (derived / "lines.csv").is_file()
    results = json.loads((out / "results.json").read_text())
    assert results["cohort"]["patients"] > 0 and results["cohort"]["lines"] > 0


def test_derive_reads_a_raw_parquet_folder_as_its_csv_copy(tmp_path, capsys):
    # session 27, a hand-made probe: `derive` on any raw Parquet folder (aftercar's own
    # `simulate --raw --format parquet` among them) ended in a traceback
    for fmt in ("csv", "parquet"):
        sim = tmp_path / fmt
        assert main(["simulate", "--patients", "25", "--seed", "4", "--raw", "--format", fmt,
                     "-o", str(sim)]) == 0  # fmt: skip
        assert main(["derive", str(sim / "raw"), "-o", str(tmp_path / f"out-{fmt}")]) == 0
    for name in ("patients.csv", "lines.csv"):
        assert (tmp_path / "out-csv" / name).read_text() == \
            (tmp_path / "out-parquet" / name).read_text()  # fmt: skip
