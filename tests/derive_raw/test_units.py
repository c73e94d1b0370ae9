"""Unit texts are matched as written, else in lower case, never to two factors."""

from __future__ import annotations

import pytest

from aftercar.derive.raw.labs import case_folded


def test_a_unit_is_also_matched_in_lower_case():
    out = case_folded({("serum", "g/dL"): 1.0, ("serum", "g/L"): 0.1})
    assert out[("serum", "g/dl")] == 1.0 and out[("serum", "g/l")] == 0.1
    assert out[("serum", "g/dL")] == 1.0


def test_units_differing_only_in_case_with_other_factors_match_exactly_only():
    out = case_folded({("x", "Mu"): 1.0, ("x", "MU"): 1e6})
    assert ("x", "mu") not in out
    assert out[("x", "Mu")] == 1.0 and out[("x", "MU")] == 1e6


def _read(rows: list[tuple[str, str, str | None]]) -> list[tuple[float | None, str | None]]:
    """``(value, problem)`` of each ``(test, value text, unit)`` lab row, read by the rules."""
    import datetime as dt

    import ibis
    import pyarrow as pa

    from aftercar.derive.raw.labs import normalise_labs
    from aftercar.derive.raw.rules import load_rules

    n = len(rows)
    t = pa.table({"patient_id": ["p"] * n, "date": [dt.date(2022, 1, 3)] * n,
                  "row": list(range(n)), "test": [r[0] for r in rows],
                  "value": [r[1] for r in rows], "unit": [r[2] for r in rows]})  # fmt: skip
    out = normalise_labs(ibis.duckdb.connect(), ibis.memtable(t), load_rules())
    got = out.order_by("row").to_pyarrow()
    return list(zip(got["value"].to_pylist(), got["problem"].to_pylist(), strict=True))


SPEP, KAPPA, URINE = "SPEP M-spike", "Kappa free light chain, serum", "24 hr urine M-protein"


def test_lab_system_wording_of_values_and_units_is_read():
    """Found by hand-made patients written independently of the code (2026-12-06): each of
    these stopped the run. A reporting limit is read as the limit, "trace" as 0 (below any
    measurable level; a CR still needs a negative immunofixation)."""
    got = _read([(SPEP, "<0.1", "g/dL"), (SPEP, "trace", None), (SPEP, "Trace band", "g/dL"),
                 (SPEP, "1.4", "gm/dL"), (KAPPA, "< 0.15", "mg/dL"), (KAPPA, "12", "ug/mL"),
                 (URINE, "120", "mg/24 hr"), (URINE, "0.3", "g/day"), (SPEP, "<=2", "g/L")])
    assert [v for v, _ in got] == pytest.approx([0.1, 0.0, 0.0, 1.4, 0.15, 1.2, 120.0, 300.0, 0.2],
                                                rel=1e-5)
    assert all(p is None for _, p in got)


def test_a_value_below_a_limit_meets_a_criterion_below_it():
    """Review of the session's change: "<5" % marrow read as 5 failed CR (< 5 %), "<100"
    mg/24 h urine failed VGPR (< 100); "Less than" was not read; a generic "M-protein" test
    with a urine unit stopped the run (it is no serum test: attrition)."""
    got = _read([("Bone marrow plasma cells", "<5", "%"), (URINE, "<100", "mg/24h"),
                 (SPEP, "Less than 0.1", "g/dL"), (SPEP, "<=0.1", "g/dL"),
                 ("M-protein", "120", "mg/24h")])  # fmt: skip
    values = [v for v, _ in got]
    assert 4.99 < values[0] < 5 and 99.9 < values[1] < 100 and 0.0999 < values[2] < 0.1
    assert values[3] == pytest.approx(0.1) and values[3] >= 0.1
    assert [p for _, p in got] == [None] * 5


def test_other_text_still_stops_with_its_problem():
    got = _read([(SPEP, "<", "g/dL"), (SPEP, "about 1", "g/dL"), (SPEP, "<0.1", "g/mol")])
    assert [p for _, p in got] == ["not a number", "not a number", "unknown unit for this test"]


def test_a_value_the_engine_would_read_otherwise_is_not_a_number():
    # fuzzing round 6 (I01): DuckDB read "0_68" as 68 (digit grouping); a lab writes no such
    # number ("inf" goes on to the check of impossible values, which names it)
    got = _read([(SPEP, "0_68", "g/dL"), (SPEP, "1_000", "g/dL"),
                 (SPEP, "1.2e0", "g/dL"), (SPEP, "+0.5", "g/dL"), (SPEP, ".7", "g/dL")])
    assert [p for _, p in got][:2] == ["not a number"] * 2
    assert [v for v, _ in got][2:] == pytest.approx([1.2, 0.5, 0.7])


def test_the_commonest_unread_test_names_are_told_with_their_counts():
    import pyarrow as pa

    from aftercar.derive.raw.labs import unread_tests
    from aftercar.derive.raw.rules import load_rules

    labs = pa.table({"test": ["M-Spike, S", "Hemoglobin", "Hemoglobin", " m-spike, s ",
                              "Beta-2 microglobulin", None, "Kappa Free Light Chain, S"]})
    assert unread_tests(labs, load_rules()) == [("Hemoglobin", 2),
                                                ("Beta-2 microglobulin", 1)]  # fmt: skip
    assert unread_tests(labs, load_rules(), top=1) == [("Hemoglobin", 2)]


def test_unread_test_names_are_told_from_a_dictionary_encoded_column():
    # a raw Parquet folder keeps its text columns dictionary-encoded; the string kernels
    # refused them and every Parquet folder stopped with a traceback (session 27 probe)
    import pyarrow as pa

    from aftercar.derive.raw.labs import unread_tests
    from aftercar.derive.raw.rules import load_rules

    plain = pa.array(["Hemoglobin", "SPEP M-spike", "Hemoglobin", None, "LDH"])
    labs = pa.table({"test": pa.chunked_array([plain.dictionary_encode()] * 2)})
    assert unread_tests(labs, load_rules()) == [("Hemoglobin", 4), ("LDH", 2)]


def test_a_nan_value_is_named_not_a_number():
    # fuzz round 9 (session 28): "NaN" was called "a negative, infinite or implausibly
    # large value"; infinity still is
    got = _read([(SPEP, "NaN", "g/dL"), (SPEP, "inf", "g/dL")])
    assert [p for _, p in got] == ["not a number (NaN)",
                                   "a negative, infinite or implausibly large value"]
