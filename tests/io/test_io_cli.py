"""``aftercar validate`` and ``aftercar template``: exit codes, output, no tracebacks."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from iokit import PATIENT_COLUMNS, PATIENTS, edited, make_cohort

from aftercar.cli import main


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_valid_cohort_exits_0_with_summary(capsys, valid_cohort):
    code, out, err = _run(capsys, "validate", str(valid_cohort))
    assert code == 0
    for text in (
        "patients",
        "salvage lines",
        "patients without lines",
        "date range",
        "2020-01-10 to 2022-01-31",
        "warning",
        "no_lines",
        "valid: 1 warning(s)",
    ):
        assert text in out, text
    assert "Traceback" not in out + err


def test_validate_bad_cohort_exits_2_and_lists_problems(capsys, tmp_path):
    folder = make_cohort(tmp_path, **edited("patients", 3, "car_t_date", "03/04/2020"))
    code, out, err = _run(capsys, "validate", str(folder))
    assert code == 2
    assert "date_ambiguous" in out and "03/04/2020" in out and "patients.csv" in out
    assert err.strip() == f"error: 1 error(s) in the cohort {folder}; see the list above"
    assert "Traceback" not in out + err


def test_validate_date_format_option_accepts_ambiguous_dates(capsys, tmp_path):
    folder = make_cohort(tmp_path, **edited("patients", 3, "car_t_date", "03/04/2020"))
    code, _, _ = _run(capsys, "validate", str(folder), "--date-format", "%d/%m/%Y")
    assert code == 0


def test_validate_json(capsys, tmp_path):
    folder = make_cohort(tmp_path, **edited("lines", 2, "best_response", "good"))
    code, out, err = _run(capsys, "validate", str(folder), "--json")
    assert code == 2
    data = json.loads(out)
    assert data["ok"] is False
    assert data["summary"]["errors"] == 1 and data["summary"]["patients"] == 3
    assert [p for p in data["problems"] if p["severity"] == "error"] == [
        {
            "file": "lines.csv",
            "row": 2,
            "column": "best_response",
            "value": "good",
            "message": "best_response is not an IMWG response category",
            "hint": "use sCR, CR, VGPR, PR, MR, SD, PD or NE (full names such as 'very good "
            "partial response' are accepted), without a qualifier such as '<', '?', '*' or a "
            "footnote mark; leave empty if not assessed",
            "severity": "error",
            "rule": "response_unparseable",
        }
    ]
    assert "see the JSON output" in err


def test_validate_json_valid_exits_0(capsys, valid_cohort):
    code, out, _ = _run(capsys, "validate", str(valid_cohort), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True and [p["rule"] for p in data["problems"]] == ["no_lines"]


@pytest.mark.parametrize(
    "args", [["validate", "/no/such/cohort"], ["validate", "/no/such/cohort", "--json"]]
)
def test_validate_missing_path_exits_2_without_traceback(capsys, args):
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert "no such file or folder" in out
    assert "Traceback" not in out + err


def test_validate_garbage_file_exits_2_without_traceback(capsys, tmp_path):
    (tmp_path / "cohort.xlsx").write_bytes(b"\x00\x01garbage")
    code, out, err = _run(capsys, "validate", str(tmp_path / "cohort.xlsx"))
    assert code == 2 and "unreadable_file" in out and "Traceback" not in out + err


def test_extra_problems_plug_in_point_is_used(capsys, valid_cohort, monkeypatch):
    from aftercar.cli import validate as cmd
    from aftercar.errors import Problem

    seen = []

    def extra(cohort_or_lines):
        seen.append(cohort_or_lines)
        return [
            Problem(
                "lines.csv",
                2,
                "regimen",
                "Tec",
                "unrecognized regimen",
                "add it",
                "warning",
                "vocab_unrecognized",
            )
        ]

    monkeypatch.setattr(cmd, "_extra_problems", extra)
    code, out, _ = _run(capsys, "validate", str(valid_cohort), "--json")
    assert code == 0
    assert [p["rule"] for p in json.loads(out)["problems"]] == ["no_lines", "vocab_unrecognized"]
    assert seen[0].patients.num_rows == 3  # the loaded Cohort


def test_template_writes_workbook_that_round_trips(capsys, tmp_path):
    path = tmp_path / "cohort.xlsx"
    code, out, _ = _run(capsys, "template", "-o", str(path))
    assert code == 0 and "wrote" in out
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["patients", "lines", "notes"]
    header = [c.value for c in book["patients"][1]]
    assert header == PATIENT_COLUMNS
    assert book["patients"]["A1"].font.bold and not book["patients"]["B1"].font.bold
    lists = {
        str(dv.sqref).split(":")[0]: dv.formula1
        for dv in book["lines"].data_validations.dataValidation
    }
    assert lists["F2"] == '"sCR,CR,VGPR,PR,MR,SD,PD,NE"'  # best_response
    assert lists["H2"] == '"yes,no"'  # clinical_trial
    notes = [r[1] for r in book["notes"].iter_rows(values_only=True)]
    assert "car_t_best_response" in notes and "end_reason" in notes
    # An empty template is refused (no patients) ...
    assert _run(capsys, "validate", str(path))[0] == 2
    # ... and filled with one valid row per sheet it validates.
    row = [
        dt.datetime.fromisoformat(v) if v and c.endswith("date") else v or None
        for c, v in zip(PATIENT_COLUMNS, PATIENTS[0], strict=True)
    ]
    book["patients"].append(row)
    book["lines"].append(
        ["P01", 1, "Tec-Dara", dt.datetime(2020, 7, 10), None, "VGPR", None, "yes", None]
    )
    book.save(path)
    code, out, _ = _run(capsys, "validate", str(path), "--json")
    assert code == 0, out
    assert json.loads(out)["summary"]["lines"] == 1


def test_template_refuses_to_overwrite_and_non_xlsx(capsys, tmp_path):
    path = tmp_path / "cohort.xlsx"
    path.write_text("keep me")
    code, _, err = _run(capsys, "template", "-o", str(path))
    assert code == 2 and "already exists" in err and path.read_text() == "keep me"
    assert _run(capsys, "template", "-o", str(path), "--force")[0] == 0
    code, _, err = _run(capsys, "template", "-o", str(tmp_path / "x.csv"))
    assert code == 2 and ".xlsx" in err


@pytest.mark.parametrize("fmt", ["%Q", "day/month/year"])
def test_bad_date_format_exits_2_without_traceback(capsys, valid_cohort, fmt):
    code, out, err = _run(capsys, "validate", str(valid_cohort), "--date-format", fmt)
    assert code == 2
    assert f"--date-format '{fmt}' is not a date format" in err
    assert "Traceback" not in out + err


def test_many_problems_of_one_rule_are_condensed_by_row_in_display(capsys, tmp_path):
    from iokit import LINE_COLUMNS

    lines = [["P01", str(k + 1), "x", "2020-07-10", "", "excellent", "", "", ""] for k in range(25)]
    folder = make_cohort(tmp_path, lines=lines)
    code, out, _ = _run(capsys, "validate", str(folder))
    assert code == 2
    assert "response_unparseable (25)" in out
    tail = " ".join(out.split("... and 5 more (all in --json):")[1].split())
    assert tail.startswith("lines.csv, column 'best_response', rows 22, 23, 24, 25, 26")
    assert LINE_COLUMNS[5] == "best_response"
