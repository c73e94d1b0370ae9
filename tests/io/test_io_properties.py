"""Hypothesis properties of the readers.

* Random valid cohorts (any number of patients and lines, any accepted spelling of
  responses, booleans and stages) load, with every row accounted for and line
  numbers contiguous from 1.
* A random corruption of a valid cohort (bad date, number, boolean or response, a
  duplicate or unknown id, a dropped required column) makes ``aftercar validate``
  exit 2 with a problem naming the right file, row and column -- never another
  exception.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from iokit import LINE_COLUMNS, LINES, PATIENT_COLUMNS, PATIENTS, TODAY, make_cohort

from aftercar.cli import main
from aftercar.io import RULES, read_cohort, validate_cohort

BASE = dt.date(2018, 1, 1)
RESPONSES = [
    "sCR",
    "cr",
    "Very Good Partial Response",
    "vgpr",
    "PR",
    "partial response",
    "MR",
    "minimal response",
    "SD",
    "stable disease",
    "PD",
    "progressive disease",
    "NE",
    "not evaluable",
    "",
]
BOOLS = ["yes", "no", "Y", "n", "TRUE", "false", "1", "0", ""]
STAGES = ["1", "2", "3", "I", "II", "III", ""]
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _iso(offset: int) -> str:
    return (BASE + dt.timedelta(days=offset)).isoformat()


@st.composite
def patient(draw, pid: str):
    """One patient row and its line rows, dates as offsets from 2018-01-01 (all < TODAY)."""
    car_t = draw(st.integers(0, 500))
    prog = car_t + draw(st.integers(0, 400))
    lines, start = [], prog
    for k in range(draw(st.integers(0, 4))):
        start += draw(st.integers(0, 100))
        end = start + draw(st.integers(0, 200))
        lprog = draw(st.one_of(st.none(), st.integers(start, end)))
        lines.append(
            [
                pid,
                str(k + 1),
                draw(st.sampled_from(["Tec", "KPd", "Dara-Pom-dex"])),
                _iso(start),
                _iso(end),
                draw(st.sampled_from(RESPONSES)),
                "" if lprog is None else _iso(lprog),
                draw(st.sampled_from(BOOLS)),
                "",
            ]
        )
        start = end
    last = start + draw(st.integers(0, 300))  # at most 2024-07-29 < TODAY
    dead = draw(st.booleans())
    row = [
        pid,
        "site",
        "F",
        "",
        str(draw(st.integers(30, 85))),
        "ide-cel",
        _iso(car_t),
        draw(st.sampled_from(RESPONSES)),
        _iso(prog),
        _iso(last) if dead else "",
        "" if dead else _iso(last),
        draw(st.sampled_from(BOOLS)),
        draw(st.sampled_from(BOOLS)),
        str(draw(st.integers(1, 12))),
        draw(st.sampled_from(BOOLS)),
        draw(st.sampled_from(BOOLS)),
        draw(st.sampled_from(STAGES)),
        draw(st.sampled_from(["", "0", "1", "2"])),
    ]
    return row, lines


@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 6))
    patients, lines = [], []
    for i in range(n):
        row, rows = draw(patient(f"P{i + 1:03d}"))
        patients.append(row)
        lines += rows
    order = draw(st.permutations(range(len(lines))))  # line rows in any order
    return patients, [lines[i] for i in order]


@SETTINGS
@given(cohorts())
def test_valid_random_cohorts_load(cohort):
    patients, lines = cohort
    with tempfile.TemporaryDirectory() as tmp:
        loaded = read_cohort(make_cohort(Path(tmp), patients=patients, lines=lines), today=TODAY)
    assert loaded.patients.num_rows == len(patients)
    assert loaded.lines.num_rows == len(lines)
    assert sorted(loaded.lines.column("source_row").to_pylist()) == list(range(2, 2 + len(lines)))
    by_patient: dict[str, list[int]] = {}
    for r in loaded.lines.select(["patient_id", "line"]).to_pylist():
        by_patient.setdefault(r["patient_id"], []).append(r["line"])
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in by_patient.values())
    no_lines = {p[0] for p in patients} - by_patient.keys()
    assert {w.value for w in loaded.warnings if w.rule == "no_lines"} == no_lines
    assert loaded.excluded.num_rows == 0


CELL_CORRUPTIONS = {
    # kind: (table, column, bad value, rules that may report it)
    "date": ("patients", "car_t_date", "31/31/2020", {"date_unparseable", "date_ambiguous"}),
    "ambiguous_date": ("lines", "start_date", "02/03/2021", {"date_ambiguous"}),
    "line_date": ("lines", "end_date", "soon", {"date_unparseable"}),
    "response": ("lines", "best_response", "excellent", {"response_unparseable"}),
    "car_t_response": ("patients", "car_t_best_response", "great", {"response_unparseable"}),
    "boolean": ("patients", "high_risk_cytogenetics", "perhaps", {"bool_unparseable"}),
    "number": ("patients", "prior_lines", "many", {"number_unparseable"}),
    "line_number": ("lines", "line", "first", {"number_unparseable"}),
    "stage": ("patients", "iss_stage", "IV", {"stage_unparseable"}),
    "unknown_id": ("lines", "patient_id", "ZZZ", {"unknown_patient"}),
    "empty_required": ("patients", "car_t_product", "", {"required_value"}),
}


def _validate_json(folder: Path, capsys) -> tuple[int, dict]:
    code = main(["validate", str(folder), "--json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, json.loads(captured.out)


def _has(data: dict, file: str, row, column, rules: set[str]) -> bool:
    return any(
        p["file"] == file
        and p["row"] == row
        and p["column"] == column
        and p["rule"] in rules
        and p["severity"] == "error"
        for p in data["problems"]
    )


@SETTINGS
@given(cohorts(), st.sampled_from(sorted(CELL_CORRUPTIONS)), st.integers(0, 10**6))
def test_cell_corruption_is_reported_at_its_row_and_column(capsys, cohort, kind, pick):
    patients, lines = (list(map(list, t)) for t in cohort)
    table, column, bad, rules = CELL_CORRUPTIONS[kind]
    rows, cols = (patients, PATIENT_COLUMNS) if table == "patients" else (lines, LINE_COLUMNS)
    if not rows:  # no line to corrupt: corrupt a patient date instead
        rows, cols, table, column, bad, rules = (
            patients,
            PATIENT_COLUMNS,
            "patients",
            *CELL_CORRUPTIONS["date"][1:],
        )
    i = pick % len(rows)
    rows[i][cols.index(column)] = bad
    with tempfile.TemporaryDirectory() as tmp:
        code, data = _validate_json(make_cohort(Path(tmp), patients=patients, lines=lines), capsys)
    assert code == 2 and data["ok"] is False
    assert _has(data, f"{table}.csv", i + 2, column, rules), data["problems"]


@SETTINGS
@given(cohorts().filter(lambda c: len(c[0]) >= 2), st.integers(0, 10**6))
def test_duplicate_patient_id_is_reported_on_the_second_row(capsys, cohort, pick):
    patients = [list(r) for r in cohort[0]]
    j = 1 + pick % (len(patients) - 1)
    patients[j][0] = patients[0][0]
    with tempfile.TemporaryDirectory() as tmp:
        code, data = _validate_json(
            make_cohort(Path(tmp), patients=patients, lines=cohort[1]), capsys
        )
    assert code == 2
    assert _has(data, "patients.csv", j + 2, "patient_id", {"duplicate_patient"})


@SETTINGS
@given(
    cohorts(),
    st.sampled_from(
        [
            "patient_id",
            "car_t_product",
            "car_t_date",
            "progression_date",
            "line",
            "regimen",
            "start_date",
        ]
    ),
)
def test_dropped_required_column_is_named(capsys, cohort, column):
    patients, lines = cohort
    in_patients = column in PATIENT_COLUMNS and column not in ("line",)
    cols = PATIENT_COLUMNS if in_patients else LINE_COLUMNS
    k = cols.index(column)
    keep = [c for c in cols if c != column]
    cut = [r[:k] + r[k + 1 :] for r in (patients if in_patients else lines)]
    kwargs = (
        {"patients": cut, "lines": lines, "patient_columns": keep}
        if in_patients
        else {"patients": patients, "lines": cut, "line_columns": keep}
    )
    with tempfile.TemporaryDirectory() as tmp:
        code, data = _validate_json(make_cohort(Path(tmp), **kwargs), capsys)
    assert code == 2
    file = "patients.csv" if in_patients else "lines.csv"
    assert _has(data, file, None, column, {"missing_column"})


ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@SETTINGS
@given(st.sampled_from(["patients", "lines"]), st.integers(0, 100), st.integers(0, 100), ANY_TEXT)
def test_any_text_in_any_cell_or_header_never_raises(table, i, j, text):
    patients = [list(r) for r in PATIENTS]
    lines = [list(r) for r in LINES]
    rows, cols = (
        (patients, list(PATIENT_COLUMNS)) if table == "patients" else (lines, list(LINE_COLUMNS))
    )
    r = i % (len(rows) + 1)
    if r == len(rows):
        cols[j % len(cols)] = text  # a header
    else:
        rows[r][j % len(cols)] = text
    kwargs = {"patient_columns" if table == "patients" else "line_columns": cols}
    with tempfile.TemporaryDirectory() as tmp:
        report = validate_cohort(
            make_cohort(Path(tmp), patients=patients, lines=lines, **kwargs), today=TODAY
        )
    assert all(p.rule in RULES for p in report.problems)
    assert report.ok is (report.cohort is not None)
