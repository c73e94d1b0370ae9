"""The raw-records derivation on Spark, compared with DuckDB on a small simulated cohort.

``aftercar.derive.raw`` is written as Ibis expressions for any engine. The first steps
(drug and procedure classification, lab normalisation, visits) already give DuckDB's
rows on Spark. The whole derivation (the cohort, attrition and every audit table, on
simulated persons with continued exposures) is compared through the OMOP path, which
runs it: ``test_spark_batches_write_the_files_of_duckdb_batches`` in
``tests/derive_omop/test_handmade.py`` (one Spark derivation in CI instead of two).
``derive/raw`` avoids the constructs Spark rejects (a window inside a filter,
``ibis.literal(x, "int64")`` compiled as INT, ``group_concat(order_by=...)``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from aftercar.derive.raw.classify import classify_administrations, classify_procedures
from aftercar.derive.raw.labs import normalise_labs, visits
from aftercar.derive.raw.read import read_raw
from aftercar.derive.raw.rules import load_rules
from aftercar.simulate import write_simulated


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> dict[str, pa.Table]:
    """The simulated records, every 7th administration made a 60-day continued exposure
    (``end_date``: classified and read on each engine)."""
    out = tmp_path_factory.mktemp("raw-sim")
    write_simulated(8, out, seed=5, raw=True, format="parquet")
    t = read_raw(out / "raw")
    a = t["administrations"]
    days = a["date"].cast(pa.int32()).to_numpy()
    mask = np.arange(a.num_rows) % 7 != 0
    end = pa.array(days + 60, pa.int32(), mask=mask).cast(pa.date32())
    # read_raw gives the optional end_date column (empty) when the file has none
    t["administrations"] = a.set_column(a.schema.get_field_index("end_date"), "end_date", end)
    return t


def _frame(table: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order (engines return unordered results in any order)."""
    frame = table.to_pandas() if isinstance(table, pa.Table) else table
    frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _steps(con, raw: dict[str, pa.Table]) -> dict[str, pd.DataFrame]:
    rules = load_rules()
    t = {name: con.create_table(f"raw_{name}", table, overwrite=True)
         for name, table in raw.items()}  # fmt: skip
    norm = normalise_labs(con, t["labs"], rules)
    return {
        "administrations": con.execute(classify_administrations(con, t["administrations"], rules)),
        "procedures": con.execute(classify_procedures(con, t["procedures"])),
        "labs": con.execute(norm),
        "visits": con.execute(visits(norm)),
    }


def test_classification_and_labs_equal_duckdb(spark, duckdb, raw):
    on_spark, on_duckdb = _steps(spark, raw), _steps(duckdb, raw)
    assert len(on_duckdb["administrations"]) > 100 and len(on_duckdb["visits"]) > 10
    for name, frame in on_duckdb.items():
        pd.testing.assert_frame_equal(_frame(on_spark[name]), _frame(frame), check_dtype=False)
