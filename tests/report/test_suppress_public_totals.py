"""A total a reader knows from another output (the cohort size) never protects a cell.

Two leaks found on 2026-12-05 by a hypothesis sweep of ``test_suppress_proof.py`` with
more examples, closed on 2026-12-05 (session 17):

1. Table 1 withheld its "Patients" total as the last resort when a characteristic's
   small cells were pinned by it, but the total was printed anyway by any
   characteristic whose cells were all shown (and by results.json, the attrition and
   the figures), because ``Margins.solve`` judged each margin alone.
2. Table 1 and results.json were solved apart, so a count hidden in one (a CAR-T
   product or relapse-timing group) could be printed in the other: results.json hid
   the OS analysis' n to protect a group, while Table 1 printed the same n.

Now the cohort size (Table 1's Patients row) and the n of a survival comparison are
*public* (``Margins.publish``): never hidden. A margin they still pin once its other
cells are hidden has its hidden cells withheld, each shown as ``"withheld"`` (any
value, 0 included); zeros stay shown, as every form of a table prints them (the wide
Table 1 leaves out a Missing row of 0, which a reader reads as 0).
"""

from __future__ import annotations

import pandas as pd
import pytest
from suppress_proof import known

from aftercar.report.disclosure import WITHHELD, Margins, suppress_small_counts, suppress_table

K = 4


def _pinned(cells: list, total: float) -> list[int]:
    """Indices of the ``<K`` cells whose value the total and the other cells pin down."""
    boxes = [known(c, K) for c in cells]
    out = []
    for i, c in enumerate(cells):
        if c != f"<{K}":
            continue
        others = [b for j, b in enumerate(boxes) if j != i]
        lo = max(boxes[i][0], total - sum(b[1] for b in others))
        hi = min(boxes[i][1], total - sum(b[0] for b in others))
        if lo >= hi:
            out.append(i)
    return out


def _table1(*rows) -> pd.DataFrame:
    return pd.DataFrame([("Patients", "", 6, None), *rows],
                        columns=["characteristic", "level", "n", "percent"])  # fmt: skip


def _levels(shared: pd.DataFrame, char: str) -> list:
    return shared[shared["characteristic"] == char]["n"].tolist()


def test_a_total_printed_elsewhere_does_not_pin_small_cells():
    shared = suppress_table(_table1(
        ("Triple-class refractory", "Yes", 6, 100.0),
        ("Triple-class refractory", "Missing", 0, None),
        ("Site", "A", 3, 50.0), ("Site", "B", 3, 50.0), ("Site", "Missing", 0, None),
    ), K)  # fmt: skip
    total = sum(_levels(shared, "Triple-class refractory"))  # 6, as a reader adds it up
    assert total == 6 and _levels(shared, "Patients") == [6]  # nothing needlessly hidden
    site = _levels(shared, "Site")
    # the small cells are withheld, the zero shown (the wide form prints no Missing row
    # when nobody is missing, so a withheld zero there would still read as 0)
    assert site == [WITHHELD, WITHHELD, 0]
    assert _pinned(site, total) == []


def test_two_small_levels_alone_are_withheld_whole():
    shared = suppress_table(_table1(("Site", "A", 3, 50.0), ("Site", "B", 3, 50.0)), K)
    assert _levels(shared, "Site") == [WITHHELD, WITHHELD]
    assert _levels(shared, "Patients") == [6]
    summaries = shared[shared["characteristic"] == "Site"]["percent"].tolist()
    assert all(isinstance(p, str) for p in summaries)  # 50.0% would give 3 back


@pytest.mark.parametrize("public", [True, False])
def test_a_private_total_is_hidden_before_its_cells_are_withheld(public):
    m = Margins(K)
    for key, value in (("a", 3), ("b", 3), ("zero", 0), ("total", 6)):
        m.cell(key, value)
    m.margin(["a", "b", "zero"], "total")
    if public:
        m.publish("total")
    states = m.solve()
    if public:
        assert states == {"a": WITHHELD, "b": WITHHELD, "zero": "shown", "total": "shown"}
    else:
        assert states == {"a": f"<{K}", "b": f"<{K}", "zero": "shown", "total": "suppressed"}


def test_a_withheld_cell_reads_as_anything_in_another_margin():
    """Withholding only widens what a reader knows, so a later margin that shares the
    cell is checked with it as 0..inf (never as the 'suppressed' floor of K)."""
    m = Margins(K)
    for key, value in (("a", 3), ("b", 3), ("c", 2), ("d", 5), ("t1", 6), ("t2", 7)):
        m.cell(key, value)
    m.margin(["a", "b"], "t1")
    m.margin(["a", "c", "d"], "t2")
    m.publish("t1")
    m.publish("t2")
    states = m.solve()
    assert states["a"] == states["b"] == WITHHELD
    # t2 = a + c + d with a anything: c (2, "<4") is 1..2 with d shown, not pinned
    assert states["c"] == f"<{K}" and states["d"] == "shown"
    assert _pinned([WITHHELD, f"<{K}", 5], 7) == []


