"""Complementary suppression, one margin at a time (issue 17's examples)."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pandas as pd
from reportkit import build_input

from aftercar.report.disclosure import (
    SUPPRESSED,
    Margins,
    km_plan,
    km_ticks,
    shared_figures,
    suppress_small_counts,
    suppress_table,
    without_quoted_values,
)


def _table1(levels: dict[str, int]) -> pd.DataFrame:
    total = sum(levels.values())
    rows = [{"characteristic": "Patients", "level": "", "n": total, "percent": None,
             "summary": str(total)}]  # fmt: skip
    rows += [
        {"characteristic": "ISS stage", "level": lvl, "n": n, "percent": 100 * n / total,
         "summary": f"{n} ({100 * n / total:.1f}%)" if lvl != "Missing" else str(n)}
        for lvl, n in levels.items()
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_a_suppressed_level_is_not_recovered_from_the_total():
    # the issue: ISS II = 18 - 7 - 7 - 0 = 4 when only II is suppressed
    out = suppress_table(_table1({"I": 7, "II": 4, "III": 7, "Missing": 0}), 5)
    n = dict(zip(out["level"], out["n"], strict=True))
    assert n["II"] == "<5"
    assert n["I"] == SUPPRESSED and n["III"] == 7  # the next smallest, ties by label
    assert n["Missing"] == 0 and n[""] == 18
    assert out.loc[out["level"] == "I", "summary"].item() == SUPPRESSED
    assert out.loc[out["level"] == "I", "percent"].item() == SUPPRESSED


def test_two_small_levels_protect_each_other_unless_their_sum_gives_them_away():
    out = suppress_table(_table1({"I": 3, "II": 2, "III": 13}), 5)
    assert out["n"].tolist()[1:] == ["<5", "<5", 13]  # 18 - 13 = 5 = 3 + 2: 1..4 each
    tight = suppress_table(_table1({"I": 1, "II": 1, "III": 16}), 5)
    assert tight["n"].tolist()[1:] == ["<5", "<5", SUPPRESSED]  # 2 = 1 + 1 would tell


def test_not_evaluable_lines_are_not_lines_minus_evaluable():
    block = {
        "lines": 18,
        "orr": {"responders": 9, "n": 16, "estimate": 9 / 16, "ci95": [0.3, 0.8],
                "not_evaluable": 2},
        "vgpr_or_better": {"responders": 6, "n": 16, "estimate": 6 / 16,
                           "ci95": [0.15, 0.65], "not_evaluable": 2},
    }  # fmt: skip
    out = suppress_small_counts(block, 5)
    assert out["orr"]["not_evaluable"] == "<5"
    assert out["orr"]["n"] == SUPPRESSED and out["vgpr_or_better"]["n"] == SUPPRESSED
    assert out["orr"]["estimate"] == SUPPRESSED and out["orr"]["ci95"] == SUPPRESSED
    assert out["orr"]["responders"] == 9  # 9 of an unknown n reveals nothing small
    # PR only = 9 - 6 = 3: one of the two depths goes
    assert SUPPRESSED in (out["orr"]["responders"], out["vgpr_or_better"]["responders"])


def test_few_censored_hide_the_events_and_estimates_of_a_small_group_are_withheld():
    out = suppress_small_counts(
        {"n": 18, "events": 16, "median_months": 13.9,
         "groups": {"A": {"n": 3, "events": 2, "median_months": 4.0, "ci95": [1.0, None],
                          "rates": [{"months": 12.0, "surv": 0.5, "ci95": [0.1, 0.9]}]}}},
        5,
    )  # fmt: skip
    assert out["events"] == SUPPRESSED  # 18 - 16 = 2 alive
    group = out["groups"]["A"]
    assert group["n"] == "<5" and group["median_months"] == SUPPRESSED
    assert group["rates"] == [{"months": 12.0, "surv": SUPPRESSED, "ci95": [SUPPRESSED] * 2}]
    assert group["ci95"] == [SUPPRESSED, None]


def test_a_margin_whose_cells_are_all_small_and_tight_withholds_its_total():
    m = Margins(3)  # a, b, t in 1..2 and a + b = t: a = b = 1, t = 2
    for key, value in (("a", 1), ("b", 1), ("t", 2)):
        m.cell(key, value)
    m.margin(["a", "b"], "t")
    assert m.solve() == {"a": "<3", "b": "<3", "t": SUPPRESSED}


def test_at_risk_and_cumulative_events_step_by_zero_or_at_least_k():
    # at risk 20 -> 19 -> 17 -> 12 -> 6 and events 0 -> 1 -> 3 -> 8 -> 14: steps of 1-2
    ticks = km_ticks([(20.0, [20, 19, 17, 12, 6], [0, 1, 3, 8, 14], 14.0, 6.0)], 5)
    assert ticks == [0, 3, 4]  # 20/0, 12/8, 6/14: steps of 8 and 6; 19/1 and 17/3 dropped
    for a, b in pairwise(ticks):
        assert abs([20, 19, 17, 12, 6][a] - [20, 19, 17, 12, 6][b]) >= 5


def test_small_groups_and_the_group_that_would_give_them_away_are_left_out():
    curves = [
        ("A", 3.0, [3, 1], [0, 2], 3.0, 0.0),
        ("B", 10.0, [10, 5], [0, 5], 10.0, 0.0),
        ("C", 12.0, [12, 6], [0, 6], 10.0, 2.0),
    ]
    out, kept, note = km_plan(curves, 5)
    assert "A" in out and len(out) == 2  # A < 5, and B (next smallest) protects it
    assert "left out" in note and kept


def test_report_input_as_shared_drops_small_curves_and_counts_in_notes():
    data = build_input()
    data = replace(data, notes=(*data.notes, "Sparse: car_t (2 lines, 3 events)."),
                   meta={**data.meta, "source": "/home/clinic/cohort"})  # fmt: skip
    shared = without_quoted_values(data, 5)
    assert "Sparse: car_t (<5 lines, <5 events)." in shared.notes
    assert shared.meta["source"] == "cohort"
    figs = shared_figures(shared, 20).figures  # every group of the 12 patients < 20
    for fig in figs.curves.values():
        assert fig.curves == () and "left out" in fig.annotation
    assert figs.swimmer is None


def test_reasons_of_excluded_rows_do_not_quote_dates_or_values():
    reason = "start_date (2018-05-22) is after the death_date (2001-01-01, row 4)"
    rows = [{"table": "lines", "row": 11, "patient_id": "SYN-0000003", "reason": reason}]
    out = suppress_small_counts({"excluded": rows}, 5)["excluded"][0]
    assert out["patient_id"] == SUPPRESSED
    assert "2018" not in out["reason"] and "2001" not in out["reason"]
    table = suppress_table(pd.DataFrame(rows), 5)
    assert "2018-05-22" not in table.loc[0, "reason"] and table.loc[0, "row"] == 11
