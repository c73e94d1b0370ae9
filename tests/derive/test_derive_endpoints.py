"""Hand-worked endpoint derivations on the micro-cohort of conftest.py.

Months = days / 30.4375; every expected value below is counted in days by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from aftercar.analysis.attrition import analysis_exclusions, attrition
from aftercar.derive import EndpointRules
from aftercar.errors import DerivationError

M = 30.4375


def _line(df: pd.DataFrame, pid: str, line: int) -> pd.Series:
    return df.loc[(df["patient_id"] == pid) & (df["line"] == line)].iloc[0]


def test_pfs_censored_at_next_line_start_without_progression(micro, backend):
    lines = backend.lines(*micro)
    first = _line(lines, "P1", 1)
    assert first["pfs_months"] == pytest.approx(60 / M, abs=1e-12)  # 2021-01-11 -> 03-12
    assert not first["pfs_event"]


def test_pfs_ignore_next_line_follows_to_death(micro, backend):
    lines = backend.lines(*micro, rules=EndpointRules(pfs_next_line="ignore"))
    first = _line(lines, "P1", 1)
    assert first["pfs_months"] == pytest.approx(171 / M, abs=1e-12)  # -> death 07-01
    assert first["pfs_event"]


def test_pfs_event_at_documented_progression(micro, backend):
    second = _line(backend.lines(*micro), "P1", 2)
    assert second["pfs_months"] == pytest.approx(60 / M, abs=1e-12)
    assert second["pfs_event"]
    assert second["progression_months"] == pytest.approx(130 / M, abs=1e-12)


def test_last_line_without_progression_censored_at_last_followup(micro, backend):
    p3 = _line(backend.lines(*micro), "P3", 1)
    assert p3["pfs_months"] == pytest.approx(303 / M, abs=1e-12)
    assert not p3["pfs_event"]


def test_last_line_without_progression_death_is_pfs_event(micro, backend):
    p4 = _line(backend.lines(*micro), "P4", 1)
    assert p4["pfs_months"] == pytest.approx(90 / M, abs=1e-12)
    assert p4["pfs_event"]


def test_ttnt_next_line_or_death(micro, backend):
    lines = backend.lines(*micro)
    assert _line(lines, "P1", 1)["ttnt_months"] == pytest.approx(60 / M)
    assert _line(lines, "P1", 1)["ttnt_event"]
    assert _line(lines, "P1", 2)["ttnt_months"] == pytest.approx(111 / M)
    assert _line(lines, "P1", 2)["ttnt_event"]
    assert not _line(lines, "P3", 1)["ttnt_event"]


def test_ne_and_missing_not_evaluable_by_default(micro, backend):
    lines = backend.lines(*micro)
    assert list(lines["evaluable"]) == [True, False, True, False]
    assert lines["responded"].isna().tolist() == [False, True, False, True]
    assert lines["responded"].dropna().tolist() == [True, True]


def _with_responses(micro, codes):
    patients, lines, classified = micro
    return patients, lines.assign(best_response=codes), classified


def test_ne_counted_as_non_responder_when_not_excluded(micro, backend):
    cohort = _with_responses(micro, ["PR", "NE", None, "SD"])
    flags = backend.lines(*cohort, rules=EndpointRules(exclude_not_evaluable=False))
    assert flags["evaluable"].all()
    assert flags["responded"].tolist() == [True, False, False, False]


@pytest.mark.parametrize(
    ("codes", "vgpr", "cr"),
    [
        (["sCR", "CR", "VGPR", "PR"], [True, True, True, False], [True, True, False, False]),
        (["MR", "PD", "SD", "VGPR"], [False, False, False, True], [False] * 4),
    ],
)
def test_response_depth_flags(micro, backend, codes, vgpr, cr):
    flags = backend.lines(*_with_responses(micro, codes))
    assert flags["vgpr_or_better"].tolist() == vgpr
    assert flags["cr_or_better"].tolist() == cr


def test_line_times_from_index_and_classes(micro, backend):
    lines = backend.lines(*micro)
    p3 = _line(lines, "P3", 1)
    assert p3["start_months"] == pytest.approx(31 / M)
    assert np.isnan(p3["end_months"])
    assert p3["category"] == "bispecific" and p3["tce"] and p3["bcma_directed"]
    assert _line(lines, "P1", 2)["category"] == "alkylator"


def test_patient_without_lines_counts_for_os(micro, backend):
    pts = backend.patients(micro[0], backend.lines(*micro))
    p2 = pts.set_index("patient_id").loc["P2"]
    assert p2["n_lines"] == 0
    assert p2["os_valid"]
    assert p2["os_months"] == pytest.approx(365 / M)
    assert not p2["os_event"]


def test_os_death_and_first_tce(micro, backend):
    pts = backend.patients(micro[0], backend.lines(*micro)).set_index("patient_id")
    assert pts.loc["P1", "os_months"] == pytest.approx(181 / M)
    assert pts.loc["P1", "os_event"]
    assert np.isnan(pts.loc["P1", "first_tce_months"])
    assert pts.loc["P3", "first_tce_months"] == pytest.approx(31 / M)
    assert pts.loc["P4", "first_tce_months"] == 0.0


def test_early_relapse_cutoff_and_unknown(micro, backend):
    pts = backend.patients(micro[0], backend.lines(*micro)).set_index("patient_id")
    # P1: 2020-09-01 -> 2021-01-01 = 122 d (< 6 mo); P2: 366 d; P4: CAR-T date unknown.
    assert pts.loc["P1", "early_relapse"] is True or bool(pts.loc["P1", "early_relapse"])
    assert not bool(pts.loc["P2", "early_relapse"])
    assert pd.isna(pts.loc["P4", "early_relapse"])
    later = backend.patients(
        micro[0], backend.lines(*micro), rules=EndpointRules(early_relapse_months=3.0)
    )
    assert not bool(later.set_index("patient_id").loc["P1", "early_relapse"])


def test_arrow_input_equals_pandas_input(micro, backend):
    patients, lines, classified = micro
    as_arrow = backend.lines(
        pa.Table.from_pandas(
            patients.assign(progression_date=patients["progression_date"].dt.date)
        ),
        pa.Table.from_pandas(lines),
        pa.Table.from_pandas(classified),
    )
    pd.testing.assert_frame_equal(as_arrow, backend.lines(*micro), check_dtype=False)


def test_unclassified_regimen_falls_back_to_other(micro, backend):
    patients, lines, classified = micro
    out = backend.lines(patients, lines, classified.iloc[:1])
    assert _line(out, "P1", 2)["category"] == "other"
    assert not _line(out, "P3", 1)["tce"]


def test_bad_rule_is_refused():
    with pytest.raises(DerivationError, match="pfs_next_line"):
        EndpointRules(pfs_next_line="drop")


def test_attrition_counts_and_exclusion_listing(micro, backend):
    lines = backend.lines(*micro)
    pts = backend.patients(micro[0], lines)
    excluded = pd.DataFrame(
        {"table": ["lines"], "row": [9], "patient_id": ["P9"], "reason": ["blank row"]}
    )
    table = attrition(pts, lines, excluded).set_index("step")
    assert table.loc["Rows read", "lines"] == 5
    assert table.loc["Patients without a salvage line", "patients"] == 1
    assert table.loc["Response-evaluable lines", "lines"] == 2
    assert table.loc["Lines with NE or missing response", "lines"] == 2
    assert analysis_exclusions(pts, lines).empty
    broken = micro[1].copy()
    broken.loc[1, "start_date"] = pd.NaT
    bad_lines = backend.lines(micro[0], broken, micro[2])
    listing = analysis_exclusions(backend.patients(micro[0], bad_lines), bad_lines)
    assert listing[["table", "row"]].values.tolist() == [["lines", 3]]
    assert "PFS" in listing.loc[0, "reason"]


def test_non_therapy_rows_leave_the_lines_and_later_lines_are_renumbered(micro, backend):
    patients, lines, classified = micro
    hospice = classified.assign(
        category=classified["category"].where(classified["text"] != "KPd", "no_therapy")
    )
    derived = backend.cohort(patients, lines, hospice, non_therapy=("no_therapy",))
    p1 = derived.lines[derived.lines["patient_id"] == "P1"]
    assert p1["line"].tolist() == [1] and p1["regimen"].tolist() == ["DCEP"]
    assert derived.excluded_lines[["table", "row"]].values.tolist() == [["lines", 2]]
    assert "not a line of therapy (category no_therapy)" in derived.excluded_lines["reason"][0]
    first = derived.patients.set_index("patient_id").loc["P1"]
    assert first["n_lines"] == 1
    kept = backend.cohort(patients, lines, hospice)  # no non_therapy given: counted
    assert kept.lines[kept.lines["patient_id"] == "P1"]["line"].tolist() == [1, 2]