def test_survival_groups_that_the_n_pins_are_withheld_with_their_estimates():
    obj = {"os_from_progression": {
        "n": 6, "events": 5, "median_months": 10.0,
        "by_product": {"groups": {"A": {"n": 3, "events": 2, "median_months": 5.0},
                                  "B": {"n": 3, "events": 3, "median_months": 7.0}}},
    }}  # fmt: skip
    out = suppress_small_counts(obj, K)["os_from_progression"]
    assert out["n"] == 6  # the cohort size, printed by Table 1 and the attrition
    groups = out["by_product"]["groups"]
    assert [groups[g]["n"] for g in "AB"] == [WITHHELD, WITHHELD]
    assert [groups[g]["median_months"] for g in "AB"] == ["suppressed", "suppressed"]


def test_a_group_beside_a_larger_one_keeps_its_marker():
    obj = {"os_from_progression": {
        "n": 9, "events": 5,
        "by_product": {"groups": {"A": {"n": 3, "events": 2, "median_months": 5.0},
                                  "B": {"n": 6, "events": 3, "median_months": 7.0}}},
    }}  # fmt: skip
    groups = suppress_small_counts(obj, K)["os_from_progression"]["by_product"]["groups"]
    assert groups["A"]["n"] == f"<{K}" and groups["B"]["n"] == "suppressed"
    assert groups["B"]["median_months"] == 7.0  # over at least K patients
    assert _pinned([groups["A"]["n"], groups["B"]["n"]], 9) == []


def test_results_with_withheld_counts_validate_against_the_schema(tmp_path):
    """``"withheld"`` is a count of the published results schema."""
    import json
    from importlib import resources

    import jsonschema

    from aftercar.pipeline.runner import run
    from aftercar.report import jsonsafe
    from aftercar.report.writer import _shared_results
    from aftercar.simulate import simulate_cohort

    patients, lines = simulate_cohort(6, seed=34).to_frames()
    patients.to_csv(tmp_path / "patients.csv", index=False)
    lines.to_csv(tmp_path / "lines.csv", index=False)
    shared = jsonsafe.to_jsonable(_shared_results(run(tmp_path).report_input.results, K))
    assert WITHHELD in json.dumps(shared)  # the cohort size pins some characteristic here
    schema = json.loads(resources.files("aftercar").joinpath("data/results.schema.json")
                        .read_text())  # fmt: skip
    jsonschema.validate(shared, schema)


@pytest.mark.parametrize(("known", "missing"), [(2, 4), (3, 3)])
def test_wide_table1_withholds_a_median_over_fewer_than_k_values(known, missing):
    wide = pd.DataFrame([
        ("Patients", "", "6"), ("Age", "Median (IQR)", "60.0 (55.0-65.0)"),
        ("Age", "Range", "50.0-70.0"), ("Age", "Missing", str(missing)),
        ("Sex", "F", "2 (33.3%)"), ("Sex", "M", "4 (66.7%)"),
    ], columns=["characteristic", "level", "Overall (N=6)"])  # fmt: skip
    shared = suppress_table(wide, K)
    age = shared[shared["level"].isin(["Median (IQR)", "Range"])]["Overall (N=6)"].tolist()
    assert age == ["suppressed", "suppressed"]  # over 2 or 3 known values


def test_a_figure_leaves_out_groups_with_the_comparisons_markers():
    from aftercar.report.disclosure import km_json

    fig = {"kind": "kaplan-meier", "ticks": [0], "groups": [
        {"group": g, "n": 3, "at_risk": [3], "events": [0], "n_event": [1, 1],
         "n_censor": [0, 1], "median_months": [5.0]} for g in "AB"]}  # fmt: skip
    out = km_json(fig, K)
    # the figure's patients (6) are public: "<4", "<4" would give A = B = 3 back
    assert [g["n"] for g in out["groups"]] == [WITHHELD, WITHHELD]


def _wide_results(missing_group: int) -> dict:
    cols = ("Overall (N=8)", "A (N=4)", "B (N=4)")
    rows = [dict(zip(("characteristic", "level", *cols), r, strict=True)) for r in (
        ("Patients", "", "8", "4", "4"),
        ("Sex", "F", "4 (50.0%)", "3 (75.0%)", "1 (25.0%)"),
        ("Sex", "M", "4 (50.0%)", "1 (25.0%)", "3 (75.0%)"))]  # fmt: skip
    return {"table1_wide": {"by": "site", "missing_group": missing_group, "rows": rows,
                            "groups": [{"group": "A (N=4)", "n": 4}, {"group": "B (N=4)", "n": 4}]}}


def test_wide_table1_group_sizes_are_not_pinned_by_a_printed_missing_group():
    """missing_group (patients without a group) is printed beside the wide Table 1, so
    it is a known cell of the group sizes' margin, not an unknown one: A + B = 8 - 0."""
    out = suppress_small_counts(_wide_results(0), 5)["table1_wide"]
    assert out["missing_group"] == 0
    assert [g["n"] for g in out["groups"]] == [WITHHELD, WITHHELD]


