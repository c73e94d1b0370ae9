"""Figure data computed by the analysis: at-risk tables, ticks, sampling, sequences, bars."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aftercar.analysis import figures as F
from aftercar.stats import kaplan_meier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
from reportkit import LINES, PATIENTS


def _curve(time, event):
    return F.curve("g", kaplan_meier(np.asarray(time, float), np.asarray(event, bool)))


def test_at_risk_and_cumulative_events_at_ticks_hand_worked():
    # times 1 2 2 3 5 (events at 1, 2, 2, 5; censored at 3)
    curve = _curve([1, 2, 2, 3, 5], [1, 1, 1, 0, 1])
    risk, events = F.at_risk(curve, np.array([0.0, 1.0, 2.0, 2.5, 4.0, 5.0, 6.0]))
    # at risk at t = subjects with time >= t
    assert risk.tolist() == [5, 5, 4, 2, 1, 1, 0]
    # cumulative events with time <= t
    assert events.tolist() == [0, 1, 3, 3, 3, 4, 4]


def test_curve_figure_carries_ticks_and_at_risk_rows_per_group():
    fig = F.curve_figure("os", {"All": _curve(np.arange(1.0, 13.0), np.ones(12))})
    assert fig.ticks == (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0)
    assert fig.at_risk == ((12, 11, 9, 7, 5, 3, 1),)
    assert fig.cumulative_events == ((0, 2, 4, 6, 8, 10, 12),)
    as_json = fig.to_dict()
    assert as_json["groups"][0]["at_risk"] == [12, 11, 9, 7, 5, 3, 1]
    assert as_json["groups"][0]["n"] == 12


def test_nice_ticks_at_most_nine_on_month_multiples():
    assert F.nice_ticks(30).tolist() == [0, 6, 12, 18, 24, 30]
    assert F.nice_ticks(5).tolist() == [0, 1, 2, 3, 4, 5]
    for tmax in (0.5, 7, 13, 61, 250, 900):
        ticks = F.nice_ticks(tmax)
        assert 1 <= len(ticks) <= 9 and ticks[0] == 0 and ticks[-1] <= tmax


def test_empty_curve_has_no_one_at_risk():
    empty = F.Curve("e", *(np.array([]) for _ in range(7)), (None, None, None), 0.0, 0.0)
    risk, events = F.at_risk(empty, np.array([0.0, 1.0]))
    assert risk.tolist() == [0, 0] and events.tolist() == [0, 0]


def test_swimmer_samples_large_cohorts_with_seed_and_says_so():
    n = 400
    pts = pd.DataFrame(
        {
            "patient_id": [f"Q{i}" for i in range(n)],
            "os_months": np.linspace(1, 40, n),
            "os_event": np.arange(n) % 2 == 0,
        }
    )
    sample, note = F._sample(pts)
    again, _ = F._sample(pts)
    assert len(sample) == F.SWIMMER_MAX_PATIENTS and sample.equals(again)
    assert "Random sample of 150 of 400 patients" in note
    assert np.all(np.diff(sample["os_months"].to_numpy()) >= 0)
    small, note_small = F._sample(PATIENTS)
    assert len(small) == len(PATIENTS) and note_small == ""


def test_swimmer_rows_do_not_depend_on_the_input_row_order():
    """Fuzzing round 4 (G09): two patients of equal follow-up swapped places when the
    input rows were shuffled; a sample of a large cohort drew other patients."""
    n = 400
    pts = pd.DataFrame({"patient_id": [f"Q{i:03d}" for i in range(n)],
                        "os_months": np.repeat(np.linspace(1, 40, n // 2), 2),
                        "os_event": np.arange(n) % 2 == 0})  # fmt: skip
    shuffled = pts.sample(frac=1.0, random_state=7)
    for frame in (pts, pts.iloc[:40]):
        a, _ = F._sample(frame)
        b, _ = F._sample(shuffled[shuffled["patient_id"].isin(frame["patient_id"])])
        assert a["patient_id"].tolist() == b["patient_id"].tolist()


def test_swimmer_segment_without_end_runs_to_next_line_or_follow_up():
    lines = LINES[LINES["patient_id"] == "P02"].copy()
    lines["end_months"] = np.nan
    pos = pd.Series([0], index=["P02"])
    follow = pd.Series([3.5], index=["P02"])
    seg = F._segments(lines, pos, follow)
    assert seg["x1"].tolist() == [2.1, 3.5]


def test_swimmer_rows_carry_no_patient_identifier():
    sw = F.swimmer(PATIENTS, LINES)
    assert "patient_id" not in sw.bars.columns and "patient_id" not in sw.segments.columns
    assert len(sw.bars) == len(PATIENTS) and len(sw.segments) == len(LINES)


def test_sequence_counts_patients_per_category_and_flows():
    seq = F.sequence(LINES)
    assert seq.lines == (1, 2, 3) and seq.patients == (12, 10, 2)
    nodes = {(line, cat): n for line, cat, n in seq.nodes}
    assert nodes[(1, "bispecific")] == 1 and nodes[(2, "bispecific")] == 6
    flows = {(a, s, d): n for a, s, d, n in seq.flows}
    assert flows[(2, "imid_pi", "bispecific")] == 1  # P07: KRd -> Talquetamab
    assert sum(n for (a, _, _), n in flows.items() if a == 1) == 10


def test_response_bars_pool_scr_cr_and_missing_as_ne():
    bars = F.response_bars(LINES)
    counts = pd.DataFrame(bars.counts, index=bars.categories, columns=bars.groups)
    assert counts.loc["bispecific"].sum() == 9
    assert counts.loc["bispecific", "sCR/CR"] == 3  # P05 sCR, P08 CR, P09 CR
    assert counts.loc["radiotherapy", "NE/missing"] == 1
    assert counts.loc["selinexor", "NE/missing"] == 1
    assert np.allclose(bars.shares.sum(axis=1), 1.0)


def test_lines_without_category_are_counted_as_unclassified():
    lines = LINES.copy()
    lines.loc[0, "category"] = None
    assert "unclassified" in F.response_bars(lines).categories


def test_comparison_text_names_the_log_rank_p_and_the_two_group_hr():
    logrank = {"p_value": 0.0342}
    cox = {"terms": [{"hazard_ratio": 0.617, "ci95": [0.31, 1.2249]}]}
    assert F.test_text(logrank, cox) == "Log-rank p = 0.034; HR 0.62 (0.31-1.22)"
    assert F.test_text({"p_value": 2e-5}) == "Log-rank p < 0.001"
    assert F.test_text(None) == ""
    two_terms = {"terms": [cox["terms"][0], cox["terms"][0]]}
    assert F.test_text(logrank, two_terms) == "Log-rank p = 0.034"  # HR only for two groups


def test_demo_comparison_figures_carry_their_test():
    from aftercar.pipeline import run
    from aftercar.simulate import demo_cohort_path

    figures = run(demo_cohort_path()).report_input.results["figures"]
    assert figures["os_by_relapse_timing"]["annotation"].startswith("Log-rank p")
    assert "HR" in figures["os_tce_landmark"]["annotation"]
    assert "annotation" not in figures["os"]


def _km_curve(label: str, n: int):
    from aftercar.analysis import figures as fig
    from aftercar.stats import kaplan_meier

    t = np.arange(1.0, n + 1.0)
    return fig.curve(label, kaplan_meier(t, np.ones(n, bool)))


def test_many_or_small_groups_are_drawn_as_small_multiples():
    from aftercar.analysis import figures as fig

    few = {g: _km_curve(g, 20) for g in "ab"}
    assert fig.layout(few, 6, 10) == ("overlay", ())
    many = {g: _km_curve(g, 20) for g in "abcdefg"}
    assert fig.layout(many, 6, 10)[0] == "small-multiples"
    small = {"a": _km_curve("a", 20), "b": _km_curve("b", 3)}
    assert fig.layout(small, 6, 10) == ("small-multiples", ("b",))
    assert fig.layout(small, 6, 10, "overlay") == ("overlay", ("b",))
    assert fig.layout({"a": _km_curve("a", 3)}, 6, 10) == ("overlay", ())  # one group
    drawn = fig.curve_figure("pfs_by_category", small, min_size=10)
    assert drawn.to_dict()["layout"] == "small-multiples"
    assert drawn.to_dict()["small_groups"] == ["b"]


def test_first_salvage_incidence_codes_progression_and_death_as_results_do():
    import pandas as pd

    from aftercar.analysis import figures as fig
    from aftercar.schema import Col

    lines = pd.DataFrame({
        Col.LINE: [1, 1, 1, 1, 2],
        Col.PFS_MONTHS: [1.0, 2.0, 3.0, 4.0, 1.0],
        Col.PFS_EVENT: [True, True, False, True, True],
        Col.PROGRESSION_MONTHS: [1.0, np.nan, np.nan, 4.0, 1.0],
    })  # fmt: skip
    cif = fig.first_salvage_incidence(lines)
    prog, death = cif.causes
    assert cif.n == 4 and prog.label == "Progression"
    # Aalen-Johansen by hand: S(1-) = 1, progression at 1 (1/4); death at 2 (S=3/4, 1/3);
    # censored at 3; progression at 4 (S=1/2, 1/1)
    assert prog.estimate[-1] == pytest.approx(0.25 + 0.5)
    assert death.estimate[-1] == pytest.approx(0.25)
    assert cif.to_dict()["kind"] == "cumulative-incidence"
