"""The rules added on 2026-12-04 (IMWG values exactly on a threshold, steroids given with
bridging therapy) and 2026-12-07 (maintenance after the CAR T) derived on Spark as on
DuckDB, row for row.

The micro-cases of ``raw_cases.py`` run on DuckDB (``conftest.BACKENDS``); the whole raw
derivation is compared with Spark through the OMOP path on simulated persons, who have no
bridging therapy and no value exactly on a threshold. These cases do.
"""

from __future__ import annotations

import pandas as pd
import pytest
from raw_cases import RawBuilder, bridging_case, handmade_probe13, imwg_thresholds

from aftercar.backends import connect, unavailable
from aftercar.backends.spark import SMALL_DATA_CONFIG
from aftercar.derive.raw import derive_raw


def _frame(t) -> pd.DataFrame:
    f = t.to_pandas().astype("string")
    return f.sort_values(list(f.columns)).reset_index(drop=True)


@pytest.mark.slow  # one to two minutes: collected first (tests/conftest.py)
@pytest.mark.spark_full  # run by `pytest --spark-full` and CI (tests/conftest.py)
def test_new_rules_give_duckdbs_rows_on_spark():
    reason = unavailable("spark")
    if reason:
        pytest.skip(reason)
    b = RawBuilder()
    bridging_case(b)
    imwg_thresholds(b)
    handmade_probe13(b)
    raw = b.tables()
    on_duckdb = derive_raw(raw, con=connect("duckdb"))
    on_spark = derive_raw(raw, con=connect("spark", config=SMALL_DATA_CONFIG))
    roles = set(on_duckdb.audit["events"]["role"].to_pylist())
    assert "steroid with the bridging therapy" in roles  # the cases exercise the rules
    reasons = on_duckdb.attrition["reason"].to_pylist()
    assert any(r.startswith("maintenance of the index CAR T") for r in reasons)
    assert on_duckdb.lines.num_rows >= 5
    for name in ("lines", "patients", "attrition"):
        pd.testing.assert_frame_equal(_frame(getattr(on_spark, name)),
                                      _frame(getattr(on_duckdb, name)))  # fmt: skip
    for name in ("events", "assessments", "lines"):
        pd.testing.assert_frame_equal(_frame(on_spark.audit[name]),
                                      _frame(on_duckdb.audit[name]))  # fmt: skip