def test_a_small_missing_group_is_a_suppressed_count():
    assert suppress_small_counts(_wide_results(2), 5)["table1_wide"]["missing_group"] == "<5"


def test_the_csv_wide_table1_knows_the_patients_without_a_group():
    """tables/table1_wide.csv prints no missing_group, but a reader has it (results.json,
    the long form's Missing row): the CSV form withholds what the results.json form does."""
    rows = _wide_results(0)["table1_wide"]["rows"]
    shared = suppress_table(pd.DataFrame(rows), 5)
    heads = [c for c in shared.columns if str(c).startswith(("A ", "B "))]
    assert heads == ["A (N=withheld)", "B (N=withheld)"]


@pytest.mark.parametrize("key", ["complete_cases", "excluded_incomplete",
                                 "deaths_without_progression"])  # fmt: skip
def test_counts_of_the_models_and_competing_risks_are_suppressed(key):
    assert suppress_small_counts({"block": {key: 2}}, 5)["block"][key] == "<5"


def test_a_hidden_missing_count_takes_the_percentages_of_its_characteristic_with_it():
    """Percentages are of the patients with a known value: '6 (75.0%)' of 10 gives 8 known,
    so Missing = 2 (shown '<5'). With Missing hidden, the counts stay, the percentages go."""
    long = pd.DataFrame([("Patients", "", 10, None, "10"),
                         ("ECOG", "0", 2, 25.0, "2 (25.0%)"), ("ECOG", "1", 6, 75.0, "6 (75.0%)"),
                         ("ECOG", "Missing", 2, 20.0, "2 (20.0%)")],
                        columns=["characteristic", "level", "n", "percent", "summary"])  # fmt: skip
    out = suppress_table(long, 5)
    assert out["percent"].tolist()[1:] == ["suppressed"] * 3
    assert out["summary"].tolist()[1:] == ["<5", "6", "<5"]
    wide = long[["characteristic", "level"]].assign(**{"Overall (N=10)": long["summary"]})
    assert suppress_table(wide, 5)["Overall (N=10)"].tolist()[1:] == ["<5", "6", "<5"]


def test_a_group_of_fewer_than_k_patients_shows_no_cell_but_its_n():
    """A wide Table 1 column of 1 to K-1 patients withholds every cell, zeros too: the
    zeros of a group of one showed that patient's whole record (fuzz round 9, session 28),
    in the CSV form and in results.json alike."""
    cols = ("Overall (N=12)", "A (N=11)", "B (N=1)")
    rows = [dict(zip(("characteristic", "level", *cols), r, strict=True)) for r in (
        ("Patients", "", "12", "11", "1"),
        ("Sex", "F", "6 (50.0%)", "6 (54.5%)", "0"),
        ("Sex", "M", "6 (50.0%)", "5 (45.5%)", "1 (100.0%)"),
        ("Age", "Median (IQR)", "60.0 (55.0-65.0)", "60.0 (55.0-65.0)",
         "70.0 (70.0-70.0)"))]  # fmt: skip
    shared = suppress_table(pd.DataFrame(rows), 5)
    b = next(c for c in shared.columns if str(c).startswith("B "))
    assert shared[b].tolist()[1:] == [WITHHELD, WITHHELD, WITHHELD]
    groups = [{"group": "A (N=11)", "n": 11}, {"group": "B (N=1)", "n": 1}]
    block = {"table1_wide": {"by": "site", "missing_group": 0, "rows": rows, "groups": groups}}
    out = suppress_small_counts(block, 5)["table1_wide"]["rows"]
    assert [r["B (N=<5)"] for r in out[1:]] == [WITHHELD, WITHHELD, WITHHELD]


def test_a_tiny_groups_zeros_are_not_given_back_by_overall_less_the_other_groups():
    """With groups A (28) and B (2), B's withheld zeros were Overall less A, A shown (a
    review of session 28): the margins now hide another cell of each row."""
    cols = ("Overall (N=30)", "A (N=28)", "B (N=2)")
    rows = [dict(zip(("characteristic", "level", *cols), r, strict=True)) for r in (
        ("Patients", "", "30", "28", "2"),
        ("Sex", "F", "14 (46.7%)", "14 (50.0%)", "0"),
        ("Sex", "M", "16 (53.3%)", "14 (50.0%)", "2 (100.0%)"),
        ("ISS", "I", "10 (33.3%)", "10 (35.7%)", "0"),
        ("ISS", "III", "20 (66.7%)", "18 (64.3%)", "2 (100.0%)"))]  # fmt: skip
    groups = [{"group": "A (N=28)", "n": 28}, {"group": "B (N=2)", "n": 2}]
    block = {"table1_wide": {"by": "site", "missing_group": 0, "rows": rows, "groups": groups}}
    out = suppress_small_counts(block, 5)["table1_wide"]["rows"]
    for r in out[1:]:
        a, b = (v for k, v in r.items() if str(k).startswith(("A ", "B ")))
        assert b == WITHHELD and _text_number(a) is None, r  # A hidden: no subtraction


def _text_number(cell):
    import re

    m = re.match(r"^\s*(\d+)", str(cell))
    return int(m.group(1)) if m else None
