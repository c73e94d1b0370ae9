"""Values carried forward per visit (labs.carried) and their use by the IMWG assessments."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from aftercar.derive.raw.imwg import assessments
from aftercar.derive.raw.labs import carried
from aftercar.derive.raw.rules import load_rules

D0 = dt.date(2022, 1, 1)


def _visits() -> pa.Table:
    """Two patients; urine and marrow on some visits only (vid increases with the date)."""
    rows = [  # patient, day, serum, urine, marrow, ife_urine
        ("a", 0, 2.0, 300.0, 40.0, 1.0), ("a", 30, 1.5, None, None, None),
        ("a", 60, 1.0, 150.0, None, 0.0), ("a", 90, 0.8, None, 3.0, None),
        ("a", 120, 0.9, None, None, None),
        ("b", 0, 3.0, None, None, None), ("b", 30, 2.0, 80.0, None, None),
    ]  # fmt: skip
    f64 = pa.float64()
    return pa.table({
        "patient_id": [r[0] for r in rows], "date": [D0 + dt.timedelta(days=r[1]) for r in rows],
        "serum_m": pa.array([r[2] for r in rows], f64),
        "urine_m": pa.array([r[3] for r in rows], f64),
        "kappa": pa.nulls(len(rows), f64), "lambda_": pa.nulls(len(rows), f64),
        "marrow_pc": pa.array([r[4] for r in rows], f64), "ife_serum": pa.nulls(len(rows), f64),
        "ife_urine": pa.array([r[5] for r in rows], f64),
        "vid": pa.array(range(1, len(rows) + 1), pa.int64()),
    })  # fmt: skip


def _plain(values) -> list:
    """Pandas values as plain Python (missing = None, dates as ISO text)."""
    out = []
    for x in values:
        missing = x is None or (isinstance(x, float) and x != x) or str(x) in ("NaT", "<NA>")
        out.append(None if missing else str(x)[:10] if hasattr(x, "year") else x)
    return out


def test_each_visit_carries_the_patients_last_value(backend):
    con = backend()
    out = con.execute(carried(con.create_table("v", _visits()))).sort_values("vid")
    assert _plain(out["carry_urine_m"]) == [300.0, 300.0, 150.0, 150.0, 150.0, None, 80.0]
    assert _plain(out["carry_vid_marrow_pc"]) == [1, 1, 1, 4, 4, None, None]
    assert _plain(out["carry_marrow_date"]) == ["2022-01-01"] * 3 + ["2022-04-01"] * 2 + [None] * 2
    assert _plain(out["carry_ife_urine"]) == [1.0, 1.0, 0.0, 0.0, 0.0, None, None]


def test_assessments_read_the_same_with_or_without_carried_columns(backend):
    """Visits given without their carried columns (computed inside) give the same
    assessments; a line's assessments are its visits after its start, up to and including
    the day the next line starts (a lab drawn then is both lines': since 2026-12-06)."""
    con = backend()
    vis = con.create_table("v", _visits())
    lines = con.create_table("l", pa.table({
        "patient_id": ["a", "a"], "lkey": pa.array([1, 2], pa.int64()),
        "start_date": [D0, D0 + dt.timedelta(days=60)],
        "window_end": pa.array([D0 + dt.timedelta(days=60), None], pa.date32())}))  # fmt: skip
    rules = load_rules()
    with_carry = con.execute(assessments(lines, con.create_table("vc", carried(vis)), rules))
    without = con.execute(assessments(lines, vis, rules))
    key = ["lkey", "date"]
    assert with_carry.sort_values(key).reset_index(drop=True).equals(
        without.sort_values(key).reset_index(drop=True))
    assert sorted(zip(with_carry["lkey"], _plain(with_carry["date"]), strict=True)) == [
        (1, "2022-01-31"), (1, "2022-03-02"), (1, "2022-04-01"), (2, "2022-04-01"),
        (2, "2022-05-01")]
