"""RMST horizons past a curve's censored end are said in the notes (R survfit's rmean
carries the last estimate to the horizon; aftercar keeps R's number and says so)."""

from aftercar import stats
from aftercar.analysis.hazards import rmst_block
from aftercar.analysis.options import AnalysisOptions

OPTS = AnalysisOptions(rmst_months=(12.0, 24.0))


def test_a_censored_end_before_the_horizon_is_noted_and_the_value_is_rs():
    notes: list[str] = []
    block = rmst_block([1, 2, 3, 5, 20], [1, 0, 1, 1, 0], OPTS, notes=notes)
    assert len(notes) == 1 and "RMST at 24 months" in notes[0]
    # the value is unchanged: the curve carried flat from 20 to 24 months
    r = stats.rmst([1, 2, 3, 5, 20], [1, 0, 1, 1, 0], tau=24)
    assert block[1]["groups"][0]["estimate"] == r.table["estimate"].iloc[0]


def test_a_curve_that_reaches_zero_needs_no_note():
    notes: list[str] = []
    rmst_block([1, 2, 3, 5], [1, 0, 1, 1], OPTS, notes=notes)
    assert notes == []


def test_groups_are_named_without_their_times():
    # the function can name groups; the study calls it with notes for all patients only
    notes: list[str] = []
    rmst_block(
        [1, 2, 30, 3, 5, 4],
        [1, 0, 0, 1, 0, 1],
        OPTS,
        by=["TCE", "TCE", "TCE", "Other", "Other", "Other"],
        notes=notes,
        what="Landmark 3 mo OS",
    )
    assert len(notes) == 2  # Other ends censored at 5 months, before 12 and 24
    assert all("of Other" in n and "TCE" not in n and " 5" not in n for n in notes)


def test_the_landmark_rmst_of_a_study_adds_no_note():
    # review, 2026-12-06: a note per landmark group told of a group withheld under
    # --suppress-below that its last patient was censored before the horizon
    import pandas as pd

    from aftercar.analysis.tce import _landmark
    from aftercar.schema import Col

    lm = pd.DataFrame({
        Col.TIME: [1.0, 2.0, 30.0, 3.0, 5.0, 4.0, 8.0, 9.0],
        Col.EVENT: [True, False, False, True, False, True, True, False],
        Col.TCE_BY_LANDMARK: [True, True, True, False, False, False, True, False],
    })  # fmt: skip
    notes: list[str] = []
    block, _ = _landmark(lm, 3.0, OPTS, notes)
    assert block["rmst"] and not [n for n in notes if "RMST" in n]
