"""``aftercar regimens classify|explain`` end to end (exit codes, files, messages)."""

from __future__ import annotations

import csv

import pandas as pd

from aftercar.cli import main


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_classify_csv_writes_one_row_per_input_row(tmp_path, capsys):
    src = tmp_path / "lines.csv"
    src.write_text(
        "patient_id,Regimen\nP1,Dara-KPd\nP2,\nP3,Foo123 + dex\nP4,Dara-KPd\n", encoding="utf-8"
    )
    out = tmp_path / "out.csv"
    assert main(["regimens", "classify", str(src), "-o", str(out)]) == 0
    rows = _read(out)
    assert list(rows[0])[:8] == [
        "text",
        "drugs",
        "procedures",
        "category",
        "tce",
        "bcma_directed",
        "targets",
        "unrecognized",
    ]
    assert [r["category"] for r in rows] == ["anti_cd38", "", "other", "anti_cd38"]
    assert rows[0]["drugs"] == "carfilzomib;daratumumab;dexamethasone;pomalidomide"
    assert rows[2]["unrecognized"] == "Foo123"
    printed = capsys.readouterr().out
    assert "regimen-unrecognized" in printed
    assert "Foo123" in printed and "│ 4 " in printed  # spreadsheet row 4


def test_classify_xlsx_finds_the_sheet_with_the_column(tmp_path):
    src = tmp_path / "cohort.xlsx"
    with pd.ExcelWriter(src) as xl:
        pd.DataFrame({"patient_id": ["P1"]}).to_excel(xl, sheet_name="patients", index=False)
        pd.DataFrame({"REGIMEN": ["Tec-Dara", "ASCT"]}).to_excel(
            xl, sheet_name="lines", index=False
        )
    out = tmp_path / "out.csv"
    assert main(["regimens", "classify", str(src), "-o", str(out)]) == 0
    assert [r["category"] for r in _read(out)] == ["bispecific", "transplant"]


def test_classify_text_file_one_regimen_per_line(tmp_path):
    src = tmp_path / "regimens.txt"
    src.write_text("KRd\n\ncilta-cel (2nd CAR T)\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["regimens", "classify", str(src), "-o", str(out)]) == 0
    rows = _read(out)
    assert [r["category"] for r in rows] == ["imid_pi", "", "car_t"]
    assert rows[2]["tce"] == "true"


def test_classify_named_column_and_overrides(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("rx\nStudy drug A\n", encoding="utf-8")
    ovr = tmp_path / "ovr.csv"
    ovr.write_text("text,drugs\nStudy drug A,teclistamab\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    args = ["regimens", "classify", str(src), "--column", "RX", "-o", str(out)]
    assert main([*args, "--overrides", str(ovr)]) == 0
    assert _read(out)[0]["drugs"] == "teclistamab"


def test_classify_missing_column_lists_the_columns_exit_2(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("patient_id,therapy\nP1,KRd\n", encoding="utf-8")
    assert main(["regimens", "classify", str(src), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "no column named 'regimen'" in err and "patient_id, therapy" in err
    assert "--column" in err and "Traceback" not in err


def test_classify_bad_taxonomy_exit_2(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("KRd\n", encoding="utf-8")
    tax = tmp_path / "t.toml"
    tax.write_text('precedence = ["x"]\n', encoding="utf-8")
    code = main(
        ["regimens", "classify", str(src), "-o", str(tmp_path / "o.csv"), "--taxonomy", str(tax)]
    )
    assert code == 2
    assert "t.toml" in capsys.readouterr().err


def test_classify_missing_input_exit_2(tmp_path, capsys):
    assert (
        main(["regimens", "classify", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.csv")])
        == 2
    )
    assert "file not found" in capsys.readouterr().err


def test_explain_shows_each_piece_then_category_and_flags(capsys):
    assert main(["regimens", "explain", "Tec-Dara step-up (on trial) + Zorb"]) == 0
    out = capsys.readouterr().out
    for expected in (
        "teclistamab",
        "daratumumab",
        "annotation",
        "step-up",
        "unrecognized",
        "Zorb",
        "bispecific",
        "BCMA;CD38",
        "tce",
    ):
        assert expected in out


def test_classify_output_folder_must_exist_exit_2(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("KRd\n", encoding="utf-8")
    assert main(["regimens", "classify", str(src), "-o", str(tmp_path / "no" / "o.csv")]) == 2
    assert "folder does not exist" in capsys.readouterr().err


def test_column_option_on_a_text_file_is_refused(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("KRd\n", encoding="utf-8")
    code = main(["regimens", "classify", str(src), "--column", "x", "-o", str(tmp_path / "o.csv")])
    assert code == 2
    assert "--column applies to CSV/XLSX" in capsys.readouterr().err


def test_explain_with_override_and_custom_taxonomy(tmp_path, capsys):
    ovr = tmp_path / "ovr.csv"
    ovr.write_text("text,drugs,category\nArm B,etentamig,tce\n", encoding="utf-8")
    tax = tmp_path / "tax.toml"
    tax.write_text(
        'precedence = ["tce"]\n[categories.tce]\nclasses = ["bispecific"]\n', encoding="utf-8"
    )
    args = ["regimens", "explain", "Arm B", "--overrides", str(ovr), "--taxonomy", str(tax)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "etentamig" in out and "override" in out and "tce" in out


def test_explain_override_category_unknown_to_taxonomy_exit_2(tmp_path, capsys):
    ovr = tmp_path / "ovr.csv"
    ovr.write_text("text,category\nArm B,chemo\n", encoding="utf-8")
    assert main(["regimens", "explain", "Arm B", "--overrides", str(ovr)]) == 2
    assert "'chemo' is not a category" in capsys.readouterr().err


def test_classify_warns_about_corrections_sequences_and_non_therapy_rows(tmp_path, capsys):
    src = tmp_path / "lines.csv"
    src.write_text("regimen\nBortezomide + dex\n\nTec -> Tal\nhospice\nKRd\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["regimens", "classify", str(src), "-o", str(out)]) == 0
    rows = _read(out)
    assert len(rows) == 5  # the blank row is kept, so row numbers stay right
    assert [r["category"] for r in rows] == ["imid_pi", "", "bispecific", "no_therapy", "imid_pi"]
    assert rows[0]["corrections"] == "Bortezomide -> bortezomib"
    assert rows[2]["sequence"] == "true"
    printed = capsys.readouterr().out
    for rule in ("regimen-corrected", "regimen-sequence", "regimen-no-therapy"):
        assert rule in printed
    assert "│ 4 " in printed and "│ 5 " in printed  # Tec -> Tal and hospice rows


def test_explain_shows_the_correction(capsys):
    assert main(["regimens", "explain", "Lenalomide maintenance"]) == 0
    printed = capsys.readouterr().out
    assert "corrected from 'Lenalomide'" in printed
    assert "Lenalomide -> lenalidomide" in printed
